// The step-through's Compare tab: what separates convolution from involution, with the
// parameter counts and FLOPs of both for the current parameters and image.
#pragma once

#include "gui/app_state.h"

namespace ks::app {

void draw_step_compare_view(AppState& app, const Tensor& input);

}  // namespace ks::app
