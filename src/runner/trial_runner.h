// Internal: the event loop of an experiment. It is the only code that changes a trial's
// state or drives the executor; plugins see read-only views and return decisions.
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
#include "callbacks/status_reporter.h"
#include "common/file_writer.h"
#include "executors/executor.h"
#include "runner/experiment_journal.h"
#include "runner/resource_manager.h"
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

class TrialRunner {
 public:
  // `options` must have been validated (see validate_options in run.cc). `spec` is the
  // run's settings as JSON (kept in the state, compared on resume). `initial_checkpoint`
  // is RunOptions::restore resolved.
  // `make_executor`, when set, replaces the executor chosen from the trainable (tests of the
  // executor hooks; executors that run trials elsewhere).
  using ExecutorFactory = std::function<std::unique_ptr<Executor>(Executor::Sink)>;
  TrialRunner(const TrainableSpec& trainable, RunOptions options, ExperimentInfo experiment, ResourcePool pool,
              std::shared_ptr<Stopper> stopper, Json spec, std::optional<ResumeState> resume,
              std::optional<std::pair<std::filesystem::path, CheckpointEntry>> initial_checkpoint,
              ExecutorFactory make_executor = {});
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
  void process_result(Trial& trial, Result&& result, const std::filesystem::path& taken_checkpoint);
  void apply_decision(Trial& trial, Decision decision);
  // Stops it in the executor, frees its resources and puts it back in line as `status`.
  void requeue(Trial& trial, TrialStatus status);
  // Scheduler actions: those for the trial reporting are handled in process_result, the
  // rest here (stops of paused losers).
  void carry_out_scheduler_actions();
  bool exploit(Trial& trial, const SchedulerAction& action);
  void clone_checkpoint(Trial& trial, const Trial& source, CheckpointEntry entry, const SchedulerAction& action);
  // Carries out the exploits that waited for a checkpoint being written, or gives them up
  // when it will not come (the source failed or ended).
  void settle_awaiting_clones();
  Trial* live_trial(const std::string& trial_id);
  void journal_scheduler_state();
  // The scheduler's whole state, which later "schedc" change records apply to.
  void journal_scheduler_base();
  // The searcher's state: whole once per session ("srch"), then what changed ("srchc", a diff of
  // its save() against the last journaled one) at the end of each event that added or ended a
  // trial. Its results alone do not mark it (a save() per result would cost O(history)).
  void journal_searcher_base();
  void journal_searcher_state();
  void process_failure(Trial& trial, const std::string& error);
  // Checkpoints.
  void begin_checkpoint(Trial& trial, Decision then, bool manual, const std::filesystem::path& taken);
  void commit_checkpoint(Trial& trial, const std::filesystem::path& written);
  void prepare_restart(Trial& trial, StartRequest& request);
  // Experiment state.
  void restore_state(ResumeState&& resume);
  // Stages a record of the event being handled; commit_event() writes them all at once.
  void journal(const Json& record);
  // Ends an event: the scheduler's changes staged too, then every staged record in one
  // journal line (experiment_journal.h), then the removals that waited for it.
  void commit_event();
  // The staged records without asking the scheduler for its changes.
  void commit_journal_only();
  // A running trial's STOP/PAUSE or new config waits for its checkpoint (journal held back).
  bool decision_in_flight() const;
  // commit_event() for a scheduler that tracks its changes, else commit_journal_only().
  void commit_loop_step();
  void maybe_snapshot();
  // The whole snapshot now (at the start and the end of a run).
  void write_snapshot(bool completed);
  // A compaction during the run is written a slice at a time between events, so a
  // million-trial snapshot (~50 MB) never stalls the runner for seconds: what it covers (the
  // head, the live trials, the journal offset, how many finished trials) is fixed when it
  // begins, and the finished trials it covers never change.
  void begin_snapshot(bool completed);
  void continue_snapshot(size_t max_records);  // finishes it after the last slice
  void abandon_snapshot();
  Json live_state(const Trial& trial) const;
  std::string relative_to_experiment(const std::filesystem::path& path) const;
  // Ends a trial for good: loggers closed, record kept, resources freed.
  void finish_trial(Trial& trial, TrialStatus status);
  void release_resources(Trial& trial);
  void stop_everything();
  // RunOptions::interrupt (runner_interrupt.cc): reads the flag; true when the loop is to end
  // now (forced, or graceful with no trial left running). Graceful: no trial starts, and each
  // running one stops at its next result (checkpoint_at_end honoured) and waits PENDING in the
  // state, so a resume continues it.
  bool poll_interrupt();
  // The end of an interrupted run: no trial is ended, no "done" record; state, table, analysis.
  ExperimentAnalysis end_interrupted();
  void periodic(bool force);
  // Uploads (sync_config): at most one in flight; a request while one runs starts another
  // right after it. Failures are warnings, never the experiment's end.
  bool request_upload();  // false when none was started
  void poll_upload();
  void final_upload();
  // sync_to_driver: the trial's files from the node it runs on (sync/placement.h).
  void pull_from_node(Trial& trial);

