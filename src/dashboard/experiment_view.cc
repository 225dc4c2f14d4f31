// The dashboard's indexed form of one experiment (see experiment_view.h).
#include "dashboard/experiment_view.h"

#include <cmath>
#include <limits>
#include <set>

#include "analysis/experiment_state.h"
#include "analysis/trial_record_parts.h"
#include "analysis/trial_score.h"

namespace tune::dashboard {
namespace {

namespace fs = std::filesystem;

constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();
// Metric names are collected from this many trials' statistics: enough to see every metric a
// run reports, bounded for 100,000-trial experiments.
constexpr size_t kMetricSample = 2000;

// The scalar config values of all trials as columns, filled one trial at a time. A key that is
// a number in every trial that has it is numeric; any other mix is categorical (values printed
// as JSON).
class ConfigColumns {
 public:
  explicit ConfigColumns(size_t trials) : trials_(trials) {}

  void add(size_t trial, Json&& config) {
    if (!config.is_object()) return;
    bool nested = false;
    for (const auto& [key, value] : config.items()) nested = nested || value.is_structured();
    if (nested) config = flatten(config);  // most configs are flat: no second tree for them
    for (auto& [key, value] : config.items()) {
      if (!value.is_primitive() || value.is_null()) continue;
      std::vector<Json>& column = raw_[key];
      if (column.empty()) column.resize(trials_);
      column[trial] = std::move(value);
    }
  }

  std::map<std::string, ParamColumn> take() {
    std::map<std::string, ParamColumn> columns;
    for (auto& [key, values] : raw_) {
      ParamColumn column;
      for (const Json& value : values) column.numeric = column.numeric && (value.is_null() || value.is_number());
      column.values.resize(values.size(), kMissing);
      std::map<std::string, size_t> category_index;
      for (size_t i = 0; i < values.size(); ++i) {
        if (values[i].is_null()) continue;
        if (column.numeric) {
          column.values[i] = values[i].get<double>();
          continue;
        }
        const std::string text = values[i].is_string() ? values[i].get<std::string>() : values[i].dump();
        auto [it, added] = category_index.try_emplace(text, column.categories.size());
        if (added) column.categories.push_back(text);
        column.values[i] = static_cast<double>(it->second);
      }
      columns.emplace(key, std::move(column));
    }
    return columns;
  }

 private:
  size_t trials_;
  std::map<std::string, std::vector<Json>> raw_;
};

const Json* number_at(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? &*it : nullptr;
}

}  // namespace

bool ExperimentView::better(size_t a, size_t b) const {
  const std::optional<double>& x = scores[a];
  const std::optional<double>& y = scores[b];
  const bool x_ok = x && std::isfinite(*x);
  const bool y_ok = y && std::isfinite(*y);
  if (x_ok != y_ok) return x_ok;
  if (!x_ok) return false;
  return disk.mode == "max" ? *x > *y : *x < *y;
}

double to_epoch_seconds(fs::file_time_type when) {
  const auto system = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      when - fs::file_time_type::clock::now() + std::chrono::system_clock::now());
  return std::chrono::duration<double>(system.time_since_epoch()).count();
}

StateStamp state_stamp(const fs::path& dir) {
  StateStamp stamp;
  for (const char* file : {detail::kJournalFile, detail::kSnapshotFile, "."}) {
    std::error_code ec;
    const fs::path path = dir / file;
    const auto time = fs::last_write_time(path, ec);
    stamp.parts.push_back(ec ? -1 : static_cast<int64_t>(time.time_since_epoch().count()));
    const auto size = fs::is_regular_file(path, ec) ? fs::file_size(path, ec) : 0;
    stamp.parts.push_back(ec ? -1 : static_cast<int64_t>(size));
  }
  return stamp;
}

ExperimentView build_view(const std::string& name, const fs::path& dir) {
  ExperimentView view;
  view.name = name;
  view.dir = dir;
  view.stamp = state_stamp(dir);  // before reading: a change while reading makes the next look re-read
  view.loaded = std::chrono::steady_clock::now();
  view.disk = detail::read_experiment(dir);
  const std::vector<TrialRecord>& trials = view.disk.trials;
  view.scores.resize(trials.size());
  view.by_id.reserve(trials.size());
  std::set<std::string> metrics;
  ConfigColumns columns(trials.size());
  const std::string& metric = view.disk.metric;
  // One pass, each record's config and result decoded once.
  for (size_t i = 0; i < trials.size(); ++i) {
    const TrialRecord& trial = trials[i];
    view.by_id.emplace(trial.trial_id(), i);
    ++view.counts[std::string(to_string(trial.status()))];
    if (!metric.empty()) view.scores[i] = detail::trial_score(trial, metric, view.disk.mode, "last");
    if (!view.best || view.better(i, *view.best)) view.best = i;
    columns.add(i, trial.config());
    const Result last = detail::TrialRecordParts::bare_last_result(trial);
    if (i < kMetricSample) {
      for (const auto& [tracked, stats] : trial.metric_stats) metrics.insert(tracked);
      // What the trial reported, beyond the statistics the run tracked (its metric's).
      if (last.is_object()) {
        const Json flat = flatten(last);
        for (const auto& [key, value] : flat.items())
          if (value.is_number() && key != "timestamp" && key != "pid") metrics.insert(key);
      }
    }
    const Json* iteration = number_at(last, "training_iteration");
    if (is_finished(trial.status()) && iteration && iteration->is_number_integer())
      ++view.ended_at[iteration->get<int64_t>()];
    // The run's start: the earliest (timestamp - time_total_s) of the trials' last results,
    // i.e. when the first trial started (the state holds no start time).
    const Json* timestamp = number_at(last, "timestamp");
    if (!timestamp) continue;
    const Json* total = number_at(last, "time_total_s");
    const double started = timestamp->get<double>() - (total ? total->get<double>() : 0.0);
    if (!view.start_time || started < *view.start_time) view.start_time = started;
  }
  if (view.best && !(view.scores[*view.best] && std::isfinite(*view.scores[*view.best]))) view.best.reset();
  view.params = columns.take();
  view.metrics.assign(metrics.begin(), metrics.end());
  return view;
}

}  // namespace tune::dashboard
