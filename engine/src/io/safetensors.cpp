// safetensors: an 8-byte little-endian header length, a JSON header mapping tensor names to
// {dtype, shape, data_offsets}, then the raw little-endian data. We read F32/F64/F16/BF16
// into float32 and write F32.
#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "io/io_detail.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks {

using namespace io_detail;
using nlohmann::json;

namespace {

// Far deeper than any real header; stops hostile nesting before it costs stack or memory.
constexpr int kMaxJsonDepth = 16;

struct Entry {
  const std::string* name;
  std::string dtype;
  int element_size;
  Shape shape;
  int64_t numel;
  uint64_t begin;
  uint64_t end;
};

std::string label(const std::string& name) { return "tensor '" + one_line(name) + "'"; }

int element_size_of(const std::string& name, const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "F64") return 8;
  if (dtype == "F16" || dtype == "BF16") return 2;
  throw Error(label(name) + " has dtype " + one_line(dtype) +
              "; only F32, F64, F16 and BF16 are supported");
}

uint64_t read_unsigned(const json& value, const std::string& name, const char* field) {
  if (!value.is_number_unsigned()) {
    if (value.is_number_integer()) throw Error(label(name) + ": negative value in " + field);
    throw Error(label(name) + ": " + field + " must hold non-negative integers");
  }
  return value.get<uint64_t>();
}

Entry parse_entry(const std::string& name, const json& info, uint64_t data_size) {
  if (!info.is_object()) throw Error(label(name) + ": header entry is not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!info.contains(key)) throw Error(label(name) + ": missing '" + key + "'");
  const json& dtype = info["dtype"];
  const json& shape = info["shape"];
  const json& offsets = info["data_offsets"];
  if (!dtype.is_string()) throw Error(label(name) + ": dtype is not a string");
  if (!shape.is_array()) throw Error(label(name) + ": shape is not an array");
  if (!offsets.is_array() || offsets.size() != 2)
    throw Error(label(name) + ": data_offsets must be [begin, end]");

  Entry entry{&name, dtype.get<std::string>(), 0, {}, 0, 0, 0};
  entry.element_size = element_size_of(name, entry.dtype);
  for (const json& d : shape) {
    const uint64_t dim = read_unsigned(d, name, "shape");
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw Error(label(name) + ": dimension too large");
    entry.shape.push_back(static_cast<int64_t>(dim));
  }
  try {
    entry.numel = shape_numel(entry.shape);
  } catch (const Error& e) {
    throw Error(label(name) + ": " + e.what());
  }
  if (entry.numel > std::numeric_limits<int64_t>::max() / 8)
    throw Error(label(name) + ": shape " + shape_to_string(entry.shape) + " has too many elements");

  entry.begin = read_unsigned(offsets[0], name, "data_offsets");
  const uint64_t end = read_unsigned(offsets[1], name, "data_offsets");
  if (entry.begin > end || end > data_size)
    throw Error(label(name) + ": data_offsets [" + std::to_string(entry.begin) + ", " +
                std::to_string(end) + "] out of bounds (data section has " +
                std::to_string(data_size) + " bytes)");
  const uint64_t needed = static_cast<uint64_t>(entry.numel) * entry.element_size;
  if (end - entry.begin != needed)
    throw Error(label(name) + ": data_offsets hold " + std::to_string(end - entry.begin) +
                " bytes but dtype " + entry.dtype + " and shape " + shape_to_string(entry.shape) +
                " need " + std::to_string(needed));
  entry.end = end;
  return entry;
}

// The format's data section is "entirely indexed, without holes": the tensors tile it.
// Overlapping offsets make one byte feed two tensors, and holes or trailing bytes hide data
// no tensor reads; a file like that was not written by a safetensors writer, so it is
// refused naming the tensor where the tiling breaks.
void check_tiling(std::vector<const Entry*> entries, uint64_t data_size) {
  std::sort(entries.begin(), entries.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry* e : entries) {
    const std::string range = " [" + std::to_string(e->begin) + ", " + std::to_string(e->end) + "]";
    if (e->begin < covered)
      throw Error(label(*e->name) + ": data_offsets" + range + " overlap those of " +
                  label(*previous->name));
    if (e->begin > covered)
      throw Error(label(*e->name) + ": data_offsets" + range + " leave bytes [" +
                  std::to_string(covered) + ", " + std::to_string(e->begin) +
                  ") of the data section to no tensor");
    covered = e->end;
    previous = e;
  }
  if (covered < data_size)
    throw Error(
        std::to_string(data_size - covered) + " trailing bytes after " +
        (previous ? "the last tensor, " + label(*previous->name) : std::string("the header")) +
        " (the data section has " + std::to_string(data_size) + " bytes)");
}

// json::parse keeps the last of two equal keys silently; a header naming one tensor twice
// is ambiguous, so the parse callback refuses it (tensor names are the root's keys).
class DuplicateKeys {
 public:
  void see(int depth, const json& key) {
    if (depth != 1 || !key.is_string()) return;
    if (!names_.insert(key.get<std::string>()).second)
      throw Error("safetensors header names " + label(key.get<std::string>()) + " twice");
  }

 private:
  std::set<std::string> names_;
};

Tensor decode(const Entry& entry, const uint8_t* data) {
  Tensor tensor;
  tensor.shape = entry.shape;
  tensor.data.resize(static_cast<size_t>(entry.numel), 0.0f);
  float* out = tensor.data.data();
  const uint8_t* p = data + entry.begin;
  const size_t n = tensor.data.size();
  if (entry.dtype == "F32") {
    for (size_t i = 0; i < n; ++i) out[i] = float_from_bits(load_le32(p + 4 * i));
  } else if (entry.dtype == "F64") {
    for (size_t i = 0; i < n; ++i) out[i] = double_from_bits_to_float(load_le64(p + 8 * i));
  } else if (entry.dtype == "F16") {
    for (size_t i = 0; i < n; ++i) out[i] = half_to_float(load_le16(p + 2 * i));
  } else {
    for (size_t i = 0; i < n; ++i) out[i] = bfloat16_to_float(load_le16(p + 2 * i));
  }
  return tensor;
}

json parse_header_json(const uint8_t* begin, const uint8_t* end) {
  // The callback sees every value with its nesting depth; refusing deep input here keeps
  // the parse and the destruction of the tree bounded.
  DuplicateKeys duplicates;
  json::parser_callback_t limit_depth = [&duplicates](int depth, json::parse_event_t event,
                                                      json& parsed) {
    if (depth > kMaxJsonDepth) throw Error("safetensors header JSON is nested too deeply");
    if (event == json::parse_event_t::key) duplicates.see(depth, parsed);
    return true;
  };
  try {
    return json::parse(begin, end, limit_depth);
  } catch (const json::exception& e) {
    throw Error("safetensors header is not valid JSON: " + one_line(e.what()));
  }
}

}  // namespace

