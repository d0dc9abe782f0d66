#version 330 core
// Maps one float channel through a 256-entry colour lookup table: the same table
// ks::colormap_lut builds for PNG export, so screen and saved figures agree. It runs as the
// frame is drawn, for the pixels on screen only: a new result costs an upload, not a pass.
in vec2 uv;
out vec4 color;
uniform sampler2D values;  // R32F: linear when shrunk (a NaN shows its neighbours magenta too)
uniform sampler2D lut;     // 256 x 1 RGB8
uniform float lo;
uniform float hi;
void main() {
  float v = texture(values, uv).r;
  if (isnan(v)) {
    color = vec4(1.0, 0.0, 1.0, 1.0);  // NaN stands out in magenta, as in exported PNGs
    return;
  }
  // +-inf lie beyond the legend's (finite) range: its end colours, as in exported PNGs.
  float t = clamp((v - lo) / max(hi - lo, 1e-30), 0.0, 1.0);
  color = vec4(texture(lut, vec2((t * 255.0 + 0.5) / 256.0, 0.5)).rgb, 1.0);
}
