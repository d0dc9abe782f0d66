// Fitting a layer's weights to a target output: PyTorch's F.mse_loss, Adam and plain SGD,
// and the loop that runs them with the backward passes of kernelscope/gradients.h.
//
// Deterministic: the same input, starting weights, target and settings give the same losses
// and weights bit for bit (the fast backward sums in a fixed order whatever the threads).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernelscope/ops.h"

namespace ks::learn {

// F.mse_loss(output, target): the mean over all elements of (output - target)^2, summed in
// double. When grad_output is given it receives dLoss/dOutput = 2 (output - target) / N.
// Throws ks::Error when the shapes differ ("the target is [..] but the output is [..]").
double mse_loss(const Tensor& output, const Tensor& target, Tensor* grad_output = nullptr);

enum class OptimizerKind { Adam, Sgd };
// "adam" / "sgd"; parse_optimizer throws ks::Error naming the choices.
const char* optimizer_name(OptimizerKind kind);
OptimizerKind parse_optimizer(const std::string& name);

// PyTorch's defaults for Adam (betas 0.9 / 0.999, eps 1e-8, no weight decay, no amsgrad);
// SGD is the plain step p -= lr * g (no momentum).
struct OptimizerSettings {
  OptimizerKind kind = OptimizerKind::Adam;
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

// Throws ks::Error with one line when the learning rate is not a positive finite number or a
// beta is outside [0, 1).
void check_optimizer_settings(const OptimizerSettings& settings);

// One optimiser over a fixed list of tensors, updated in place. Adam keeps float moments per
// element and follows torch.optim.Adam's update (the single-tensor, non-foreach path).
class Optimizer {
 public:
  Optimizer(const OptimizerSettings& settings, std::vector<Tensor*> params);
  // grads[i] has the shape of params[i].
  void step(const std::vector<const Tensor*>& grads);
  int64_t steps_taken() const { return steps_; }

 private:
  OptimizerSettings settings_;
  std::vector<Tensor*> params_;
  std::vector<std::vector<float>> first_moment_, second_moment_;
  int64_t steps_ = 0;
};

struct FitSettings {
  int64_t steps = 100;
  OptimizerSettings optimizer;
  // cpu-ref forward and ks::grad::*_ref backward (double accumulation, slow) instead of the
  // cpu backend and the fast backward.
  bool reference = false;
  // Called with (updates done, loss) for the initial weights and after every update, e.g.
  // for a progress bar.
  std::function<void(int64_t, double)> on_step;
};

struct FitResult {
  // losses[t]: the loss of the weights after t updates; losses[0] is the initial loss.
  std::vector<double> losses;
  // Set when a loss came out NaN or Inf: the update after which it did (0: the initial
  // weights already give one). The weights are then those of the last finite loss.
  int64_t diverged_at_step = -1;
  Tensor output;  // the output of the returned weights
  double seconds = 0;
  bool diverged() const { return diverged_at_step >= 0; }
  double initial_loss() const { return losses.empty() ? 0.0 : losses.front(); }
  double final_loss() const { return losses.empty() ? 0.0 : losses.back(); }
};

// Fits the trainable weights (conv: weight and bias; involution: reduce weight, BN gamma and
// beta, span weight and bias; the BN running statistics stay as they are) to minimise
// mse_loss(layer(input), target), starting from and updating *weights. Throws ks::Error for
// a target of the wrong shape or bad settings, before any work.
FitResult fit_conv(const Tensor& input, const ConvParams& params, ConvWeights* weights,
                   const Tensor& target, const FitSettings& settings);
FitResult fit_involution(const Tensor& input, const InvolutionParams& params,
                         InvolutionWeights* weights, const Tensor& target,
                         const FitSettings& settings);

// Where an involution's generator starts learning from.
//  Given:    the weights as they are (PyTorch's default initialisation, a file, a preset).
//  Identity: apply_identity_start() first. From PyTorch's default initialisation the random
//            span makes large kernels, and the quickest way down for the optimiser is to
//            switch every hidden ReLU unit off at every pixel: the generator then makes one
//            kernel everywhere and learns nothing that depends on the pixel (docs/learn.md).
enum class InvolutionStart { Given, Identity };
// "given" / "identity"; parse_involution_start throws ks::Error naming the choices.
const char* involution_start_name(InvolutionStart start);
InvolutionStart parse_involution_start(const std::string& name);

// The identity start: every pixel's kernel begins as "copy the pixel" (span bias = the
// identity kernel in every group), the pixel-dependent part begins small but not zero (span
// weights x kIdentityStartSpanScale), and BN is calibrated on this input: running mean and
// variance become those of each reduce channel's response over all output pixels (what
// PyTorch's training-mode BN would measure), gamma 1 and beta 0. Each hidden unit's ReLU
// hinge then sits at the middle of its response, on for about half the pixels, so every
// unit starts alive and able to switch kernels with the content. The reduce weights keep
// their values. Throws ks::Error for shapes that do not fit.
constexpr float kIdentityStartSpanScale = 0.1f;
void apply_identity_start(const Tensor& input, const InvolutionParams& params,
                          InvolutionWeights* weights);

// The fitting loop one update at a time, for callers that show progress, pause, or stop
// early (the app's Learn panel): fit_conv / fit_involution are a Trainer run to the end.
// Holds copies of the input, target and weights plus the optimiser's state, so the caller's
// tensors may change or go away meanwhile. Not thread-safe: one thread steps it.
template <class Params, class Weights>
class Trainer {
 public:
  // Validates like fit_* (throws ks::Error before any work) and computes the initial loss.
  Trainer(const Tensor& input, const Params& params, const Weights& weights, const Tensor& target,
          const OptimizerSettings& optimizer, bool reference = false);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // One update. Returns false, changing nothing, once diverged: a NaN or Inf loss restores
  // the weights of the last finite one and sets diverged_at_step.
  bool step();
  // losses()[t]: the loss after t updates (losses()[0]: the initial weights).
  const std::vector<double>& losses() const;
  int64_t steps_done() const;
  const Weights& weights() const;
  const Params& params() const;
  const Tensor& output() const;  // the output of weights()
  int64_t diverged_at_step() const;
  bool diverged() const { return diverged_at_step() >= 0; }

 private:
  struct State;
  std::unique_ptr<State> state_;
};
using ConvTrainer = Trainer<ConvParams, ConvWeights>;
using InvolutionTrainer = Trainer<InvolutionParams, InvolutionWeights>;
extern template class Trainer<ConvParams, ConvWeights>;
extern template class Trainer<InvolutionParams, InvolutionWeights>;

}  // namespace ks::learn
