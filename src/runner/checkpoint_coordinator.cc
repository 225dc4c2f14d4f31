// Checkpoints of trials: take, commit, prune, restart from, clone (see checkpoint_coordinator.h).
#include "runner/checkpoint_coordinator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <system_error>
#include <vector>

#include "callbacks/log_rollback.h"
#include "callbacks/status_counters.h"
#include "common/file_writer.h"

namespace tune::detail {
namespace {

namespace fs = std::filesystem;

}  // namespace

CheckpointCoordinator::CheckpointCoordinator(Settings settings, ExperimentStore& store, LogWriter& log_writer)
    : settings_(std::move(settings)), store_(store), log_writer_(log_writer) {}

fs::path CheckpointCoordinator::saving_dir(const Trial& trial) {
  return trial.logdir / fmt::format(".checkpoint_{}.tmp", trial.iteration);
}

void CheckpointCoordinator::discard_save(const Trial& trial) {
  std::error_code ec;
  fs::remove_all(saving_dir(trial), ec);
}

std::optional<fs::path> CheckpointCoordinator::begin(Trial& trial, bool manual, const fs::path& taken) {
  const fs::path tmp = saving_dir(trial);
  fs::remove_all(tmp);
  // A function-style trial wrote its checkpoint itself: take the directory as it is (the
  // executor may have moved it aside already, for a program that runs on meanwhile).
  const fs::path own = taken.empty() ? trial.logdir / "checkpoint" : taken;
  std::error_code ec;
  if (manual && fs::is_directory(own, ec) && !fs::is_empty(own, ec)) {
    fs::rename(own, tmp);
    commit(trial, tmp);
    return std::nullopt;
  }
  fs::create_directories(tmp);
  return tmp;
}

void CheckpointCoordinator::commit(Trial& trial, const fs::path& written) {
  const Result& result = *trial.last_result;
  CheckpointEntry entry;
  entry.iteration = trial.iteration;
  entry.dir = fmt::format("checkpoint_{}", trial.iteration);
  auto number = [&](const char* key) -> Json {
    auto it = result.find(key);
    return it != result.end() && it->is_number() ? *it : Json(0);
  };
  entry.time_total_s = number("time_total_s").get<double>();
  entry.timesteps_total = number("timesteps_total").get<int64_t>();
  entry.episodes_total = number("episodes_total").get<int64_t>();
  entry.done = trial.done;  // a trial resumed from here is finished
  std::string attr = settings_.checkpoint_score_attr;
  const bool lower_better = attr.starts_with("min-");
  if (lower_better) attr.erase(0, 4);
  entry.score = std::numeric_limits<double>::quiet_NaN();
  if (const Json* v = find_path(result, attr); v != nullptr && v->is_number()) {
    entry.score = lower_better ? -v->get<double>() : v->get<double>();
  }
  {
    FileWriter meta(written / ".tune_metadata", /*truncate=*/true);
    meta.write(Json{{"iteration", entry.iteration},
                    {"time_total_s", entry.time_total_s},
                    {"timesteps_total", entry.timesteps_total},
                    {"episodes_total", entry.episodes_total},
                    {"trial_id", trial.trial_id},
                    {"result", result}}
                   .dump(-1, ' ', false, Json::error_handler_t::replace) +
               "\n");
    meta.close();
  }
  // The results up to this checkpoint reach result.json before the journal names it. When they
  // cannot (a full disk), it is no checkpoint to resume from: it goes, and the logger's failure
  // fails the trial, which is retried from its last whole checkpoint.
  if (!log_writer_.flush(trial.index)) {
    std::error_code ec;
    fs::remove_all(written, ec);
    return;
  }
  const fs::path final_dir = trial.logdir / entry.dir;
  fs::remove_all(final_dir);  // a stale one (never journaled) or this iteration saved again
  fs::rename(written, final_dir);
  std::erase_if(trial.checkpoints, [&](const CheckpointEntry& c) { return c.dir == entry.dir; });
  // Which to delete: all but the best keep_checkpoints_num by score and the newest.
  std::vector<std::string> deleted;
  const int keep = settings_.keep_checkpoints_num;
  if (keep > 0 && trial.checkpoints.size() + 1 > static_cast<size_t>(keep)) {
    std::vector<const CheckpointEntry*> ranked;
    for (const auto& c : trial.checkpoints) ranked.push_back(&c);
    ranked.push_back(&entry);
    std::stable_sort(ranked.begin(), ranked.end(), [](const CheckpointEntry* a, const CheckpointEntry* b) {
      if (std::isnan(a->score) != std::isnan(b->score)) return std::isnan(b->score);
      return a->score > b->score;
    });
    for (size_t k = static_cast<size_t>(keep); k < ranked.size(); ++k) {
      if (ranked[k] != &entry) deleted.push_back(ranked[k]->dir);
    }
  }
  trial.checkpoints.push_back(entry);
  store_.record_checkpoint(trial, entry, deleted);  // their directories go once it is written
  for (const auto& dir : deleted) {
    std::erase_if(trial.checkpoints, [&](const CheckpointEntry& c) { return c.dir == dir; });
  }
}

void CheckpointCoordinator::prepare_restart(Trial& trial, StartRequest& request) {
  // Where it continues from: its own latest checkpoint, else RunOptions::restore, else the start.
  std::optional<std::pair<fs::path, CheckpointEntry>> from;
  if (!trial.checkpoints.empty()) {
    from.emplace(trial.logdir / trial.checkpoints.back().dir, trial.checkpoints.back());
  } else if (trial.initial_checkpoint) {
    from = trial.initial_checkpoint;
  }
  if (from) {
    request.info.restore_from = from->first;
    request.restore_iteration = from->second.iteration;
    request.restore_time_total_s = from->second.time_total_s;
    request.restore_timesteps_total = from->second.timesteps_total;
    request.restore_episodes_total = from->second.episodes_total;
  }
  if (!trial.has_run || trial.logdir.empty()) return;
  // A restart: what the trial did after its checkpoint never happened. Its loggers are
  // reopened on the rolled-back files; unjournaled checkpoints and half-written ones go.
  log_writer_.close(trial);
  const int64_t iteration = from && !trial.checkpoints.empty() ? from->second.iteration : 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(trial.logdir, ec)) {
    const std::string name = entry.path().filename().string();
    const bool ours = std::any_of(trial.checkpoints.begin(), trial.checkpoints.end(),
                                  [&](const CheckpointEntry& c) { return c.dir == name; });
    if (!ours && entry.is_directory() &&
        (name == "checkpoint" || name.starts_with("checkpoint_") || name.starts_with(".checkpoint_"))) {
      fs::remove_all(entry.path());
    }
  }
  trial.metric_stats.clear();
  std::shared_ptr<const Result> last;
  rollback_trial_logs(trial.logdir, iteration, [&](Result&& result) {
    if (auto value = metric_value(result, settings_.metric)) trial.metric_stats[settings_.metric].add(*value);
    last = std::make_shared<Result>(std::move(result));
  });
  trial.last_result = std::move(last);
  trial.iteration = iteration;
  trial.done = false;
}