TensorMap parse_safetensors(const uint8_t* data, size_t size, int64_t max_bytes) {
  if (size == 0) throw Error("empty file");
  if (size < 8)
    throw Error("truncated safetensors file: " + std::to_string(size) +
                " bytes, the header length alone needs 8");
  const uint64_t header_size = load_le64(data);
  if (header_size > size - 8)
    throw Error("truncated safetensors header: header length says " + std::to_string(header_size) +
                " bytes, file has " + std::to_string(size - 8) + " after the length");
  const uint8_t* header_begin = data + 8;
  const json header = parse_header_json(header_begin, header_begin + header_size);
  if (!header.is_object()) throw Error("safetensors header is not a JSON object");

  const uint8_t* payload = header_begin + header_size;
  const uint64_t payload_size = size - 8 - header_size;
  std::vector<Entry> entries;
  int64_t total_bytes = 0;
  for (const auto& item : header.items()) {
    if (item.key() == "__metadata__") continue;  // free-form strings, not a tensor
    entries.push_back(parse_entry(item.key(), item.value(), payload_size));
    // Offsets may overlap, so many entries can share the same bytes: cap the sum of the
    // decoded sizes, not the file size.
    const int64_t bytes = entries.back().numel * 4;
    // Saturate well below int64's limit: the cap check rounds the value up to MiB.
    constexpr int64_t kSaturated = std::numeric_limits<int64_t>::max() / 2;
    total_bytes = bytes > kSaturated - total_bytes ? kSaturated : total_bytes + bytes;
    check_memory_cap(total_bytes, max_bytes, "safetensors tensors");
  }

  std::vector<const Entry*> layout;
  for (const Entry& entry : entries) layout.push_back(&entry);
  check_tiling(std::move(layout), payload_size);

  TensorMap tensors;
  for (const Entry& entry : entries) tensors.emplace(*entry.name, decode(entry, payload));
  return tensors;
}

TensorMap load_safetensors(const std::string& path, int64_t max_bytes) {
  const std::vector<uint8_t> bytes = read_file_bytes(path, source_file_cap(max_bytes));
  try {
    return parse_safetensors(bytes.data(), bytes.size(), max_bytes);
  } catch (...) {
    rethrow_with_path(path);
  }
}

void save_safetensors(const std::string& path, const TensorMap& tensors) {
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") throw Error(path + ": '__metadata__' cannot name a tensor");
    if (shape_numel(tensor.shape) != tensor.numel())
      throw Error(path + ": tensor '" + name + "' has shape " + shape_to_string(tensor.shape) +
                  " but holds " + std::to_string(tensor.numel()) + " values");
    const uint64_t bytes = static_cast<uint64_t>(tensor.numel()) * 4;
    header[name] = {
        {"dtype", "F32"}, {"shape", tensor.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {  // names that are not valid UTF-8
    throw Error(path + ": cannot write the header: " + one_line(e.what()));
  }
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');

  std::vector<uint8_t> out;
  out.reserve(8 + text.size() + offset);
  append_le64(out, text.size());
  out.insert(out.end(), text.begin(), text.end());
  for (const auto& item : tensors)
    append_floats_le(out, item.second.ptr(), item.second.data.size());
  write_file_atomically(path, out.data(), out.size());
}

}  // namespace ks
