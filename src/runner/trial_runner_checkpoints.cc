// The runner's side of checkpoints: one taken before a decision (begin, commit) and PBT's
// exploit of another trial's checkpoint (clone, or wait paused for it). The work on files and
// records is CheckpointCoordinator's; here is what it means for the trial's state.
#include <fmt/format.h>

#include <iostream>

#include "runner/trial_runner.h"

namespace tune::detail {

bool TrialRunner::exploit(Trial& trial, const SchedulerAction& action) {
  const Trial* source = live_trial(action.source_trial_id);
  const auto plan = CheckpointCoordinator::plan_exploit(trial, source, action);
  switch (plan.kind) {
    case CheckpointCoordinator::ClonePlan::Kind::kClone:
      executor_->stop_trial(trial.index);
      clone_checkpoint(trial, *source, *plan.entry, action);
      return true;
    case CheckpointCoordinator::ClonePlan::Kind::kWait:
      // The checkpoint asked for is being written: wait for it, paused (settle_awaiting_clones).
      trial.awaiting_clone = action;
      ++awaiting_clones_;
      requeue(trial, TrialStatus::kPaused);
      return true;
    case CheckpointCoordinator::ClonePlan::Kind::kNone:
      break;
  }
  return false;  // nothing to clone: the scheduler's decision stands
}

void TrialRunner::settle_awaiting_clones() {
  awaiting_clones_ -= checkpoints_->settle_awaiting_clones(waiting_, live_);
}

void TrialRunner::clone_checkpoint(Trial& trial, const Trial& source, const CheckpointEntry& entry,
                                   const SchedulerAction& action) {
  try {
    checkpoints_->clone(trial, source, entry, action);
  } catch (const std::exception& e) {
    const std::string error = fmt::format("cannot clone the checkpoint of {}: {}", source.name, e.what());
    if (trial.status == TrialStatus::kRunning) {
      process_failure(trial, error);
    } else {  // waiting, paused: it goes on from its own checkpoint with its own config
      std::cerr << "tune: " << trial.name << ": " << error << "\n";
    }
    return;
  }
  if (trial.status == TrialStatus::kRunning) apply_decision(trial, Decision::kPause);
}

void TrialRunner::begin_checkpoint(Trial& trial, Decision then, bool manual, const std::filesystem::path& taken) {
  std::optional<std::filesystem::path> save_into;
  try {
    save_into = checkpoints_->begin(trial, manual, taken);
  } catch (const std::exception& e) {
    executor_->stop_trial(trial.index);
    process_failure(trial, fmt::format("checkpoint at iteration {} failed: {}", trial.iteration, e.what()));
    return;
  }
  if (!save_into) {  // the trial's own checkpoint, committed already
    checkpoint_committed();
    apply_decision(trial, then);
    return;
  }
  trial.pending_decision = then;
  executor_->save_trial(trial.index, *save_into);
}

void TrialRunner::commit_checkpoint(Trial& trial, const std::filesystem::path& written) {
  checkpoints_->commit(trial, written);
  checkpoint_committed();
}

void TrialRunner::checkpoint_committed() {
  if (uploader_ && uploader_->on_checkpoint()) uploader_->request();
}

void TrialRunner::pull_from_node(Trial& trial) {
  if (!trial.placement || !driver_sync_ || trial.logdir.empty()) return;
  pull_trial_files(*driver_sync_, *trial.placement, trial.logdir, trial.name, options_.sync_config.sync_timeout_s);
}

}  // namespace tune::detail