CheckpointCoordinator::ClonePlan CheckpointCoordinator::plan_exploit(const Trial& trial, const Trial* source,
                                                                     const SchedulerAction& action) {
  if (source == nullptr || source->logdir.empty() || trial.logdir.empty()) {
    return {};  // nothing to clone: the scheduler's decision stands
  }
  const auto wanted = std::find_if(source->checkpoints.rbegin(), source->checkpoints.rend(), [&](const auto& c) {
    return action.source_iteration < 0 || c.iteration == action.source_iteration;
  });
  if (wanted != source->checkpoints.rend()) return {ClonePlan::Kind::kClone, &*wanted};
  if (source->pending_decision && source->iteration == action.source_iteration) {
    return {ClonePlan::Kind::kWait, nullptr};  // the checkpoint asked for is being written
  }
  return {};
}

CheckpointCoordinator::ClonePlan CheckpointCoordinator::plan_awaited_clone(const Trial* source,
                                                                           const SchedulerAction& action) {
  if (source == nullptr) return {};
  const CheckpointEntry* entry = nullptr;
  for (const auto& c : source->checkpoints) {
    if (c.iteration == action.source_iteration) entry = &c;
  }
  if (entry != nullptr) return {ClonePlan::Kind::kClone, entry};
  if (source->pending_decision && source->iteration == action.source_iteration) return {ClonePlan::Kind::kWait, nullptr};
  return {};
}

void CheckpointCoordinator::clone(Trial& trial, const Trial& source, CheckpointEntry entry,
                                  const SchedulerAction& action) {
  entry.done = false;
  // The clone becomes this trial's latest checkpoint; it restarts from it when chosen.
  const fs::path tmp = trial.logdir / fmt::format(".checkpoint_{}.tmp", entry.iteration);
  fs::remove_all(tmp);
  fs::copy(source.logdir / entry.dir, tmp, fs::copy_options::recursive);
  fs::remove_all(trial.logdir / entry.dir);
  fs::rename(tmp, trial.logdir / entry.dir);
  std::erase_if(trial.checkpoints, [&](const CheckpointEntry& c) { return c.dir == entry.dir; });
  log_writer_.flush(trial.index);
  trial.checkpoints.push_back(entry);
  store_.record_checkpoint(trial, entry, {});
  trial.config = action.config;
  if (!action.experiment_tag.empty()) trial.experiment_tag = action.experiment_tag;
  store_.record_config(trial, source.trial_id);
  log_writer_.config_changed(trial);
}

int64_t CheckpointCoordinator::settle_awaiting_clones(const std::deque<int64_t>& waiting, LiveTrials& live) {
  auto find = [&](const std::string& trial_id) -> const Trial* {
    for (const auto& [key, trial] : live) {
      if (trial->trial_id == trial_id) return trial.get();
    }
    return nullptr;
  };
  int64_t settled = 0;
  const std::vector<int64_t> keys(waiting.begin(), waiting.end());
  for (int64_t key : keys) {
    auto it = live.find(key);
    if (it == live.end() || !it->second->awaiting_clone) continue;
    Trial& trial = *it->second;
    const SchedulerAction action = *trial.awaiting_clone;
    const Trial* source = find(action.source_trial_id);
    const ClonePlan plan = plan_awaited_clone(source, action);
    if (plan.kind == ClonePlan::Kind::kWait) continue;
    trial.awaiting_clone.reset();
    ++settled;
    if (plan.kind == ClonePlan::Kind::kNone) {
      std::cerr << fmt::format("tune: {} could not clone {} (its checkpoint at iteration {} was never written)\n",
                               trial.name, action.source_trial_id, action.source_iteration);
      continue;
    }
    try {
      clone(trial, *source, *plan.entry, action);
    } catch (const std::exception& e) {  // it goes on from its own checkpoint with its own config
      std::cerr << "tune: " << trial.name << ": "
                << fmt::format("cannot clone the checkpoint of {}: {}", source->name, e.what()) << "\n";
    }
  }
  return settled;
}

void CheckpointCoordinator::adopt_config(Trial& trial, Config config, std::string tag) {
  trial.config = std::move(config);
  if (!tag.empty()) trial.experiment_tag = std::move(tag);
  store_.record_config(trial, trial.trial_id);
  log_writer_.config_changed(trial);
}

}  // namespace tune::detail
