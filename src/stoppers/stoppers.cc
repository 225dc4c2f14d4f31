// The built-in stoppers (dict criteria, max iterations, plateaus, timeout, combined) and StopSpec.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "common/result_keys.h"
#include "trial/auto_fill.h"
#include "tune/error.h"
#include "tune/stopper.h"

namespace tune {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A numeric view of a JSON value: numbers as themselves, bools as 0/1, null as NaN (NaN is
// written to JSON as null, so a round-tripped NaN arrives as null); nullopt for anything else.
std::optional<double> as_number(const Json& value) {
  if (value.is_number()) return value.get<double>();
  if (value.is_boolean()) return value.get<bool>() ? 1.0 : 0.0;
  if (value.is_null()) return kNaN;
  return std::nullopt;
}

using detail::available_keys;

// The metric's value in a result, as a number; a missing or non-numeric metric is misuse.
double metric_value(const std::string& who, const std::string& metric, const Result& result) {
  const Json* value = find_path(result, metric);
  if (value == nullptr) {
    throw TuneError(who + ": the result has no metric '" + metric + "'; it has: " + available_keys(result));
  }
  const auto number = as_number(*value);
  if (!number) throw TuneError(who + ": metric '" + metric + "' must be a number, got " + value->dump());
  return *number;
}

// Population standard deviation (numpy's np.std default, which Ray uses).
template <typename Container>
double population_std(const Container& values) {
  if (values.empty()) return kNaN;
  const double n = static_cast<double>(values.size());
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double sum_sq = 0.0;
  for (double v : values) sum_sq += (v - mean) * (v - mean);
  return std::sqrt(sum_sq / n);
}

void check_mode(const std::string& who, const std::string& mode) {
  if (mode != "min" && mode != "max") throw TuneError(who + ": mode must be 'min' or 'max', got '" + mode + "'");
}

void check_std(const std::string& who, double std) {
  // Written as !(>=) so that NaN is refused too.
  if (!(std >= 0.0)) throw TuneError(who + ": std must be >= 0, got " + std::to_string(std));
}

void check_metric(const std::string& who, const std::string& metric) {
  if (metric.empty()) throw TuneError(who + ": metric must not be empty");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// DictStopper

DictStopper::DictStopper(Json criteria) {
  if (!criteria.is_object()) {
    throw TuneError("stop: criteria must be an object of key -> threshold, got " + criteria.dump());
  }
  criteria_ = flatten(criteria);
  for (const auto& [key, threshold] : criteria_.items()) {
    if (!threshold.is_number() && !threshold.is_boolean()) {
      throw TuneError("stop: criterion '" + key + "' must be a number, got " + threshold.dump());
    }
  }
}

DictStopper::DictStopper(std::initializer_list<std::pair<const std::string, Json>> criteria)
    : DictStopper(Json(std::map<std::string, Json>(criteria))) {}

bool DictStopper::operator()(const std::string& /*trial_id*/, const Result& result) {
  if (detail::result_flag(result, "done")) return true;  // Ray tests result.get("done") for truthiness
  for (const auto& [key, threshold] : criteria_.items()) {
    const Json* value = find_path(result, key);
    if (value == nullptr) {
      throw TuneError("stop: the result has no key '" + key + "'; it has: " + available_keys(result));
    }
    const auto number = as_number(*value);
    if (!number) throw TuneError("stop: the result's '" + key + "' must be a number, got " + value->dump());
    // NaN >= x is false, so NaN never triggers.
    if (*number >= *as_number(threshold)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// MaximumIterationStopper

MaximumIterationStopper::MaximumIterationStopper(int64_t max_iter) : max_iter_(max_iter) {
  if (max_iter < 1) {
    throw TuneError("MaximumIterationStopper: max_iter must be >= 1, got " + std::to_string(max_iter));
  }
}

bool MaximumIterationStopper::operator()(const std::string& trial_id, const Result& /*result*/) {
  return ++counts_[trial_id] >= max_iter_;
}

// ---------------------------------------------------------------------------------------------
// TrialPlateauStopper

TrialPlateauStopper::TrialPlateauStopper(std::string metric, double std, int num_results, int grace_period,
                                         std::optional<double> metric_threshold, std::string mode)
    : metric_(std::move(metric)),
      std_(std),
      num_results_(num_results),
      grace_period_(grace_period),
      metric_threshold_(metric_threshold),
      mode_(std::move(mode)) {
  const std::string who = "TrialPlateauStopper";
  check_metric(who, metric_);
  check_std(who, std_);
  if (num_results_ < 1) throw TuneError(who + ": num_results must be >= 1, got " + std::to_string(num_results_));
  if (grace_period_ < 0) throw TuneError(who + ": grace_period must be >= 0, got " + std::to_string(grace_period_));
  check_mode(who, mode_);
  if (metric_threshold_ && std::isnan(*metric_threshold_)) throw TuneError(who + ": metric_threshold must not be NaN");
}

bool TrialPlateauStopper::operator()(const std::string& trial_id, const Result& result) {
  const double current = metric_value("TrialPlateauStopper", metric_, result);
  auto& window = window_[trial_id];
  window.push_back(current);
  if (window.size() > static_cast<size_t>(num_results_)) window.pop_front();
  const int64_t count = ++iterations_[trial_id];

  if (count < grace_period_) return false;
  if (window.size() < static_cast<size_t>(num_results_)) return false;
  if (metric_threshold_) {
    // Only a trial that has reached the threshold may be stopped for plateauing.
    const bool reached = mode_ == "min" ? current <= *metric_threshold_ : current >= *metric_threshold_;
    if (!reached) return false;
  }
  // A NaN in the window makes the std NaN, which never compares below std_.
  return population_std(window) < std_;
}

// ---------------------------------------------------------------------------------------------
// ExperimentPlateauStopper

ExperimentPlateauStopper::ExperimentPlateauStopper(std::string metric, double std, int top, std::string mode,
                                                   int patience)
    : metric_(std::move(metric)), std_(std), top_(top), mode_(std::move(mode)), patience_(patience) {
  const std::string who = "ExperimentPlateauStopper";
  check_metric(who, metric_);
  check_std(who, std_);
  if (top_ < 1) throw TuneError(who + ": top must be >= 1, got " + std::to_string(top_));
  check_mode(who, mode_);
  if (patience_ < 0) throw TuneError(who + ": patience must be >= 0, got " + std::to_string(patience_));
}

bool ExperimentPlateauStopper::operator()(const std::string& /*trial_id*/, const Result& result) {
  const double value = metric_value("ExperimentPlateauStopper", metric_, result);
  // NaN cannot be ranked (it would break the ordering), so it does not enter the top values;
  // the result still counts towards the patience streak below.
  if (!std::isnan(value)) {
    // top_values_ is kept sorted best-first: ascending for min, descending for max.
    const bool is_min = mode_ == "min";
    auto better = [is_min](double a, double b) { return is_min ? a < b : a > b; };
    top_values_.insert(std::upper_bound(top_values_.begin(), top_values_.end(), value, better), value);
    if (top_values_.size() > static_cast<size_t>(top_)) top_values_.pop_back();
  }
  const bool plateaued = top_values_.size() == static_cast<size_t>(top_) && population_std(top_values_) <= std_;
  iterations_ = plateaued ? iterations_ + 1 : 0;
  // As Ray's stop_all(): re-evaluated after every result rather than latched.
  should_stop_ = plateaued && iterations_ > patience_;
  return stop_all();
}

// ---------------------------------------------------------------------------------------------
// TimeoutStopper

TimeoutStopper::TimeoutStopper(std::chrono::duration<double> timeout, Clock clock)
    : timeout_(timeout), clock_(clock ? std::move(clock) : Clock([] { return std::chrono::steady_clock::now(); })) {
  if (!(timeout_.count() > 0.0)) {
    throw TuneError("TimeoutStopper: timeout must be > 0 seconds, got " + std::to_string(timeout_.count()));
  }
  start_ = clock_();
}

bool TimeoutStopper::operator()(const std::string& /*trial_id*/, const Result& /*result*/) { return stop_all(); }

bool TimeoutStopper::stop_all() {
  return std::chrono::duration<double>(clock_() - start_) >= timeout_;
}

// ---------------------------------------------------------------------------------------------
// CombinedStopper

CombinedStopper::CombinedStopper(std::vector<std::shared_ptr<Stopper>> stoppers) : stoppers_(std::move(stoppers)) {
  for (size_t i = 0; i < stoppers_.size(); ++i) {
    if (stoppers_[i] == nullptr) throw TuneError("CombinedStopper: stoppers[" + std::to_string(i) + "] is null");
  }
}

bool CombinedStopper::operator()(const std::string& trial_id, const Result& result) {
  bool stop = false;
  for (const auto& stopper : stoppers_) stop = (*stopper)(trial_id, result) || stop;  // no short-circuit
  return stop;
}

bool CombinedStopper::stop_all() {
  bool stop = false;
  for (const auto& stopper : stoppers_) stop = stopper->stop_all() || stop;
  return stop;
}

// ---------------------------------------------------------------------------------------------
// StopSpec

StopSpec::StopSpec(std::vector<std::shared_ptr<Stopper>> stoppers) {
  if (!stoppers.empty()) stopper_ = std::make_shared<CombinedStopper>(std::move(stoppers));
}

std::shared_ptr<Stopper> StopSpec::make_stopper() const {
  if (stopper_ != nullptr) return stopper_;
  if (empty()) return nullptr;
  return std::make_shared<DictStopper>(criteria_);
}

}  // namespace tune
