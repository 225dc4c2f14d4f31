// Scoring a trial by a metric under a scope (see trial_score.h).
#include "analysis/trial_score.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>

#include "analysis/trial_files.h"
#include "tune/error.h"

namespace tune::detail {
namespace {

constexpr std::array<const char*, 5> kScopes = {"last", "avg", "last-5-avg", "last-10-avg", "all"};

// Stats of an untracked `metric`, computed from the trial's result.json (no cache, so
// concurrent const calls of the analysis stay safe).
std::optional<MetricStats> stats_from_results(const TrialRecord& trial, const std::string& metric) {
  if (trial.logdir().empty()) return std::nullopt;
  MetricStats stats;
  bool seen = false;
  analysis_detail::for_each_result(trial.logdir() / "result.json", [&](Json&& result) {
    const Json* value = find_path(result, metric);
    if (value && value->is_number()) {
      stats.add(value->get<double>());
      seen = true;
    } else if (value && value->is_null() && seen) {
      stats.add(std::numeric_limits<double>::quiet_NaN());
    }
  });
  if (!seen) return std::nullopt;
  return stats;
}

std::optional<double> scoped_value(const MetricStats& stats, const std::string& mode, const std::string& scope) {
  if (scope == "last") return stats.last;
  if (stats.count == 0) return std::nullopt;
  if (scope == "avg") return stats.avg();
  if (scope == "last-5-avg") return stats.last_n_avg(5);
  if (scope == "last-10-avg") return stats.last_n_avg(10);
  return mode == "min" ? stats.min : stats.max;  // "all": the trial's own best
}

}  // namespace

void check_scope(const std::string& where, const std::string& scope) {
  if (std::find(kScopes.begin(), kScopes.end(), scope) != kScopes.end()) return;
  throw TuneError(fmt::format("{}: scope '{}' is invalid; valid scopes: {}", where, scope, fmt::join(kScopes, ", ")));
}

std::optional<double> trial_score(const TrialRecord& trial, const std::string& metric, const std::string& mode,
                                  const std::string& scope) {
  // Tracked statistics first, read in place (a 100,000-trial index scores every trial).
  if (auto tracked = trial.metric_stats.find(metric); tracked != trial.metric_stats.end())
    return scoped_value(tracked->second, mode, scope);
  if (scope == "last") {
    const Result last_result = trial.last_result();
    if (const Json* found = find_path(last_result, metric)) {
      if (found->is_number()) return found->get<double>();
      if (found->is_null()) return std::numeric_limits<double>::quiet_NaN();  // reported, but not finite
    }
  }
  if (std::optional<MetricStats> stats = stats_from_results(trial, metric)) return scoped_value(*stats, mode, scope);
  return std::nullopt;
}

}  // namespace tune::detail
