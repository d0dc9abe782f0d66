# Writes every SHADER_DIR/*.glsl into OUTPUT as a C++ raw string constant named after
# the file (colormap.frag.glsl -> kShader_colormap_frag), so the app needs no files at run time.
set(text "// Generated from shaders/*.glsl by shaders/embed_shaders.cmake; do not edit.\n#pragma once\n\n")
file(GLOB shaders ${SHADER_DIR}/*.glsl)
list(SORT shaders)
foreach(shader ${shaders})
  get_filename_component(name ${shader} NAME)
  string(REGEX REPLACE "\\.glsl$" "" name ${name})
  string(MAKE_C_IDENTIFIER ${name} ident)
  file(READ ${shader} source)
  string(APPEND text "inline constexpr const char* kShader_${ident} = R\"glsl(${source})glsl\";\n\n")
endforeach()
file(WRITE ${OUTPUT}.tmp "${text}")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
