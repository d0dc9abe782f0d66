// The compute thread: newest request wins, one result queue.
#include "core/worker.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ks::core {

Worker::Worker() : thread_([this] { loop(); }) {}

Worker::~Worker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    cancel_ = true;
    pending_.reset();
  }
  wake_.notify_one();
  thread_.join();
}

void Worker::submit(ComputeRequest request) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_ = std::move(request);  // replaces an unstarted older request
    if (running_) cancel_ = true;   // and stops the one running: its result would be stale
  }
  wake_.notify_one();
}

void Worker::recycle(ComputeResult result) {
  std::lock_guard<std::mutex> lock(mutex_);
  // The newest wins: the spare already here may be what a job left of an older one, its
  // tensors moved out (a hollow spare would make the next job take fresh pages).
  spare_ = std::move(result);
}

void Worker::set_on_result(std::function<void()> callback) {
  std::lock_guard<std::mutex> lock(mutex_);
  on_result_ = std::move(callback);
}

bool Worker::poll(ComputeResult* result) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (results_.empty()) return false;
  *result = std::move(results_.front());
  results_.pop_front();
  return true;
}

bool Worker::has_result() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !results_.empty();
}

bool Worker::busy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_ || pending_.has_value();
}

double Worker::busy_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!running_) return 0;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

void Worker::loop() {
  // Below the UI thread: on a machine with few cores the compute threads (this one and the
  // OpenMP team it starts, which inherits the niceness) must not starve the frame loop.
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 5);
  for (;;) {
    ComputeRequest request;
    std::optional<ComputeResult> spare;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || pending_.has_value(); });
      if (stop_) return;
      request = std::move(*pending_);
      pending_.reset();
      spare = std::move(spare_);
      spare_.reset();
      running_ = true;
      cancel_ = false;
      started_ = std::chrono::steady_clock::now();
    }
    ComputeResult result;
    try {
      result = compute(request, &cache_, cancel_, spare ? &*spare : nullptr);
    } catch (const std::exception& e) {  // e.g. out of memory: report it, keep the thread
      result = ComputeResult();
      result.id = request.id;
      result.race = request.race;
      result.image = cache_;
      result.load_error = std::string("computation failed: ") + e.what();
    }
    std::function<void()> notify;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      running_ = false;
      if (spare && !spare_) spare_ = std::move(spare);  // what the job did not take
      results_.push_back(std::move(result));
      notify = on_result_;
    }
    if (notify) notify();
  }
}

}  // namespace ks::core
