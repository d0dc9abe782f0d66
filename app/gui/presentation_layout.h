// The presentation view (View > Presentation, F11, --present): the layout for a 1920 x 1080
// projector. Text at least 20 px, the input and the feature maps large, every panel in a
// fixed rectangle that overlaps no other (no splitters, no floating windows), and in demo
// mode a caption band of its own instead of an overlay over the results. Leaving it brings
// back the normal grid as it was: its fractions are never touched here.
#pragma once

#include <vector>

#include "gui/app_state.h"
#include "gui/layout.h"

namespace ks::app {

// The UI font's pixel height at UI scale 1 (DejaVu Sans; setup_style_and_fonts in app_main).
constexpr float kBaseFontPx = 15.0f;
// Body text in the presentation view: readable from the back of a room on a 1080p projector.
constexpr float kPresentationFontPx = 22.0f;

// The UI scale the fonts are built for: the user's, raised to the presentation size while the
// presentation view is on (the font is then rasterised at that size, not a small one scaled).
float effective_ui_scale(const AppState& app);

// Draws the panels in the presentation layout below `top` and returns where each went (the
// demo caption band, when shown, as "Caption").
std::vector<PanelRect> draw_presentation_layout(AppState& app, float top);

}  // namespace ks::app
