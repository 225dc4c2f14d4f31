// Internal: the mutable trial record. Only the runner writes it; everyone else reads it
// through tune::TrialView.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analysis/experiment_state.h"
#include "sync/placement.h"
#include "tune/analysis.h"
#include "tune/scheduler.h"
#include "tune/callback.h"
#include "tune/json.h"
#include "tune/resources.h"
#include "tune/trial.h"

namespace tune::detail {

struct Trial {
  int64_t index = 0;  // creation order; also the executor's key
  std::string trial_id;
  std::string name;
  std::string trainable_name;
  std::string experiment_tag;
  TrialStatus status = TrialStatus::kPending;
  Config config;
  std::shared_ptr<const Result> last_result;  // null until the first result
  std::filesystem::path logdir;
  Resources resources;
  std::vector<int> gpu_ids;
  int num_failures = 0;
  std::string error_message;
  std::string location;
  int64_t iteration = 0;
  bool done = false;  // the last result said done / a stopper stopped it
  std::map<std::string, MetricStats> metric_stats;  // only the run's metric
  // Checkpoints on disk, oldest first: back() is the one a restart restores.
  std::vector<CheckpointEntry> checkpoints;
  // A checkpoint outside the trial (RunOptions::restore) used while it has none of its own.
  std::optional<std::pair<std::filesystem::path, CheckpointEntry>> initial_checkpoint;
  // Set while a save is in flight: the decision to carry out once it is written.
  std::optional<Decision> pending_decision;
  // A config (and tag) to switch to once the checkpoint being written is committed.
  std::optional<std::pair<Config, std::string>> pending_config;
  // PAUSED until the source's checkpoint this exploit clones is committed.
  std::optional<SchedulerAction> awaiting_clone;
  bool has_run = false;  // started at least once (its log files may need a rollback)
  // Where its files are when its executor runs it off the driver's filesystem (sync/placement.h).
  std::optional<TrialPlacement> placement;
};

using LiveTrials = std::map<int64_t, std::unique_ptr<Trial>>;  // not finished, by creation order

}  // namespace tune::detail
