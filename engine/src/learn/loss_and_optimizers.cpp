// F.mse_loss and the two optimisers of kernelscope/learn.h.
#include <cmath>

#include "kernelscope/error.h"
#include "kernelscope/learn.h"

namespace ks::learn {

double mse_loss(const Tensor& output, const Tensor& target, Tensor* grad_output) {
  if (output.shape != target.shape)
    throw Error("the target is " + shape_to_string(target.shape) + " but the output is " +
                shape_to_string(output.shape));
  const size_t n = output.data.size();
  if (grad_output) grad_output->reshape_uninitialized(output.shape);
  const double scale = n ? 2.0 / static_cast<double>(n) : 0.0;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const double diff = static_cast<double>(output.data[i]) - target.data[i];
    sum += diff * diff;
    if (grad_output) grad_output->data[i] = static_cast<float>(scale * diff);
  }
  // PyTorch's mean of an empty tensor is NaN; an empty output never reaches here (the shape
  // functions refuse it), so keep the arithmetic plain.
  return n ? sum / static_cast<double>(n) : 0.0;
}

const char* optimizer_name(OptimizerKind kind) {
  return kind == OptimizerKind::Adam ? "adam" : "sgd";
}

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "adam") return OptimizerKind::Adam;
  if (name == "sgd") return OptimizerKind::Sgd;
  throw Error("unknown optimizer '" + name + "' (use adam or sgd)");
}

void check_optimizer_settings(const OptimizerSettings& s) {
  if (!std::isfinite(s.lr) || s.lr <= 0)
    throw Error("the learning rate must be a positive number, got " + std::to_string(s.lr));
  if (!(s.beta1 >= 0 && s.beta1 < 1) || !(s.beta2 >= 0 && s.beta2 < 1))
    throw Error("Adam's betas must lie in [0, 1)");
  if (!std::isfinite(s.eps) || s.eps < 0) throw Error("Adam's eps must be finite and >= 0");
}

Optimizer::Optimizer(const OptimizerSettings& settings, std::vector<Tensor*> params)
    : settings_(settings), params_(std::move(params)) {
  check_optimizer_settings(settings_);
  if (settings_.kind == OptimizerKind::Adam)
    for (const Tensor* p : params_) {
      first_moment_.emplace_back(p->data.size(), 0.0f);
      second_moment_.emplace_back(p->data.size(), 0.0f);
    }
}

void Optimizer::step(const std::vector<const Tensor*>& grads) {
  if (grads.size() != params_.size()) throw Error("optimizer: one gradient per tensor expected");
  ++steps_;
  const float lr = static_cast<float>(settings_.lr);
  if (settings_.kind == OptimizerKind::Sgd) {
    for (size_t t = 0; t < params_.size(); ++t)
      for (size_t i = 0; i < params_[t]->data.size(); ++i)
        params_[t]->data[i] -= lr * grads[t]->data[i];
    return;
  }
  // torch.optim.Adam (single tensor): m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
  // p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), moments in float.
  const double b1 = settings_.beta1, b2 = settings_.beta2;
  const double correction1 = 1 - std::pow(b1, static_cast<double>(steps_));
  const double correction2_sqrt = std::sqrt(1 - std::pow(b2, static_cast<double>(steps_)));
  const float step_size = static_cast<float>(settings_.lr / correction1);
  const float eps = static_cast<float>(settings_.eps);
  const float c2 = static_cast<float>(correction2_sqrt);
  const float one_minus_b1 = static_cast<float>(1 - b1), one_minus_b2 = static_cast<float>(1 - b2);
  for (size_t t = 0; t < params_.size(); ++t) {
    std::vector<float>& m = first_moment_[t];
    std::vector<float>& v = second_moment_[t];
    for (size_t i = 0; i < params_[t]->data.size(); ++i) {
      const float g = grads[t]->data[i];
      m[i] = m[i] * static_cast<float>(b1) + one_minus_b1 * g;
      v[i] = v[i] * static_cast<float>(b2) + one_minus_b2 * g * g;
      const float denom = std::sqrt(v[i]) / c2 + eps;
      params_[t]->data[i] -= step_size * (m[i] / denom);
    }
  }
}

}  // namespace ks::learn
