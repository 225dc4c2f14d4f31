// Internal: the event loop of an experiment. It is the only code that changes a trial's
// state or drives the executor; plugins see read-only views and return decisions.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "callbacks/log_writer.h"
#include "callbacks/status_reporter.h"
#include "executors/executor.h"
#include "runner/resource_manager.h"
#include "trial/trial.h"
#include "tune/analysis.h"
#include "tune/run.h"

namespace tune::detail {

class TrialRunner {
 public:
  // `options` must have been validated (see validate_options in run.cc).
  TrialRunner(const TrainableSpec& trainable, RunOptions options, ExperimentInfo experiment, ResourcePool pool,
              std::shared_ptr<Stopper> stopper);
  ~TrialRunner();
  TrialRunner(const TrialRunner&) = delete;
  TrialRunner& operator=(const TrialRunner&) = delete;

  // Runs until every trial is finished and the searcher has nothing left.
  ExperimentAnalysis run();

 private:
  using Clock = std::chrono::steady_clock;

  // Loop steps.
  bool fill_free_resources();
  bool create_trial();
  void start_trial(Trial& trial);
  void handle_event(ExecutorEvent&& event);
  void process_result(Trial& trial, Result&& result);
  void process_failure(Trial& trial, const std::string& error);
  // Ends a trial for good: loggers closed, record kept, resources freed.
  void finish_trial(Trial& trial, TrialStatus status);
  void release_resources(Trial& trial);
  void stop_everything();
  void periodic(bool force);

  // Helpers.
  Resources resources_for(const Config& config) const;
  std::string make_dirname(const Trial& trial) const;
  void handle_logger_failures();
  void write_error_file(const Trial& trial, const std::string& error) const;
  void write_experiment_state() const;
  StatusSnapshot snapshot(bool done) const;
  void print_status(bool done);
  void print_summary();
  std::ostream& out() const;
  std::optional<double> metric_value(const Result& result) const;

  const TrainableSpec& trainable_;
  RunOptions options_;
  ExperimentInfo experiment_;
  ResourceManager resources_;
  std::shared_ptr<Stopper> stopper_;
  std::shared_ptr<Searcher> searcher_;
  std::shared_ptr<TrialScheduler> scheduler_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<StatusReporter> reporter_;
  std::unique_ptr<LogWriter> log_writer_;

  std::map<int64_t, std::unique_ptr<Trial>> live_;  // not finished, by creation order
  std::deque<int64_t> waiting_;                     // PENDING/PAUSED keys in creation order
  std::vector<TrialRecord> finished_;
  std::map<TrialStatus, int64_t> counts_;
  std::deque<StatusRow> recent_terminated_;
  std::deque<StatusRow> recent_errored_;
  std::deque<StatusSnapshot::ErrorRow> error_rows_;
  std::optional<std::pair<double, std::string>> best_finished_;  // value, description

  int64_t next_index_ = 0;
  int running_ = 0;
  bool searcher_finished_ = false;
  bool stop_all_ = false;
  bool any_failure_ = false;
  std::optional<std::string> fatal_error_;  // a misuse found mid-run (e.g. a stop key never reported)
  Clock::time_point start_time_;
  Clock::time_point last_report_;
  Clock::time_point last_flush_;
  Clock::time_point last_bar_;
  bool is_tty_ = false;
  std::vector<std::string> param_columns_;
};

}  // namespace tune::detail
