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
  const auto start = std::chrono::steady_clock::now();
  if (settings.steps < 0)
    throw Error("the step count must be 0 or more, got " + std::to_string(settings.steps));
  Trainer<Params, Weights> trainer(x, p, *weights, target, settings.optimizer, settings.reference);
  if (!trainer.diverged() && settings.on_step) settings.on_step(0, trainer.losses().front());
  for (int64_t step = 1; step <= settings.steps && trainer.step(); ++step)
    if (settings.on_step) settings.on_step(step, trainer.losses().back());
  FitResult result;
  result.losses = trainer.losses();
  result.diverged_at_step = trainer.diverged_at_step();
  result.output = trainer.output();
  *weights = trainer.weights();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

template <class Params, class Weights>
struct Trainer<Params, Weights>::State {
  using L = Layer<Params, Weights>;
  State(const Tensor& x, const Params& p, const Weights& w, const Tensor& t,
        const OptimizerSettings& o, bool ref)
      : input(x), params(p), weights(w), target(t), reference(ref) {
    check_optimizer_settings(o);
    L::validate(params, weights);
    const Shape out_shape = L::output_shape(input, params);
    if (target.shape != out_shape)
      throw Error("the target is " + shape_to_string(target.shape) + " but the output is " +
                  shape_to_string(out_shape));
    // The cpu backend declines a few extreme shapes (huge dilations); cpu-ref takes anything.
    backend = find_backend(reference ? "cpu-ref" : "cpu");
    if (!backend || !L::supported(*backend, params)) backend = find_backend("cpu-ref");
    trainable = L::trainable(params, &weights);
    optimizer = std::make_unique<Optimizer>(o, trainable);
  }
  Tensor input;
  Params params;
  Weights weights;
  Tensor target;
  bool reference;
  Backend* backend = nullptr;
  std::vector<Tensor*> trainable;  // point into weights
  std::unique_ptr<Optimizer> optimizer;
  std::vector<double> losses;
  Tensor output;
  Tensor grad_output;  // of output
  int64_t diverged_at_step = -1;
};

template <class Params, class Weights>
Trainer<Params, Weights>::Trainer(const Tensor& input, const Params& params, const Weights& weights,
                                  const Tensor& target, const OptimizerSettings& optimizer,
                                  bool reference)
    : state_(std::make_unique<State>(input, params, weights, target, optimizer, reference)) {
  State& s = *state_;
  s.output = State::L::forward(*s.backend, s.input, s.params, s.weights);
  const double loss = mse_loss(s.output, s.target, &s.grad_output);
  if (std::isfinite(loss))
    s.losses.push_back(loss);
  else
    s.diverged_at_step = 0;
}

template <class Params, class Weights>
Trainer<Params, Weights>::~Trainer() = default;

template <class Params, class Weights>
bool Trainer<Params, Weights>::step() {
  State& s = *state_;
  using L = typename State::L;
  if (s.diverged_at_step >= 0) return false;
  const std::vector<Tensor> grads =
      L::backward(s.reference, s.input, s.params, s.weights, s.grad_output);
  std::vector<const Tensor*> grad_ptrs;
  for (const Tensor& g : grads) grad_ptrs.push_back(&g);
  const Weights last_finite = s.weights;
  s.optimizer->step(grad_ptrs);
  Tensor output;
  Tensor grad_output;
  double next = NAN;
  if (all_finite(s.trainable)) {
    output = L::forward(*s.backend, s.input, s.params, s.weights);
    next = mse_loss(output, s.target, &grad_output);
  }
  if (!std::isfinite(next)) {
    s.weights = last_finite;  // s.output still belongs to these
    s.diverged_at_step = static_cast<int64_t>(s.losses.size());
    return false;
  }
  s.output = std::move(output);
  s.grad_output = std::move(grad_output);
  s.losses.push_back(next);
  return true;
}

template <class Params, class Weights>
const std::vector<double>& Trainer<Params, Weights>::losses() const {
  return state_->losses;
}
template <class Params, class Weights>
int64_t Trainer<Params, Weights>::steps_done() const {
  return state_->losses.empty() ? 0 : static_cast<int64_t>(state_->losses.size()) - 1;
}
template <class Params, class Weights>
const Weights& Trainer<Params, Weights>::weights() const {
  return state_->weights;
}
template <class Params, class Weights>
const Params& Trainer<Params, Weights>::params() const {
  return state_->params;
}
template <class Params, class Weights>
const Tensor& Trainer<Params, Weights>::output() const {
  return state_->output;
}
template <class Params, class Weights>
int64_t Trainer<Params, Weights>::diverged_at_step() const {
  return state_->diverged_at_step;
}

template class Trainer<ConvParams, ConvWeights>;
template class Trainer<InvolutionParams, InvolutionWeights>;

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
