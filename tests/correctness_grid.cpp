// The fixture loader shared by the reference and backend tests.
#include "correctness_grid.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "kernelscope/error.h"
#include "kernelscope/io.h"

#ifndef KS_FIXTURE_DIR
#error "KS_FIXTURE_DIR must point at tests/fixtures"
#endif

namespace ks::test {
namespace {

std::string read_error(const std::string& path, const std::string& what) {
  return "fixture " + path + ": " + what;
}

const Tensor& require_tensor(const TensorMap& tensors, const std::string& key,
                             const std::string& path) {
  auto it = tensors.find(key);
  if (it == tensors.end()) throw Error(read_error(path, "missing tensor '" + key + "'"));
  return it->second;
}

// PyTorch stores 1x1 convolution weights as [out, in, 1, 1]; the engine keeps [out, in].
Tensor squeeze_1x1(const Tensor& t, const std::string& key, const std::string& path) {
  if (t.rank() != 4 || t.dim(2) != 1 || t.dim(3) != 1)
    throw Error(
        read_error(path, key + " must be [out, in, 1, 1], got " + shape_to_string(t.shape)));
  Tensor out = t;
  out.shape = {t.dim(0), t.dim(1)};
  return out;
}

int64_t param_at(const Tensor& params, int i, const std::string& path) {
  const float v = params.data[static_cast<size_t>(i)];
  if (!(v >= 0) || v != std::floor(v))
    throw Error(read_error(path, "params[" + std::to_string(i) + "] is not a whole number"));
  return static_cast<int64_t>(v);
}

void require_shape(const Tensor& t, const Shape& expected, const std::string& key,
                   const std::string& path) {
  if (t.shape != expected)
    throw Error(read_error(path, key + " has shape " + shape_to_string(t.shape) + ", expected " +
                                     shape_to_string(expected)));
}

}  // namespace

std::string fixture_dir() {
  const char* dir = std::getenv("KS_FIXTURE_DIR");
  return dir && *dir ? dir : KS_FIXTURE_DIR;
}

std::vector<std::string> fixture_paths(OpKind op) {
  const std::string prefix = op == OpKind::Conv ? "conv_" : "involution_";
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(fixture_dir(), ec)) {
    const std::string file = entry.path().filename().string();
    if (file.rfind(prefix, 0) == 0 && entry.path().extension() == ".safetensors")
      paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

Fixture load_fixture(const std::string& path) {
  const TensorMap tensors = load_safetensors(path);
  Fixture f;
  f.name = std::filesystem::path(path).stem().string();
  if (f.name.rfind("conv_", 0) == 0)
    f.op = OpKind::Conv;
  else if (f.name.rfind("involution_", 0) == 0)
    f.op = OpKind::Involution;
  else
    throw Error(read_error(path, "name must start with conv_ or involution_"));

  const Tensor& params = require_tensor(tensors, "params", path);
  require_shape(params, {7}, "params", path);
  f.input = require_tensor(tensors, "input", path);
  if (f.input.rank() != 4) throw Error(read_error(path, "input must be [B, C, H, W]"));
  f.expected_output = require_tensor(tensors, "expected_output", path);
  const int64_t k = param_at(params, 0, path), s = param_at(params, 1, path),
                pad = param_at(params, 2, path), d = param_at(params, 3, path),
                groups_or_gc = param_at(params, 4, path), r = param_at(params, 5, path),
                has_bias = param_at(params, 6, path);

  try {
    if (f.op == OpKind::Conv) {
      ConvParams& p = f.conv;
      f.conv_weights.weight = require_tensor(tensors, "weight", path);
      if (f.conv_weights.weight.rank() != 4) throw Error("weight must be rank 4");
      p.in_channels = f.input.dim(1);
      p.out_channels = f.conv_weights.weight.dim(0);
      p.kernel_size = k;
      p.stride = s;
      p.padding = pad;
      p.dilation = d;
      p.groups = groups_or_gc;
      p.has_bias = has_bias != 0;
      if (p.has_bias)
        f.conv_weights.bias = require_tensor(tensors, "bias", path);
      else if (tensors.count("bias"))
        throw Error("has a bias but params say has_bias = 0");
      validate_conv_weights(p, f.conv_weights);
      require_shape(f.expected_output, conv_output_shape(f.input.shape, p), "expected_output",
                    path);
    } else {
      InvolutionParams& p = f.involution;
      p.channels = f.input.dim(1);
      p.kernel_size = k;
      p.stride = s;
      p.dilation = d;
      p.group_channels = groups_or_gc;
      p.reduction = r;
      if (pad != p.padding() || has_bias != 1)
        throw Error("params disagree with the involution padding rule or the span bias");
      InvolutionWeights& w = f.involution_weights;
      w.reduce_weight = squeeze_1x1(require_tensor(tensors, "conv1.conv.weight", path),
                                    "conv1.conv.weight", path);
      w.bn_gamma = require_tensor(tensors, "conv1.bn.weight", path);
      w.bn_beta = require_tensor(tensors, "conv1.bn.bias", path);
      w.bn_mean = require_tensor(tensors, "conv1.bn.running_mean", path);
      w.bn_var = require_tensor(tensors, "conv1.bn.running_var", path);
      w.span_weight = squeeze_1x1(require_tensor(tensors, "conv2.conv.weight", path),
                                  "conv2.conv.weight", path);
      w.span_bias = require_tensor(tensors, "conv2.conv.bias", path);
      // The generator keeps PyTorch's default BatchNorm2d eps, which is also the engine's.
      w.bn_eps = 1e-5f;
      validate_involution_weights(p, w);
      f.expected_kernels = require_tensor(tensors, "expected_kernels", path);
      require_shape(f.expected_output, involution_output_shape(f.input.shape, p), "expected_output",
                    path);
      require_shape(f.expected_kernels, involution_kernels_shape(f.input.shape, p),
                    "expected_kernels", path);
    }
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.rfind("fixture ", 0) == 0) throw;
    throw Error(read_error(path, what));
  }
  return f;
}

}  // namespace ks::test
