// The app's one compute thread. The UI submits requests; only the newest pending request is
// kept (older ones are dropped unstarted), and results come back through one queue that the
// UI drains once per frame, so the UI never waits on a computation.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "core/compute.h"

namespace ks::core {

class Worker {
 public:
  Worker();
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Replaces any unstarted request and cancels the running single job (the engine stops
  // between tiles, well within 50 ms). A running race stops between its timed runs.
  void submit(ComputeRequest request);
  bool poll(ComputeResult* result);
  // A result is waiting for poll().
  bool has_result() const;
  // A result the UI no longer shows: the next job reuses its tensors' storage.
  void recycle(ComputeResult result);
  // Called on the worker thread whenever a result is queued (the app wakes its event loop).
  void set_on_result(std::function<void()> callback);
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
  std::atomic<bool> cancel_{false};
  std::optional<ComputeResult> spare_;  // recycled storage, guarded by mutex_
  std::function<void()> on_result_;
  ImageSlot cache_;  // touched by the worker thread only
  std::thread thread_;
};

}  // namespace ks::core
