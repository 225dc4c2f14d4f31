// The runner's start: the experiment state opened for a new run, or a stored one restored —
// finished trials kept, unfinished ones back in line from their latest checkpoint (those that
// were running restart first), errored ones rerun with errored_only (trial_runner.h).
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <system_error>

#include "runner/trial_runner.h"
#include "tune/error.h"

namespace tune::detail {

void TrialRunner::open_state() {
  try {
    if (resume_) {
      store_->open_resumed(resume_->stored);
      const uint64_t covered = resume_->stored.header.value("journal_bytes", uint64_t{0});
      restore_state(std::move(*resume_));
      resume_.reset();
      store_->open_done(covered, live_, next_index_);
    } else {
      store_->open_new();
    }
  } catch (const std::system_error& e) {
    throw TuneError(fmt::format("cannot write the experiment state in {}: {}", experiment_.dir.string(), e.what()));
  }
}

// A trial directory deleted since (by hand, by a cleanup): made again, so that the trial has
// somewhere to write; its checkpoints went with it (trial_from_state said which), so it
// restarts from RunOptions::restore or from scratch.
void TrialRunner::recreate_missing_dir(const Trial& trial) {
  std::error_code ec;
  if (trial.logdir.empty() || std::filesystem::is_directory(trial.logdir, ec)) return;
  std::filesystem::create_directories(trial.logdir);  // inside the experiment (state_paths.h)
  std::cerr << fmt::format("tune: {}: its trial directory {} was missing; recreated, the trial restarts from {}\n",
                           trial.name, trial.logdir.string(),
                           trial.checkpoints.empty() ? (trial.initial_checkpoint ? "the restore checkpoint"
                                                                                 : "the start")
                                                     : trial.checkpoints.back().dir);
}

void TrialRunner::restore_state(ResumeState&& resume) {
  StoredExperiment& stored = resume.stored;
  // Finished trials stay finished; with errored_only, those in ERROR run again below.
  std::vector<TrialRecord> rerun = store_->restore(stored, resume.errored_only);
  for (const TrialRecord& record : store_->finished()) status_.counters().restored(record);
  next_index_ = stored.next_index;
  // Unfinished trials continue from their latest checkpoint.
  for (const Json& state : stored.unfinished) {
    std::unique_ptr<Trial> trial = store_->trial_from_state(state);
    trial->trainable_name = trainable_.name;
    trial->initial_checkpoint = initial_checkpoint_;
    recreate_missing_dir(*trial);
    if (trial_status_from_string(state.value("status", "PENDING")) == TrialStatus::kRunning) {
      restart_first_.push_back(trial->index);
    }
    trial->resources = resources_for(trial->config);
    next_index_ = std::max(next_index_, trial->index + 1);
    add_trial(std::move(trial));
  }
  // A trial whose latest checkpoint was taken as it stopped ended, even if the driver died
  // before it could journal that: it is finished from that checkpoint, not run on.
  std::vector<int64_t> ended;
  for (const auto& [key, trial] : live_) {
    if (!trial->checkpoints.empty() && trial->checkpoints.back().done) ended.push_back(key);
  }
  for (int64_t key : ended) {
    Trial& trial = *live_.at(key);
    StartRequest unused;
    checkpoints_->prepare_restart(trial, unused);  // rolls the logs back to that checkpoint, where it ended
    searcher_->on_trial_complete(trial.trial_id, TrialView(trial).last_result(), false);
    scheduler_->on_trial_complete(TrialView(trial), TrialView(trial).last_result());
    finish_trial(trial, TrialStatus::kTerminated);
  }
  // ERRORED_ONLY: each errored trial is replaced by a new one with the same config.
  for (TrialRecord& old : rerun) {
    std::unique_ptr<Trial> trial = make_trial(next_index_++, old.config());
    trial->resources = resources_for(trial->config);
    store_->record_add(add_trial(std::move(trial)), old.trial_id());
  }
}

}  // namespace tune::detail
