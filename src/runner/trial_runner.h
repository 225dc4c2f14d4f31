// Internal: the event loop of an experiment. It is the only code that changes a trial's
// state or drives the executor; plugins see read-only views and return decisions. Beside it:
// the state on disk (experiment_store.h), checkpoints and clones (checkpoint_coordinator.h),
// uploads (sync/experiment_uploader.h) and the status counters (callbacks/status_counters.h).
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/experiment_state.h"
#include "callbacks/log_writer.h"
#include "callbacks/status_counters.h"
#include "callbacks/status_reporter.h"
#include "executors/executor.h"
#include "runner/checkpoint_coordinator.h"
#include "runner/experiment_store.h"
#include "runner/descriptor_budget.h"
#include "runner/resource_manager.h"
#include "sync/experiment_uploader.h"
#include "sync/syncer.h"
#include "trial/trial.h"
#include "tune/analysis.h"
#include "tune/run.h"

namespace tune::detail {

// What a resumed run continues from.
struct ResumeState {
  StoredExperiment stored;
  bool errored_only = false;  // trials that ended in ERROR run again
};

// What tests and other drivers of a TrialRunner may replace.
struct TrialRunnerSeams {
  // Replaces the executor chosen from the trainable (tests of the executor hooks; a fake
  // executor; executors that run trials elsewhere).
  std::function<std::unique_ptr<Executor>(Executor::Sink)> make_executor;
  // kMemory keeps the journal in memory (TrialRunner::journal_text()) and writes no snapshot;
  // kFiles follows RunOptions::write_experiment_state.
  ExperimentStore::Backing state = ExperimentStore::Backing::kFiles;
};

class TrialRunner {
 public:
  // `options` must have been validated (see validate_options in run.cc). `spec` is the
  // run's settings as JSON (kept in the state, compared on resume). `initial_checkpoint`
  // is RunOptions::restore resolved.
  using ExecutorFactory = std::function<std::unique_ptr<Executor>(Executor::Sink)>;
  using Seams = TrialRunnerSeams;
  TrialRunner(const TrainableSpec& trainable, RunOptions options, ExperimentInfo experiment, ResourcePool pool,
              std::shared_ptr<Stopper> stopper, Json spec, std::optional<ResumeState> resume,
              std::optional<std::pair<std::filesystem::path, CheckpointEntry>> initial_checkpoint,
              Seams seams = {});
  // The same with only the executor replaced.
  TrialRunner(const TrainableSpec& trainable, RunOptions options, ExperimentInfo experiment, ResourcePool pool,
              std::shared_ptr<Stopper> stopper, Json spec, std::optional<ResumeState> resume,
              std::optional<std::pair<std::filesystem::path, CheckpointEntry>> initial_checkpoint,
              ExecutorFactory make_executor)
      : TrialRunner(trainable, std::move(options), std::move(experiment), std::move(pool), std::move(stopper),
                    std::move(spec), std::move(resume), std::move(initial_checkpoint),
                    Seams{std::move(make_executor), ExperimentStore::Backing::kFiles}) {}
  ~TrialRunner();
  TrialRunner(const TrialRunner&) = delete;
  TrialRunner& operator=(const TrialRunner&) = delete;

  // Runs until every trial is finished and the searcher has nothing left. Trials that ended
  // in ERROR are in the analysis (RunOptions::raise_on_failed_trial is run()'s, in run.cc).
  ExperimentAnalysis run();
  // The experiment state as committed so far (Seams::state = kMemory; tests read it back).
  const std::string& journal_text() const { return store_->journal_text(); }

 private:
  using Clock = std::chrono::steady_clock;

