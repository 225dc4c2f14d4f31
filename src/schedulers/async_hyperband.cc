// AsyncHyperBandScheduler (ASHA), ray-tune-semantics.md §5.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/strings.h"
#include "schedulers/rung_cutoff.h"
#include "schedulers/scheduler_util.h"
#include "tune/error.h"
#include "tune/scheduler.h"

namespace tune {
namespace {

constexpr const char* kName = "AsyncHyperBandScheduler";

std::optional<double> cutoff(const std::map<std::string, double>& recorded, double reduction_factor) {
  std::vector<double> values;
  for (const auto& [id, v] : recorded) values.push_back(v);
  return detail::rung_cutoff(std::move(values), reduction_factor);
}

}  // namespace

AsyncHyperBandScheduler::AsyncHyperBandScheduler(Options options) : options_(std::move(options)), rng_(options_.seed) {
  using detail::require;
  require(options_.max_t > 0 && std::isfinite(options_.max_t), "max_t", "must be finite and > 0", options_.max_t,
          kName);
  require(options_.grace_period > 0, "grace_period", "must be > 0", options_.grace_period, kName);
  require(options_.max_t >= options_.grace_period, "grace_period", "must be <= max_t", options_.grace_period, kName);
  require(options_.reduction_factor > 1, "reduction_factor", "must be > 1", options_.reduction_factor, kName);
  require(options_.brackets > 0, "brackets", "must be > 0", options_.brackets, kName);
  if (options_.time_attr.empty()) throw TuneError(fmt::format("time_attr: must not be empty ({})", kName));
  // Rungs grace * rf^(k+s) for k < int(log(max_t/grace)/log(rf) - s + 1), highest first.
  for (int s = 0; s < options_.brackets; ++s) {
    const int max_rungs = static_cast<int>(std::log(options_.max_t / options_.grace_period) /
                                               std::log(options_.reduction_factor) -
                                           s + 1);
    std::vector<Rung> rungs;
    for (int k = max_rungs - 1; k >= 0; --k) {
      rungs.push_back(Rung{options_.grace_period * std::pow(options_.reduction_factor, k + s), {}});
    }
    brackets_.push_back(std::move(rungs));
  }
  if (!options_.metric.empty() && !options_.mode.empty()) {
    op_ = detail::resolve_metric(options_.metric, options_.mode, "", "", kName);
  }
}

void AsyncHyperBandScheduler::set_search_properties(const std::string& metric, const std::string& mode) {
  op_ = detail::resolve_metric(options_.metric, options_.mode, metric, mode, kName);
}

void AsyncHyperBandScheduler::on_trial_add(const TrialView& trial) {
  if (bracket_of_.count(trial.trial_id())) return;  // a resumed trial keeps its bracket
  // softmax over the number of rungs: brackets with more rungs get more trials.
  size_t most = 0;
  for (const auto& rungs : brackets_) most = std::max(most, rungs.size());
  std::vector<double> weights;
  for (const auto& rungs : brackets_) weights.push_back(std::exp(static_cast<double>(rungs.size()) - static_cast<double>(most)));
  std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
  const size_t bracket = brackets_.size() == 1 ? 0 : pick(rng_);
  bracket_of_[trial.trial_id()] = bracket;
  changes_.push_back(detail::change_set(Json::array({"bracket_of", trial.trial_id()}), bracket));
  if (brackets_.size() > 1) changes_.push_back(detail::change_set(Json::array({"rng"}), rng_text()));
}

Decision AsyncHyperBandScheduler::on_bracket_result(const std::string& trial_id, double time, double value) {
  auto it = bracket_of_.find(trial_id);
  if (it == bracket_of_.end()) return Decision::kContinue;  // never added (cannot happen)
  auto& rungs = brackets_[it->second];
  for (size_t k = 0; k < rungs.size(); ++k) {
    Rung& rung = rungs[k];
    if (time < rung.milestone || rung.recorded.count(trial_id)) continue;
    const std::optional<double> cut = cutoff(rung.recorded, options_.reduction_factor);
    rung.recorded[trial_id] = value;
    changes_.push_back(detail::change_set(Json::array({"brackets", it->second, k, "recorded", trial_id}), value));
    return cut && value < *cut ? Decision::kStop : Decision::kContinue;
  }
  return Decision::kContinue;
}

Decision AsyncHyperBandScheduler::on_trial_result(const TrialView& trial, const Result& result) {
  const auto time = detail::number_at(result, options_.time_attr);
  const auto value = detail::number_at(result, options_.metric);
  if (!time || !value) return Decision::kContinue;
  Decision decision = *time >= options_.max_t ? Decision::kStop : on_bracket_result(trial.trial_id(), *time, op_ * *value);
  if (decision == Decision::kStop) {
    ++num_stopped_;
    changes_.push_back(detail::change_set(Json::array({"num_stopped"}), num_stopped_));
  }
  return decision;
}

void AsyncHyperBandScheduler::on_trial_complete(const TrialView& trial, const Result& result) {
  const auto time = detail::number_at(result, options_.time_attr);
  const auto value = detail::number_at(result, options_.metric);
  if (time && value) on_bracket_result(trial.trial_id(), *time, op_ * *value);
  forget(trial.trial_id());
}

void AsyncHyperBandScheduler::on_trial_error(const TrialView& trial) { forget(trial.trial_id()); }

void AsyncHyperBandScheduler::forget(const std::string& trial_id) {
  if (bracket_of_.erase(trial_id)) changes_.push_back(detail::change_erase(Json::array({"bracket_of", trial_id})));
}

std::string AsyncHyperBandScheduler::rng_text() const {
  std::ostringstream rng;
  rng << rng_;
  return rng.str();
}

std::vector<StateChange> AsyncHyperBandScheduler::take_state_changes() { return std::exchange(changes_, {}); }

std::string AsyncHyperBandScheduler::debug_string() const {
  std::string out = fmt::format("Using AsyncHyperBand: num_stopped={}", num_stopped_);
  for (size_t b = 0; b < brackets_.size(); ++b) {
    std::vector<std::string> rungs;
    for (const Rung& rung : brackets_[b]) {
      const std::optional<double> cut = cutoff(rung.recorded, options_.reduction_factor);
      rungs.push_back(fmt::format("Iter {:g}: {} trials, cutoff {}", rung.milestone, rung.recorded.size(),
                                  cut ? format_float(op_ * *cut, 5) : std::string("None")));
    }
    out += fmt::format("\nBracket {}: {}", b, join(rungs, " | "));
  }
  return out;
}

Json AsyncHyperBandScheduler::save() const {
  Json brackets = Json::array();
  for (const auto& rungs : brackets_) {
    Json list = Json::array();
    for (const Rung& rung : rungs) list.push_back(Json{{"milestone", rung.milestone}, {"recorded", rung.recorded}});
    brackets.push_back(std::move(list));
  }
  // reduction_factor, mode, max_t and time_attr are not restored (the options give them): they let a reader of
  // the state (the dashboard) compute the rungs' cut-offs in the metric's units.
  return Json{{"type", "asha"},         {"brackets", std::move(brackets)},
              {"bracket_of", bracket_of_}, {"num_stopped", num_stopped_},
              {"rng", rng_text()},       {"reduction_factor", options_.reduction_factor},
              {"mode", op_ > 0 ? "max" : "min"}, {"max_t", options_.max_t}, {"time_attr", options_.time_attr}};
}

void AsyncHyperBandScheduler::restore(const Json& state) {
  if (!state.is_object() || state.value("type", "") != "asha") return;  // another scheduler's state
  const Json& brackets = state.at("brackets");
  for (size_t b = 0; b < brackets_.size() && b < brackets.size(); ++b) {
    for (const Json& saved : brackets[b]) {
      for (Rung& rung : brackets_[b]) {
        if (rung.milestone == saved.value("milestone", -1.0)) {
          rung.recorded = saved.at("recorded").get<std::map<std::string, double>>();
        }
      }
    }
  }
  bracket_of_ = state.value("bracket_of", std::map<std::string, size_t>{});
  for (auto it = bracket_of_.begin(); it != bracket_of_.end();) {
    it = it->second < brackets_.size() ? std::next(it) : bracket_of_.erase(it);
  }
  num_stopped_ = state.value("num_stopped", int64_t{0});
  std::istringstream rng(state.value("rng", ""));
  if (!rng.str().empty()) rng >> rng_;
}

}  // namespace tune
