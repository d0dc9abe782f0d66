// The fitting loop of kernelscope/learn.h: forward, loss, backward, optimiser step, with the
// weights of the last finite loss kept when a run diverges.
#include <chrono>
#include <cmath>

#include "kernelscope/backend.h"
#include "kernelscope/error.h"
#include "kernelscope/gradients.h"
#include "kernelscope/learn.h"

namespace ks::learn {
namespace {

// What the loop needs of one operator: its forward, its backward (gradients in the order of
// trainable()), and the tensors it trains.
template <class Params, class Weights>
struct Layer;

template <>
struct Layer<ConvParams, ConvWeights> {
  static std::vector<Tensor*> trainable(const ConvParams& p, ConvWeights* w) {
    std::vector<Tensor*> t = {&w->weight};
    if (p.has_bias) t.push_back(&w->bias);
    return t;
  }
  static Shape output_shape(const Tensor& x, const ConvParams& p) {
    return conv_output_shape(x.shape, p);
  }
  static void validate(const ConvParams& p, const ConvWeights& w) { validate_conv_weights(p, w); }
  static Tensor forward(Backend& backend, const Tensor& x, const ConvParams& p,
                        const ConvWeights& w) {
    RunOptions options;
    options.kernels = KernelsMode::None;
    Tensor out;
    backend.conv2d_into(x, p, w, options, &out, nullptr);
    return out;
  }
  static std::vector<Tensor> backward(bool reference, const Tensor& x, const ConvParams& p,
                                      const ConvWeights& w, const Tensor& gy) {
    grad::BackwardOptions options;
    options.input = false;
    grad::ConvGradients g = reference ? grad::conv2d_backward_ref(x, p, w, gy, options)
                                      : grad::conv2d_backward(x, p, w, gy, options);
    std::vector<Tensor> out = {std::move(g.weight)};
    if (p.has_bias) out.push_back(std::move(g.bias));
    return out;
  }
  static bool supported(Backend& b, const ConvParams& p) { return b.supports(p); }
};

template <>
struct Layer<InvolutionParams, InvolutionWeights> {
  static std::vector<Tensor*> trainable(const InvolutionParams&, InvolutionWeights* w) {
    return {&w->reduce_weight, &w->bn_gamma, &w->bn_beta, &w->span_weight, &w->span_bias};
  }
  static Shape output_shape(const Tensor& x, const InvolutionParams& p) {
    return involution_output_shape(x.shape, p);
  }
  static void validate(const InvolutionParams& p, const InvolutionWeights& w) {
    validate_involution_weights(p, w);
  }
  static Tensor forward(Backend& backend, const Tensor& x, const InvolutionParams& p,
                        const InvolutionWeights& w) {
    RunOptions options;
    options.kernels = KernelsMode::None;
    InvolutionResult result;
    backend.involution2d_into(x, p, w, options, &result, nullptr);
    return std::move(result.output);
  }
  static std::vector<Tensor> backward(bool reference, const Tensor& x, const InvolutionParams& p,
                                      const InvolutionWeights& w, const Tensor& gy) {
    grad::BackwardOptions options;
    options.input = false;
    grad::InvolutionGradients g = reference ? grad::involution2d_backward_ref(x, p, w, gy, options)
                                            : grad::involution2d_backward(x, p, w, gy, options);
    std::vector<Tensor> out;
    for (Tensor* t : {&g.reduce_weight, &g.bn_gamma, &g.bn_beta, &g.span_weight, &g.span_bias})
      out.push_back(std::move(*t));
    return out;
  }
  static bool supported(Backend& b, const InvolutionParams& p) { return b.supports(p); }
};

bool all_finite(const std::vector<Tensor*>& tensors) {
  for (const Tensor* t : tensors)
    for (float v : t->data)
      if (!std::isfinite(v)) return false;
  return true;
}

template <class Params, class Weights>
FitResult fit(const Tensor& x, const Params& p, Weights* weights, const Tensor& target,
              const FitSettings& settings) {
  using L = Layer<Params, Weights>;
  const auto start = std::chrono::steady_clock::now();
  if (settings.steps < 0)
    throw Error("the step count must be 0 or more, got " + std::to_string(settings.steps));
  check_optimizer_settings(settings.optimizer);
  L::validate(p, *weights);
  const Shape out_shape = L::output_shape(x, p);
  if (target.shape != out_shape)
    throw Error("the target is " + shape_to_string(target.shape) + " but the output is " +
                shape_to_string(out_shape));
  // The cpu backend declines a few extreme shapes (huge dilations); cpu-ref takes anything.
  Backend* backend = find_backend(settings.reference ? "cpu-ref" : "cpu");
  if (!backend || !L::supported(*backend, p)) backend = find_backend("cpu-ref");

  const std::vector<Tensor*> trainable = L::trainable(p, weights);
  Optimizer optimizer(settings.optimizer, trainable);
  FitResult result;
  Tensor grad_output;
  result.output = L::forward(*backend, x, p, *weights);
  double loss = mse_loss(result.output, target, &grad_output);
  if (!std::isfinite(loss)) {
    result.diverged_at_step = 0;
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  }
  result.losses.push_back(loss);
  if (settings.on_step) settings.on_step(0, loss);

  for (int64_t step = 1; step <= settings.steps; ++step) {
    const std::vector<Tensor> grads = L::backward(settings.reference, x, p, *weights, grad_output);
    std::vector<const Tensor*> grad_ptrs;
    for (const Tensor& g : grads) grad_ptrs.push_back(&g);
    const Weights last_finite = *weights;
    optimizer.step(grad_ptrs);
    Tensor output;
    double next = NAN;
    if (all_finite(trainable)) {
      output = L::forward(*backend, x, p, *weights);
      next = mse_loss(output, target, &grad_output);
    }
    if (!std::isfinite(next)) {
      *weights = last_finite;  // result.output still belongs to these
      result.diverged_at_step = step;
      break;
    }
    result.output = std::move(output);
    result.losses.push_back(next);
    if (settings.on_step) settings.on_step(step, next);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

FitResult fit_conv(const Tensor& input, const ConvParams& params, ConvWeights* weights,
                   const Tensor& target, const FitSettings& settings) {
  return fit(input, params, weights, target, settings);
}

FitResult fit_involution(const Tensor& input, const InvolutionParams& params,
                         InvolutionWeights* weights, const Tensor& target,
                         const FitSettings& settings) {
  return fit(input, params, weights, target, settings);
}

}  // namespace ks::learn
