// The identity start for fitting an involution (learn.h explains why it exists).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kernelscope/error.h"
#include "kernelscope/learn.h"

namespace ks::learn {

namespace {

// Mean and variance (population, as BN's batch statistics) of each reduce channel's
// response W0 . X' over every output pixel of every batch item; X' is the s x s ceil-mode
// average pool of the input when the stride is above 1, the pixel itself otherwise.
void reduce_response_statistics(const Tensor& input, const InvolutionParams& params,
                                const Tensor& reduce_weight, std::vector<double>* mean,
                                std::vector<double>* variance) {
  const int64_t B = input.dim(0), C = input.dim(1), H = input.dim(2), W = input.dim(3);
  const int64_t s = params.stride, reduced = params.reduced_channels();
  const Shape out = involution_output_shape(input.shape, params);
  const int64_t H_out = out[2], W_out = out[3];
  std::vector<double> sum(static_cast<size_t>(reduced), 0.0), sum_sq(sum), pooled(C);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < H_out; ++i)
      for (int64_t j = 0; j < W_out; ++j) {
        const int64_t y0 = i * s, y1 = std::min(y0 + s, H), x0 = j * s, x1 = std::min(x0 + s, W);
        const double cells = static_cast<double>((y1 - y0) * (x1 - x0));
        for (int64_t c = 0; c < C; ++c) {
          double total = 0;
          for (int64_t y = y0; y < y1; ++y)
            for (int64_t x = x0; x < x1; ++x) total += input.at(b, c, y, x);
          pooled[static_cast<size_t>(c)] = total / cells;
        }
        for (int64_t m = 0; m < reduced; ++m) {
          double z = 0;
          for (int64_t c = 0; c < C; ++c)
            z +=
                reduce_weight.data[static_cast<size_t>(m * C + c)] * pooled[static_cast<size_t>(c)];
          sum[static_cast<size_t>(m)] += z;
          sum_sq[static_cast<size_t>(m)] += z * z;
        }
      }
  const double count = static_cast<double>(B * H_out * W_out);
  mean->assign(static_cast<size_t>(reduced), 0.0);
  variance->assign(static_cast<size_t>(reduced), 0.0);
  for (size_t m = 0; m < sum.size(); ++m) {
    (*mean)[m] = sum[m] / count;
    (*variance)[m] = std::max(0.0, sum_sq[m] / count - (*mean)[m] * (*mean)[m]);
  }
}

}  // namespace

const char* involution_start_name(InvolutionStart start) {
  return start == InvolutionStart::Identity ? "identity" : "given";
}

InvolutionStart parse_involution_start(const std::string& name) {
  if (name == "identity") return InvolutionStart::Identity;
  if (name == "given") return InvolutionStart::Given;
  throw Error("unknown start '" + name + "' (choices: given, identity)");
}

void apply_identity_start(const Tensor& input, const InvolutionParams& params,
                          InvolutionWeights* weights) {
  involution_output_shape(input.shape, params);
  validate_involution_weights(params, *weights);
  std::vector<double> mean, variance;
  reduce_response_statistics(input, params, weights->reduce_weight, &mean, &variance);
  for (size_t m = 0; m < mean.size(); ++m) {
    weights->bn_mean.data[m] = static_cast<float>(mean[m]);
    weights->bn_var.data[m] = static_cast<float>(variance[m]);
    weights->bn_gamma.data[m] = 1.0f;
    weights->bn_beta.data[m] = 0.0f;
  }
  for (float& w : weights->span_weight.data) w *= kIdentityStartSpanScale;
  const int64_t taps = params.taps(), centre = taps / 2;
  for (int64_t g = 0; g < params.groups(); ++g)
    for (int64_t k = 0; k < taps; ++k)
      weights->span_bias.data[static_cast<size_t>(g * taps + k)] = k == centre ? 1.0f : 0.0f;
}

}  // namespace ks::learn
