// The compute thread: newest request wins, one result queue.
#include "gui/worker.h"

namespace ks::app {

Worker::Worker() : thread_([this] { loop(); }) {}

Worker::~Worker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    pending_.reset();
  }
  wake_.notify_one();
  thread_.join();
}

void Worker::submit(ComputeRequest request) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_ = std::move(request);  // replaces an unstarted older request
  }
  wake_.notify_one();
}

bool Worker::poll(ComputeResult* result) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (results_.empty()) return false;
  *result = std::move(results_.front());
  results_.pop_front();
  return true;
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
  for (;;) {
    ComputeRequest request;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stop_ || pending_.has_value(); });
      if (stop_) return;
      request = std::move(*pending_);
      pending_.reset();
      running_ = true;
      started_ = std::chrono::steady_clock::now();
    }
    // A newer request makes a running race stop early; single runs finish (they are the
    // unit of work the engine offers) and their result is dropped by the UI as stale.
    auto cancelled = [this] {
      std::lock_guard<std::mutex> lock(mutex_);
      return stop_ || pending_.has_value();
    };
    ComputeResult result;
    try {
      result = compute(request, &cache_, cancelled);
    } catch (const std::exception& e) {  // e.g. out of memory: report it, keep the thread
      result.id = request.id;
      result.race = request.race;
      result.image = cache_;
      result.load_error = std::string("computation failed: ") + e.what();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    running_ = false;
    results_.push_back(std::move(result));
  }
}

}  // namespace ks::app
