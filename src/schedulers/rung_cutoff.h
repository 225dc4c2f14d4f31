// Internal: ASHA's cut-off of a rung, shared by the scheduler (async_hyperband.cc) and the
// dashboard that shows it (src/dashboard/scheduler_decisions.cc).
// Thread-safety: a pure function.
#pragma once

#include <optional>
#include <vector>

namespace tune::detail {

// The cut-off of a rung holding `values` (max is better): numpy.nanpercentile at
// (1 - 1/reduction_factor) with linear interpolation; nullopt for an empty rung.
std::optional<double> rung_cutoff(std::vector<double> values, double reduction_factor);

}  // namespace tune::detail
