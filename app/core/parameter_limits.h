// The operator parameters in one table: name, flag, limits, default and which operators read
// them. The CLI's flag checks, the preset reader, the session's clamps and the app's sliders
// all take their ranges from here, so a new parameter's limits are written once.
#pragma once

#include <cstdint>
#include <string>

namespace ks::core {

enum class Param {
  KernelSize,
  OutChannels,
  Stride,
  Padding,
  Dilation,
  Groups,
  GroupChannels,
  Reduction,
  NotebookPadding,
  MaxMemoryMb,
};

// Which operations read a parameter (a bit set of ParamUser).
enum ParamUser : unsigned { kUsedByConv = 1, kUsedByInvolution = 2, kUsedByNotebook = 4 };
constexpr unsigned kUsedByAll = kUsedByConv | kUsedByInvolution | kUsedByNotebook;

// ParamLimits::app_max for parameters bound by the image (a divisor of its channel count).
constexpr int64_t kUpToChannels = -1;
// ParamLimits::app_max where the app sets no upper end either.
constexpr int64_t kNoUpperEnd = -2;

struct ParamLimits {
  Param param;
  const char* field;  // preset and session key
  const char* flag;   // command-line flag
  const char* label;  // the app's control
  const char* help;   // the flag's --help line
  // The least value accepted anywhere: a flag, a preset field, a session, a slider.
  int64_t min;
  // The app's range: its slider ends here and a loaded session is clamped to it. Flags and
  // presets may go beyond (the engine checks shapes and the memory cap).
  int64_t app_max;
  int64_t default_value;  // where nothing else decides (the app starts with it)
  unsigned used_by;
};

// In the order of Param. The notebook variant's padding shares --padding: with the notebook
// variant the flag sets its span padding (default 0, so the map shrinks by K-1).
inline constexpr ParamLimits kParamLimits[] = {
    {Param::KernelSize, "kernel_size", "--kernel-size", "kernel size", "kernel size K", 1, 15, 3,
     kUsedByAll},
    {Param::OutChannels, "out_channels", "--out-channels", "out channels", "conv output channels",
     1, 64, 8, kUsedByConv},
    {Param::Stride, "stride", "--stride", "stride", "stride", 1, 8, 1, kUsedByAll},
    {Param::Padding, "padding", "--padding", "padding", "conv zero padding", 0, 32, 0, kUsedByConv},
    {Param::Dilation, "dilation", "--dilation", "dilation", "dilation", 1, 8, 1,
     kUsedByConv | kUsedByInvolution},
    {Param::Groups, "groups", "--groups", "groups", "groups (conv) or kernel groups G (involution)",
     1, kUpToChannels, 1, kUsedByConv | kUsedByInvolution},
    {Param::GroupChannels, "group_channels", "--group-channels", "group channels",
     "involution channels per group", 1, kUpToChannels, 1, kUsedByInvolution | kUsedByNotebook},
    {Param::Reduction, "reduction", "--reduction", "reduction", "involution reduction ratio r", 1,
     kUpToChannels, 1, kUsedByInvolution | kUsedByNotebook},
    {Param::NotebookPadding, "notebook_padding", "--padding", "span padding", "conv zero padding",
     0, 8, 0, kUsedByNotebook},
    {Param::MaxMemoryMb, "max_memory_mb", "--max-memory-mb", "memory cap MiB",
     "refuse problems that need more memory (MiB)", 1, kNoUpperEnd, 4096, kUsedByAll},
};
constexpr int kParamCount = static_cast<int>(sizeof(kParamLimits) / sizeof(kParamLimits[0]));

constexpr const ParamLimits& limits(Param p) { return kParamLimits[static_cast<int>(p)]; }

constexpr bool table_in_param_order() {
  for (int i = 0; i < kParamCount; ++i)
    if (static_cast<int>(kParamLimits[i].param) != i) return false;
  return true;
}
static_assert(table_in_param_order(), "kParamLimits must list the parameters in Param order");

// "--stride must be at least 1, got 0", or "" when value is in range.
std::string flag_range_error(Param p, int64_t value);
// "field 'stride' must be an integer >= 1": a preset's field out of range or not an integer.
std::string field_range_error(Param p);
// The app's upper end for an input of `channels` channels (the slider's maximum).
int64_t app_max(Param p, int64_t channels);
// A value from a session file moved into the app's range; parameters bound by the channel
// count (unknown when a session loads) and without an upper end are only held at min.
int64_t clamp_to_app_range(Param p, int64_t value);

}  // namespace ks::core
