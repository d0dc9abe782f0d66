// The operation spec's field list and its one validation (operation_spec.h).
#include "core/operation_spec.h"

#include <cmath>
#include <cstdio>

#include "kernelscope/designed_involution.h"
#include "kernelscope/error.h"
#include "kernelscope/kernel_presets.h"

namespace ks::core {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

// A K x K kernel has exactly `values` taps; K*K is never formed for a K whose square would
// overflow (a hand-edited scene may hold any integer).
bool grid_fits_kernel(size_t values, int64_t kernel_size) {
  constexpr int64_t kMaxSide = 3037000499;  // floor(sqrt(INT64_MAX))
  return kernel_size > 0 && kernel_size <= kMaxSide &&
         static_cast<int64_t>(values) == kernel_size * kernel_size;
}

const char* name_of(Param p, Naming naming) {
  return naming == Naming::Flags ? limits(p).flag : limits(p).field;
}

std::string op_choice(Naming naming) {
  return naming == Naming::Flags ? "use --op involution" : "set op to 'involution'";
}

// A number as a person writes it: 0.5, 1e+308, -1.
std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

void check_source_name(const std::string& source, Naming naming) {
  if (source == "random" || source == "grid" || source == "file" || source == "learned") return;
  if (has_designed_prefix(source)) {
    designed_involution_from_name(source);  // throws listing the designs
    return;
  }
  try {
    kernel_preset_from_name(source);
  } catch (const Error& e) {
    // --kernel takes names (a file is --weights); a scene's weights.preset also grid and file.
    throw Error(std::string(e.what()) + (naming == Naming::Flags
                                             ? "; or random, designed:NAME"
                                             : "; or random, grid, file, designed:NAME"));
  }
}

}  // namespace

bool is_kernel_source(const std::string& source) {
  return source != "random" && source != "file" && source != "learned" &&
         !has_designed_prefix(source);
}

bool weights_decide_shape(const WeightsSpec& w) {
  return w.source == "file" || w.source == "learned" || has_designed_prefix(w.source);
}

int64_t* spec_field(OperationSpec* s, Param param) {
  switch (param) {
    case Param::KernelSize:
      return &s->kernel_size;
    case Param::OutChannels:
      return &s->out_channels;
    case Param::Stride:
      return &s->stride;
    case Param::Padding:
      return &s->padding;
    case Param::Dilation:
      return &s->dilation;
    case Param::Groups:
      return &s->groups;
    case Param::GroupChannels:
      return &s->group_channels;
    case Param::Reduction:
      return &s->reduction;
    case Param::NotebookPadding:
      return nullptr;  // the padding field
    case Param::MaxMemoryMb:
      return &s->max_memory_mb;
  }
  return nullptr;
}

OpKind spec_op_kind(const OperationSpec& s) {
  if (s.op == "conv") return OpKind::Conv;
  if (s.op == "involution") return OpKind::Involution;
  throw Error("unknown op '" + s.op + "' (use conv or involution)");
}

void check_spec(const OperationSpec& s, Naming naming) {
  const OpKind op = spec_op_kind(s);
  if (s.variant != "paper" && s.variant != "notebook")
    throw Error("unknown variant '" + s.variant + "' (use paper or notebook)");
  if (s.variant == "notebook" && op != OpKind::Involution)
    throw Error("the notebook variant is an involution variant: " + op_choice(naming));
  if (s.activation != "none" && s.activation != "relu")
    throw Error("unknown activation '" + s.activation + "' (use none or relu)");
  // -1 is "not set"; anything else below the table's lower end is refused.
  for (const ParamLimits& l : kParamLimits)
    if (const int64_t* value = spec_field(s, l.param); value && *value != -1 && *value < l.min)
      throw Error(std::string(name_of(l.param, naming)) + " must be at least " + str(l.min) +
                  ", got " + str(*value));

  const WeightsSpec& w = s.weights;
  check_source_name(w.source, naming);
  if (w.source == "file" && w.file.empty()) throw Error("weights from a file need the file's path");
  if (w.source == "grid") {
    if (w.grid.empty()) throw Error("weights from a grid need the grid's values");
    if (s.kernel_size != -1 && !grid_fits_kernel(w.grid.size(), s.kernel_size))
      throw Error(std::string(naming == Naming::Flags ? "the grid" : "weights.grid") + " has " +
                  std::to_string(w.grid.size()) + " values but " +
                  name_of(Param::KernelSize, naming) + " " + str(s.kernel_size) + " needs " +
                  str(s.kernel_size) + " x " + str(s.kernel_size));
  }
  if (!std::isfinite(w.variation) || w.variation < 0 || w.variation > 100)
    throw Error("variation must be a number from 0 to 100, got " + number(w.variation));
  if (w.variation != 0 &&
      (op != OpKind::Involution || s.variant != "paper" || !is_kernel_source(w.source)))
    throw Error("variation applies to the paper's involution from a named kernel or a grid");
  if (has_designed_prefix(w.source)) {
    const DesignedInvolution design = designed_involution_from_name(w.source);
    if (op != OpKind::Involution)
      throw Error(w.source + " generates involution kernels; a convolution has none (" +
                  op_choice(naming) + ")");
    if (s.variant != "paper")
      throw Error(w.source +
                  " generates the paper's involution kernels; the notebook variant "
                  "has none");
    // The design decides K and the reduction (and group channels = C, checked with the
    // image); a spec may repeat them, not change them. Stride and dilation stay free.
    const InvolutionParams d = designed_involution_params(design, 3);
    const std::pair<Param, int64_t> decided[] = {{Param::KernelSize, d.kernel_size},
                                                 {Param::Reduction, d.reduction}};
    for (const auto& [param, value] : decided)
      if (const int64_t given = *spec_field(s, param); given != -1 && given != value)
        throw Error(std::string(name_of(param, naming)) + " " + str(given) + " contradicts " +
                    w.source + " (" + limits(param).label + " " + str(value) + ")");
  }
}

}  // namespace ks::core
