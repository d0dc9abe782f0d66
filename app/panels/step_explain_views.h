// The step-through's Convolution and Involution tabs: one output pixel taken apart with the
// engine's explanation (explain.h). The presentation view puts the result line and the
// generation chain before the K x K tables so they never need scrolling.
#pragma once

#include "gui/app_state.h"

namespace ks::app {

void draw_step_conv_view(AppState& app, const Tensor& input);
// The paper's involution, or the notebook variant's step view when the result is one.
void draw_step_involution_view(AppState& app, const Tensor& input);

}  // namespace ks::app
