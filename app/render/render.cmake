# The CPU frame renderer (canvas, TrueType text, GIF writer, step-through frames), used by
# "kernelscope animate" and by the app's slide exports. Included from app/CMakeLists.txt.
file(GLOB KS_RENDER_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
find_package(PkgConfig REQUIRED)
# stb_truetype's implementation lives in Debian's libstb (like stb_image for the engine).
pkg_check_modules(KS_RENDER_STB REQUIRED IMPORTED_TARGET stb)
target_sources(kernelscope PRIVATE ${KS_RENDER_SOURCES})
target_link_libraries(kernelscope PRIVATE PkgConfig::KS_RENDER_STB)
