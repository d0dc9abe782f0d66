// Which backend runs a request, for every front end (the CLI, the app, the benchmarks): the
// rule of docs/architecture.md, "Dispatch", in one place.
//
//   auto   -> the first backend, in preference order, that auto may pick, is available and
//             supports the parameters; a notice says which faster backend was skipped and why.
//   a name -> that backend, if it exists, is available and supports the parameters; else
//             ks::Error naming the backend and the reason. Nothing runs in its place.
//   run    -> a failure (ks::Error) of a GPU backend that auto picked runs the request again
//             on the best CPU backend for it, with a one-line notice; any other failure, and
//             Cancelled, propagates.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "kernelscope/backend.h"
#include "kernelscope/notebook_variant.h"
#include "kernelscope/ops.h"

namespace ks {

// The backend a request resolves to, before anything runs.
struct BackendChoice {
  Backend* backend = nullptr;
  bool picked_by_auto = false;  // only then may a failed run fall back to the CPU
  std::string notice;           // why auto skipped a faster backend; empty when nothing to say
};

// What ran, for the front end to show.
struct Dispatched {
  Backend* backend = nullptr;  // the backend that ran (the fallback, if there was one)
  std::string notice;          // one line, clauses joined with "; "; empty when nothing to say
};

// How messages name the parameters of each operation ("these conv parameters").
std::string describe_operation(const ConvParams& params);
std::string describe_operation(const InvolutionParams& params);
std::string describe_operation(const NotebookVariantParams& params);

// Appends a clause to a notice (after "; " when it is not empty); a clause already there is
// not repeated, so two operations of one request that skipped the same GPU say it once.
void append_notice(std::string* notice, const std::string& clause);

namespace dispatch_detail {
// The rule above, with the operation reduced to "does this backend support it" and its name.
struct Query {
  const void* params;
  bool (*supports)(const Backend& backend, const void* params);
  std::string what;
};
BackendChoice choose(const std::vector<Backend*>& backends, const std::string& name,
                     const Query& query);
Backend& cpu_backend_for(const std::vector<Backend*>& backends, const Query& query);
std::string fallback_clause(const Backend& failed, const std::string& error, const Backend& cpu);

template <typename Params>
Query query_for(const Params& params) {
  return {
      &params,
      [](const Backend& b, const void* p) { return b.supports(*static_cast<const Params*>(p)); },
      describe_operation(params)};
}
}  // namespace dispatch_detail

// The choice alone: "auto" or a backend name, among `backends` in preference order (the
// registry's unless a test passes its own). Throws ks::Error when a named backend is
// unknown (listing the names), unavailable (with the reason) or does not support the
// parameters, and when auto finds nothing.
template <typename Params>
BackendChoice choose_backend(const std::string& name, const Params& params,
                             const std::vector<Backend*>& backends = registered_backends()) {
  return dispatch_detail::choose(backends, name, dispatch_detail::query_for(params));
}

// The best CPU backend that supports the parameters ("cpu", else "cpu-ref"), for work that
// is not the user's run (exports, the hover's kernels) and for the runtime fallback.
template <typename Params>
Backend& cpu_backend_for(const Params& params,
                         const std::vector<Backend*>& backends = registered_backends()) {
  return dispatch_detail::cpu_backend_for(backends, dispatch_detail::query_for(params));
}

// Runs a choice: run(backend) does the work (the caller keeps the results it writes), and
// may be called a second time, on the CPU, when the chosen backend fails at run time.
template <typename Params, typename Run>
Dispatched run_choice(const BackendChoice& choice, const Params& params, Run&& run,
                      const std::vector<Backend*>& backends = registered_backends()) {
  Dispatched done{choice.backend, choice.notice};
  try {
    run(*choice.backend);
    return done;
  } catch (const Cancelled&) {
    throw;  // the caller asked: nothing failed
  } catch (const Error& e) {
    if (!choice.picked_by_auto || is_cpu_backend(*choice.backend)) throw;
    Backend& cpu = cpu_backend_for(params, backends);
    append_notice(&done.notice, dispatch_detail::fallback_clause(*choice.backend, e.what(), cpu));
    done.backend = &cpu;
    run(cpu);
    return done;
  }
}

// The one entry point: choose, run, fall back. See the rule at the top of this file.
template <typename Params, typename Run>
Dispatched dispatch(const std::string& name, const Params& params, Run&& run) {
  return run_choice(choose_backend(name, params), params, std::forward<Run>(run));
}

}  // namespace ks
