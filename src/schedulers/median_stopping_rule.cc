// MedianStoppingRule, ray-tune-semantics.md §5.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "schedulers/scheduler_util.h"
#include "tune/error.h"
#include "tune/scheduler.h"

namespace tune {
namespace {
constexpr const char* kName = "MedianStoppingRule";

// A trial's points as saved: [[time, value], ...].
template <typename Points>
Json points_json(const Points& points) {
  Json list = Json::array();
  for (const auto& p : points) list.push_back(Json::array({p.time, p.value}));
  return list;
}
}

MedianStoppingRule::MedianStoppingRule(Options options) : options_(std::move(options)) {
  using detail::require;
  require(options_.grace_period >= 0, "grace_period", "must be >= 0", options_.grace_period, kName);
  require(options_.min_samples_required >= 1, "min_samples_required", "must be >= 1", options_.min_samples_required,
          kName);
  require(options_.min_time_slice >= 0, "min_time_slice", "must be >= 0", options_.min_time_slice, kName);
  if (options_.time_attr.empty()) throw TuneError(fmt::format("time_attr: must not be empty ({})", kName));
  if (!options_.metric.empty() && !options_.mode.empty()) {
    max_ = detail::resolve_metric(options_.metric, options_.mode, "", "", kName) > 0;
  }
}

void MedianStoppingRule::set_search_properties(const std::string& metric, const std::string& mode) {
  max_ = detail::resolve_metric(options_.metric, options_.mode, metric, mode, kName) > 0;
}

void MedianStoppingRule::on_trial_add(const TrialView& trial) {
  if (!results_.count(trial.trial_id())) not_started_.insert(trial.trial_id());
}

double MedianStoppingRule::running_mean(const std::vector<Point>& points, double time) const {
  double sum = 0;
  int n = 0;
  for (const Point& p : points) {
    if (p.time >= options_.grace_period && p.time <= time) {
      sum += p.value;
      ++n;
    }
  }
  return n == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / n;
}

void MedianStoppingRule::unpause(const std::string& trial_id) {
  if (paused_.erase(trial_id)) changes_.push_back(detail::change_remove(Json::array({"paused"}), trial_id));
}

std::vector<StateChange> MedianStoppingRule::take_state_changes() { return std::exchange(changes_, {}); }

Decision MedianStoppingRule::on_trial_result(const TrialView& trial, const Result& result) {
  const std::string& id = trial.trial_id();
  not_started_.erase(id);
  unpause(id);
  const auto time = detail::number_at(result, options_.time_attr);
  const auto value = detail::number_at(result, options_.metric);
  if (!time || !value) return Decision::kContinue;
  if (stopped_.count(id)) return Decision::kContinue;  // paused by a soft stop and resumed: FIFO from here
  std::vector<Point>& mine = results_[id];
  if (!mine.empty() && mine.back().time >= *time) {
    // Restored from a checkpoint (a retry, a resumed experiment), the trial reports again
    // from there: its results past the checkpoint are replaced, not counted twice.
    std::erase_if(mine, [&](const Point& p) { return p.time >= *time; });
    mine.push_back({*time, *value});
    changes_.push_back(detail::change_set(Json::array({"results", id}), points_json(mine)));
  } else {
    mine.push_back({*time, *value});
    changes_.push_back(detail::change_append(Json::array({"results", id}), Json::array({*time, *value})));
  }
  if (*time < options_.grace_period) return Decision::kContinue;
  // The other trials that have got at least as far.
  std::vector<double> means;
  for (const auto& [other, points] : results_) {
    if (other == id || points.empty() || points.back().time < *time) continue;
    means.push_back(running_mean(points, *time));
  }
  if (static_cast<int>(means.size()) < options_.min_samples_required) {
    // Too few to judge: yield to a waiting trial, at most once per min_time_slice.
    auto last = last_pause_.find(id);
    const double since = last == last_pause_.end() ? std::numeric_limits<double>::infinity() : *time - last->second;
    const bool others_waiting = !not_started_.empty() || !paused_.empty();
    if (since > options_.min_time_slice && others_waiting) {
      last_pause_[id] = *time;
      paused_.insert(id);
      changes_.push_back(detail::change_set(Json::array({"last_pause", id}), *time));
      changes_.push_back(detail::change_insert(Json::array({"paused"}), id));
      return Decision::kPause;
    }
    return Decision::kContinue;
  }
  std::erase_if(means, [](double m) { return std::isnan(m); });
  if (means.empty()) return Decision::kContinue;
  std::sort(means.begin(), means.end());
  const size_t n = means.size();
  const double median = n % 2 ? means[n / 2] : (means[n / 2 - 1] + means[n / 2]) / 2;
  double best = mine.front().value;
  for (const Point& p : mine) best = max_ ? std::max(best, p.value) : std::min(best, p.value);
  const bool worse = max_ ? median > best : median < best;
  if (!worse) return Decision::kContinue;
  stopped_.insert(id);
  changes_.push_back(detail::change_insert(Json::array({"stopped"}), id));
  if (!options_.hard_stop) {
    paused_.insert(id);
    changes_.push_back(detail::change_insert(Json::array({"paused"}), id));
  }
  return options_.hard_stop ? Decision::kStop : Decision::kPause;
}

void MedianStoppingRule::on_trial_complete(const TrialView& trial, const Result& result) {
  not_started_.erase(trial.trial_id());
  unpause(trial.trial_id());
  const auto time = detail::number_at(result, options_.time_attr);
  const auto value = detail::number_at(result, options_.metric);
  // The final result counts for the others (Ray appends it too), unless already recorded.
  if (time && value) {
    auto& mine = results_[trial.trial_id()];
    if (mine.empty() || mine.back().time != *time) {
      mine.push_back({*time, *value});
      changes_.push_back(
          detail::change_append(Json::array({"results", trial.trial_id()}), Json::array({*time, *value})));
    }
  }
}

void MedianStoppingRule::on_trial_error(const TrialView& trial) {
  not_started_.erase(trial.trial_id());
  unpause(trial.trial_id());
}

std::optional<size_t> MedianStoppingRule::choose_trial_to_run(const std::vector<TrialView>& candidates) {
  const std::optional<size_t> chosen = TrialScheduler::choose_trial_to_run(candidates);
  if (chosen) {  // it runs from now on: no longer waiting
    not_started_.erase(candidates[*chosen].trial_id());
    unpause(candidates[*chosen].trial_id());
  }
  return chosen;
}

std::string MedianStoppingRule::debug_string() const {
  return fmt::format("Using MedianStoppingRule: num_stopped={}.", stopped_.size());
}

Json MedianStoppingRule::save() const {
  Json results = Json::object();
  for (const auto& [id, points] : results_) results[id] = points_json(points);
  return Json{{"type", "median_stopping_rule"}, {"results", std::move(results)}, {"stopped", stopped_},
              {"paused", paused_}, {"last_pause", last_pause_}};
}

void MedianStoppingRule::restore(const Json& state) {
  if (!state.is_object() || state.value("type", "") != "median_stopping_rule") return;
  results_.clear();
  for (const auto& [id, list] : state.at("results").items()) {
    for (const Json& p : list) results_[id].push_back({p.at(0).get<double>(), p.at(1).get<double>()});
  }
  stopped_ = state.value("stopped", std::set<std::string>{});
  paused_ = state.value("paused", std::set<std::string>{});
  last_pause_ = state.value("last_pause", std::map<std::string, double>{});
}

}  // namespace tune
