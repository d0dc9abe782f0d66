// The app's one compute thread. The UI submits requests; only the newest pending request is
// kept (older ones are dropped unstarted), and results come back through one queue that the
// UI drains once per frame, so the UI never waits on a computation.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "gui/compute.h"

namespace ks::app {

class Worker {
 public:
  Worker();
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void submit(ComputeRequest request);
  bool poll(ComputeResult* result);
  // A job is running or waiting.
  bool busy() const;
  // Seconds the current job has been running (0 when idle).
  double busy_seconds() const;

 private:
  void loop();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<ComputeRequest> pending_;
  std::deque<ComputeResult> results_;
  bool stop_ = false;
  bool running_ = false;
  std::chrono::steady_clock::time_point started_;
  ImageSlot cache_;  // touched by the worker thread only
  std::thread thread_;
};

}  // namespace ks::app
