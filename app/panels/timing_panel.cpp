// Timing panel: per-stage milliseconds of the backend in use, a history plot, FPS, and the
// race: every available backend on the current parameters (run by the worker), tabulated.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "gui/widgets.h"
#include "panels/panels.h"

namespace ks::app {

namespace {

void stage_table(const AppState& app) {
  const OpResult* ops[2] = {&app.doc.result.conv, &app.doc.result.involution};
  const char* names[2] = {"conv", "involution"};
  if (!ImGui::BeginTable("stages", 7,
                         ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_SizingFixedFit))
    return;
  for (const char* h : {"op", "backend", "kernel gen", "aggregate", "upload", "download", "draw"})
    ImGui::TableSetupColumn(h);
  ImGui::TableHeadersRow();
  for (int i = 0; i < 2; ++i) {
    if (!ops[i]->ran) continue;
    const StageTimes& t = ops[i]->times;
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(names[i]);
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(ops[i]->backend.c_str());
    for (double ms : {t.kernel_generation_ms, t.aggregation_ms, t.upload_ms, t.download_ms}) {
      ImGui::TableNextColumn();
      if (ms > 0)
        ImGui::Text("%.2f", ms);
      else
        ImGui::TextDisabled("-");  // a stage this backend/operation does not have
    }
    ImGui::TableNextColumn();
    ImGui::Text("%.2f", app.view.draw_ms);  // GL upload + colour-map pass, both layers together
  }
  ImGui::EndTable();
}

void race_table(const AppState& app) {
  double ref_conv = -1, ref_inv = -1;
  for (const RaceRow& row : app.doc.race_rows)
    if (row.backend == "cpu-ref") {
      ref_conv = row.conv_ms;
      ref_inv = row.involution_ms;
    }
  // Five columns (GFLOP/s in each time's tooltip) with widths measured from what they hold,
  // so the table fits the panel beside the plot; a backend that did not run gets its reason
  // wrapped under the table instead of a clipped cell.
  float name_w = ImGui::CalcTextSize("backend").x;
  for (const RaceRow& row : app.doc.race_rows)
    name_w = std::max(name_w, ImGui::CalcTextSize(row.backend.c_str()).x);
  const float number_w = ImGui::CalcTextSize("00000.00").x;
  std::vector<const RaceRow*> not_run;
  if (ImGui::BeginTable("race", 5,
                        ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_SizingFixedFit)) {
    ImGui::TableSetupColumn("backend", ImGuiTableColumnFlags_WidthFixed, name_w);
    for (const char* h : {"conv ms", "speed-up", "inv ms", "speed-up"})
      ImGui::TableSetupColumn(h, ImGuiTableColumnFlags_WidthFixed,
                              std::max(number_w, ImGui::CalcTextSize(h).x));
    ImGui::TableHeadersRow();
    for (const RaceRow& row : app.doc.race_rows) {
      ImGui::TableNextRow();
      ImGui::TableNextColumn();
      ImGui::TextUnformatted(row.backend.c_str());
      if (!row.note.empty() && row.conv_ms < 0 && row.involution_ms < 0) {
        ImGui::TableNextColumn();
        ImGui::TextDisabled("not run");
        not_run.push_back(&row);
        continue;
      }
      const double ms[2] = {row.conv_ms, row.involution_ms};
      const double gf[2] = {row.conv_gflops, row.involution_gflops};
      const double ref[2] = {ref_conv, ref_inv};
      for (int i = 0; i < 2; ++i) {
        ImGui::TableNextColumn();
        if (ms[i] < 0) {
          ImGui::TextDisabled("-");
          ImGui::TableNextColumn();
          continue;
        }
        ImGui::Text("%.2f", ms[i]);
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("%.2f GFLOP/s", gf[i]);
        ImGui::TableNextColumn();
        if (ref[i] > 0)
          ImGui::Text("%.1fx", ref[i] / ms[i]);
        else
          ImGui::TextDisabled("-");
      }
    }
    ImGui::EndTable();
  }
  ImGui::TextDisabled("speed-up over cpu-ref; hover a time for GFLOP/s");
  for (const RaceRow* row : not_run)
    ImGui::TextWrapped("%s: %s", row->backend.c_str(), row->note.c_str());
}

}  // namespace

void draw_timing_panel(AppState& app) {
  const ImGuiIO& io = ImGui::GetIO();
  ImGui::Text("%.0f FPS (%.1f ms/frame)", static_cast<double>(io.Framerate),
              1000.0 / static_cast<double>(std::max(io.Framerate, 1.0f)));
  ImGui::SameLine();
  if (app.worker && app.worker->busy()) {
    const char spinner[] = "|/-\\";
    ImGui::TextColored(ImVec4(1, 0.8f, 0.3f, 1), "%c computing %.1f s",
                       spinner[static_cast<int>(ImGui::GetTime() * 8) % 4],
                       app.worker->busy_seconds());
  } else if (app.doc.have_result) {
    ImGui::TextDisabled("job %.1f ms", app.doc.result.job_ms);
  }
  same_line_if_fits("Race all backends");
  ImGui::BeginDisabled(app.doc.race_running);
  if (ImGui::SmallButton(app.doc.race_running ? "racing..." : "Race all backends"))
    app.commands.post(cmd::Race{});
  ImGui::EndDisabled();
  if (ImGui::IsItemHovered())
    ImGui::SetTooltip(
        "Runs every available backend on the current parameters in the worker\n"
        "(best of a few runs) and tabulates ms and speed-up over cpu-ref (GFLOP/s on hover).");

  // Stages on top at full width; below, the history plot beside the race table.
  if (app.doc.have_result) stage_table(app);
  const float plot_w = ImGui::GetContentRegionAvail().x * 0.38f;
  ImGui::BeginChild("history", ImVec2(plot_w, 0), false);
  std::vector<float> history(app.doc.history_ms.begin(), app.doc.history_ms.end());
  if (!history.empty()) {
    const float top = *std::max_element(history.begin(), history.end());
    char overlay[64];
    std::snprintf(overlay, sizeof overlay, "job ms: %.1f (max %.1f)",
                  static_cast<double>(history.back()), static_cast<double>(top));
    ImGui::PlotLines("##history", history.data(), static_cast<int>(history.size()), 0, overlay,
                     0.0f, top * 1.1f + 1e-3f,
                     ImVec2(ImGui::GetContentRegionAvail().x,
                            std::max(40.0f, ImGui::GetContentRegionAvail().y - 4)));
  }
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("race", ImVec2(0, 0), false);
  if (app.doc.race_rows.empty())
    ImGui::TextDisabled(app.doc.race_running ? "racing..."
                                             : "race: press the button to compare backends");
  else
    race_table(app);
  if (!app.doc.race_notice.empty()) ImGui::TextWrapped("%s", app.doc.race_notice.c_str());
  ImGui::EndChild();
}

}  // namespace ks::app