  // Loop steps.
  bool fill_free_resources();
  bool create_trial();
  std::string trial_id_of(int64_t index) const;
  // A PENDING trial (not yet in the experiment).
  std::unique_ptr<Trial> make_trial(int64_t index, Config config) const;
  // Into the experiment: live, waiting in line, known to the scheduler.
  Trial& add_trial(std::unique_ptr<Trial> trial);
  void start_trial(Trial& trial);
  void handle_event(ExecutorEvent&& event);
  void process_result(Trial& trial, Result&& result, const std::filesystem::path& taken_checkpoint);
  void apply_decision(Trial& trial, Decision decision);
  // Stops it in the executor, frees its resources and puts it back in line as `status`.
  void requeue(Trial& trial, TrialStatus status);
  // Scheduler actions: those for the trial reporting are handled in process_result, the
  // rest here (stops of paused losers).
  void carry_out_scheduler_actions();
  bool exploit(Trial& trial, const SchedulerAction& action);
  void clone_checkpoint(Trial& trial, const Trial& source, const CheckpointEntry& entry, const SchedulerAction& action);
  // Carries out the exploits that waited for a checkpoint being written, or gives them up
  // when it will not come (the source failed or ended).
  void settle_awaiting_clones();
  Trial* live_trial(const std::string& trial_id);
  void process_failure(Trial& trial, const std::string& error);
  // Checkpoints (checkpoint_coordinator.h): a save, then `then` once it is committed.
  void begin_checkpoint(Trial& trial, Decision then, bool manual, const std::filesystem::path& taken);
  void commit_checkpoint(Trial& trial, const std::filesystem::path& written);
  void checkpoint_committed();
  // Experiment state (experiment_store.h): opened new or resumed (trial_runner_resume.cc).
  void open_state();
  void restore_state(ResumeState&& resume);
  static void recreate_missing_dir(const Trial& trial);
  // Ends an event: every staged record in one journal line (experiment_store.h).
  void commit_event() { store_->commit_event(); }
  // A running trial's STOP/PAUSE or new config waits for its checkpoint (journal held back).
  bool decision_in_flight() const;
  // commit_event() for a scheduler that tracks its changes, else only the staged records.
  void commit_loop_step();
  // Ends a trial for good: loggers closed, record kept, resources freed.
  void finish_trial(Trial& trial, TrialStatus status);
  void release_resources(Trial& trial);
  void set_status(Trial& trial, TrialStatus status);
  void leave_line(const Trial& trial);  // out of waiting_
  void stop_everything();
  // RunOptions::interrupt (runner_interrupt.cc): reads the flag; true when the loop is to end
  // now (forced, or graceful with no trial left running). Graceful: no trial starts, and each
  // running one stops at its next result (checkpoint_at_end honoured) and waits PENDING in the
  // state, so a resume continues it.
  bool poll_interrupt();
  // The end of an interrupted run: no trial is ended, no "done" record; state, table, analysis.
  ExperimentAnalysis end_interrupted();
  // The end of a session, finished or interrupted: the snapshot, the last upload, the final
  // table and summary.
  void write_final_state(bool completed);
  void periodic(bool force);
  // sync_to_driver: the trial's files from the node it runs on (sync/placement.h).
  void pull_from_node(Trial& trial);

  // Helpers.
  Resources resources_for(const Config& config) const;
  bool next_trial_could_start() const;
  void handle_logger_failures();
  std::ostream& out() const;
  std::optional<double> metric_value(const Result& result) const;

  const TrainableSpec& trainable_;
  RunOptions options_;
  ExperimentInfo experiment_;
  ResourceManager resources_;
  DescriptorBudget descriptors_;
  std::shared_ptr<Stopper> stopper_;
  std::shared_ptr<Searcher> searcher_;
  std::shared_ptr<TrialScheduler> scheduler_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<LogWriter> log_writer_;
  std::unique_ptr<ExperimentStore> store_;
  std::unique_ptr<CheckpointCoordinator> checkpoints_;
  std::unique_ptr<ExperimentUploader> uploader_;  // null without upload_dir
  std::optional<SyncCommand> driver_sync_;        // null when sync_to_driver is off
  StatusPrinter status_;  // the status table, its counters and the summary

  LiveTrials live_;
  std::deque<int64_t> waiting_;        // PENDING/PAUSED keys in creation order
  int64_t awaiting_clones_ = 0;        // waiting trials with awaiting_clone set
  std::deque<int64_t> restart_first_;  // resumed: RUNNING when the driver died

  int64_t next_index_ = 0;
  int running_ = 0;
  // With a searcher that learns from results: every trial's request when no config can change
  // it (resources_per_trial, or the default {cpu: 1} of a trainable without
  // default_resource_request). Empty otherwise: the searcher is asked whenever nothing waits.
  std::optional<Resources> next_request_;
  bool searcher_finished_ = false;
  bool stop_all_ = false;
  bool interrupting_ = false;  // RunOptions::interrupt seen at 1 (graceful) or more
  bool forced_ = false;        // seen at 2: the children are ended now
  std::optional<std::string> fatal_error_;  // a misuse found mid-run (e.g. a stop key never reported)
  Clock::time_point last_flush_;

  std::optional<ResumeState> resume_;
  std::optional<std::pair<std::filesystem::path, CheckpointEntry>> initial_checkpoint_;
  bool warned_no_checkpoint_dir_ = false;
  std::deque<SchedulerAction> scheduler_actions_;  // taken from the scheduler, not yet carried out
};

}  // namespace tune::detail
