// Helpers shared by the metric-driven schedulers.
#include "schedulers/scheduler_util.h"
#include "schedulers/rung_cutoff.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "tune/error.h"

namespace tune::detail {

std::optional<double> number_at(const Result& result, const std::string& path) {
  const Json* v = find_path(result, path);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

double resolve_metric(std::string& metric, std::string& mode, const std::string& run_metric,
                      const std::string& run_mode, const std::string& scheduler) {
  if (metric.empty()) metric = run_metric;
  if (mode.empty()) mode = run_mode;
  if (metric.empty() || mode.empty()) {
    throw TuneError(fmt::format("metric: {} needs a metric and a mode (min or max); set them in the run's options "
                                "or in the scheduler's",
                                scheduler));
  }
  if (mode != "min" && mode != "max") {
    throw TuneError(fmt::format("mode: must be 'min' or 'max', got '{}' ({})", mode, scheduler));
  }
  return mode == "max" ? 1.0 : -1.0;
}

void require(bool ok, const std::string& field, const std::string& rule, double value, const std::string& scheduler) {
  if (!ok) throw TuneError(fmt::format("{}: {}, got {:g} ({})", field, rule, value, scheduler));
}

std::optional<double> rung_cutoff(std::vector<double> values, double reduction_factor) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const double rank = (1.0 - 1.0 / reduction_factor) * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (rank - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

}  // namespace tune::detail
