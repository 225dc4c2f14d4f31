// The runner's experiment state: journal, plugin state records, snapshots (see experiment_store.h).
#include "runner/experiment_store.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iostream>
#include <limits>
#include <string_view>
#include <system_error>

#include "common/file_writer.h"
#include "schedulers/scheduler_util.h"
#include "tune/error.h"

namespace tune::detail {
namespace {

namespace fs = std::filesystem;

std::string dump(const Json& json) { return json.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace

// Where the finished trials lie in the last snapshot written: the next one copies those
// bytes instead of serialising the same records again, and so costs what is new.
struct ExperimentStore::SnapshotTrials {
  uint64_t begin = 0;  // offset of the first record
  uint64_t end = 0;    // offset past the last one
  size_t count = 0;    // finished_[0, count)
};

// A compaction during the run is written a slice at a time between events, so a
// million-trial snapshot (~50 MB) never stalls the runner for seconds: what it covers (the
// head, the live trials, the journal offset, how many finished trials) is fixed when it
// begins, and the finished trials it covers never change.
struct ExperimentStore::SnapshotInProgress {
  FileWriter file;
  fs::path tmp;
  uint64_t bytes = 0;      // written so far
  size_t next = 0;         // index into finished_ written next
  size_t end = 0;          // finished_.size() when it began
  SnapshotTrials trials;   // where this one puts them
  std::string live_text;   // the live trials when it began
  uint64_t journal_bytes = 0;
  void write(std::string_view text) {
    file.write(text);
    bytes += text.size();
  }
};

ExperimentStore::ExperimentStore(fs::path dir, Backing backing, HeadRecord head, Searcher& searcher,
                                 TrialScheduler& scheduler, Hooks hooks)
    : dir_(std::move(dir)),
      backing_(backing),
      head_(std::move(head)),
      searcher_(searcher),
      scheduler_(scheduler),
      hooks_(std::move(hooks)) {}

ExperimentStore::~ExperimentStore() = default;

// --- Sessions ---------------------------------------------------------------------------------

void ExperimentStore::open_new() {
  if (backing_ == Backing::kNone) return;
  if (backing_ == Backing::kMemory) {
    journal_ = ExperimentJournal::in_memory();
  } else {
    const fs::path journal_path = dir_ / kJournalFile;
    std::error_code ec;
    if (fs::exists(journal_path, ec)) {
      std::cerr << fmt::format("tune: {} held an earlier experiment's state; it is replaced (resume=true would have "
                               "continued it)\n",
                               dir_.string());
      fs::remove(dir_ / kSnapshotFile, ec);
    }
    journal_ = ExperimentJournal(journal_path, /*fresh=*/true, 0);
  }
  stage(head_);
  commit_journal_only();  // the head alone: the first line of a journal is its head record
  record_base_states();
  commit_event();
}

void ExperimentStore::open_resumed(const StoredExperiment& stored) {
  const bool fresh = backing_ == Backing::kNone || stored.journal_file_bytes == 0;
  started_over_ = fresh;
  if (backing_ == Backing::kMemory) {
    journal_ = ExperimentJournal::in_memory();
  } else if (backing_ == Backing::kFiles) {
    journal_ = ExperimentJournal(dir_ / kJournalFile, fresh, fresh ? 0 : stored.journal_valid_bytes);
  }
  if (fresh) stage(head_);
  commit_journal_only();
  stage(StartRecord{static_cast<int64_t>(std::time(nullptr))});
}

std::vector<TrialRecord> ExperimentStore::restore(StoredExperiment& stored, bool rerun_errored) {
  if (!stored.searcher_state.is_null()) searcher_.restore(stored.searcher_state);
  if (!stored.scheduler_state.is_null()) {
    scheduler_.restore(stored.scheduler_state);
    journaled_scheduler_state_ = dump(stored.scheduler_state);
  }
  // Finished trials stay finished; with `rerun_errored`, those in ERROR run again.
  std::vector<TrialRecord> rerun;
  for (TrialRecord& record : stored.finished) {
    if (rerun_errored && record.status() == TrialStatus::kError) {
      rerun.push_back(std::move(record));
    } else {
      finished_.push_back(std::move(record));
    }
  }
  return rerun;
}

void ExperimentStore::open_done(uint64_t covered, const LiveTrials& live, int64_t next_index) {
  record_base_states();  // later changes apply to the states as restored
  commit_event();
  if (started_over_) {
    // A journal started over does not match the old snapshot's offset: replace it.
    write_snapshot(false, live, next_index);
    return;
  }
  // The old snapshot plus the journal after `covered` is the state; compaction counts from there.
  snapshot_journal_bytes_ = std::min(covered, journal_.bytes());
  std::error_code ec;
  snapshot_bytes_ = fs::file_size(dir_ / kSnapshotFile, ec);
  if (ec) snapshot_bytes_ = 0;
}

// --- Records ----------------------------------------------------------------------------------

void ExperimentStore::stage(const StateRecord& record) {
  if (journal_.is_open()) journal_.add(encode(record));
}

void ExperimentStore::record_add(const Trial& trial, std::optional<std::string> replaces) {
  stage(AddRecord{trial.index, trial.trial_id, trial.name, trial.experiment_tag, trial.config, std::move(replaces),
                  std::nullopt});
}

void ExperimentStore::record_dir(const Trial& trial) {
  stage(DirRecord{trial.index, relative_to_experiment(trial.logdir)});
}

void ExperimentStore::record_run(const Trial& trial) { stage(RunRecord{trial.index}); }

void ExperimentStore::record_pause(const Trial& trial) { stage(PauseRecord{trial.index}); }

void ExperimentStore::record_checkpoint(const Trial& trial, const CheckpointEntry& entry,
                                       const std::vector<std::string>& deleted) {
  stage(CheckpointRecord{trial.index, entry.to_json(), deleted});
  for (const auto& dir : deleted) removals_after_commit_.push_back(trial.logdir / dir);
}

void ExperimentStore::record_failure(const Trial& trial) {
  stage(FailRecord{trial.index, trial.num_failures, trial.error_message});
}

void ExperimentStore::record_config(const Trial& trial, const std::string& from) {
  stage(ConfigRecord{trial.index, trial.config, trial.experiment_tag, from});
}

void ExperimentStore::record_end(const Trial& trial, TrialRecord record) {
  if (journal_.is_open()) {
    Json state = record.to_json(dir_);
    state["index"] = trial.index;
    state["tag"] = trial.experiment_tag;
    state["num_failures"] = trial.num_failures;
    stage(EndRecord{trial.index, std::move(state)});
  }
  finished_.push_back(std::move(record));
}

void ExperimentStore::record_done() { stage(DoneRecord{}); }

void ExperimentStore::record_scheduler_changes() {
  if (scheduler_.tracks_state_changes()) {
    // O(what changed): the scheduler's own change list since the last call.
    const std::vector<StateChange> changes = scheduler_.take_state_changes();
    if (!changes.empty()) stage(SchedulerChangesRecord{state_changes_to_json(changes)});
    return;
  }
  if (!journal_.is_open()) return;
  Json state = scheduler_.save();
  std::string dumped = dump(state);
  if (dumped == journaled_scheduler_state_) return;
  stage(SchedulerStateRecord{std::move(state)});
  journaled_scheduler_state_ = std::move(dumped);
}

// The scheduler's whole state, which later change records apply to; the searcher's whole state
// once per session, then what changed (a diff of its save() against the last journaled one) at
// the end of each event that added or ended a trial. Its results alone do not mark it (a save()
// per result would cost O(history)).
void ExperimentStore::record_base_states() {
  if (scheduler_.tracks_state_changes()) {  // else record_scheduler_changes() writes whole states
    scheduler_.take_state_changes();        // the state written here holds them
    stage(SchedulerStateRecord{scheduler_.save()});
  }
  if (!journal_.is_open()) return;
  journaled_searcher_state_ = searcher_.save();
  searcher_dirty_ = false;
  stage(SearcherStateRecord{journaled_searcher_state_});
}

void ExperimentStore::record_searcher_changes() {
  if (!searcher_dirty_ || !journal_.is_open()) return;
  searcher_dirty_ = false;
  Json state = searcher_.save();
  const std::vector<StateChange> changes = diff_states(journaled_searcher_state_, state);
  if (!changes.empty()) stage(SearcherChangesRecord{state_changes_to_json(changes)});
  journaled_searcher_state_ = std::move(state);
}

// --- Commits ----------------------------------------------------------------------------------

void ExperimentStore::commit_event() {
  record_scheduler_changes();
  commit_journal_only();
}

void ExperimentStore::commit_journal_only() {
  record_searcher_changes();  // with the event that changed it (a trial added or ended)
  // A STOP or PAUSE (or a new config) waiting for its checkpoint: the scheduler's changes
  // that decided it are staged, the trial's end or pause comes with the checkpoint. Both go
  // into the journal together, when the save is done (or failed), so that a resume never
  // finds the scheduler holding a decision whose trial did not carry it out, or the reverse.
  if (journal_.has_staged() && hooks_.decision_in_flight && hooks_.decision_in_flight()) return;
  if (!journal_.is_open() && backing_ != Backing::kNone) {
    removals_after_commit_.clear();  // the journal failed: the state on disk may still name them
    return;
  }
  try {
    journal_.commit();  // a no-op without a journal (write_experiment_state = false)
    for (const auto& path : removals_after_commit_) {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
    removals_after_commit_.clear();
  } catch (const std::system_error& e) {
    removals_after_commit_.clear();
    journal_ = ExperimentJournal();
    // Without its journal the experiment could not be resumed correctly: end it now, while
    // the state on disk is whole (every record before this one is complete).
    if (hooks_.on_journal_failure) {
      hooks_.on_journal_failure(fmt::format("the experiment journal cannot be written ({}); the experiment stops "
                                            "here and can be resumed (resume=true) once the problem is fixed",
                                            e.what()));
    }
  }
}

// --- Snapshots --------------------------------------------------------------------------------

void ExperimentStore::maybe_snapshot(const LiveTrials& live, int64_t next_index) {
  // Compaction when the journal's tail has grown as large as the snapshot itself (at least
  // 1 MiB): the cost stays proportional to the journal, and a resume reads at most about
  // twice the state.
  if (!journal_.is_open() || snapshot_ || backing_ == Backing::kMemory) return;
  const uint64_t tail = journal_.bytes() - snapshot_journal_bytes_;
  if (tail >= std::max<uint64_t>(uint64_t{1} << 20, snapshot_bytes_)) begin_snapshot(false, live, next_index);
}

void ExperimentStore::write_snapshot(bool completed, const LiveTrials& live, int64_t next_index) {
  if (backing_ == Backing::kMemory) return;  // the journal alone holds the state
  abandon_snapshot();
  begin_snapshot(completed, live, next_index);
  if (snapshot_) continue_snapshot(std::numeric_limits<size_t>::max());
}

void ExperimentStore::abandon_snapshot() {
  if (!snapshot_) return;
  std::error_code ec;
  fs::remove(snapshot_->tmp, ec);
  snapshot_.reset();
}

void ExperimentStore::begin_snapshot(bool completed, const LiveTrials& live, int64_t next_index) {
  // Records not journaled yet (scheduler and searcher changes included) are in the state saved
  // below: journal them first, so they lie before the offset the snapshot covers and are not
  // applied to it twice, and so the journal alone (without this snapshot) says the same.
  searcher_dirty_ = true;  // its results may have changed it too (those are not journaled each)
  commit_event();
  // Held back for a decision in flight: the snapshot waits too (the next period tries again).
  if (journal_.has_staged()) return;
  try {
    auto snapshot = std::make_unique<SnapshotInProgress>();
    snapshot->tmp = (dir_ / kSnapshotFile).string() + ".tmp";
    Json head = encode_head_fields(head_);
    head["searcher"] = journal_.is_open() ? journaled_searcher_state_ : searcher_.save();
    head["scheduler"] = scheduler_.save();
    head["next_index"] = next_index;
    head["journal_bytes"] = journal_.bytes();
    head["completed"] = completed;
    std::string text = dump(head);
    text.pop_back();  // reopen the object to stream the trials into it
    auto start_file = [&] {
      snapshot->file = FileWriter(snapshot->tmp, /*truncate=*/true);
      snapshot->bytes = 0;
      snapshot->write(text);
      snapshot->write(",\"trials\":[");
      snapshot->trials.begin = snapshot->bytes;
    };
    start_file();
    if (snapshot_trials_ && snapshot_trials_->count <= finished_.size()) {
      // The records the last snapshot holds have not changed: copy their bytes.
      const SnapshotTrials& old = *snapshot_trials_;
      std::ifstream in(dir_ / kSnapshotFile, std::ios::binary);
      in.seekg(static_cast<std::streamoff>(old.begin));
      std::string chunk(std::size_t{1} << 20, '\0');
      uint64_t left = old.end - old.begin;
      while (left > 0 && in) {
        const auto n = static_cast<std::streamsize>(std::min<uint64_t>(left, chunk.size()));
        in.read(chunk.data(), n);
        if (in.gcount() != n) break;
        snapshot->write(std::string_view(chunk.data(), static_cast<size_t>(n)));
        left -= static_cast<uint64_t>(n);
      }
      if (left == 0) {
        snapshot->next = old.count;
      } else {  // the file is not what this run wrote: serialise everything
        start_file();
      }
    }
    bool first = true;
    for (const auto& [key, trial] : live) {
      if (!first) snapshot->live_text += ",\n";
      first = false;
      snapshot->live_text += dump(live_state(*trial));
    }
    snapshot->end = finished_.size();
    snapshot->journal_bytes = journal_.bytes();
    snapshot_ = std::move(snapshot);
  } catch (const std::exception& e) {
    abandon_snapshot();
    // The journal still holds everything; only the compaction is missing.
    std::cerr << fmt::format("tune: cannot write the experiment snapshot: {}\n", e.what());
  }
}

void ExperimentStore::continue_snapshot(size_t max_records) {
  if (!snapshot_) return;
  SnapshotInProgress& snapshot = *snapshot_;
  try {
    const size_t stop = snapshot.end - snapshot.next > max_records ? snapshot.next + max_records : snapshot.end;
    for (; snapshot.next < stop; ++snapshot.next) {
      if (snapshot.next > 0) snapshot.write(",\n");
      snapshot.write(dump(finished_[snapshot.next].to_json(dir_)));
    }
    if (snapshot.next < snapshot.end) return;
    snapshot.trials.end = snapshot.bytes;
    snapshot.trials.count = snapshot.end;
    snapshot.write("],\n\"live\":[");
    snapshot.write(snapshot.live_text);
    snapshot.write("]}\n");
    snapshot.file.sync();
    snapshot.file.close();
    snapshot_bytes_ = fs::file_size(snapshot.tmp);
    fs::rename(snapshot.tmp, dir_ / kSnapshotFile);
    snapshot_journal_bytes_ = snapshot.journal_bytes;
    snapshot_trials_ = std::make_unique<SnapshotTrials>(snapshot.trials);
    snapshot_.reset();
  } catch (const std::exception& e) {
    abandon_snapshot();
    std::cerr << fmt::format("tune: cannot write the experiment snapshot: {}\n", e.what());
  }
}

// --- Live trial states --------------------------------------------------------------------------

std::string ExperimentStore::relative_to_experiment(const fs::path& path) const {
  const fs::path relative = path.lexically_relative(dir_);
  if (!relative.empty() && *relative.begin() != "..") return relative.string();
  return path.string();
}

Json ExperimentStore::live_state(const Trial& trial) const {
  Json checkpoints = Json::array();
  for (const auto& c : trial.checkpoints) checkpoints.push_back(c.to_json());
  return Json{{"index", trial.index},
              {"trial_id", trial.trial_id},
              {"name", trial.name},
              {"tag", trial.experiment_tag},
              {"config", trial.config},
              {"status", std::string(to_string(trial.status))},
              {"logdir", trial.logdir.empty() ? std::string() : relative_to_experiment(trial.logdir)},
              {"num_failures", trial.num_failures},
              {"error", trial.error_message},
              {"checkpoints", std::move(checkpoints)},
              {"last_result", trial.last_result ? *trial.last_result : Json(nullptr)}};
}

std::unique_ptr<Trial> ExperimentStore::trial_from_state(const Json& state) const {
  auto trial = std::make_unique<Trial>();
  trial->index = state.value("index", int64_t{0});
  trial->trial_id = state.value("trial_id", "");
  trial->name = state.value("name", trial->trial_id);
  trial->experiment_tag = state.value("tag", "");
  trial->config = state.value("config", Json::object());
  trial->num_failures = state.value("num_failures", 0);
  trial->error_message = state.value("error", "");
  const std::string logdir = state.value("logdir", "");
  if (!logdir.empty()) trial->logdir = fs::path(logdir).is_absolute() ? fs::path(logdir) : dir_ / logdir;
  if (auto it = state.find("checkpoints"); it != state.end() && it->is_array()) {
    for (const auto& c : *it) trial->checkpoints.push_back(CheckpointEntry::from_json(c));
  }
  // A checkpoint the journal names but the disk lacks (an upload copied while the run went
  // on, a directory deleted by hand) cannot be restored: the trial falls back to the newest
  // one that is complete, or to the start, instead of restoring nothing and going on as if.
  std::vector<std::string> missing;
  std::erase_if(trial->checkpoints, [&](const CheckpointEntry& c) {
    std::error_code ec;
    if (trial->logdir.empty() || fs::exists(trial->logdir / c.dir / ".tune_metadata", ec)) return false;
    missing.push_back(c.dir);
    return true;
  });
  if (!missing.empty()) {
    std::cerr << fmt::format("tune: {}: checkpoint {} missing or incomplete in {}; it continues from {}\n", trial->name,
                             fmt::join(missing, ", "), trial->logdir.string(),
                             trial->checkpoints.empty() ? std::string("the start") : trial->checkpoints.back().dir);
  }
  trial->iteration = trial->checkpoints.empty() ? 0 : trial->checkpoints.back().iteration;
  trial->has_run = !trial->logdir.empty();
  const auto status = trial_status_from_string(state.value("status", "PENDING"));
  trial->status = status == TrialStatus::kPaused ? TrialStatus::kPaused : TrialStatus::kPending;
  return trial;
}

}  // namespace tune::detail
