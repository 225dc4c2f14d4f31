// Internal: the console status block (the guide's "== Status ==") and the end summary.
// Rendering costs O(rows shown), never O(all trials): the runner hands in only live
// trials and a bounded sample of finished ones.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string_view>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tune/json.h"
#include "tune/run.h"
#include "tune/trial.h"

namespace tune::detail {

// One table row, whatever the trial's state.
struct StatusRow {
  std::string name;
  TrialStatus status = TrialStatus::kPending;
  std::string location;
  Json config;       // resolved config
  Json last_result;  // null before the first result
};

struct StatusSnapshot {
  std::string scheduler_line;
  std::string resources_line;
  std::string logdir;
  std::map<TrialStatus, int64_t> counts;
  std::optional<int64_t> total_trials;
  std::vector<StatusRow> rows;  // live trials, then recent finished ones (bounded)
  struct ErrorRow {
    std::string name;
    int failures = 0;
    std::string error_file;
  };
  std::vector<ErrorRow> errors;  // bounded
  int64_t num_errored = 0;
  std::string best_line;  // "Current best trial: ..." or empty
  double elapsed_s = 0;
  bool done = false;
};

class StatusReporter {
 public:
  using Clock = std::chrono::steady_clock;
  // param_columns: the flattened config keys that vary (domain paths), sorted.
  StatusReporter(ReporterOptions options, std::string metric, std::vector<std::string> param_columns);
  // The status block; empty while no trial exists yet and the run is not done (an empty table
  // says nothing).
  std::string render(const StatusSnapshot& snapshot) const;
  // A line per result (Ray's "Result for TRIAL: ..."): verbose 2 a brief one (the iteration, the
  // metric, done), verbose 3 the whole result. At most one per trial per max_report_frequency_s,
  // and always the last one (done). Empty when none is due (or verbose < 2).
  std::string result_line(const std::string& trial, const Result& result, int verbose, Clock::time_point now);
  // The trial ended: the line of its last result when that was held back (a trial that ends by
  // returning marks its last result done only now), else empty; its throttle entry goes.
  std::string final_result_line(const std::string& trial, const Result& last, int verbose);
  // Console output that never shares a line with the progress bar: print() clears the bar
  // (when drawn) before whole lines of text (an empty text only clears it); draw_progress_bar()
  // draws it in place.
  void print(std::ostream& out, std::string_view text);
  void draw_progress_bar(std::ostream& out, int64_t finished, std::optional<int64_t> total);
  // "[=====>     ] 45/100 trials finished" (no newline).
  static std::string progress_bar(int64_t finished, std::optional<int64_t> total, int width = 30);
  const ReporterOptions& options() const { return options_; }

 private:
  ReporterOptions options_;
  std::string metric_;
  std::vector<std::string> param_columns_;
  struct Throttle {
    Clock::time_point printed;  // when its last line was
    bool held_back = false;     // a result after that one was not shown
  };
  std::string format_result_line(const std::string& trial, const Result& result, int verbose) const;
  std::map<std::string, Throttle> last_result_line_;  // live trials that printed one
  bool bar_drawn_ = false;  // the cursor stands after the progress bar
};

// "Memory usage on this node: 11.4/16.0 GiB" from /proc/meminfo.
std::string memory_usage_line();
// "HH:MM:SS.ss"
std::string format_duration(double seconds);

}  // namespace tune::detail
