// A parallel loop over independent tasks. OpenMP when the build has it, a plain loop
// otherwise, so the backend stays correct (just slower) without OpenMP.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace ks::cpu {

// The first exception thrown by any task. An exception that leaves an OpenMP region ends
// the process (std::terminate): a std::bad_alloc in one worker used to abort the CLI and the
// app alike, so tasks catch, the rest are skipped, and the caller's thread rethrows.
class TaskFailure {
 public:
  template <class Body>
  void run(Body& body, int64_t task, int thread) {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      body(task, thread);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!failure_) failure_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
  void rethrow() {
    if (failure_) std::rethrow_exception(failure_);
  }

 private:
  std::atomic<bool> failed_{false};
  std::mutex mutex_;
  std::exception_ptr failure_;
};

// body(task, thread) for task in [0, count); thread < thread_count() indexes per-thread
// scratch. Dynamic scheduling, because edge tasks (padding rows, tails) cost less. With no
// more tasks than threads, task t runs on thread t instead, so that a stream of calls (the
// app, a benchmark) writes each part of a result from the same core every time and finds
// its lines in that core's caches (inv small: 10 % less time, inv 64ch 7 %). An exception
// from a task stops the loop and is rethrown here.
template <class Body>
void parallel_tasks(int64_t count, Body&& body) {
  TaskFailure failure;
#ifdef _OPENMP
  if (count <= omp_get_max_threads()) {
#pragma omp parallel
    {
      const int thread = omp_get_thread_num(), team = omp_get_num_threads();
      for (int64_t t = thread; t < count; t += team) failure.run(body, t, thread);
    }
    failure.rethrow();
    return;
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t t = 0; t < count; ++t) failure.run(body, t, omp_get_thread_num());
#else
  for (int64_t t = 0; t < count; ++t) failure.run(body, t, 0);
#endif
  failure.rethrow();
}

// Thread 0 runs first() while the other threads start on the tasks, then joins them; used
// to overlap a large serial step (allocating and zero-filling a result) with work that does
// not need it. An exception from first() is rethrown after the tasks end.
template <class First, class Body>
void parallel_tasks_beside(First&& first, int64_t count, Body&& body) {
  std::exception_ptr failure;
  TaskFailure task_failure;
#ifdef _OPENMP
  std::atomic<int64_t> next{0};
#pragma omp parallel
  {
    const int thread = omp_get_thread_num();
    if (thread == 0) {
      try {
        first();
      } catch (...) {
        failure = std::current_exception();
      }
    }
    for (int64_t t = next.fetch_add(1); t < count; t = next.fetch_add(1))
      task_failure.run(body, t, thread);
  }
#else
  try {
    first();
  } catch (...) {
    failure = std::current_exception();
  }
  for (int64_t t = 0; t < count; ++t) task_failure.run(body, t, 0);
#endif
  if (failure) std::rethrow_exception(failure);
  task_failure.rethrow();
}

}  // namespace ks::cpu
