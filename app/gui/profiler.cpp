// The --profile state machine (profiler.h).
#include "gui/profiler.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "gui/app_state.h"

namespace ks::app {
namespace {

constexpr double kIdleSeconds = 2.0;
// After the last job the UI draws a few more frames (ImGui settles, the status line updates);
// "nothing to do" starts after them.
constexpr double kSettleSeconds = 0.5;

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The q-quantile by the nearest-rank method (q = 0.5: the median).
double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

}  // namespace

void AppProfiler::start_job(AppState& app) {
  app.doc.settings.seed += 1;  // new weights: a real recompute, not a cached answer
  app.commands.post(cmd::Recompute{});
  awaited_id_ = app.doc.next_id;  // the id the frame loop's next submit gives this request
  job_start_ = Clock::now();
}

void AppProfiler::on_frame(AppState& app, double frame_ms, bool worker_busy) {
  const bool settled =
      app.doc.have_result && !worker_busy && app.commands.empty() && app.view.upload_queue.empty();
  switch (phase_) {
    case Phase::Warmup:
      // The first result includes loading the image: not one of the N jobs.
      if (settled) {
        phase_ = Phase::Jobs;
        start_job(app);
      }
      break;
    case Phase::Jobs:
      max_frame_ms_ = std::max(max_frame_ms_, frame_ms);
      if (settled && app.doc.result.id >= awaited_id_) {
        job_ms_.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - job_start_).count());
        if (static_cast<int>(job_ms_.size()) < jobs_) {
          start_job(app);
        } else {
          phase_ = Phase::Idle;
          idle_start_ =
              Clock::now() + std::chrono::milliseconds(static_cast<int>(kSettleSeconds * 1000));
          idle_cpu_start_s_ = -1;  // read when the settling is over
        }
      }
      break;
    case Phase::Idle: {
      if (Clock::now() < idle_start_) break;
      if (idle_cpu_start_s_ < 0) {
        idle_start_ = Clock::now();
        idle_cpu_start_s_ = process_cpu_seconds();
        break;
      }
      const double wall = std::chrono::duration<double>(Clock::now() - idle_start_).count();
      if (wall >= kIdleSeconds) {
        idle_cpu_percent_ = 100.0 * (process_cpu_seconds() - idle_cpu_start_s_) / wall;
        phase_ = Phase::Done;
      }
      break;
    }
    case Phase::Done:
      break;
  }
}

std::string AppProfiler::json(const Shape& input) const {
  const nlohmann::json j = {{"jobs", job_ms_.size()},
                            {"input", input},
                            {"median_job_ms", quantile(job_ms_, 0.5)},
                            {"p95_job_ms", quantile(job_ms_, 0.95)},
                            {"max_frame_ms", max_frame_ms_},
                            {"idle_cpu_percent", idle_cpu_percent_}};
  return j.dump();
}

std::string AppProfiler::summary(const Shape& input) const {
  char line[256];
  std::snprintf(line, sizeof line,
                "%zu jobs on %s: median %.1f ms, p95 %.1f ms to the screen; longest frame "
                "%.1f ms; idle CPU %.1f %%",
                job_ms_.size(), shape_to_string(input).c_str(), quantile(job_ms_, 0.5),
                quantile(job_ms_, 0.95), max_frame_ms_, idle_cpu_percent_);
  return line;
}

}  // namespace ks::app
