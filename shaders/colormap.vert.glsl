#version 330 core
// One screen rectangle (a triangle strip of 4 vertices, no vertex buffer): the corners and
// the texture coordinates come from uniforms, set per image by ColormapPass.
uniform vec4 rect;     // x0, y0, x1, y1 in clip space (top-left, bottom-right)
uniform vec4 uv_rect;  // u0, v0, u1, v1 at those corners
out vec2 uv;
void main() {
  vec2 t = vec2(float(gl_VertexID & 1), float((gl_VertexID >> 1) & 1));
  uv = mix(uv_rect.xy, uv_rect.zw, t);
  gl_Position = vec4(mix(rect.xy, rect.zw, t), 0.0, 1.0);
}
