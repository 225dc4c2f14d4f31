// Internal: how a trial is scored by a metric under a scope. The one implementation behind
// ExperimentAnalysis::get_best_trial and the value `tune analyze` prints for the best trial.
//
// Scopes: "last" (the last result), "avg" (mean of all results), "last-5-avg", "last-10-avg",
// "all" (the trial's own best by the mode). The statistics are the ones the run tracked
// (TrialRecord::metric_stats) or, failing that, computed from the trial's result.json.
// Thread-safety: no shared state.
#pragma once

#include <optional>
#include <string>

#include "tune/analysis.h"

namespace tune::detail {

// Throws TuneError "<where>: scope '<scope>' is invalid; valid scopes: ..." for an unknown scope.
void check_scope(const std::string& where, const std::string& scope);

// The trial's value of `metric` under `scope` (mode "min" or "max" picks the best for "all").
// nullopt when the trial has no value of it; NaN when it reported the metric as not finite.
std::optional<double> trial_score(const TrialRecord& trial, const std::string& metric, const std::string& mode,
                                  const std::string& scope);

}  // namespace tune::detail
