// The dispatch rule of dispatch.h: which backend runs a request, and what the user is told.
#include "kernelscope/dispatch.h"

#include "kernelscope/error.h"

namespace ks {

std::string describe_operation(const ConvParams&) { return "these conv parameters"; }
std::string describe_operation(const InvolutionParams&) { return "these involution parameters"; }
std::string describe_operation(const NotebookVariantParams&) { return "the notebook variant"; }

void append_notice(std::string* notice, const std::string& clause) {
  if (!notice || clause.empty()) return;
  // Clause by clause: "a; b" already holds "b".
  size_t start = 0;
  while (start <= notice->size()) {
    const size_t end = notice->find("; ", start);
    const size_t stop = end == std::string::npos ? notice->size() : end;
    if (notice->compare(start, stop - start, clause) == 0) return;
    if (end == std::string::npos) break;
    start = end + 2;
  }
  *notice += (notice->empty() ? "" : "; ") + clause;
}

namespace dispatch_detail {

BackendChoice choose(const std::vector<Backend*>& backends, const std::string& name,
                     const Query& query) {
  if (name == "auto") {
    // Every faster backend auto passed over, and why: the user asked for the fastest.
    std::string skipped;
    for (Backend* b : backends) {
      if (!b->auto_may_pick()) continue;
      std::string why;
      if (!b->available(&why)) {
        append_notice(&skipped, b->name() + " unavailable (" + why + ")");
        continue;
      }
      if (!query.supports(*b, query.params)) {
        append_notice(&skipped, b->name() + " does not support " + query.what);
        continue;
      }
      BackendChoice choice;
      choice.backend = b;
      choice.picked_by_auto = true;
      if (!skipped.empty()) choice.notice = skipped + ", using " + b->name();
      return choice;
    }
    throw Error("no available backend supports " + query.what +
                (skipped.empty() ? "" : " (" + skipped + ")"));
  }
  Backend* backend = nullptr;
  std::string names;
  for (Backend* b : backends) {
    if (b->name() == name) backend = b;
    names += (names.empty() ? "" : ", ") + b->name();
  }
  if (!backend) throw Error("unknown backend '" + name + "' (this build has: auto, " + names + ")");
  std::string why;
  if (!backend->available(&why)) throw Error("backend '" + name + "' is not available: " + why);
  if (!query.supports(*backend, query.params)) {
    // A backend the user named is not swapped behind their back: say who can run it instead.
    std::string able;
    for (Backend* b : backends)
      if (b != backend && b->available() && query.supports(*b, query.params))
        able += (able.empty() ? "" : ", ") + b->name();
    throw Error("backend '" + name + "' does not support " + query.what + " (use auto" +
                (able.empty() ? "" : ", or a backend that does: " + able) + ")");
  }
  BackendChoice choice;
  choice.backend = backend;
  return choice;
}

Backend& cpu_backend_for(const std::vector<Backend*>& backends, const Query& query) {
  for (Backend* b : backends)
    if (is_cpu_backend(*b) && b->available() && query.supports(*b, query.params)) return *b;
  throw Error("no CPU backend supports " + query.what);
}

std::string fallback_clause(const Backend& failed, const std::string& error, const Backend& cpu) {
  return failed.name() + " failed (" + error + "), using " + cpu.name();
}

}  // namespace dispatch_detail
}  // namespace ks
