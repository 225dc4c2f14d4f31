// ExperimentAnalysis: loading an experiment from its files and picking the best trial.
#include "tune/analysis.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <unordered_map>

#include "analysis/experiment_reader.h"
#include "analysis/trial_files.h"
#include "analysis/trial_score.h"
#include "tune/error.h"

namespace tune {
namespace {

namespace fs = std::filesystem;
using analysis_detail::for_each_result;
using analysis_detail::read_text;

constexpr std::array<const char*, 4> kFixedColumns = {"trial_id", "name", "status", "logdir"};

void check_mode(const std::string& where, const std::string& mode, bool allow_empty) {
  if (mode == "min" || mode == "max" || (allow_empty && mode.empty())) return;
  throw TuneError(
      fmt::format("{}: mode '{}' is invalid; valid modes: min, max{}", where, mode, allow_empty ? " (or empty)" : ""));
}

}  // namespace

ExperimentAnalysis::ExperimentAnalysis(std::filesystem::path experiment_dir, std::vector<TrialRecord> trials,
                                       std::string default_metric, std::string default_mode)
    : dir_(std::move(experiment_dir)),
      trials_(std::move(trials)),
      metric_(std::move(default_metric)),
      mode_(std::move(default_mode)) {
  check_mode("ExperimentAnalysis", mode_, /*allow_empty=*/true);
}

ExperimentAnalysis ExperimentAnalysis::load(const std::filesystem::path& experiment_dir, std::string default_metric,
                                            std::string default_mode) {
  detail::ExperimentOnDisk experiment;
  try {
    experiment = detail::read_experiment(experiment_dir);
  } catch (const TuneError& e) {
    throw TuneError(fmt::format("ExperimentAnalysis::load: {}", e.what()));
  }
  if (default_metric.empty()) default_metric = std::move(experiment.metric);
  if (default_mode.empty()) default_mode = std::move(experiment.mode);
  return ExperimentAnalysis(experiment_dir, std::move(experiment.trials), std::move(default_metric),
                            std::move(default_mode));
}

// ExperimentAnalysis::stats_for is no longer defined: trial_score (analysis/trial_score.h) scores a
// trial for get_best_trial and `tune analyze` alike. Its declaration goes with the next change of
// tune/analysis.h (a header change rebuilds every user of the umbrella header).

std::optional<TrialRecord> ExperimentAnalysis::get_best_trial(std::string metric, std::string mode,
                                                              const std::string& scope) const {
  if (metric.empty()) metric = metric_;
  if (metric.empty()) throw TuneError("get_best_trial: no metric given and the run had none");
  if (mode.empty()) mode = mode_;  // also when the metric is given: the run's mode
  if (mode.empty()) throw TuneError("get_best_trial: no mode given and the run had none; valid modes: min, max");
  check_mode("get_best_trial", mode, /*allow_empty=*/false);
  detail::check_scope("get_best_trial", scope);

  const TrialRecord* best = nullptr;
  double best_value = 0;
  for (const TrialRecord& trial : trials_) {
    const std::optional<double> value = detail::trial_score(trial, metric, mode, scope);
    if (!value || !std::isfinite(*value)) continue;
    // Strictly better only: on a tie the earlier trial stays best.
    if (!best || (mode == "min" ? *value < best_value : *value > best_value)) {
      best = &trial;
      best_value = *value;
    }
  }
  if (!best) return std::nullopt;
  return *best;
}

Config ExperimentAnalysis::get_best_config(std::string metric, std::string mode, const std::string& scope) const {
  const std::string shown = metric.empty() ? metric_ : metric;
  std::optional<TrialRecord> best = get_best_trial(std::move(metric), std::move(mode), scope);
  if (!best) throw TuneError(fmt::format("get_best_config: no trial reported a finite value of metric '{}'", shown));
  return best->config();
}

std::filesystem::path ExperimentAnalysis::get_best_logdir(std::string metric, std::string mode,
                                                          const std::string& scope) const {
  const std::string shown = metric.empty() ? metric_ : metric;
  std::optional<TrialRecord> best = get_best_trial(std::move(metric), std::move(mode), scope);
  if (!best) throw TuneError(fmt::format("get_best_logdir: no trial reported a finite value of metric '{}'", shown));
  return best->logdir();
}

Table ExperimentAnalysis::dataframe() const {
  std::vector<Json> results;  // flattened, without config
  std::vector<Json> configs;  // flattened
  results.reserve(trials_.size());
  configs.reserve(trials_.size());
  std::set<std::string> result_keys;
  std::set<std::string> config_keys;
  for (const TrialRecord& trial : trials_) {
    Json result = trial.last_result();
    if (result.is_object()) {
      result.erase("config");
      result = flatten(result);
      for (const auto& [key, value] : result.items()) {
        // The record's own trial_id/logdir/... win over a same-named result field.
        if (std::find(kFixedColumns.begin(), kFixedColumns.end(), key) == kFixedColumns.end()) result_keys.insert(key);
      }
    }
    Json config = trial.config();
    if (config.is_object()) {
      config = flatten(config);
      for (const auto& [key, value] : config.items()) config_keys.insert(key);
    }
    results.push_back(std::move(result));
    configs.push_back(std::move(config));
  }

  Table table;
  table.columns.assign(kFixedColumns.begin(), kFixedColumns.end());
  table.columns.insert(table.columns.end(), result_keys.begin(), result_keys.end());
  for (const std::string& key : config_keys) table.columns.push_back("config/" + key);
  std::unordered_map<std::string, size_t> result_index;
  std::unordered_map<std::string, size_t> config_index;
  size_t next = kFixedColumns.size();
  for (const std::string& key : result_keys) result_index.emplace(key, next++);
  for (const std::string& key : config_keys) config_index.emplace(key, next++);

  table.rows.reserve(trials_.size());
  for (size_t i = 0; i < trials_.size(); ++i) {
    const TrialRecord& trial = trials_[i];
    std::vector<Json> row(table.columns.size());
    row[0] = trial.trial_id();
    row[1] = trial.name();
    row[2] = std::string(to_string(trial.status()));
    row[3] = trial.logdir().string();
    if (results[i].is_object()) {
      for (auto& [key, value] : results[i].items()) {
        if (auto it = result_index.find(key); it != result_index.end()) row[it->second] = std::move(value);
      }
    }
    if (configs[i].is_object()) {
      for (auto& [key, value] : configs[i].items()) row[config_index.at(key)] = std::move(value);
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

Table ExperimentAnalysis::trial_dataframe(const std::string& trial_id) const {
  auto trial =
      std::find_if(trials_.begin(), trials_.end(), [&](const TrialRecord& t) { return t.trial_id() == trial_id; });
  if (trial == trials_.end()) throw TuneError(fmt::format("trial_dataframe: unknown trial id '{}'", trial_id));
  Table table;
  if (trial->logdir().empty()) return table;  // per-trial files were off: nothing to read

  std::vector<Json> results;
  std::set<std::string> keys;
  const bool found = for_each_result(trial->logdir() / "result.json", [&](Json&& result) {
    result.erase("config");
    Json flat = flatten(result);
    for (const auto& [key, value] : flat.items()) keys.insert(key);
    results.push_back(std::move(flat));
  });
  if (found) {
    table.columns.assign(keys.begin(), keys.end());
    table.rows.reserve(results.size());
    for (Json& result : results) {
      std::vector<Json> row(table.columns.size());
      for (size_t c = 0; c < table.columns.size(); ++c) {
        if (auto it = result.find(table.columns[c]); it != result.end()) row[c] = std::move(*it);
      }
      table.rows.push_back(std::move(row));
    }
    return table;
  }

  // No result.json (e.g. only the CSV logger ran): fall back to progress.csv, whose header is fixed.
  std::optional<std::string> csv = read_text(trial->logdir() / "progress.csv");
  if (!csv) return table;
  std::vector<std::vector<std::string>> records = analysis_detail::parse_csv(*csv);
  if (records.empty()) return table;
  table.columns = std::move(records.front());
  for (size_t r = 1; r < records.size(); ++r) {
    std::vector<Json> row(table.columns.size());
    for (size_t c = 0; c < row.size() && c < records[r].size(); ++c) row[c] = analysis_detail::csv_cell(records[r][c]);
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::map<TrialStatus, int64_t> ExperimentAnalysis::status_counts() const {
  std::map<TrialStatus, int64_t> counts;
  for (const TrialRecord& trial : trials_) ++counts[trial.status()];
  return counts;
}

}  // namespace tune
