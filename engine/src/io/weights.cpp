// Layer weights <-> tensors named as in PyTorch state_dicts, so a layer trained in PyTorch can
// be saved with safetensors and loaded here, and ours can be loaded back into PyTorch.
#include <initializer_list>

#include "io/io_detail.h"
#include "kernelscope/error.h"
#include "kernelscope/io.h"

namespace ks {
namespace {

const Tensor& require_tensor(const TensorMap& tensors, const std::string& key) {
  auto it = tensors.find(key);
  if (it == tensors.end()) throw Error("missing tensor '" + key + "'");
  return it->second;
}

// A key the layer does not have is refused, not ignored: a misspelled "Bias" used to run the
// conv without its bias and say nothing.
void check_known_keys(const TensorMap& tensors, std::initializer_list<const char*> known,
                      const char* layer) {
  for (const auto& item : tensors) {
    bool ok = false;
    for (const char* key : known) ok = ok || item.first == key;
    if (ok) continue;
    std::string list;
    for (const char* key : known) list += (list.empty() ? "" : ", ") + std::string(key);
    throw Error("unknown tensor '" + io_detail::one_line(item.first) + "' in " + layer +
                " weights (expected " + list + ")");
  }
}

bool all_positive(const Shape& shape) {
  for (int64_t d : shape)
    if (d <= 0) return false;
  return true;
}

// PyTorch stores 1x1 convolution weights as [out, in, 1, 1]; we keep them as [out, in].
Tensor as_matrix(const Tensor& t, const std::string& key) {
  const bool ok =
      (t.rank() == 2 || (t.rank() == 4 && t.dim(2) == 1 && t.dim(3) == 1)) && all_positive(t.shape);
  if (!ok)
    throw Error("'" + key + "' must be [out, in, 1, 1] or [out, in], got " +
                shape_to_string(t.shape));
  Tensor m = t;
  m.shape = {t.dim(0), t.dim(1)};
  return m;
}

Tensor as_vector(const Tensor& t, const std::string& key, int64_t length) {
  if (t.shape != Shape{length})
    throw Error("'" + key + "' must be [" + std::to_string(length) + "], got " +
                shape_to_string(t.shape));
  return t;
}

Tensor as_conv1x1(const Tensor& m) {
  Tensor t = m;
  t.shape = {m.dim(0), m.dim(1), 1, 1};
  return t;
}

int64_t exact_sqrt(int64_t n) {
  int64_t r = 0;
  while ((r + 1) * (r + 1) <= n) ++r;
  return r * r == n ? r : -1;
}

// Chooses K and G with K*K*G == span_rows and G dividing channels, as io.h describes.
void choose_kernel_and_groups(int64_t span_rows, InvolutionParams* p) {
  const int64_t c = p->channels;
  const std::string rows = "conv2.conv.weight has " + std::to_string(span_rows) + " rows";
  int64_t k = 0, groups = 0;
  if (p->kernel_size > 0) {
    k = p->kernel_size;
    if (k > span_rows || span_rows % (k * k) != 0)  // k <= rows also keeps k * k in range
      throw Error(rows + ", not a multiple of K*K = " + std::to_string(k * k) +
                  " for kernel size " + std::to_string(k));
    groups = span_rows / (k * k);
  } else if (p->group_channels > 0) {
    if (c % p->group_channels != 0)
      throw Error(std::to_string(c) + " channels cannot be split into groups of " +
                  std::to_string(p->group_channels));
    groups = c / p->group_channels;
    k = span_rows % groups == 0 ? exact_sqrt(span_rows / groups) : -1;
    if (k <= 0 || k % 2 == 0)
      throw Error(rows + ", which is not K*K*" + std::to_string(groups) +
                  " for an odd kernel size K");
  } else {
    for (int64_t cand = 1; cand * cand <= span_rows; ++cand) {
      const bool valid =
          cand % 2 == 1 && span_rows % (cand * cand) == 0 && c % (span_rows / (cand * cand)) == 0;
      if (valid) k = cand, groups = span_rows / (cand * cand);  // keeps the largest
    }
    if (k == 0)
      throw Error(rows + ", which is not K*K*G for any odd K and G dividing " + std::to_string(c) +
                  " channels");
  }
  if (k % 2 == 0) throw Error("involution kernel size must be odd, got " + std::to_string(k));
  if (c % groups != 0)
    throw Error(rows + ": " + std::to_string(groups) + " groups of a " + std::to_string(k) + "x" +
                std::to_string(k) + " kernel do not divide " + std::to_string(c) + " channels");
  p->kernel_size = k;
  p->group_channels = c / groups;
}

}  // namespace

ConvWeights conv_weights_from_tensors(const TensorMap& tensors, ConvParams* params) {
  check_known_keys(tensors, {"weight", "bias"}, "conv");
  const Tensor& weight = require_tensor(tensors, "weight");
  if (weight.rank() != 4 || !all_positive(weight.shape) || weight.dim(2) != weight.dim(3))
    throw Error("'weight' must be [C_out, C_in/groups, K, K], got " +
                shape_to_string(weight.shape));
  ConvParams p = *params;
  // The weight alone cannot tell groups apart from fewer input channels: trust the caller's
  // groups when given.
  p.groups = params->groups > 0 ? params->groups : 1;
  p.out_channels = weight.dim(0);
  // Checked first: it bounds groups by C_out, so the product below cannot overflow.
  if (p.out_channels % p.groups != 0)
    throw Error("'weight' has " + std::to_string(p.out_channels) +
                " output channels, not a multiple of groups = " + std::to_string(p.groups));
  p.in_channels = weight.dim(1) * p.groups;
  p.kernel_size = weight.dim(2);
  ConvWeights w;
  w.weight = weight;
  auto bias = tensors.find("bias");
  p.has_bias = bias != tensors.end();
  if (p.has_bias) w.bias = as_vector(bias->second, "bias", p.out_channels);
  validate_conv_weights(p, w);
  *params = p;
  return w;
}

InvolutionWeights involution_weights_from_tensors(const TensorMap& tensors,
                                                  InvolutionParams* params) {
  // num_batches_tracked is in every PyTorch BN state_dict: a training counter, unused in eval.
  check_known_keys(tensors,
                   {"conv1.conv.weight", "conv1.bn.weight", "conv1.bn.bias",
                    "conv1.bn.running_mean", "conv1.bn.running_var", "conv1.bn.num_batches_tracked",
                    "conv2.conv.weight", "conv2.conv.bias"},
                   "involution");
  InvolutionWeights w;
  w.reduce_weight = as_matrix(require_tensor(tensors, "conv1.conv.weight"), "conv1.conv.weight");
  const int64_t reduced = w.reduce_weight.dim(0);
  InvolutionParams p = *params;
  p.channels = w.reduce_weight.dim(1);
  if (p.channels % reduced != 0)
    throw Error("conv1.conv.weight maps " + std::to_string(p.channels) + " channels to " +
                std::to_string(reduced) + ", not an integer reduction ratio");
  p.reduction = p.channels / reduced;

  w.bn_gamma = as_vector(require_tensor(tensors, "conv1.bn.weight"), "conv1.bn.weight", reduced);
  w.bn_beta = as_vector(require_tensor(tensors, "conv1.bn.bias"), "conv1.bn.bias", reduced);
  w.bn_mean =
      as_vector(require_tensor(tensors, "conv1.bn.running_mean"), "conv1.bn.running_mean", reduced);
  w.bn_var =
      as_vector(require_tensor(tensors, "conv1.bn.running_var"), "conv1.bn.running_var", reduced);
  w.span_weight = as_matrix(require_tensor(tensors, "conv2.conv.weight"), "conv2.conv.weight");
  if (w.span_weight.dim(1) != reduced)
    throw Error("conv2.conv.weight takes " + std::to_string(w.span_weight.dim(1)) +
                " input channels but conv1.conv.weight produces " + std::to_string(reduced));
  const int64_t span_rows = w.span_weight.dim(0);
  w.span_bias = as_vector(require_tensor(tensors, "conv2.conv.bias"), "conv2.conv.bias", span_rows);

  choose_kernel_and_groups(span_rows, &p);
  validate_involution_weights(p, w);
  *params = p;
  return w;
}

TensorMap conv_weights_to_tensors(const ConvWeights& weights) {
  TensorMap tensors;
  tensors["weight"] = weights.weight;
  if (!weights.bias.empty()) tensors["bias"] = weights.bias;
  return tensors;
}

TensorMap involution_weights_to_tensors(const InvolutionParams& params,
                                        const InvolutionWeights& weights) {
  validate_involution_weights(params, weights);
  // 4-D 1x1 weights, as PyTorch's nn.Conv2d stores them, so load_state_dict accepts the file.
  return {
      {"conv1.conv.weight", as_conv1x1(weights.reduce_weight)},
      {"conv1.bn.weight", weights.bn_gamma},
      {"conv1.bn.bias", weights.bn_beta},
      {"conv1.bn.running_mean", weights.bn_mean},
      {"conv1.bn.running_var", weights.bn_var},
      {"conv2.conv.weight", as_conv1x1(weights.span_weight)},
      {"conv2.conv.bias", weights.span_bias},
  };
}

}  // namespace ks
