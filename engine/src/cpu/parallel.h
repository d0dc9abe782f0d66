// A parallel loop over independent tasks. OpenMP when the build has it, a plain loop
// otherwise, so the backend stays correct (just slower) without OpenMP.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace ks::cpu {

// body(task, thread) for task in [0, count); thread < thread_count() indexes per-thread
// scratch. Dynamic scheduling, because edge tasks (padding rows, tails) cost less.
template <class Body>
void parallel_tasks(int64_t count, Body&& body) {
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t t = 0; t < count; ++t) body(t, omp_get_thread_num());
#else
  for (int64_t t = 0; t < count; ++t) body(t, 0);
#endif
}

// Thread 0 runs first() while the other threads start on the tasks, then joins them; used
// to overlap a large serial step (allocating and zero-filling a result) with work that does
// not need it. An exception from first() is rethrown after the tasks end.
template <class First, class Body>
void parallel_tasks_beside(First&& first, int64_t count, Body&& body) {
  std::exception_ptr failure;
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
    for (int64_t t = next.fetch_add(1); t < count; t = next.fetch_add(1)) body(t, thread);
  }
#else
  try {
    first();
  } catch (...) {
    failure = std::current_exception();
  }
  for (int64_t t = 0; t < count; ++t) body(t, 0);
#endif
  if (failure) std::rethrow_exception(failure);
}

}  // namespace ks::cpu
