// Messages and clamps derived from the parameter table (parameter_limits.h).
#include "core/parameter_limits.h"

#include <algorithm>

namespace ks::core {

std::string flag_range_error(Param p, int64_t value) {
  const ParamLimits& l = limits(p);
  if (value >= l.min) return "";
  return std::string(l.flag) + " must be at least " + std::to_string(l.min) + ", got " +
         std::to_string(value);
}

std::string field_range_error(Param p) {
  const ParamLimits& l = limits(p);
  return std::string("field '") + l.field + "' must be an integer >= " + std::to_string(l.min);
}

int64_t app_max(Param p, int64_t channels) {
  const ParamLimits& l = limits(p);
  if (l.app_max == kUpToChannels) return std::max<int64_t>(channels, l.min);
  if (l.app_max == kNoUpperEnd) return INT64_MAX;
  return l.app_max;
}

int64_t clamp_to_app_range(Param p, int64_t value) {
  const ParamLimits& l = limits(p);
  if (l.app_max < 0) return std::max(value, l.min);
  return std::clamp(value, l.min, l.app_max);
}

}  // namespace ks::core
