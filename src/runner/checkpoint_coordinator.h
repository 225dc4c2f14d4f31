// Internal: a trial's checkpoints on disk — taking one (a directory the trial wrote itself, or
// one the executor is asked to save), committing it (metadata, its final name, keep-N-best
// pruning, the journal record), rolling a trial back to its latest one before a restart, and
// PBT's exploit: finding the source checkpoint to clone, waiting for it, copying it.
//
// It changes a trial's checkpoint list, config and logs, never its status, and never talks
// to the executor: what to do next (save, continue, pause, fail) is the runner's, from what
// these calls return or throw. Thread-safety: runner thread only.
#pragma once

#include <deque>
#include <filesystem>
#include <optional>
#include <string>

#include "callbacks/log_writer.h"
#include "executors/executor.h"
#include "runner/experiment_store.h"
#include "trial/trial.h"
#include "tune/scheduler.h"

namespace tune::detail {

class CheckpointCoordinator {
 public:
  struct Settings {
    std::string metric;                 // RunOptions::metric (the trial's metric stats)
    std::string checkpoint_score_attr;  // "attr" or "min-attr"
    int keep_checkpoints_num = 0;       // 0: keep all
  };
  CheckpointCoordinator(Settings settings, ExperimentStore& store, LogWriter& log_writer);

  // Where the executor saves the checkpoint of the trial's current iteration.
  static std::filesystem::path saving_dir(const Trial& trial);
  // A save that failed: its partial directory is of no use.
  static void discard_save(const Trial& trial);

  // Takes a checkpoint at the trial's last result. A `manual` checkpoint the trial wrote
  // itself (into <logdir>/checkpoint, or `taken` when the executor moved it aside) is
  // committed at once: nullopt. Otherwise returns the directory (created, empty) that the
  // executor must save into; commit() follows its kSaved. Throws on a file error.
  std::optional<std::filesystem::path> begin(Trial& trial, bool manual, const std::filesystem::path& taken);
  // Commits the checkpoint written into `written` (see above): throws on a file error.
  void commit(Trial& trial, const std::filesystem::path& written);

  // Fills in what the trial restarts from (its latest checkpoint, else RunOptions::restore)
  // and, for a trial that ran before, rolls its logs and metric back to that checkpoint and
  // removes checkpoint directories the journal does not name. Throws on a file error.
  void prepare_restart(Trial& trial, StartRequest& request);

  // PBT exploit of `trial` from `source` (null when it is gone).
  struct ClonePlan {
    enum class Kind {
      kClone,  // `entry` is committed: clone it now
      kWait,   // the checkpoint is being written: wait for it
      kNone,   // nothing to clone (the source failed, ended, or never checkpointed there)
    } kind = Kind::kNone;
    const CheckpointEntry* entry = nullptr;
  };
  // For the exploit decided at the trial's result: the checkpoint asked for, else the latest
  // (action.source_iteration < 0).
  static ClonePlan plan_exploit(const Trial& trial, const Trial* source, const SchedulerAction& action);
  // For a trial that waits for its clone (awaiting_clone): only the iteration asked for.
  static ClonePlan plan_awaited_clone(const Trial* source, const SchedulerAction& action);
  // Copies `entry` of `source` in as the trial's latest checkpoint, and gives the trial the
  // exploit's config and tag (journaled). Throws on a file error, leaving the trial as it was.
  void clone(Trial& trial, const Trial& source, CheckpointEntry entry, const SchedulerAction& action);
  // The waiting trials (keys into `live`) whose exploit waits for a source checkpoint: each
  // clones it once it is committed, or gives up (a warning) when it will not come — the source
  // failed or ended; the trial goes on from its own checkpoint with its own config. A clone
  // that fails is a warning too. Returns how many stopped waiting (awaiting_clone reset).
  int64_t settle_awaiting_clones(const std::deque<int64_t>& waiting, LiveTrials& live);
  // A reconfigured trial's new config, now that the checkpoint it restarts from is committed.
  void adopt_config(Trial& trial, Config config, std::string tag);

 private:
  Settings settings_;
  ExperimentStore& store_;
  LogWriter& log_writer_;
};

}  // namespace tune::detail
