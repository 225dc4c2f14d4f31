// `tune ls DIR`: a results root (one row per experiment) or an experiment (one row per trial).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <ostream>
#include <set>

#include "analysis/state_records.h"
#include "cli/commands.h"
#include "tune/error.h"

namespace tune::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kStateFile = detail::kSnapshotFile;

// Auto-filled bookkeeping fields that would drown the metrics in the default view (--columns
// still shows them).
const std::set<std::string> kHiddenColumns = {"trial_id",
                                              "logdir",
                                              "done",
                                              "time_this_iter_s",
                                              "timestamp",
                                              "date",
                                              "hostname",
                                              "node_ip",
                                              "pid",
                                              "experiment_id",
                                              "iterations_since_restore",
                                              "time_since_restore",
                                              "timesteps_since_restore",
                                              "neg_mean_loss",
                                              "experiment_tag"};

bool is_experiment_dir(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_regular_file(dir / kStateFile, ec)) return true;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && fs::is_regular_file(it->path() / "params.json", ec)) return true;
  }
  return false;
}

std::string format_time(fs::file_time_type when) {
  const auto system = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      when - fs::file_time_type::clock::now() + std::chrono::system_clock::now());
  const std::time_t t = std::chrono::system_clock::to_time_t(system);
  std::tm local{};
  localtime_r(&t, &local);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &local);
  return buffer;
}

// The experiment's last write: its state file, else the newest trial result.
std::string last_update(const fs::path& dir, const ExperimentAnalysis& analysis) {
  std::error_code ec;
  std::optional<fs::file_time_type> newest;
  auto consider = [&](const fs::path& file) {
    const fs::file_time_type t = fs::last_write_time(file, ec);
    if (!ec && (!newest || t > *newest)) newest = t;
  };
  if (fs::exists(dir / kStateFile, ec)) {
    consider(dir / kStateFile);
  } else {
    for (const TrialRecord& trial : analysis.trials()) consider(trial.logdir() / "result.json");
  }
  if (!newest) consider(dir);
  return newest ? format_time(*newest) : std::string();
}

Table experiments_table(const fs::path& root, std::ostream& err) {
  Table table;
  table.columns = {"name", "trials", "pending", "running", "paused", "terminated", "error", "last_update"};
  std::vector<fs::path> dirs;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && is_experiment_dir(it->path())) dirs.push_back(it->path());
  }
  std::sort(dirs.begin(), dirs.end());
  for (const fs::path& dir : dirs) {
    try {
      const ExperimentAnalysis analysis = ExperimentAnalysis::load(dir);
      const std::map<TrialStatus, int64_t> counts = analysis.status_counts();
      auto count = [&](TrialStatus status) {
        auto it = counts.find(status);
        return it == counts.end() ? int64_t{0} : it->second;
      };
      table.rows.push_back({dir.filename().string(), static_cast<int64_t>(analysis.trials().size()),
                            count(TrialStatus::kPending), count(TrialStatus::kRunning), count(TrialStatus::kPaused),
                            count(TrialStatus::kTerminated), count(TrialStatus::kError), last_update(dir, analysis)});
    } catch (const std::exception& error) {
      err << "tune ls: warning: skipping " << dir.string() << ": " << error.what() << "\n";
    }
  }
  return table;
}

// name, status, iterations, time, then the metrics, then the config.
std::vector<std::string> default_trial_columns(const Table& table) {
  std::vector<std::string> columns = {"name", "status", "training_iteration", "time_total_s"};
  std::vector<std::string> config;
  for (const std::string& column : table.columns) {
    if (column.starts_with("config/"))
      config.push_back(column);
    else if (!kHiddenColumns.contains(column) && std::find(columns.begin(), columns.end(), column) == columns.end())
      columns.push_back(column);
  }
  columns.insert(columns.end(), config.begin(), config.end());
  return columns;
}

}  // namespace

int ls_command(const LsArgs& args, std::ostream& out, std::ostream& err) {
  const fs::path path(args.path);
  std::error_code ec;
  if (!fs::is_directory(path, ec)) throw TuneError(fmt::format("ls: '{}' is not a directory", args.path));
  Table table;
  std::vector<std::string> columns;
  if (is_experiment_dir(path)) {
    table = ExperimentAnalysis::load(path).dataframe();
    columns = default_trial_columns(table);
  } else {
    table = experiments_table(path, err);
    columns = table.columns;
    if (table.rows.empty()) err << fmt::format("tune ls: no experiments under {}\n", path.string());
  }
  out << render(apply_view(table, columns, args.view), args.view.output);
  return kExitOk;
}

}  // namespace tune::cli
