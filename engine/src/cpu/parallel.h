// A parallel loop over independent tasks. OpenMP when the build has it, a plain loop
// otherwise, so the backend stays correct (just slower) without OpenMP.
#pragma once

#include <cstdint>

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

}  // namespace ks::cpu
