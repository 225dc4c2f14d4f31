// tune/analysis.h — answering "which config was best" after (or during) an experiment.
//
// run() returns an ExperimentAnalysis; ExperimentAnalysis::load(dir) builds the same from
// the experiment directory alone (works on a finished, crashed or running experiment).
// Scopes: "last", "avg" (mean of all results), "last-5-avg", "last-10-avg", "all" (the
// trial's own best). NaN and inf are never chosen as best.
// Thread-safety: const methods may be called concurrently.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tune/json.h"
#include "tune/trial.h"

namespace tune {

namespace detail {
struct TrialRecordParts;  // internal: builds a record from parts already in compact form
}

// Running statistics of one metric of one trial.
struct MetricStats {
  double last = 0;
  double min = 0;
  double max = 0;
  double sum = 0;
  int64_t count = 0;
  std::vector<double> last_values;  // up to the last 10, oldest first

  void add(double value);
  double avg() const { return count ? sum / static_cast<double>(count) : 0.0; }
  double last_n_avg(size_t n) const;
  Json to_json() const;
  static MetricStats from_json(const Json& json);
};

// One trial as the analysis sees it. Config and last result are kept compact (CBOR) so a
// million-trial experiment fits in memory.
class TrialRecord {
 public:
  TrialRecord() = default;
  TrialRecord(std::string trial_id, std::string name, TrialStatus status, const Config& config,
              const Result& last_result, std::filesystem::path logdir, std::string error);

  const std::string& trial_id() const { return trial_id_; }
  const std::string& name() const { return name_; }
  TrialStatus status() const { return status_; }
  // By value: a stored std::filesystem::path costs ~400 bytes per record (its component list).
  std::filesystem::path logdir() const { return logdir_; }
  const std::string& error() const { return error_; }
  Config config() const;
  Result last_result() const;  // null when it reported nothing
  // Stats of numeric metrics; those the run tracked, or computed from result.json.
  std::map<std::string, MetricStats> metric_stats;

  // The record as stored in experiment_state.json (logdir relative to `experiment_dir`).
  Json to_json(const std::filesystem::path& experiment_dir = {}) const;
  static TrialRecord from_json(const Json& json, const std::filesystem::path& experiment_dir = {});

 private:
  friend struct detail::TrialRecordParts;
  std::string trial_id_;
  std::string name_;
  TrialStatus status_ = TrialStatus::kPending;
  // Config CBOR (the first config_size_ bytes) then last-result CBOR without "config": one
  // allocation per record instead of two. Empty CBOR means null.
  uint32_t config_size_ = 0;
  std::vector<uint8_t> cbor_;
  std::string logdir_;
  std::string error_;
};

// A table of rows (column name -> value), exportable as CSV.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<Json>> rows;
  std::string to_csv() const;
  // Index of a column, or nullopt.
  std::optional<size_t> column(const std::string& name) const;
};

class ExperimentAnalysis {
 public:
  ExperimentAnalysis() = default;
  ExperimentAnalysis(std::filesystem::path experiment_dir, std::vector<TrialRecord> trials,
                     std::string default_metric = {}, std::string default_mode = {});

  // Reads <dir>/experiment_state.json (or the per-trial files) — no live runner needed.
  static ExperimentAnalysis load(const std::filesystem::path& experiment_dir, std::string default_metric = {},
                                 std::string default_mode = {});

  // Empty metric/mode use the run's. Throws TuneError for an unknown mode or scope, or
  // when no metric is known. nullopt when no trial has a finite value of the metric.
  std::optional<TrialRecord> get_best_trial(std::string metric = {}, std::string mode = {},
                                            const std::string& scope = "last") const;
  Config get_best_config(std::string metric = {}, std::string mode = {}, const std::string& scope = "last") const;
  std::filesystem::path get_best_logdir(std::string metric = {}, std::string mode = {},
                                        const std::string& scope = "last") const;

  const std::vector<TrialRecord>& trials() const { return trials_; }
  const std::filesystem::path& experiment_dir() const { return dir_; }
  // One row per trial: trial_id, name, status, logdir, the last result's flattened
  // metrics, and config/<key> columns.
  Table dataframe() const;
  // A trial's results (its progress.csv / result.json), one row per result.
  Table trial_dataframe(const std::string& trial_id) const;
  // Counts per status.
  std::map<TrialStatus, int64_t> status_counts() const;

  // The run that returned this analysis was interrupted (RunOptions::interrupt, or a signal
  // with handle_signals): its unfinished trials wait in the state for a resume.
  bool interrupted() const { return interrupt_signal_.has_value(); }
  // Which signal interrupted it (SIGINT, SIGTERM, SIGHUP), 0 when the flag was set without
  // one (an embedder), nullopt when the run was not interrupted.
  std::optional<int> interrupt_signal() const { return interrupt_signal_; }
  // Set by run() only.
  void set_interrupted(int signal) { interrupt_signal_ = signal; }

 private:
  std::filesystem::path dir_;
  std::vector<TrialRecord> trials_;
  std::string metric_;
  std::string mode_;
  std::optional<int> interrupt_signal_;
  // Stats of `metric` for a trial: tracked ones, or computed from result.json.
  std::optional<MetricStats> stats_for(const TrialRecord& trial, const std::string& metric) const;
};

}  // namespace tune
