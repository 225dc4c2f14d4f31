// `tune ls DIR`: a results root (one row per experiment) or an experiment (one row per trial).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <ostream>
#include <set>
#include <thread>

#include "analysis/experiment_reader.h"
#include "cli/commands.h"
#include "common/strings.h"
#include "tune/error.h"

namespace tune::cli {
namespace {

namespace fs = std::filesystem;

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

int64_t count_of(const std::map<TrialStatus, int64_t>& counts, TrialStatus status) {
  auto it = counts.find(status);
  return it == counts.end() ? int64_t{0} : it->second;
}

// What one look at `tune ls PATH` shows, and whether the watch can end.
struct Listing {
  Table table;
  std::vector<std::string> columns;  // shown by default
  bool finished = true;              // every experiment in it ended by itself
  std::string summary;               // one line for --watch
};

Listing experiments_listing(const fs::path& root, std::ostream& err) {
  Listing listing;
  Table& table = listing.table;
  table.columns = {"name", "trials", "pending", "running", "paused", "terminated", "error", "last_update"};
  std::vector<fs::path> dirs;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && detail::is_experiment_dir(it->path())) dirs.push_back(it->path());
  }
  std::sort(dirs.begin(), dirs.end());
  int64_t finished = 0;
  for (const fs::path& dir : dirs) {
    try {
      detail::ExperimentOnDisk experiment = detail::read_experiment(dir);
      std::map<TrialStatus, int64_t> counts;
      for (const TrialRecord& trial : experiment.trials) ++counts[trial.status()];
      table.rows.push_back({dir.filename().string(), static_cast<int64_t>(experiment.trials.size()),
                            count_of(counts, TrialStatus::kPending), count_of(counts, TrialStatus::kRunning),
                            count_of(counts, TrialStatus::kPaused), count_of(counts, TrialStatus::kTerminated),
                            count_of(counts, TrialStatus::kError),
                            experiment.last_update ? format_time(*experiment.last_update) : std::string()});
      finished += experiment.completed;
    } catch (const std::exception& error) {
      err << "tune ls: warning: skipping " << escape_for_terminal(dir.string()) << ": "
          << escape_for_terminal(error.what()) << "\n";
    }
  }
  listing.columns = table.columns;
  listing.finished = finished == static_cast<int64_t>(table.rows.size());
  listing.summary = fmt::format("{}: {} experiments, {} finished", root.string(), table.rows.size(), finished);
  return listing;
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

Listing experiment_listing(const fs::path& dir) {
  detail::ExperimentOnDisk experiment = detail::read_experiment(dir);
  Listing listing;
  listing.finished = experiment.completed;
  const ExperimentAnalysis analysis(experiment.dir, std::move(experiment.trials), experiment.metric, experiment.mode);
  listing.table = analysis.dataframe();
  listing.columns = default_trial_columns(listing.table);
  std::vector<std::string> counts;
  for (const auto& [status, n] : analysis.status_counts()) counts.push_back(fmt::format("{} {}", n, to_string(status)));
  listing.summary =
      fmt::format("{}: {} trials ({}), {}{}", dir.string(), analysis.trials().size(), fmt::join(counts, ", "),
                  experiment.completed ? "finished" : "not finished (running, or stopped: tune resume continues it)",
                  experiment.last_update ? ", last update " + format_time(*experiment.last_update) : "");
  return listing;
}

Listing listing_of(const fs::path& path, std::ostream& err) {
  if (detail::is_experiment_dir(path)) return experiment_listing(path);
  Listing listing = experiments_listing(path, err);
  if (listing.table.rows.empty()) err << fmt::format("tune ls: no experiments under {}\n", path.string());
  return listing;
}

// Ctrl-C (and SIGTERM) end a watch between two refreshes instead of killing it mid-line; the
// previous handlers come back when the watch ends.
volatile std::sig_atomic_t watch_stopped = 0;

class StopOnSignal {
 public:
  StopOnSignal() {
    watch_stopped = 0;
    struct sigaction action = {};
    action.sa_handler = [](int) { watch_stopped = 1; };
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopOnSignal() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;
  bool stopped() const { return watch_stopped != 0; }

 private:
  struct sigaction old_int_ = {};
  struct sigaction old_term_ = {};
};

// Refreshes the listing every `interval_s` until every experiment in it has finished, `count`
// listings were shown, or Ctrl-C.
int watch(const fs::path& path, const LsArgs& args, std::ostream& out, std::ostream& err) {
  const StopOnSignal signals;
  const auto interval = std::chrono::duration<double>(args.interval_s);
  for (int64_t shown = 1;; ++shown) {
    const Listing listing = listing_of(path, err);
    const std::string text = render(apply_view(listing.table, listing.columns, args.view), args.view.output);
    if (args.clear_screen) out << "\033[H\033[2J";  // the terminal's top, then clear: a view in place
    // Only the table format gets the status line: csv and json stay parseable, one document a refresh.
    if (args.view.output == "table") out << escape_for_terminal(listing.summary) << "\n\n";
    out << text;
    if (!args.clear_screen && args.view.output == "table") out << "\n";
    out.flush();
    if (listing.finished || (args.count && shown >= *args.count)) return kExitOk;
    const auto until = std::chrono::steady_clock::now() + interval;
    while (std::chrono::steady_clock::now() < until) {
      if (signals.stopped()) return kExitOk;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (signals.stopped()) return kExitOk;
  }
}

}  // namespace

int ls_command(const LsArgs& args, std::ostream& out, std::ostream& err) {
  const fs::path path(args.path);
  std::error_code ec;
  if (!fs::is_directory(path, ec)) throw TuneError(fmt::format("ls: '{}' is not a directory", args.path));
  if (!args.watch && (args.count || args.interval_given)) {
    throw TuneError(fmt::format("{}: only applies with --watch", args.count ? "--count" : "--interval"));
  }
  if (!(args.interval_s > 0) || args.interval_s > 86400) {
    throw TuneError(fmt::format("--interval: must be > 0 and at most 86400 seconds, got {}", args.interval_s));
  }
  if (args.count && *args.count < 1) throw TuneError(fmt::format("--count: must be >= 1, got {}", *args.count));
  if (args.watch) return watch(path, args, out, err);
  const Listing listing = listing_of(path, err);
  out << render(apply_view(listing.table, listing.columns, args.view), args.view.output);
  return kExitOk;
}

}  // namespace tune::cli
