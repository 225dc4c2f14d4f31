// The one reader of an experiment directory (see experiment_reader.h).
#include "analysis/experiment_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <limits>
#include <map>

#include "analysis/experiment_state.h"
#include "analysis/state_paths.h"
#include "analysis/trial_files.h"
#include "common/untrusted_json.h"
#include "tune/error.h"

namespace tune::detail {
namespace {

namespace fs = std::filesystem;
using analysis_detail::for_each_result;
using analysis_detail::read_text;

constexpr const char* kResultFile = "result.json";
constexpr const char* kParamsFile = "params.json";

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

// The trial's results as its result.json holds them: the latest one and the stats of all.
struct ResultFile {
  bool found = false;  // at least one whole result line
  Result last;
  std::map<std::string, MetricStats> stats;
};

ResultFile read_result_file(const fs::path& logdir) {
  ResultFile file;
  if (logdir.empty()) return file;
  for_each_result(logdir / kResultFile, [&](Json&& result) {
    add_result_stats(result, file.stats);
    file.last = std::move(result);
    file.found = true;
  });
  return file;
}

// The last recorded error of error.txt: each failure is appended as "Failure # n ...".
std::string last_failure(std::string text) {
  if (const size_t at = text.rfind("Failure # "); at != std::string::npos) text.erase(0, at);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

// Rebuilds one trial from its directory, for experiments without a journal or snapshot.
TrialRecord scan_trial_dir(const fs::path& dir) {
  Config config = Json::object();
  if (std::optional<std::string> text = read_text(dir / kParamsFile)) {
    Json parsed = detail::nesting_overflow_offset(*text) == std::string::npos
                      ? Json::parse(*text, nullptr, /*allow_exceptions=*/false)
                      : Json(Json::value_t::discarded);
    if (!parsed.is_discarded()) config = std::move(parsed);  // a corrupt params.json leaves an empty config
  }
  ResultFile results = read_result_file(dir);
  const std::string dir_name = dir.filename().string();
  std::string trial_id = dir_name;
  if (const Json* id = find_path(results.last, "trial_id"); id && id->is_string() && !id->get<std::string>().empty()) {
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
  } else if (const Json* done = find_path(results.last, "done"); done && done->is_boolean() && done->get<bool>()) {
    status = TrialStatus::kTerminated;
  }
  TrialRecord record(std::move(trial_id), std::move(name), status, config, results.last, dir, std::move(error));
  record.metric_stats = std::move(results.stats);
  return record;
}

std::vector<TrialRecord> scan_trial_dirs(const fs::path& experiment_dir, std::vector<std::string>& warnings) {
  std::vector<fs::path> dirs;
  std::error_code ec;
  for (fs::directory_iterator it(experiment_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    if (!it->is_directory(entry_ec) || !fs::is_regular_file(it->path() / kParamsFile, entry_ec)) continue;
    // A trial directory that is a link out of the experiment is not followed.
    if (ContainedPath inside = resolve_inside(experiment_dir, it->path().filename().string()); !inside) {
      warnings.push_back(fmt::format("{}: {}; left out", experiment_dir.string(), inside.error));
      continue;
    }
    dirs.push_back(it->path());
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

// An unfinished trial as the journal knows it (status, config, logdir), with its latest result
// and statistics from its result.json: the journal records no results, and a snapshot's copy
// is as old as the snapshot.
TrialRecord unfinished_trial(const Json& state, const fs::path& experiment_dir) {
  TrialRecord stored = TrialRecord::from_json(state, experiment_dir);
  ResultFile results = read_result_file(stored.logdir());
  if (!results.found) return stored;
  TrialRecord record(stored.trial_id(), stored.name(), stored.status(), stored.config(), results.last, stored.logdir(),
                     stored.error());
  record.metric_stats = std::move(results.stats);
  return record;
}

std::string header_string(const Json& object, const char* field, const fs::path& file) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_string()) throw TuneError(fmt::format("{}: '{}' must be a string", file.string(), field));
  return it->get<std::string>();
}

void consider_time(const fs::path& file, std::optional<fs::file_time_type>& newest) {
  std::error_code ec;
  const fs::file_time_type t = fs::last_write_time(file, ec);
  if (!ec && (!newest || t > *newest)) newest = t;
}

}  // namespace

bool is_experiment_dir(const std::filesystem::path& dir) {
  if (has_stored_experiment(dir)) return true;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    if (it->is_directory(entry_ec) && fs::is_regular_file(it->path() / kParamsFile, entry_ec)) return true;
  }
  return false;
}

std::pair<std::string, std::string> run_metric_and_mode(const Json& header) {
  const fs::path file = fs::path(kJournalFile);
  std::string metric = header_string(header, "metric", file);
  std::string mode = header_string(header, "mode", file);
  if (!metric.empty()) return {metric, mode};
  // `tune run` keeps its spec in the head record ("source"): a scheduler or searcher given
  // its own metric is how such a run named it.
  const Json* spec = find_path(header, "source/spec");
  if (!spec || !spec->is_object()) return {metric, mode};
  for (const char* plugin : {"scheduler", "search_alg"}) {
    auto it = spec->find(plugin);
    if (it == spec->end() || !it->is_object()) continue;
    const auto metric_it = it->find("metric");
    const auto mode_it = it->find("mode");
    if (metric_it != it->end() && metric_it->is_string() && mode_it != it->end() && mode_it->is_string()) {
      return {metric_it->get<std::string>(), mode_it->get<std::string>()};
    }
  }
  return {metric, mode};
}

ExperimentOnDisk read_experiment(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw TuneError(fmt::format("'{}' is not an existing directory", dir.string()));
  ExperimentOnDisk out;
  out.dir = dir;
  // Printed here, so that every reader (ls, analyze, ExperimentAnalysis, the dashboard) says it.
  auto report = [&] {
    for (const std::string& warning : out.warnings) std::cerr << "tune: warning: " << warning << "\n";
  };
  if (!has_stored_experiment(dir)) {
    out.trials = scan_trial_dirs(dir, out.warnings);
    report();
    if (out.trials.empty()) {
      throw TuneError(fmt::format("'{}' holds neither {} / {} nor trial directories with {}", dir.string(),
                                  kJournalFile, kSnapshotFile, kParamsFile));
    }
    // Without the state the end of the run is unknown: done when every trial is.
    out.completed = std::all_of(out.trials.begin(), out.trials.end(), [](const TrialRecord& t) {
      return t.status() == TrialStatus::kTerminated || t.status() == TrialStatus::kError;
    });
    for (const TrialRecord& trial : out.trials) consider_time(trial.logdir() / kResultFile, out.last_update);
    if (!out.last_update) consider_time(dir, out.last_update);
    return out;
  }
  StoredExperiment stored = read_stored_experiment(dir, UnsafePaths::kSkip);
  out.warnings = std::move(stored.warnings);
  report();
  out.has_state = true;
  out.completed = stored.completed;
  std::tie(out.metric, out.mode) = run_metric_and_mode(stored.header);
  out.scheduler_state = std::move(stored.scheduler_state);
  out.trials = std::move(stored.finished);
  out.trials.reserve(out.trials.size() + stored.unfinished.size());
  for (const Json& state : stored.unfinished) {
    out.trials.push_back(unfinished_trial(state, dir));
    consider_time(out.trials.back().logdir() / kResultFile, out.last_update);
  }
  consider_time(dir / kJournalFile, out.last_update);
  consider_time(dir / kSnapshotFile, out.last_update);
  return out;
}

}  // namespace tune::detail
