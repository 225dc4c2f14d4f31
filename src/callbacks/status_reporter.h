// Internal: the console status block (the guide's "== Status ==") and the end summary.
// Rendering costs O(rows shown), never O(all trials): the runner hands in only live
// trials and a bounded sample of finished ones.
#pragma once

#include <cstdint>
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
  // param_columns: the flattened config keys that vary (domain paths), sorted.
  StatusReporter(ReporterOptions options, std::string metric, std::vector<std::string> param_columns);
  std::string render(const StatusSnapshot& snapshot) const;
  // "[=====>     ] 45/100 trials finished" (no newline).
  static std::string progress_bar(int64_t finished, std::optional<int64_t> total, int width = 30);
  const ReporterOptions& options() const { return options_; }

 private:
  ReporterOptions options_;
  std::string metric_;
  std::vector<std::string> param_columns_;
};

// "Memory usage on this node: 11.4/16.0 GiB" from /proc/meminfo.
std::string memory_usage_line();
// "HH:MM:SS.ss"
std::string format_duration(double seconds);

}  // namespace tune::detail
