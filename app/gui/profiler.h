// `kernelscope --profile N`: the app measuring itself. It drives N recomputes of the setup
// given on the command line through the real frame loop (a new seed each time, so every job
// is real work), then sits idle for 2 s, and reports what a user waits for: the time from a
// change to its result being on screen, the longest UI frame while jobs ran, and the app's
// CPU use with nothing to do.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "kernelscope/tensor.h"

namespace ks::app {

struct AppState;

class AppProfiler {
 public:
  explicit AppProfiler(int jobs) : jobs_(jobs) {}

  bool enabled() const { return jobs_ > 0; }
  // True while measuring the idle phase: the loop must then wait for events as it would
  // for a user, not spin.
  bool idle_phase() const { return phase_ == Phase::Idle; }
  bool done() const { return phase_ == Phase::Done; }

  // Once per frame, after the frame is drawn. frame_ms: the frame's own work (not the wait
  // for events). worker_busy: a job is running or queued.
  void on_frame(AppState& app, double frame_ms, bool worker_busy);

  // {"jobs": N, "input": [B,C,H,W], "median_job_ms": ..., "p95_job_ms": ...,
  //  "max_frame_ms": ..., "idle_cpu_percent": ...}
  std::string json(const Shape& input) const;
  std::string summary(const Shape& input) const;

 private:
  enum class Phase { Warmup, Jobs, Idle, Done };
  using Clock = std::chrono::steady_clock;

  void start_job(AppState& app);

  int jobs_ = 0;
  Phase phase_ = Phase::Warmup;
  uint64_t awaited_id_ = 0;  // the request id whose result ends the current job
  Clock::time_point job_start_;
  std::vector<double> job_ms_;
  double max_frame_ms_ = 0;
  Clock::time_point idle_start_;
  double idle_cpu_start_s_ = 0;
  double idle_cpu_percent_ = 0;
};

}  // namespace ks::app
