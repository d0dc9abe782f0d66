// The training thread of learn_session.h.
#include "gui/learn_session.h"

#include <chrono>

#include "core/compute.h"
#include "core/learn_target.h"
#include "kernelscope/error.h"
#include "kernelscope/learn.h"

namespace ks::app {

namespace {

using Clock = std::chrono::steady_clock;

// Snapshots at most this often while running: enough for a live curve and maps, without
// copying the weights (or recomputing the feature maps) after every update.
constexpr double kPublishSeconds = 0.15;

targets::TargetGrid grid_of(int64_t kernel_size, int64_t stride, int64_t dilation) {
  targets::TargetGrid grid;
  grid.kernel_size = kernel_size;
  grid.stride = stride;
  grid.dilation = dilation;
  return grid;
}

}  // namespace

const char* learn_ops_name(LearnOps ops) {
  switch (ops) {
    case LearnOps::Conv:
      return "conv";
    case LearnOps::Involution:
      return "involution";
    case LearnOps::Both:
      break;
  }
  return "both";
}

bool learn_ops_from_name(const std::string& name, LearnOps* ops) {
  for (LearnOps o : {LearnOps::Conv, LearnOps::Involution, LearnOps::Both})
    if (name == learn_ops_name(o)) {
      *ops = o;
      return true;
    }
  return false;
}

// One run on the training thread: its trainers and their bookkeeping.
struct LearnSession::Training {
  Training(const LearnJob& job, uint64_t gen) : generation(gen) {
    if (!job.input) throw Error("no image to learn on yet");
    if (job.settings.notebook_variant)
      throw Error("learning fits the paper's involution; switch off the notebook variant");
    const Tensor& x = *job.input;
    const int64_t channels = x.dim(1);
    learn::OptimizerSettings optimizer;
    optimizer.lr = job.lr;
    if (job.ops != LearnOps::Involution) {
      // As `kernelscope learn`: the channel count kept and "same" padding, so the computed
      // targets and the output line up.
      ConvParams p = conv_params(job.settings, channels);
      p.out_channels = channels;
      p.padding = p.dilation * (p.kernel_size - 1) / 2;
      const Tensor target =
          core::make_learn_target(job.target, "", x, grid_of(p.kernel_size, p.stride, p.dilation),
                                  conv_output_shape(x.shape, p));
      conv = std::make_unique<learn::ConvTrainer>(x, p, random_conv_weights(p, job.seed), target,
                                                  optimizer);
    }
    if (job.ops != LearnOps::Conv) {
      const InvolutionParams p = involution_params(job.settings, channels);
      const Tensor target =
          core::make_learn_target(job.target, "", x, grid_of(p.kernel_size, p.stride, p.dilation),
                                  involution_output_shape(x.shape, p));
      InvolutionWeights start = random_involution_weights(p, job.seed);
      if (job.identity_start) learn::apply_identity_start(x, p, &start);
      involution = std::make_unique<learn::InvolutionTrainer>(x, p, start, target, optimizer);
    }
    last_publish = Clock::now();
  }

  // One update of every layer still learning.
  void step() {
    if (conv && !conv->diverged()) conv->step();
    if (involution && !involution->diverged()) involution->step();
    ++steps_done;
  }
  bool all_diverged() const {
    return (!conv || conv->diverged()) && (!involution || involution->diverged());
  }

  uint64_t generation;
  std::unique_ptr<learn::ConvTrainer> conv;
  std::unique_ptr<learn::InvolutionTrainer> involution;
  int64_t steps_done = 0;
  Clock::time_point last_publish;
  int64_t steps_at_last_publish = 0;
};

LearnSession::LearnSession() : thread_([this] { loop(); }) {}

LearnSession::~LearnSession() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void LearnSession::start(LearnJob job, bool run) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    steps_ = job.steps;
    pending_ = std::move(job);
    running_ = run;
    single_steps_ = 0;
    LearnSnapshot fresh;
    fresh.version = published_.version + 1;
    fresh.steps = steps_;
    fresh.preparing = true;
    fresh.running = run;
    published_ = std::move(fresh);
  }
  wake_.notify_all();
}