  // Helpers.
  Resources resources_for(const Config& config) const;
  std::string make_dirname(const Trial& trial) const;
  void handle_logger_failures();
  void write_error_file(const Trial& trial, const std::string& error) const;
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
  int64_t awaiting_clones_ = 0;                     // waiting trials with awaiting_clone set
  std::deque<int64_t> restart_first_;               // resumed: RUNNING when the driver died
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
  bool interrupting_ = false;  // RunOptions::interrupt seen at 1 (graceful) or more
  bool forced_ = false;        // seen at 2: the children are ended now
  bool any_failure_ = false;
  std::optional<std::string> fatal_error_;  // a misuse found mid-run (e.g. a stop key never reported)
  Clock::time_point start_time_;
  Clock::time_point last_report_;
  Clock::time_point last_flush_;
  Clock::time_point last_bar_;
  bool is_tty_ = false;
  std::vector<std::string> param_columns_;

  Json spec_;
  std::optional<ResumeState> resume_;
  std::optional<std::pair<std::filesystem::path, CheckpointEntry>> initial_checkpoint_;
  ExperimentJournal journal_;
  uint64_t snapshot_journal_bytes_ = 0;  // journal length covered by the last snapshot
  uint64_t snapshot_bytes_ = 0;          // size of the last snapshot
  // Where the finished trials lie in the last snapshot written: the next one copies those
  // bytes instead of serialising the same records again, and so costs what is new.
  struct SnapshotTrials {
    uint64_t begin = 0;  // offset of the first record
    uint64_t end = 0;    // offset past the last one
    size_t count = 0;    // finished_[0, count)
  };
  struct SnapshotInProgress {
    FileWriter file;
    std::filesystem::path tmp;
    uint64_t bytes = 0;  // written so far
    size_t next = 0;  // index into finished_ written next
    size_t end = 0;   // finished_.size() when it began
    SnapshotTrials trials;  // where this one puts them
    std::string live_text;  // the live trials when it began
    uint64_t journal_bytes = 0;
    void write(std::string_view text) {
      file.write(text);
      bytes += text.size();
    }
  };
  std::unique_ptr<SnapshotInProgress> snapshot_;  // null when none is being written
  std::optional<SnapshotTrials> snapshot_trials_;  // of the snapshot file there now, when this run wrote it
  bool warned_no_checkpoint_dir_ = false;
  std::deque<SchedulerAction> scheduler_actions_;  // taken from the scheduler, not yet carried out
  std::string journaled_scheduler_state_;          // the last "sched" record's state, dumped
  Json journaled_searcher_state_;                  // the searcher's state as the journal has it
  bool searcher_dirty_ = false;                    // a trial was added or ended since then
  // Checkpoint directories to delete once the record that drops them is in the journal (a
  // kill before that must not leave the journal naming a deleted checkpoint).
  std::vector<std::filesystem::path> removals_after_commit_;
  // Syncing.
  std::optional<CloudTarget> cloud_;         // null without upload_dir
  std::optional<SyncCommand> driver_sync_;   // null when sync_to_driver is off
  SyncJob upload_;
  bool upload_wanted_ = false;               // asked for while one was in flight
  Clock::time_point last_upload_;            // when the latest upload started
};

}  // namespace tune::detail
