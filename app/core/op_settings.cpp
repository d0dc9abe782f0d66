// The settings' parameter list (op_settings.h).
#include "core/op_settings.h"

namespace ks::core {

std::vector<SettingsParam> settings_parameters(OpSettings* s) {
  return {{Param::KernelSize, &s->kernel_size},
          {Param::Stride, &s->stride},
          {Param::Padding, &s->padding},
          {Param::Dilation, &s->dilation},
          {Param::Groups, &s->groups},
          {Param::OutChannels, &s->out_channels},
          {Param::GroupChannels, &s->group_channels},
          {Param::Reduction, &s->reduction},
          {Param::NotebookPadding, &s->notebook_padding}};
}

void clamp_to_app_ranges(OpSettings* s) {
  for (const SettingsParam& p : settings_parameters(s))
    *p.value = static_cast<int>(clamp_to_app_range(p.param, *p.value));
  s->max_memory_mb = clamp_to_app_range(Param::MaxMemoryMb, s->max_memory_mb);
}

}  // namespace ks::core
