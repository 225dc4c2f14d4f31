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

#include "analysis/experiment_state.h"
#include "analysis/trial_files.h"
#include "tune/error.h"

namespace tune {
namespace {

namespace fs = std::filesystem;
using analysis_detail::for_each_result;
using analysis_detail::read_text;

constexpr std::array<const char*, 5> kScopes = {"last", "avg", "last-5-avg", "last-10-avg", "all"};
constexpr std::array<const char*, 4> kFixedColumns = {"trial_id", "name", "status", "logdir"};

void check_mode(const std::string& where, const std::string& mode, bool allow_empty) {
  if (mode == "min" || mode == "max" || (allow_empty && mode.empty())) return;
  throw TuneError(
      fmt::format("{}: mode '{}' is invalid; valid modes: min, max{}", where, mode, allow_empty ? " (or empty)" : ""));
}

// Adds every numeric value of a flattened result to `stats`. A null where a number was reported
// before is how a NaN comes back from JSON, so it counts as a non-finite `last`.
void add_result_stats(const Json& result, std::map<std::string, MetricStats>& stats) {
  const Json flat = flatten(result);
  for (const auto& [key, value] : flat.items()) {
    if (key == "config" || key.starts_with("config/")) continue;
    if (value.is_number()) {
      stats[key].add(value.get<double>());
    } else if (value.is_null()) {
      if (auto it = stats.find(key); it != stats.end()) it->second.add(std::numeric_limits<double>::quiet_NaN());
    }
  }
}

// The last recorded error of error.txt: each failure is appended as "Failure # n ...".
std::string last_failure(std::string text) {
  if (const size_t at = text.rfind("Failure # "); at != std::string::npos) text.erase(0, at);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

// Rebuilds one trial from its directory, for experiments without experiment_state.json.
TrialRecord scan_trial_dir(const fs::path& dir) {
  Config config = Json::object();
  if (std::optional<std::string> text = read_text(dir / "params.json")) {
    Json parsed = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) config = std::move(parsed);  // a corrupt params.json leaves an empty config
  }
  Result last_result;
  std::map<std::string, MetricStats> stats;
  for_each_result(dir / "result.json", [&](Json&& result) {
    add_result_stats(result, stats);
    last_result = std::move(result);
  });

  const std::string dir_name = dir.filename().string();
  std::string trial_id = dir_name;
  if (const Json* id = find_path(last_result, "trial_id"); id && id->is_string() && !id->get<std::string>().empty()) {
    trial_id = id->get<std::string>();
  }
  // Trial dirs are named "<Trainable>_<trial_id>_<tag>_<date>": the display name is the prefix.
  std::string name = dir_name;
  if (const size_t at = dir_name.find(trial_id); at != std::string::npos)
    name = dir_name.substr(0, at + trial_id.size());

  std::string error;
  TrialStatus status = TrialStatus::kRunning;
  if (std::optional<std::string> text = read_text(dir / "error.txt")) {
    status = TrialStatus::kError;
    error = last_failure(std::move(*text));
  } else if (const Json* done = find_path(last_result, "done"); done && done->is_boolean() && done->get<bool>()) {
    status = TrialStatus::kTerminated;
  }
  TrialRecord record(std::move(trial_id), std::move(name), status, config, last_result, dir, std::move(error));
  record.metric_stats = std::move(stats);
  return record;
}

std::vector<TrialRecord> scan_trial_dirs(const fs::path& experiment_dir) {
  std::vector<fs::path> dirs;
  for (const fs::directory_entry& entry : fs::directory_iterator(experiment_dir)) {
    std::error_code ec;
    if (entry.is_directory(ec) && fs::is_regular_file(entry.path() / "params.json", ec)) dirs.push_back(entry.path());
  }
  std::vector<TrialRecord> trials;
  trials.reserve(dirs.size());
  for (const fs::path& dir : dirs) trials.push_back(scan_trial_dir(dir));
  // Trial ids end in a zero-padded creation counter, so this is creation order (which breaks ties).
  std::stable_sort(trials.begin(), trials.end(), [](const TrialRecord& a, const TrialRecord& b) {
    if (a.trial_id() != b.trial_id()) return a.trial_id() < b.trial_id();
    return a.logdir() < b.logdir();
  });
  return trials;
}

std::string string_field(const Json& state, const fs::path& file, const char* field) {
  auto it = state.find(field);
  if (it == state.end() || it->is_null()) return {};
  if (!it->is_string()) throw TuneError(fmt::format("{}: '{}' must be a string", file.string(), field));
  return it->get<std::string>();
}

// A metric's value for one trial under one scope; nullopt when it has none.
std::optional<double> scoped_value(const MetricStats& stats, const std::string& mode, const std::string& scope) {
  if (scope == "last") return stats.last;
  if (stats.count == 0) return std::nullopt;
  if (scope == "avg") return stats.avg();
  if (scope == "last-5-avg") return stats.last_n_avg(5);
  if (scope == "last-10-avg") return stats.last_n_avg(10);
  return mode == "min" ? stats.min : stats.max;  // "all": the trial's own best
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
  std::error_code ec;
  if (!fs::is_directory(experiment_dir, ec)) {
    throw TuneError(
        fmt::format("ExperimentAnalysis::load: '{}' is not an existing directory", experiment_dir.string()));
  }
  if (!detail::has_stored_experiment(experiment_dir)) {
    std::vector<TrialRecord> trials = scan_trial_dirs(experiment_dir);
    if (trials.empty()) {
      throw TuneError(fmt::format(
          "ExperimentAnalysis::load: '{}' holds neither {} nor trial directories with params.json",
          experiment_dir.string(), detail::kSnapshotFile));
    }
    return ExperimentAnalysis(experiment_dir, std::move(trials), std::move(default_metric), std::move(default_mode));
  }
  detail::StoredExperiment stored;
  try {
    stored = detail::read_stored_experiment(experiment_dir);
  } catch (const TuneError& e) {
    throw TuneError(fmt::format("ExperimentAnalysis::load: {}", e.what()));
  }
  const fs::path state_file = experiment_dir / detail::kSnapshotFile;
  if (default_metric.empty()) default_metric = string_field(stored.header, state_file, "metric");
  if (default_mode.empty()) default_mode = string_field(stored.header, state_file, "mode");
  // A running or crashed experiment: its unfinished trials are part of the picture too.
  std::vector<TrialRecord> trials = std::move(stored.finished);
  for (const Json& state : stored.unfinished) trials.push_back(TrialRecord::from_json(state, experiment_dir));
  return ExperimentAnalysis(experiment_dir, std::move(trials), std::move(default_metric), std::move(default_mode));
}

std::optional<MetricStats> ExperimentAnalysis::stats_for(const TrialRecord& trial, const std::string& metric) const {
  if (auto it = trial.metric_stats.find(metric); it != trial.metric_stats.end()) return it->second;
  if (trial.logdir().empty()) return std::nullopt;
  // Not tracked by the run: recompute from the trial's results (no cache, so const calls stay thread-safe).
  MetricStats stats;
  bool seen = false;
  for_each_result(trial.logdir() / "result.json", [&](Json&& result) {
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

std::optional<TrialRecord> ExperimentAnalysis::get_best_trial(std::string metric, std::string mode,
                                                              const std::string& scope) const {
  if (metric.empty()) metric = metric_;
  if (metric.empty()) throw TuneError("get_best_trial: no metric given and the run had none");
  if (mode.empty()) mode = mode_;
  if (mode.empty()) throw TuneError("get_best_trial: no mode given and the run had none; valid modes: min, max");
  check_mode("get_best_trial", mode, /*allow_empty=*/false);
  if (std::find(kScopes.begin(), kScopes.end(), scope) == kScopes.end()) {
    throw TuneError(
        fmt::format("get_best_trial: scope '{}' is invalid; valid scopes: {}", scope, fmt::join(kScopes, ", ")));
  }

  const TrialRecord* best = nullptr;
  double best_value = 0;
  for (const TrialRecord& trial : trials_) {
    std::optional<double> value;
    if (scope == "last" && !trial.metric_stats.contains(metric)) {
      const Result last_result = trial.last_result();
      if (const Json* found = find_path(last_result, metric); found && found->is_number())
        value = found->get<double>();
      else if (found && found->is_null())
        continue;  // reported, but not a finite number
    }
    if (!value) {
      if (std::optional<MetricStats> stats = stats_for(trial, metric)) value = scoped_value(*stats, mode, scope);
    }
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
