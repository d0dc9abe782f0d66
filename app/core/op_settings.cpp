// The settings' parameter list (op_settings.h).
#include "core/op_settings.h"

#include "kernelscope/error.h"

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

OperationSpec spec_from_settings(const OpSettings& s, OpKind op) {
  OperationSpec spec;
  spec.op = op == OpKind::Conv ? "conv" : "involution";
  spec.variant = op == OpKind::Involution && s.notebook_variant ? "notebook" : "paper";
  spec.activation = s.relu ? "relu" : "none";
  spec.backend = s.backend;
  spec.max_memory_mb = s.max_memory_mb;
  spec.kernels = KernelsMode::Sum;  // the screen shows the sum map; pixels come from kernels_at
  WeightsSpec& w = spec.weights;
  w.seed = s.seed;
  w.source = s.weights == WeightSource::Custom ? "grid" : weight_source_name(s.weights);
  if (s.weights == WeightSource::Custom) {
    w.grid = s.custom_kernel;
    w.grid.resize(static_cast<size_t>(s.kernel_size) * static_cast<size_t>(s.kernel_size), 0.0f);
  }
  if (s.weights == WeightSource::File) {
    if (s.weights_file.empty()) throw Error("no weights file chosen");
    w.file = s.weights_file;
  }
  if (op == OpKind::Involution && !s.notebook_variant && is_kernel_source(w.source))
    w.variation = s.variation;

  spec.stride = s.stride;
  const bool decided = weights_decide_shape(w);
  if (op == OpKind::Conv) {
    spec.padding = s.padding;
    spec.dilation = s.dilation;
    spec.groups = s.groups;
    if (!decided) {
      spec.kernel_size = s.kernel_size;
      spec.out_channels = s.out_channels;
    }
  } else if (s.notebook_variant) {
    spec.kernel_size = s.kernel_size;
    spec.group_channels = s.group_channels;
    spec.reduction = s.reduction;
    spec.padding = s.notebook_padding;
  } else {
    spec.dilation = s.dilation;
    if (!decided) {
      spec.kernel_size = s.kernel_size;
      spec.reduction = s.reduction;
      // A pending --groups G: group channels C / G, resolved with the image.
      if (s.involution_groups > 0)
        spec.groups = s.involution_groups;
      else
        spec.group_channels = s.group_channels;
    }
  }
  return spec;
}

}  // namespace ks::core
