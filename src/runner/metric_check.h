// Internal: the strict metric check (ray-tune-semantics.md, "Per result" 1). A trial's first
// result must carry every key the experiment decides by: the run's metric, the scheduler's,
// the searcher's and checkpoint_score_attr. One missing is an error of the experiment (a typo
// such as `metric: los` would otherwise prune nothing and teach the searcher nothing).
#pragma once

#include <string>

#include "tune/run.h"

namespace tune::detail {

// Throws TuneError naming the field, the key and the keys the result has.
void check_first_result(const std::string& trial_name, const Result& result, const RunOptions& options);

}  // namespace tune::detail
