// The Learn panel's training thread: fits a convolution, an involution or both to a target
// with the engine's Trainer (kernelscope/learn.h), one update at a time, and publishes
// snapshots (losses so far, a copy of the weights) under a mutex. The UI thread only copies
// the newest snapshot; it never waits on a step. Pause, Reset and a new start take effect
// between updates.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/weights.h"
#include "gui/settings.h"
#include "kernelscope/ops.h"

namespace ks::app {

enum class LearnOps { Conv, Involution, Both };
const char* learn_ops_name(LearnOps ops);  // "conv", "involution", "both"
bool learn_ops_from_name(const std::string& name, LearnOps* ops);

// What one training run fits: the layers' geometry comes from the app's settings, the
// input is the image on screen.
struct LearnJob {
  std::string target = "designed:edge_aware";
  LearnOps ops = LearnOps::Both;
  int64_t steps = 300;
  double lr = 0.02;
  uint64_t seed = 0;  // of the starting weights (PyTorch's default init)
  // The involution starts from the identity kernel with BN calibrated on the input
  // (kernelscope/learn.h apply_identity_start) instead of the seeded weights as they are.
  bool identity_start = false;
  OpSettings settings;
  std::shared_ptr<const Tensor> input;
};

struct LossCurve {
  bool active = false;         // this layer is being trained
  std::vector<double> losses;  // losses[t]: after t updates
  int64_t diverged_at = -1;    // the update whose loss was NaN/Inf, or -1
};

struct LearnSnapshot {
  uint64_t version = 0;  // grows with every publish
  int64_t step = 0;      // updates done
  int64_t steps = 0;     // asked for
  LossCurve conv, involution;
  std::shared_ptr<const LearnedLayers> layers;  // null before the first publish
  double steps_per_s = 0;
  bool running = false;    // stepping now (or about to)
  bool preparing = false;  // computing the target and initial loss
  bool finished = false;   // reached `steps` (or diverged)
  std::string error;       // the job could not start (shape mismatch, bad target, ...)
};

class LearnSession {
 public:
  LearnSession();
  ~LearnSession();
  LearnSession(const LearnSession&) = delete;
  LearnSession& operator=(const LearnSession&) = delete;

  // Drops any training and prepares this job; it then runs at once, or waits paused.
  void start(LearnJob job, bool run);
  void resume();                  // keep stepping until `steps`
  void pause();                   // stop after the current update
  void step_once();               // one update while paused
  void reset();                   // drop the training (weights, losses) now
  void set_steps(int64_t steps);  // a new end; a finished run can then go on
  bool has_training() const;      // a job was started and not reset
  LearnSnapshot snapshot() const;

 private:
  struct Training;
  void loop();
  void publish(Training& t, bool force);  // with mutex_ held
  bool has_training_locked() const;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<LearnJob> pending_;
  bool stop_ = false;
  bool running_ = false;
  int single_steps_ = 0;
  uint64_t generation_ = 0;  // bumped by start/reset: older training is dropped
  int64_t steps_ = 0;
  LearnSnapshot published_;
  std::thread thread_;
};

}  // namespace ks::app