void LearnSession::resume() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (published_.finished || !published_.error.empty() || !has_training_locked()) return;
    running_ = published_.running = true;
    ++published_.version;
  }
  wake_.notify_all();
}

void LearnSession::pause() {
  std::lock_guard<std::mutex> lock(mutex_);
  running_ = published_.running = false;
  single_steps_ = 0;
  ++published_.version;
}

void LearnSession::step_once() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (running_ || published_.finished) return;
    ++single_steps_;
  }
  wake_.notify_all();
}

void LearnSession::reset() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    pending_.reset();
    running_ = false;
    single_steps_ = 0;
    LearnSnapshot empty;
    empty.version = published_.version + 1;
    published_ = std::move(empty);
  }
  wake_.notify_all();
}

void LearnSession::set_steps(int64_t steps) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    steps_ = steps;
    published_.steps = steps;
    published_.finished = published_.step >= steps;
    if (published_.finished) running_ = published_.running = false;
    ++published_.version;
  }
  wake_.notify_all();
}

bool LearnSession::has_training() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return has_training_locked();
}

bool LearnSession::has_training_locked() const {
  return published_.preparing || published_.layers != nullptr;
}

LearnSnapshot LearnSession::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return published_;
}

// Called with mutex_ held.
void LearnSession::publish(Training& t, bool force) {
  const auto now = Clock::now();
  const double seconds = std::chrono::duration<double>(now - t.last_publish).count();
  if (!force && seconds < kPublishSeconds) return;
  LearnSnapshot& s = published_;
  ++s.version;
  s.step = t.steps_done;
  s.steps = steps_;
  s.preparing = false;
  s.finished = t.steps_done >= steps_ || t.all_diverged();
  s.running = running_ && !s.finished;
  s.error.clear();
  if (seconds > 0 && t.steps_done > t.steps_at_last_publish)
    s.steps_per_s = static_cast<double>(t.steps_done - t.steps_at_last_publish) / seconds;
  t.last_publish = now;
  t.steps_at_last_publish = t.steps_done;
  auto layers = std::make_shared<LearnedLayers>();
  s.conv = LossCurve{};
  s.involution = LossCurve{};
  if (t.conv) {
    s.conv = {true, t.conv->losses(), t.conv->diverged_at_step()};
    layers->has_conv = true;
    layers->conv = t.conv->params();
    layers->conv_weights = t.conv->weights();
  }
  if (t.involution) {
    s.involution = {true, t.involution->losses(), t.involution->diverged_at_step()};
    layers->has_involution = true;
    layers->involution = t.involution->params();
    layers->involution_weights = t.involution->weights();
  }
  s.layers = std::move(layers);
}

void LearnSession::loop() {
  std::unique_ptr<Training> training;
  std::unique_lock<std::mutex> lock(mutex_);
  const auto can_step = [&] {
    return training && training->generation == generation_ && training->steps_done < steps_ &&
           !training->all_diverged() && (running_ || single_steps_ > 0);
  };
  while (true) {
    wake_.wait(lock, [&] {
      return stop_ || pending_ || (training && training->generation != generation_) || can_step();
    });
    if (stop_) return;
    if (pending_) {
      const LearnJob job = std::move(*pending_);
      pending_.reset();
      const uint64_t generation = generation_;
      lock.unlock();
      training.reset();
      std::unique_ptr<Training> fresh;
      std::string error;
      try {
        fresh = std::make_unique<Training>(job, generation);
      } catch (const std::exception& e) {
        error = e.what();
      }
      lock.lock();
      if (generation != generation_) continue;  // reset or restarted meanwhile
      if (!fresh) {
        ++published_.version;
        published_.preparing = published_.running = false;
        published_.error = error;
        running_ = false;
        continue;
      }
      training = std::move(fresh);
      publish(*training, true);
      continue;
    }
    if (training && training->generation != generation_) {
      lock.unlock();
      training.reset();
      lock.lock();
      continue;
    }
    const bool single = !running_;
    if (single) --single_steps_;
    Training& t = *training;
    lock.unlock();
    t.step();
    lock.lock();
    if (t.generation != generation_) continue;
    const bool done = t.steps_done >= steps_ || t.all_diverged();
    if (done) running_ = false;
    publish(t, single || done || !running_);
  }
}

}  // namespace ks::app
