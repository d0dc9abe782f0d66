# The desktop app's part of the kernelscope target, included from app/CMakeLists.txt so that
# KS_HAVE_APP reaches the root scope. Without GLFW, Dear ImGui or libepoxy the binary still
# builds, with a run_app that explains what is missing (gui/no_app.cpp).
set(KS_APP_DEPS_FOUND OFF)
if(KS_BUILD_APP)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(KS_IMGUI QUIET IMPORTED_TARGET imgui)
    pkg_check_modules(KS_GLFW QUIET IMPORTED_TARGET glfw3)
    pkg_check_modules(KS_EPOXY QUIET IMPORTED_TARGET epoxy)
    find_package(nlohmann_json 3 QUIET)
    find_path(KS_STB_TRUETYPE stb_truetype.h PATH_SUFFIXES stb)
    find_library(KS_STB_LIBRARY stb)
    if(KS_IMGUI_FOUND AND KS_GLFW_FOUND AND KS_EPOXY_FOUND AND nlohmann_json_FOUND
       AND KS_STB_TRUETYPE AND KS_STB_LIBRARY)
      set(KS_APP_DEPS_FOUND ON)
    endif()
  endif()
endif()

if(KS_APP_DEPS_FOUND)
  file(GLOB KS_GUI_SOURCES CONFIGURE_DEPENDS gui/*.cpp panels/*.cpp)
  list(REMOVE_ITEM KS_GUI_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/gui/no_app.cpp)

  # Shaders are compiled into the binary: a generated header holds each .glsl file as a
  # string, regenerated whenever a shader changes.
  file(GLOB KS_SHADER_FILES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/shaders/*.glsl)
  set(KS_SHADER_HEADER ${CMAKE_CURRENT_BINARY_DIR}/generated/ks_shaders.h)
  add_custom_command(
    OUTPUT ${KS_SHADER_HEADER}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${KS_SHADER_HEADER} -DSHADER_DIR=${PROJECT_SOURCE_DIR}/shaders
            -P ${PROJECT_SOURCE_DIR}/shaders/embed_shaders.cmake
    DEPENDS ${KS_SHADER_FILES} ${PROJECT_SOURCE_DIR}/shaders/embed_shaders.cmake
    COMMENT "Embedding shaders")

  target_sources(kernelscope PRIVATE ${KS_GUI_SOURCES} ${KS_SHADER_HEADER})
  target_include_directories(kernelscope PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/generated
                                                 ${KS_STB_TRUETYPE})
  target_compile_definitions(kernelscope PRIVATE
    KS_SOURCE_ASSET_DIR="${PROJECT_SOURCE_DIR}/assets")
  target_link_libraries(kernelscope PRIVATE PkgConfig::KS_IMGUI PkgConfig::KS_GLFW
                        PkgConfig::KS_EPOXY nlohmann_json::nlohmann_json ${KS_STB_LIBRARY})
  set(KS_HAVE_APP ON PARENT_SCOPE)
  set(KS_HAVE_APP ON)
else()
  target_sources(kernelscope PRIVATE gui/no_app.cpp)
  if(KS_BUILD_APP)
    message(STATUS "Desktop app disabled: GLFW, Dear ImGui, libepoxy, nlohmann-json or stb not found")
  endif()
endif()
