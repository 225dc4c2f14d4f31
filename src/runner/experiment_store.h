// Internal: the experiment's state as the runner keeps it — the journal with its hold-back
// rule, the searcher's and scheduler's state records, the snapshot compaction, the finished
// trials' records, and checkpoint directories deleted only once the record that drops them
// is written. The runner calls typed record_*() methods; the records' format is
// analysis/state_records.h, read back by analysis/experiment_state.h.
//
// Crash semantics: every record of one runner event is staged, then written as one journal
// line by commit_event() (experiment_journal.h), so a killed driver leaves all of an event or
// none. While a decision waits for its checkpoint (Hooks::decision_in_flight), commits are held
// back, so that the scheduler's state and the trial's end or pause reach the journal together.
// A journal that cannot be written ends the experiment (Hooks::on_journal_failure), while the
// state on disk is whole.
//
// Backing::kFiles writes <dir>/experiment_state.jsonl and .json; kMemory keeps the journal's
// lines in memory (journal_text()) and writes no snapshot (unit tests of the runner); kNone
// (write_experiment_state = false) journals nothing but still writes the final snapshot.
// Thread-safety: runner thread only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analysis/experiment_state.h"
#include "runner/experiment_journal.h"
#include "trial/trial.h"
#include "tune/analysis.h"
#include "tune/scheduler.h"
#include "tune/searcher.h"

namespace tune::detail {

class ExperimentStore {
 public:
  enum class Backing { kFiles, kMemory, kNone };
  struct Hooks {
    // True while a running trial's STOP/PAUSE or new config waits for its checkpoint.
    std::function<bool()> decision_in_flight;
    // The journal could not be written; the message says so and how to go on.
    std::function<void(const std::string& message)> on_journal_failure;
  };
  // `searcher` and `scheduler` outlive the store.
  ExperimentStore(std::filesystem::path dir, Backing backing, HeadRecord head, Searcher& searcher,
                  TrialScheduler& scheduler, Hooks hooks);
  ~ExperimentStore();
  ExperimentStore(const ExperimentStore&) = delete;
  ExperimentStore& operator=(const ExperimentStore&) = delete;

  // --- Sessions (throw std::system_error when the journal cannot be opened) ---
  // A new experiment: an earlier one's state in the directory is replaced (with a warning);
  // the head and the plugins' whole states are committed.
  void open_new();
  // A resume: the journal is continued after its last whole record (or started over when it
  // is empty or not kept); a "start" record is staged. restore() follows, then open_done().
  void open_resumed(const StoredExperiment& stored);
  // The plugins' states and the finished trials from `stored` (errored ones left out when
  // `rerun_errored`, and returned).
  std::vector<TrialRecord> restore(StoredExperiment& stored, bool rerun_errored);
  // After restore(): the plugins' states as restored are committed; compaction counts from the
  // old snapshot, or a new one is written when the journal started over.
  // `covered`: the journal length the old snapshot covers (its header's journal_bytes).
  void open_done(uint64_t covered, const LiveTrials& live, int64_t next_index);

  // --- Records of the event being handled (staged) ---
  void record_add(const Trial& trial, std::optional<std::string> replaces = std::nullopt);
  void record_dir(const Trial& trial);
  void record_run(const Trial& trial);
  void record_pause(const Trial& trial);
  // A committed checkpoint; the directories of `deleted` go once this record is written.
  void record_checkpoint(const Trial& trial, const CheckpointEntry& entry, const std::vector<std::string>& deleted);
  void record_failure(const Trial& trial);
  // A new config, taken from trial `from` (itself for a reconfigure).
  void record_config(const Trial& trial, const std::string& from);
  // The trial's end: `record` joins finished().
  void record_end(const Trial& trial, TrialRecord record);
  void record_done();
  // A trial was added or ended: the searcher's changes go with this event.
  void mark_searcher_changed() { searcher_dirty_ = true; }

  // --- Commits ---
  // The scheduler's changes staged too, then everything in one line, then the removals.
  void commit_event();
  // The same without asking the scheduler.
  void commit_journal_only();

  // --- Snapshots ---
  // Starts a compaction when the journal's tail has grown as large as the snapshot.
  void maybe_snapshot(const LiveTrials& live, int64_t next_index);
  // The whole snapshot now (the end of a run).
  void write_snapshot(bool completed, const LiveTrials& live, int64_t next_index);
  bool snapshot_in_progress() const { return snapshot_ != nullptr; }
  // Writes up to `max_records` more finished trials of the compaction in progress; finishes it
  // after the last.
  void continue_snapshot(size_t max_records);

  // --- Reading ---
  const std::vector<TrialRecord>& finished() const { return finished_; }
  std::vector<TrialRecord> take_finished() { return std::move(finished_); }
  bool journal_open() const { return journal_.is_open(); }
  uint64_t journal_bytes() const { return journal_.bytes(); }
  const std::string& journal_text() const { return journal_.memory_text(); }  // kMemory
  // The path as the state spells it: relative to the experiment directory when inside it.
  std::string relative_to_experiment(const std::filesystem::path& path) const;
  // A live trial's state in the snapshot, and the trial rebuilt from it.
  Json live_state(const Trial& trial) const;
  // The rebuilt trial is PENDING or PAUSED (one that was RUNNING waits to restart).
  std::unique_ptr<Trial> trial_from_state(const Json& state) const;

 private:
  struct SnapshotTrials;
  struct SnapshotInProgress;
  void stage(const StateRecord& record);
  void record_scheduler_changes();
  void record_base_states();
  void record_searcher_changes();
  void begin_snapshot(bool completed, const LiveTrials& live, int64_t next_index);
  void abandon_snapshot();

  std::filesystem::path dir_;
  Backing backing_;
  HeadRecord head_;
  Searcher& searcher_;
  TrialScheduler& scheduler_;
  Hooks hooks_;
  ExperimentJournal journal_;
  bool started_over_ = false;  // a resume whose journal began anew
  std::vector<TrialRecord> finished_;  // in the order they ended
  uint64_t snapshot_journal_bytes_ = 0;  // journal length covered by the last snapshot
  uint64_t snapshot_bytes_ = 0;          // size of the last snapshot
  std::unique_ptr<SnapshotInProgress> snapshot_;   // null when none is being written
  std::unique_ptr<SnapshotTrials> snapshot_trials_;  // of the snapshot file there now, when this run wrote it
  std::string journaled_scheduler_state_;  // the last "sched" record's state, dumped
  Json journaled_searcher_state_;          // the searcher's state as the journal has it
  bool searcher_dirty_ = false;            // a trial was added or ended since then
  // Checkpoint directories to delete once the record that drops them is in the journal (a
  // kill before that must not leave the journal naming a deleted checkpoint).
  std::vector<std::filesystem::path> removals_after_commit_;
};

}  // namespace tune::detail
