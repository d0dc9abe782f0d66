// The scans the display needs, done on the worker with each result: the maps averaged down
// to texture size when they are larger, per-plane min/max, and the RGB composite of a
// three-channel output, so the UI thread only uploads.
#pragma once

#include "core/compute.h"

namespace ks::core {

// Fills r's display fields; recycled (may be null) lends the storage of an older result.
void scan_result(OpResult* r, OpResult* recycled);

}  // namespace ks::core
