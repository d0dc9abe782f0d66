// The involution of the seed notebook (its inv() function), kept as a switchable variant so
// the difference from the paper can be seen and measured.
//
// What the notebook does, per its code:
//   reduce = nn.Conv2d(C, C/r, 1)                    1x1, WITH bias, no BN, no ReLU
//   span   = nn.Conv2d(C/r, G*K*K, K, padding=p)     a K x K convolution ("is k supposed to
//                                                      be here???")
//   patches = nn.Unfold(K, padding=p)(x)              stride 1
//   out[c, i, j] = sum_k span(reduce(x))[g*K*K + k, i, j] * patch[c, k, i, j],  g = c / gc
// With the default p = 0 both the span map and the unfold lose K-1 rows and columns, so a
// 220 x 220 input gives 218 x 218 (K = 3).
//
// The answer to the notebook's question: no. In the paper (and the official d-li14 code)
// the span is a 1x1 convolution: it maps each pixel's own reduced channel vector to that
// pixel's K*K*G kernel values, which is what makes the kernel a function of the pixel
// ("involution"). A K x K span mixes the reduced vectors of the whole neighbourhood into the
// kernel (the kernel generator itself becomes a convolution), multiplies the generator's
// parameters by K*K, and, without padding, shrinks the map. The paper's version also has BN
// and ReLU after the reduce instead of a bias, and pads the unfold by (K-1)/2 so the output
// keeps the input's size. See ops.h for the paper's operator.
#pragma once

#include <cstdint>

#include "kernelscope/ops.h"

namespace ks {

struct NotebookVariantParams {
  int64_t channels = 3;
  int64_t kernel_size = 3;
  int64_t group_channels = 1;  // the notebook's group_ch
  int64_t reduction = 1;       // r
  int64_t stride = 1;          // the notebook's code only runs with 1 (see the shape rule)
  int64_t padding = 0;         // used by both the span conv and the unfold, as in the notebook

  int64_t groups() const { return channels / group_channels; }
  int64_t reduced_channels() const { return channels / reduction; }
  int64_t taps() const { return kernel_size * kernel_size; }
};

// PyTorch state-dict shapes of the notebook's two layers.
struct NotebookVariantWeights {
  Tensor reduce_weight;  // [C/r, C, 1, 1]
  Tensor reduce_bias;    // [C/r]
  Tensor span_weight;    // [G*K*K, C/r, K, K]
  Tensor span_bias;      // [G*K*K]
};

struct NotebookVariantResult {
  Tensor output;   // [B, C, H_out, W_out]
  Tensor kernels;  // [B, G, K*K, H_out, W_out], the span output
};

// [B, C, H - K + 1 + 2p, W - K + 1 + 2p]. Throws ks::Error for impossible parameters, and
// for stride > 1, where the notebook's code fails: it average-pools before the span but
// unfolds with stride 1, so the two maps disagree in size and its view() raises.
Shape notebook_variant_output_shape(const Shape& input, const NotebookVariantParams& params);
void validate_notebook_variant_weights(const NotebookVariantParams& params,
                                       const NotebookVariantWeights& weights);
// PyTorch's default init for both convs (as random_conv_weights), seeded.
NotebookVariantWeights random_notebook_variant_weights(const NotebookVariantParams& params,
                                                       uint64_t seed);
// The notebook's inv(), with plain loops (double accumulation).
NotebookVariantResult notebook_variant_involution(const Tensor& input,
                                                  const NotebookVariantParams& params,
                                                  const NotebookVariantWeights& weights);
// Learnable parameters: C/r*C + C/r + G*K*K*(C/r)*K*K + G*K*K.
int64_t parameter_count(const NotebookVariantParams& params);
// Bytes notebook_variant_involution needs (input, output, span output, the reduced map and
// the weights), for check_memory_cap before anything is allocated; saturates at INT64_MAX
// instead of overflowing. Throws ks::Error where notebook_variant_output_shape does.
int64_t notebook_variant_memory_bytes(const Shape& input, const NotebookVariantParams& params);

// One paragraph for a tooltip or a caption: the answer above, in short.
extern const char* const kNotebookVariantNote;

}  // namespace ks
