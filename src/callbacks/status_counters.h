// Internal: what the status table and the end-of-run summary show, kept up to date by the
// runner as trials change state — counts by status, the best finished trial, and bounded
// samples of the latest finished rows and errors — so that a status costs O(rows shown) —
// and the printer that renders them (status_reporter.h) on the run's output.
// It only counts and prints; it decides nothing. Thread-safety: runner thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "callbacks/status_reporter.h"
#include "trial/trial.h"
#include "tune/analysis.h"
#include "tune/run.h"
#include "tune/search_space.h"

namespace tune::detail {

// The config paths that vary (its domains), "a/b" for nested keys: the status table's columns.
std::vector<std::string> param_columns(const Space& space);

// The value of `metric` in `result` (a path such as "a/b"), when it is a number.
std::optional<double> metric_value(const Result& result, const std::string& metric);

class StatusCounters {
 public:
  StatusCounters(std::string metric, std::string mode, int max_progress_rows, int max_error_rows);

  // A trial came into being (created or restored) with `status`.
  void added(TrialStatus status) { ++counts_[status]; }
  // A live trial changed status.
  void moved(TrialStatus from, TrialStatus to) {
    --counts_[from];
    ++counts_[to];
  }
  // `trial` ended, from status `from` (trial.status is its end status): its row is kept among
  // the latest, its error too, and its metric may be the best.
  void finished(const Trial& trial, TrialStatus from);
  // A trial that finished in an earlier session.
  void restored(const TrialRecord& record);

  int64_t count(TrialStatus status) const;
  int64_t finished_count() const { return count(TrialStatus::kTerminated) + count(TrialStatus::kError); }

  // What the status table shows of the trials: the live ones (at most max_progress_rows of
  // each status), then the latest finished ones, the counts, the errors, and the best over
  // finished and live trials. The caller adds the lines about the scheduler and resources.
  StatusSnapshot status_view(const LiveTrials& live) const;
  // "== Summary ==": counts, wall time, the best finished trial, where the results are.
  void print_summary(std::ostream& out, double elapsed_s, const std::string& results_dir);

  static StatusRow row_of(const Trial& trial);

 private:
  bool better(double value, double than) const { return mode_ == "max" ? value > than : value < than; }
  void offer_best(std::optional<std::pair<double, std::string>>& best, const Result& result,
                  const std::string& name) const;

  std::string metric_;
  std::string mode_;
  size_t max_rows_;
  size_t max_error_rows_;
  std::map<TrialStatus, int64_t> counts_;
  std::deque<StatusRow> recent_terminated_;
  std::deque<StatusRow> recent_errored_;
  std::deque<StatusSnapshot::ErrorRow> error_rows_;
  std::optional<std::pair<double, std::string>> best_finished_;  // value, name
};

// The console output of a run: the status table at the start, every max_report_frequency_s
// and at the end (verbose >= 1), the progress bar on a terminal, the summary at the end.
class StatusPrinter {
 public:
  using Clock = std::chrono::steady_clock;
  // What the table says beyond the trials, asked for each time it is printed.
  struct Context {
    std::function<std::string()> scheduler_line;
    std::function<std::string()> resources_line;
    std::function<std::optional<int64_t>()> total_trials;
  };
  StatusPrinter(const RunOptions& options, std::string logdir, Context context);

  StatusCounters& counters() { return counters_; }
  std::ostream& out() const { return out_; }
  // The table now (the clock of max_report_frequency_s starts again).
  void print(bool done, const LiveTrials& live);
  // The run starts now (elapsed time and report periods count from here).
  void start() { start_ = last_report_ = last_bar_ = Clock::now(); }
  // Between events: the table when due (and `with_table`), the progress bar.
  void periodic(const LiveTrials& live, bool with_table);
  void print_summary() { counters_.print_summary(out_, elapsed_s(), logdir_); }
  // Lines between tables (results, trial ends, messages): never on the progress bar's line.
  void print_line(std::string_view text) { reporter_.print(out_, text); }
  // Result lines (verbose 2 and 3), throttled per trial: see StatusReporter::result_line.
  StatusReporter& reporter() { return reporter_; }

 private:
  double elapsed_s() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  std::ostream& out_;
  int verbose_;
  double max_report_frequency_s_;
  std::string logdir_;
  Context context_;
  StatusReporter reporter_;
  StatusCounters counters_;
  bool is_tty_ = false;
  Clock::time_point start_;
  Clock::time_point last_report_;
  Clock::time_point last_bar_;
};

}  // namespace tune::detail
