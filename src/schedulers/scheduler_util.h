// Internal: helpers shared by the metric-driven schedulers.
#pragma once

#include <optional>
#include <string>

#include "tune/json.h"

namespace tune::detail {

// The number at `path` ("a/b") of a result, nullopt when absent or not a number.
std::optional<double> number_at(const Result& result, const std::string& path);

// Fills a scheduler's metric and mode from the run's when it has none of its own and
// returns the sign that makes bigger better (+1 for max, -1 for min). Throws TuneError
// naming `scheduler` when either is still missing or the mode is not min/max.
double resolve_metric(std::string& metric, std::string& mode, const std::string& run_metric,
                      const std::string& run_mode, const std::string& scheduler);

// Throws TuneError "<field>: <rule>, got <value> (<scheduler>)" unless `ok`.
void require(bool ok, const std::string& field, const std::string& rule, double value, const std::string& scheduler);

}  // namespace tune::detail
