// ks_gpu_bench: times one operator on one backend and prints one JSON line, for
// bench/gpu_bench.py on a GPU machine (docs/performance.md, section GPU). Self-contained on
// purpose: it depends only on the engine's public API and the CUDA runtime (for --device-info).
//
//   ks_gpu_bench --device-info
//   ks_gpu_bench --backend cuda --op conv --shape 1,3,1080,1920 --out-channels 8
//                --kernel-size 3 --padding 1 [--iters 20 --warmup 3]
#include <cuda_runtime_api.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "kernelscope/backend.h"
#include "kernelscope/dispatch.h"
#include "kernelscope/error.h"

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += (c == '\n' ? ' ' : c);
  }
  return out + "\"";
}

// Peak DRAM bandwidth from the memory clock and bus width: 2 transfers per clock (DDR/HBM)
// times the bus width in bytes.
int device_info() {
  int device = 0, clock_khz = 0, bus_bits = 0, major = 0, minor = 0;
  cudaDeviceProp prop{};
  cudaError_t status = cudaGetDevice(&device);
  if (status == cudaSuccess) status = cudaGetDeviceProperties(&prop, device);
  if (status == cudaSuccess)
    status = cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, device);
  if (status == cudaSuccess)
    status = cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, device);
  if (status == cudaSuccess)
    status = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
  if (status == cudaSuccess)
    status = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
  if (status != cudaSuccess) {
    std::printf("{\"error\": %s}\n", json_string(cudaGetErrorString(status)).c_str());
    return 1;
  }
  const double peak_gb_s = 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
  std::printf(
      "{\"name\": %s, \"compute_capability\": \"%d.%d\", \"memory_clock_khz\": %d, "
      "\"bus_width_bits\": %d, \"peak_bandwidth_gb_s\": %.1f, \"memory_gib\": %.1f}\n",
      json_string(prop.name).c_str(), major, minor, clock_khz, bus_bits, peak_gb_s,
      static_cast<double>(prop.totalGlobalMem) / (1 << 30));
  return 0;
}

ks::Shape parse_shape(const std::string& text) {
  ks::Shape shape;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) shape.push_back(std::stoll(part));
  if (shape.size() != 4) throw ks::Error("--shape must be B,C,H,W, got " + text);
  return shape;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Time one operator on one backend; prints one JSON line"};
  bool info = false;
  std::string backend_name = "cuda", op = "conv", shape_text = "1,3,222,222";
  int64_t out_channels = 8, kernel_size = 3, stride = 1, padding = 0, dilation = 1, groups = 1;
  int64_t group_channels = 1, reduction = 1;
  int warmup = 3, iters = 20;
  app.add_flag("--device-info", info, "print the GPU's name and peak memory bandwidth");
  app.add_option("--backend", backend_name);
  app.add_option("--op", op)->check(CLI::IsMember({"conv", "involution"}));
  app.add_option("--shape", shape_text, "input B,C,H,W");
  app.add_option("--out-channels", out_channels);
  app.add_option("--kernel-size", kernel_size);
  app.add_option("--stride", stride);
  app.add_option("--padding", padding, "conv only; involution pads d*(K-1)/2");
  app.add_option("--dilation", dilation);
  app.add_option("--groups", groups, "conv groups");
  app.add_option("--group-channels", group_channels, "involution channels per group");
  app.add_option("--reduction", reduction, "involution reduction ratio");
  app.add_option("--warmup", warmup);
  app.add_option("--iters", iters)->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  if (info) return device_info();

  try {
    const ks::Shape shape = parse_shape(shape_text);
    ks::Backend& backend = ks::select_backend(backend_name);
    ks::Tensor input(shape);
    for (size_t i = 0; i < input.data.size(); ++i)  // cheap, deterministic, not constant
      input.data[i] =
          static_cast<float>(static_cast<int64_t>(i * 2654435761u % 2001) - 1000) / 1000.0f;

    std::vector<ks::StageTimes> runs;
    double flops = 0;
    int64_t bytes = 0;
    if (ks::parse_op_kind(op) == ks::OpKind::Conv) {
      ks::ConvParams p;
      p.in_channels = shape[1];
      p.out_channels = out_channels;
      p.kernel_size = kernel_size;
      p.stride = stride;
      p.padding = padding;
      p.dilation = dilation;
      p.groups = groups;
      ks::choose_backend(backend_name, p);  // dispatch's rule: throws saying why it cannot
      const ks::ConvWeights w = ks::random_conv_weights(p, 1);
      flops = ks::conv_flops(shape, p);
      bytes = ks::conv_memory_bytes(shape, p);
      for (int i = 0; i < warmup + iters; ++i) {
        ks::StageTimes t;
        backend.conv2d(input, p, w, &t);
        if (i >= warmup) runs.push_back(t);
      }
    } else {
      ks::InvolutionParams p;
      p.channels = shape[1];
      p.kernel_size = kernel_size;
      p.stride = stride;
      p.dilation = dilation;
      p.group_channels = group_channels;
      p.reduction = reduction;
      ks::choose_backend(backend_name, p);
      const ks::InvolutionWeights w = ks::random_involution_weights(p, 1);
      flops = ks::involution_flops(shape, p);
      bytes = ks::involution_memory_bytes(shape, p);
      for (int i = 0; i < warmup + iters; ++i) {
        ks::StageTimes t;
        backend.involution2d(input, p, w, &t);
        if (i >= warmup) runs.push_back(t);
      }
    }
    auto stage = [&](double ks::StageTimes::*field) {
      std::vector<double> v;
      for (const ks::StageTimes& t : runs) v.push_back(t.*field);
      return median(v);
    };
    std::vector<double> compute;
    for (const ks::StageTimes& t : runs)
      compute.push_back(t.kernel_generation_ms + t.aggregation_ms);
    std::printf(
        "{\"backend\": %s, \"op\": %s, \"shape\": %s, \"iters\": %d, \"upload_ms\": %.4f, "
        "\"kernel_generation_ms\": %.4f, \"aggregation_ms\": %.4f, \"download_ms\": %.4f, "
        "\"total_ms\": %.4f, \"compute_ms\": %.4f, \"bytes\": %lld, \"flops\": %.0f}\n",
        json_string(backend_name).c_str(), json_string(op).c_str(),
        json_string(ks::shape_to_string(shape)).c_str(), iters, stage(&ks::StageTimes::upload_ms),
        stage(&ks::StageTimes::kernel_generation_ms), stage(&ks::StageTimes::aggregation_ms),
        stage(&ks::StageTimes::download_ms), stage(&ks::StageTimes::total_ms), median(compute),
        static_cast<long long>(bytes), flops);
    return 0;
  } catch (const std::exception& e) {
    std::printf("{\"backend\": %s, \"error\": %s}\n", json_string(backend_name).c_str(),
                json_string(e.what()).c_str());
    return 1;
  }
}
