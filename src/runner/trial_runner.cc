// The experiment event loop (ray-tune-semantics.md §3), lockstep with the executor.
#include "runner/trial_runner.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <iostream>
#include <system_error>

#include "callbacks/log_rollback.h"
#include "common/file_writer.h"
#include "common/strings.h"
#include "executors/process_executor.h"
#include "executors/slurm_executor.h"
#include "runner/metric_check.h"
#include "schedulers/scheduler_util.h"
#include "trial/auto_fill.h"
#include "tune/error.h"

namespace tune::detail {
namespace {

constexpr size_t kMaxDirnameBytes = 200;
constexpr double kFlushPeriodS = 5.0;
// Finished trials a snapshot in progress writes per turn of the runner's loop (~3 ms).
constexpr size_t kSnapshotSlice = 1000;

void collect_domain_paths(const Space& space, const std::string& path, std::vector<std::string>& out) {
  if (space.is_domain()) {
    out.push_back(path);
  } else if (space.is_object()) {
    for (const auto& [key, child] : space.as_object()) collect_domain_paths(child, path.empty() ? key : path + "/" + key, out);
  } else if (space.is_array()) {
    const auto& items = space.as_array();
    for (size_t i = 0; i < items.size(); ++i) {
      collect_domain_paths(items[i], path.empty() ? std::to_string(i) : path + "/" + std::to_string(i), out);
    }
  }
}

// A result after which the runner commits a checkpoint the trial wrote itself.
bool carries_checkpoint(const ExecutorEvent& event) {
  if (!event.checkpoint.empty()) return true;
  const auto it = event.result.is_object() ? event.result.find("should_checkpoint") : event.result.end();
  return it != event.result.end() && *it == true;
}

StatusRow row_of(const Trial& trial) {
  return StatusRow{trial.name, trial.status, trial.location, trial.config, TrialView(trial).last_result()};
}

}  // namespace

TrialRunner::TrialRunner(const TrainableSpec& trainable, RunOptions options, ExperimentInfo experiment,
                         ResourcePool pool, std::shared_ptr<Stopper> stopper, Json spec,
                         std::optional<ResumeState> resume,
                         std::optional<std::pair<std::filesystem::path, CheckpointEntry>> initial_checkpoint,
                         ExecutorFactory make_executor)
    : trainable_(trainable),
      options_(std::move(options)),
      experiment_(std::move(experiment)),
      resources_(std::move(pool)),
      stopper_(std::move(stopper)),
      searcher_(options_.search_alg),
      scheduler_(options_.scheduler),
      spec_(std::move(spec)),
      resume_(std::move(resume)),
      initial_checkpoint_(std::move(initial_checkpoint)) {
  experiment_.space = &options_.config;
  auto sink = [this](ExecutorEvent&& event) { handle_event(std::move(event)); };
  executor_ = make_executor           ? make_executor(sink)
              : options_.slurm        ? make_slurm_executor(sink, *options_.slurm, experiment_.dir)
              : trainable_.process    ? make_process_executor(sink)
              : options_.local_mode   ? make_local_executor(sink, options_.reuse_actors)
                                      : make_thread_executor(sink, {options_.function_execution,
                                                                    options_.fiber_stack_size,
                                                                    options_.reuse_actors});
  collect_domain_paths(options_.config, "", param_columns_);
  reporter_ = std::make_unique<StatusReporter>(options_.reporter, options_.metric, param_columns_);
  log_writer_ = std::make_unique<LogWriter>(
      experiment_, options_.write_trial_files ? options_.loggers : std::vector<LoggerFactory>{});
  std::ostream& o = out();
  is_tty_ = options_.reporter.progress_bar && &o == &std::cout && isatty(STDOUT_FILENO) && options_.verbose >= 1;
  for (const auto& callback : options_.callbacks) callback->setup(experiment_);
  cloud_ = resolve_cloud_target(options_.sync_config, experiment_.name);
  driver_sync_ = resolve_driver_sync(options_.sync_config);
}

TrialRunner::~TrialRunner() = default;

std::ostream& TrialRunner::out() const { return options_.reporter.out ? *options_.reporter.out : std::cout; }

Resources TrialRunner::resources_for(const Config& config) const {
  if (options_.resources_per_trial) return *options_.resources_per_trial;
  if (trainable_.default_resource_request) {
    if (auto request = trainable_.default_resource_request(config)) return *request;
  }
  return Resources{};
}

ExperimentAnalysis TrialRunner::run() {
  start_time_ = last_report_ = last_flush_ = last_bar_ = last_upload_ = Clock::now();
  const std::filesystem::path journal_path = experiment_.dir / kJournalFile;
  try {
    if (resume_) {
      const uint64_t keep = resume_->stored.journal_valid_bytes;
      const bool fresh = !options_.write_experiment_state || resume_->stored.journal_file_bytes == 0;
      if (options_.write_experiment_state) journal_ = ExperimentJournal(journal_path, fresh, fresh ? 0 : keep);
      if (fresh) journal(Json{{"e", "head"}, {"version", kStateVersion}, {"name", experiment_.name},
                              {"experiment_id", experiment_.experiment_id}, {"trainable", trainable_.name},
                              {"metric", options_.metric}, {"mode", options_.mode}, {"spec", spec_},
                   {"source", options_.source_spec}});
      commit_journal_only();
      journal(Json{{"e", "start"}, {"time", static_cast<int64_t>(std::time(nullptr))}});
      const uint64_t covered = resume_->stored.header.value("journal_bytes", uint64_t{0});
      restore_state(std::move(*resume_));
      resume_.reset();
      journal_scheduler_base();  // later changes apply to the state as restored
      journal_searcher_base();
      commit_event();
      if (fresh) {
        // A journal started over does not match the old snapshot's offset: replace it.
        write_snapshot(false);
      } else {
        // The old snapshot plus the journal after `covered` is the state; compaction counts from there.
        snapshot_journal_bytes_ = std::min(covered, journal_.bytes());
        std::error_code ec;
        snapshot_bytes_ = std::filesystem::file_size(experiment_.dir / kSnapshotFile, ec);
        if (ec) snapshot_bytes_ = 0;
      }
    } else if (options_.write_experiment_state) {
      std::error_code ec;
      if (std::filesystem::exists(journal_path, ec)) {
        std::cerr << fmt::format("tune: {} held an earlier experiment's state; it is replaced (resume=true would have "
                                 "continued it)\n",
                                 experiment_.dir.string());
        std::filesystem::remove(experiment_.dir / kSnapshotFile, ec);
      }
      journal_ = ExperimentJournal(journal_path, /*fresh=*/true, 0);
      journal(Json{{"e", "head"}, {"version", kStateVersion}, {"name", experiment_.name},
                   {"experiment_id", experiment_.experiment_id}, {"trainable", trainable_.name},
                   {"metric", options_.metric}, {"mode", options_.mode}, {"spec", spec_},
                   {"source", options_.source_spec}});
      commit_journal_only();  // the head alone: the first line of a journal is its head record
      journal_scheduler_base();
      journal_searcher_base();
      commit_event();
    }
  } catch (const std::system_error& e) {
    throw TuneError(fmt::format("cannot write the experiment state in {}: {}", experiment_.dir.string(), e.what()));
  }
  if (options_.verbose >= 1) print_status(false);
  while (true) {
    if (fatal_error_ || poll_interrupt()) break;
    const bool started = fill_free_resources();
    commit_loop_step();  // the trials added and started, with what that changed in the scheduler
    if (fatal_error_) break;
    if (running_ == 0 && !started) {
      if (waiting_.empty() && (searcher_finished_ || stop_all_)) break;
      if (!waiting_.empty()) {
        // Nothing runs and nothing waiting fits: those trials can never start.
        for (int64_t key : std::vector<int64_t>(waiting_.begin(), waiting_.end())) {
          Trial& trial = *live_.at(key);
          if (stop_all_) {
            finish_trial(trial, TrialStatus::kTerminated);
            continue;
          }
          const std::string error = fmt::format(
              "insufficient resources: the trial requests {} but the pool has {:g} CPUs, {:g} GPUs",
              trial.resources.to_string(), resources_.pool().cpu, resources_.pool().gpu);
          trial.error_message = error;
          finish_trial(trial, TrialStatus::kError);
        }
        commit_event();
        continue;
      }
      if (!searcher_finished_) {
        // The searcher says "not now" with nothing running: it would wait forever.
        fatal_error_ = "search_alg: the searcher suggested nothing while no trial was running";
        break;
      }
    }
    // Wait for events, but wake up for reports and flushes.
    executor_->poll(std::chrono::milliseconds(running_ > 0 ? 100 : 0));
    handle_logger_failures();
    commit_loop_step();  // what the failures decided (nothing to write when there were none)
    periodic(false);
    if (snapshot_) continue_snapshot(kSnapshotSlice);
  }
  if (interrupting_ && !fatal_error_) return end_interrupted();
  stop_everything();
  commit_event();
  periodic(true);
  for (const auto& callback : options_.callbacks) callback->on_experiment_end();
  // Killed before this point, the experiment resumes from its journal; past it, it is done.
  journal(Json{{"e", "done"}});
  commit_event();
  write_snapshot(true);
  final_upload();
  if (options_.verbose >= 1) {
    print_status(true);
    print_summary();
  }
  if (fatal_error_) throw TuneError(*fatal_error_);
  ExperimentAnalysis analysis(experiment_.dir, std::move(finished_), options_.metric, options_.mode);
  if (options_.raise_on_failed_trial) {
    std::vector<std::string> failed;
    for (const auto& record : analysis.trials()) {
      if (record.status() != TrialStatus::kTerminated) failed.push_back(record.name());
    }
    if (!failed.empty()) {
      if (failed.size() > 10) {
        const size_t more = failed.size() - 10;
        failed.resize(10);
        failed.push_back(fmt::format("... {} more", more));
      }
      throw TuneError(fmt::format("trials did not complete: {} (see error.txt in their directories; set "
                                  "raise_on_failed_trial=false to get the analysis instead)",
                                  join(failed, ", ")));
    }
  }
  return analysis;
}

bool TrialRunner::fill_free_resources() {
  bool started = false;
  while (!stop_all_ && !fatal_error_ && !interrupting_) {
    if (options_.max_concurrent_trials > 0 && running_ >= options_.max_concurrent_trials) break;
    // Generate lazily: only when nothing is PENDING.
    bool has_pending = false;
    for (int64_t key : waiting_) {
      if (live_.at(key)->status == TrialStatus::kPending) {
        has_pending = true;
        break;
      }
    }
    if (!has_pending && !searcher_finished_) {
      if (!create_trial()) {
        if (waiting_.empty()) break;
      }
    }
    if (awaiting_clones_ > 0) settle_awaiting_clones();
    // Not while a STOP/PAUSE waits for its checkpoint: the journal is held back until then
    // (commit_journal_only), and a trial started meanwhile would get files (params.json) that
    // its journal does not name yet.
    if (decision_in_flight()) break;
    // Resumed: what was running when the driver died was chosen by the scheduler already (its
    // state says so); it restarts first, in its order, before the scheduler chooses anew.
    bool restarted = false;
    while (!restart_first_.empty() && !restarted) {
      const int64_t key = restart_first_.front();
      restart_first_.pop_front();
      auto it = live_.find(key);
      if (it == live_.end() || it->second->status != TrialStatus::kPending || it->second->awaiting_clone ||
          !resources_.fits(it->second->resources)) {
        continue;  // ended meanwhile, or no room: the scheduler chooses it like any other
      }
      start_trial(*it->second);
      started = restarted = true;
    }
    if (restarted) continue;
    std::vector<TrialView> candidates;
    std::vector<int64_t> keys;
    for (int64_t key : waiting_) {
      const Trial& trial = *live_.at(key);
      if (!trial.awaiting_clone && resources_.fits(trial.resources)) {
        candidates.emplace_back(trial);
        keys.push_back(key);
      }
    }
    if (candidates.empty()) break;
    const std::optional<size_t> chosen = scheduler_->choose_trial_to_run(candidates);
    const int64_t chosen_key = chosen && *chosen < keys.size() ? keys[*chosen] : -1;
    candidates.clear();
    carry_out_scheduler_actions();  // choosing may have ended trials (HyperBandForBOHB)
    if (chosen_key < 0 || !live_.count(chosen_key)) break;
    start_trial(*live_.at(chosen_key));
    started = true;
  }
  return started;
}

bool TrialRunner::create_trial() {
  const int64_t index = next_index_;
  const std::string trial_id = fmt::format("{}_{:05d}", experiment_.experiment_id.substr(0, 5), index);
  Suggestion suggestion;
  try {
    suggestion = searcher_->suggest(trial_id);
  } catch (const TuneError& e) {
    fatal_error_ = e.what();
    return false;
  }
  if (suggestion.kind == Suggestion::Kind::kFinished) {
    searcher_finished_ = true;
    return false;
  }
  if (suggestion.kind == Suggestion::Kind::kNotNow) return false;
  ++next_index_;
  auto trial = std::make_unique<Trial>();
  trial->index = index;
  trial->trial_id = trial_id;
  trial->trainable_name = trainable_.name;
  trial->experiment_tag = suggestion.tag;
  trial->config = std::move(suggestion.config);
  trial->name = trainable_.name + "_" + trial_id;
  try {
    trial->resources = resources_for(trial->config);
    trial->resources.validate("resources_per_trial");
    resources_.check_feasible(trial->resources, "resources_per_trial");
  } catch (const TuneError& e) {
    trial->error_message = e.what();
  }
  if (options_.trial_name_creator) {
    std::string name = options_.trial_name_creator(TrialView(*trial));
    trial->name = name.empty() ? trial->name : utf8_prefix(name, 1000);
  }
  trial->initial_checkpoint = initial_checkpoint_;
  Trial& ref = *trial;
  live_.emplace(index, std::move(trial));
  waiting_.push_back(index);
  ++counts_[TrialStatus::kPending];
  journal(Json{{"e", "add"},
               {"i", index},
               {"id", ref.trial_id},
               {"name", ref.name},
               {"tag", ref.experiment_tag},
               {"config", ref.config}});
  searcher_dirty_ = true;  // it suggested: its changes are journaled with this event
  scheduler_->on_trial_add(TrialView(ref));
  if (!ref.error_message.empty()) {
    // A config-dependent request that can never fit: this trial fails, the run goes on.
    write_error_file(ref, ref.error_message);
    finish_trial(ref, TrialStatus::kError);
  }
  return true;
}

std::string TrialRunner::make_dirname(const Trial& trial) const {
  std::string name;
  if (options_.trial_dirname_creator) {
    name = sanitize_filename(options_.trial_dirname_creator(TrialView(trial)), kMaxDirnameBytes);
  } else {
    std::string base = trial.name + (trial.experiment_tag.empty() ? "" : "_" + trial.experiment_tag);
    base = utf8_prefix(base, 130);
    name = sanitize_filename(base + "_" + date_string(std::time(nullptr)), kMaxDirnameBytes);
  }
  return name;
}

void TrialRunner::start_trial(Trial& trial) {
  for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
    if (*it == trial.index) {
      waiting_.erase(it);
      break;
    }
  }
  const bool first_start = options_.write_trial_files && trial.logdir.empty();  // journals "dir" below
  // A resume restarts what was running first (see restart_first_), so the journal says what runs.
  if (!first_start) journal(Json{{"e", "run"}, {"i", trial.index}});
  --counts_[trial.status];
  trial.status = TrialStatus::kRunning;
  ++counts_[TrialStatus::kRunning];
  trial.gpu_ids = resources_.commit(trial.resources);
  ++running_;
  trial.location = fmt::format("{}:{}", HostInfo::get().node_ip, HostInfo::get().pid);
  try {
    if (options_.write_trial_files && trial.logdir.empty()) {
      std::string dirname = make_dirname(trial);
      std::filesystem::path dir = experiment_.dir / dirname;
      std::error_code ec;
      if (std::filesystem::exists(dir, ec)) {
        dir = experiment_.dir / (utf8_prefix(dirname, kMaxDirnameBytes - 5) + "_" + random_hex(4));
      }
      std::filesystem::create_directories(dir);
      trial.logdir = dir;
      journal(Json{{"e", "dir"}, {"i", trial.index}, {"dir", relative_to_experiment(dir)}});
      // Journaled before its files appear (params.json below), with the records of its adding
      // and choosing: killed after this, a resume reuses the directory instead of making another.
      commit_event();
    }
  } catch (const std::exception& e) {
    process_failure(trial, fmt::format("cannot set up the trial's logs: {}", e.what()));
    return;
  }
  StartRequest request;
  try {
    prepare_restart(trial, request);
  } catch (const std::exception& e) {
    process_failure(trial, fmt::format("cannot prepare the trial's restart: {}", e.what()));
    return;
  }
  trial.has_run = true;
  log_writer_->open(trial);
  for (const auto& callback : options_.callbacks) callback->on_trial_start(TrialView(trial));
  request.key = trial.index;
  request.trainable = &trainable_;
  request.config = trial.config;
  request.info.trial_id = trial.trial_id;
  request.info.trial_name = trial.name;
  request.info.experiment_id = experiment_.experiment_id;
  request.info.trial_dir = trial.logdir;
  request.info.gpu_ids = trial.gpu_ids;
  request.info.resources = trial.resources;
  if (!trial.logdir.empty()) request.info.checkpoint_dir = trial.logdir / "checkpoint";
  trial.placement.reset();  // the executor says where this run is, if it is elsewhere
  if (!request.info.restore_from.empty() && driver_sync_) {
    request.push_checkpoint = [command = *driver_sync_, from = request.info.restore_from,
                               timeout = options_.sync_config.sync_timeout_s](const TrialPlacement& placement) {
      return push_checkpoint(command, placement, from, timeout);
    };
  }
  executor_->start(std::move(request));
}

void TrialRunner::prepare_restart(Trial& trial, StartRequest& request) {
  namespace fs = std::filesystem;
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
  log_writer_->close(trial);
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
    if (auto value = metric_value(result)) trial.metric_stats[options_.metric].add(*value);
    last = std::make_shared<Result>(std::move(result));
  });
  trial.last_result = std::move(last);
  trial.iteration = iteration;
  trial.done = false;
}

void TrialRunner::handle_event(ExecutorEvent&& event) {
  auto it = live_.find(event.key);
  if (it == live_.end() || it->second->status != TrialStatus::kRunning) return;  // stopped meanwhile
  Trial& trial = *it->second;
  if (event.placement) trial.placement = std::move(event.placement);
  // Off the driver's filesystem: a checkpoint to commit, or the files of a failed run, must be
  // here first (a trial that ends is pulled in finish_trial).
  if (trial.placement && (event.type == ExecutorEvent::Type::kSaved || event.type == ExecutorEvent::Type::kError ||
                          (event.type == ExecutorEvent::Type::kResult && carries_checkpoint(event)))) {
    pull_from_node(trial);
  }
  try {
    switch (event.type) {
      case ExecutorEvent::Type::kResult:
        process_result(trial, std::move(event.result), event.checkpoint);
        break;
      case ExecutorEvent::Type::kFinished:
        // The function returned: its last result stands, now marked done (Ray's __duplicate__).
        if (trial.last_result) {
          auto done = std::make_shared<Result>(*trial.last_result);
          (*done)["done"] = true;
          trial.last_result = std::move(done);
        }
        searcher_->on_trial_complete(trial.trial_id, TrialView(trial).last_result(), false);
        scheduler_->on_trial_complete(TrialView(trial), TrialView(trial).last_result());
        finish_trial(trial, TrialStatus::kTerminated);
        break;
      case ExecutorEvent::Type::kError:
        trial.pending_config.reset();  // it restarts from its previous checkpoint, as it was
        if (trial.pending_decision) {  // the save failed: its partial directory is of no use
          trial.pending_decision.reset();
          std::error_code ec;
          std::filesystem::remove_all(trial.logdir / fmt::format(".checkpoint_{}.tmp", trial.iteration), ec);
        }
        process_failure(trial, event.error);
        break;
      case ExecutorEvent::Type::kSaved: {
        if (!trial.pending_decision) break;  // not asked for (cannot happen); ignore
        const Decision then = *trial.pending_decision;
        trial.pending_decision.reset();
        const std::filesystem::path written = trial.logdir / fmt::format(".checkpoint_{}.tmp", trial.iteration);
        try {
          commit_checkpoint(trial, written);
        } catch (const std::exception& e) {
          process_failure(trial, fmt::format("checkpoint at iteration {} failed: {}", trial.iteration, e.what()));
          break;
        }
        if (trial.status == TrialStatus::kRunning) apply_decision(trial, then);
        break;
      }
    }
  } catch (const TuneError& e) {
    // Misuse discovered mid-run (e.g. a stop key never reported): end the experiment.
    if (!fatal_error_) fatal_error_ = e.what();
    stop_all_ = true;
    if (trial.status == TrialStatus::kRunning) {
      executor_->stop_trial(trial.index);
      finish_trial(trial, TrialStatus::kTerminated);
    }
  }
  carry_out_scheduler_actions();  // `trial` may be gone from here on
  commit_event();                 // everything this event decided, in one journal line
}

Trial* TrialRunner::live_trial(const std::string& trial_id) {
  for (auto& [key, trial] : live_) {
    if (trial->trial_id == trial_id) return trial.get();
  }
  return nullptr;
}

void TrialRunner::carry_out_scheduler_actions() {
  for (SchedulerAction& action : scheduler_->take_actions()) scheduler_actions_.push_back(std::move(action));
  while (!scheduler_actions_.empty()) {
    const SchedulerAction action = std::move(scheduler_actions_.front());
    scheduler_actions_.pop_front();
    Trial* trial = live_trial(action.trial_id);
    if (trial == nullptr) continue;  // finished meanwhile
    if (action.kind != SchedulerAction::Kind::kStop) {
      // Checkpoints and exploits are only carried out for the trial whose result is decided.
      const char* what = action.kind == SchedulerAction::Kind::kExploit       ? "exploit"
                         : action.kind == SchedulerAction::Kind::kReconfigure ? "reconfigure"
                                                                              : "checkpoint";
      std::cerr << fmt::format("tune: the scheduler asked to {} {} outside its result; ignored\n", what,
                               trial->name);
      continue;
    }
    // A loser of synchronous HyperBand (PAUSED, or RUNNING while its pause is being saved).
    trial->pending_decision.reset();
    trial->done = true;
    searcher_->on_trial_complete(trial->trial_id, TrialView(*trial).last_result(), false);
    finish_trial(*trial, TrialStatus::kTerminated);
    for (SchedulerAction& more : scheduler_->take_actions()) scheduler_actions_.push_back(std::move(more));
  }
}

void TrialRunner::journal_scheduler_state() {
  if (scheduler_->tracks_state_changes()) {
    // O(what changed): the scheduler's own change list since the last call.
    const std::vector<StateChange> changes = scheduler_->take_state_changes();
    if (!changes.empty()) journal(Json{{"e", "schedc"}, {"c", state_changes_to_json(changes)}});
    return;
  }
  if (!journal_.is_open()) return;
  Json state = scheduler_->save();
  std::string dumped = state.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (dumped == journaled_scheduler_state_) return;
  journal(Json{{"e", "sched"}, {"s", std::move(state)}});
  journaled_scheduler_state_ = std::move(dumped);
}

void TrialRunner::journal_scheduler_base() {
  if (!scheduler_->tracks_state_changes()) return;  // journal_scheduler_state() writes whole states
  scheduler_->take_state_changes();  // the state written here holds them
  journal(Json{{"e", "sched"}, {"s", scheduler_->save()}});
}

bool TrialRunner::exploit(Trial& trial, const SchedulerAction& action) {
  const Trial* source = live_trial(action.source_trial_id);
  if (source == nullptr || source->logdir.empty() || trial.logdir.empty()) {
    return false;  // nothing to clone: the scheduler's decision stands
  }
  const auto wanted = std::find_if(source->checkpoints.rbegin(), source->checkpoints.rend(), [&](const auto& c) {
    return action.source_iteration < 0 || c.iteration == action.source_iteration;
  });
  if (wanted != source->checkpoints.rend()) {
    executor_->stop_trial(trial.index);
    clone_checkpoint(trial, *source, *wanted, action);
    return true;
  }
  if (source->pending_decision && source->iteration == action.source_iteration) {
    // The checkpoint asked for is being written: wait for it, paused (settle_awaiting_clones).
    trial.awaiting_clone = action;
    ++awaiting_clones_;
    requeue(trial, TrialStatus::kPaused);
    return true;
  }
  return false;
}

void TrialRunner::settle_awaiting_clones() {
  const std::vector<int64_t> keys(waiting_.begin(), waiting_.end());
  for (int64_t key : keys) {
    auto it = live_.find(key);
    if (it == live_.end()) continue;
    Trial& trial = *it->second;
    if (!trial.awaiting_clone) continue;
    const SchedulerAction action = *trial.awaiting_clone;
    const Trial* source = live_trial(action.source_trial_id);
    const CheckpointEntry* entry = nullptr;
    if (source != nullptr) {
      for (const auto& c : source->checkpoints) {
        if (c.iteration == action.source_iteration) entry = &c;
      }
      if (entry == nullptr && source->pending_decision && source->iteration == action.source_iteration) continue;
    }
    trial.awaiting_clone.reset();
    --awaiting_clones_;
    if (entry != nullptr) {
      clone_checkpoint(trial, *source, *entry, action);
    } else {
      // The source failed or ended before its checkpoint was committed: the trial goes on
      // from its own latest checkpoint with its own config.
      std::cerr << fmt::format("tune: {} could not clone {} (its checkpoint at iteration {} was never written)\n",
                               trial.name, action.source_trial_id, action.source_iteration);
    }
  }
}

void TrialRunner::clone_checkpoint(Trial& trial, const Trial& source_trial, CheckpointEntry entry,
                                   const SchedulerAction& action) {
  namespace fs = std::filesystem;
  const Trial* source = &source_trial;
  entry.done = false;
  try {
    // The clone becomes this trial's latest checkpoint; it restarts from it when chosen.
    const fs::path tmp = trial.logdir / fmt::format(".checkpoint_{}.tmp", entry.iteration);
    fs::remove_all(tmp);
    fs::copy(source->logdir / entry.dir, tmp, fs::copy_options::recursive);
    fs::remove_all(trial.logdir / entry.dir);
    fs::rename(tmp, trial.logdir / entry.dir);
  } catch (const std::exception& e) {
    const std::string error = fmt::format("cannot clone the checkpoint of {}: {}", source->name, e.what());
    if (trial.status == TrialStatus::kRunning) {
      process_failure(trial, error);
    } else {  // waiting, paused: it goes on from its own checkpoint with its own config
      std::cerr << "tune: " << trial.name << ": " << error << "\n";
    }
    return;
  }
  std::erase_if(trial.checkpoints, [&](const CheckpointEntry& c) { return c.dir == entry.dir; });
  log_writer_->flush(trial.index);
  trial.checkpoints.push_back(entry);
  journal(Json{{"e", "ckpt"}, {"i", trial.index}, {"c", entry.to_json()}, {"del", Json::array()}});
  trial.config = action.config;
  if (!action.experiment_tag.empty()) trial.experiment_tag = action.experiment_tag;
  journal(Json{{"e", "config"}, {"i", trial.index}, {"config", trial.config}, {"tag", trial.experiment_tag},
               {"from", source->trial_id}});
  log_writer_->config_changed(trial);
  if (trial.status == TrialStatus::kRunning) apply_decision(trial, Decision::kPause);
}

std::optional<double> TrialRunner::metric_value(const Result& result) const {
  if (options_.metric.empty()) return std::nullopt;
  const Json* v = find_path(result, options_.metric);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

void TrialRunner::process_result(Trial& trial, Result&& result, const std::filesystem::path& taken_checkpoint) {
  if (!trial.last_result) check_first_result(trial.name, result, options_);  // a typo'd metric ends the run
  if (auto it = result.find("training_iteration"); it != result.end() && it->is_number_integer()) {
    trial.iteration = it->get<int64_t>();
  }
  if (auto value = metric_value(result)) trial.metric_stats[options_.metric].add(*value);
  const bool done_reported = result.value("done", false) == true;
  Decision decision = Decision::kContinue;
  const bool stopper_says_stop = stopper_ && (*stopper_)(trial.trial_id, result);
  if (done_reported || stopper_says_stop) {
    result["done"] = true;
    decision = Decision::kStop;
    scheduler_->on_trial_complete(TrialView(trial), result);
    searcher_->on_trial_complete(trial.trial_id, result, false);
  } else {
    decision = scheduler_->on_trial_result(TrialView(trial), result);
  }
  // What the scheduler wants done: for this trial now, for others after this event.
  bool scheduler_checkpoint = false;
  std::optional<SchedulerAction> exploit_action;
  std::optional<SchedulerAction> reconfigure_action;
  for (SchedulerAction& action : scheduler_->take_actions()) {
    if (action.trial_id == trial.trial_id && action.kind == SchedulerAction::Kind::kCheckpoint) {
      scheduler_checkpoint = true;
    } else if (action.trial_id == trial.trial_id && action.kind == SchedulerAction::Kind::kExploit) {
      exploit_action = std::move(action);
    } else if (action.trial_id == trial.trial_id && action.kind == SchedulerAction::Kind::kReconfigure) {
      reconfigure_action = std::move(action);
    } else {
      scheduler_actions_.push_back(std::move(action));
    }
  }
  if (!(done_reported || stopper_says_stop)) {
    searcher_->on_trial_result(trial.trial_id, result);
    if (decision == Decision::kStop) {
      result["done"] = true;
      searcher_->on_trial_complete(trial.trial_id, result, false);
    }
  }
  std::shared_ptr<const Result> previous = std::move(trial.last_result);
  // Every last_result is made as a (non-const) Result, so the sole owner may hand it back.
  trial.last_result = std::make_shared<Result>(std::move(result));
  if (previous && previous.use_count() == 1) {
    executor_->recycle(trial.index, std::move(const_cast<Result&>(*previous)));
  }
  previous.reset();
  trial.done = decision == Decision::kStop;
  log_writer_->write(trial.index, *trial.last_result);
  for (const auto& callback : options_.callbacks) callback->on_trial_result(TrialView(trial), *trial.last_result);
  if (options_.verbose >= 2) {
    reporter_->print(out(), reporter_->result_line(trial.name, *trial.last_result, options_.verbose, Clock::now()));
  }
  if (stopper_ && stopper_->stop_all()) stop_all_ = true;
  if (stop_all_ && decision == Decision::kContinue) decision = Decision::kStop;
  trial.done = decision == Decision::kStop;
  if (exploit_action && decision != Decision::kStop && exploit(trial, *exploit_action)) return;
  if (reconfigure_action && decision != Decision::kStop) {
    // Checkpoint where it is, then restart from there with the new config (apply_decision).
    trial.pending_config.emplace(std::move(reconfigure_action->config), std::move(reconfigure_action->experiment_tag));
    decision = Decision::kPause;
  }
  const Result& last = *trial.last_result;
  const bool manual = last.value("should_checkpoint", false) == true;
  const bool periodic = options_.checkpoint_freq > 0 && trial.iteration % options_.checkpoint_freq == 0;
  // An interrupted run stops its trials here too (apply_decision), though they go on when resumed.
  const bool at_end = options_.checkpoint_at_end && (decision == Decision::kStop || interrupting_);
  if (manual || periodic || at_end || scheduler_checkpoint || decision == Decision::kPause) {
    if (!trial.logdir.empty()) {
      begin_checkpoint(trial, decision, manual, taken_checkpoint);
      return;
    }
    if (!warned_no_checkpoint_dir_) {
      warned_no_checkpoint_dir_ = true;
      std::cerr << "tune: a checkpoint was asked for, but write_trial_files=false leaves trials no directory\n";
    }
    if (decision == Decision::kPause) {
      executor_->stop_trial(trial.index);
      process_failure(trial, "the scheduler asked to PAUSE this trial, which needs a checkpoint, but "
                             "write_trial_files=false leaves it no directory");
      return;
    }
  }
  apply_decision(trial, decision);
}

void TrialRunner::apply_decision(Trial& trial, Decision decision) {
  if (trial.pending_config) {
    // The checkpoint it restarts from is committed: now the new config may be journaled.
    auto [config, tag] = std::move(*trial.pending_config);
    trial.pending_config.reset();
    if (decision == Decision::kPause) {
      trial.config = std::move(config);
      if (!tag.empty()) trial.experiment_tag = std::move(tag);
      journal(Json{{"e", "config"}, {"i", trial.index}, {"config", trial.config}, {"tag", trial.experiment_tag},
                   {"from", trial.trial_id}});
      log_writer_->config_changed(trial);
    }
  }
  switch (decision) {
    case Decision::kContinue:
      if (interrupting_) {
        requeue(trial, TrialStatus::kPending);  // stopped, not ended: a resume continues it
        break;
      }
      executor_->continue_trial(trial.index);
      break;
    case Decision::kStop:
      executor_->stop_trial(trial.index);
      finish_trial(trial, TrialStatus::kTerminated);
      break;
    case Decision::kPause:
      // Saved just before: free its resources; it restarts from that checkpoint when chosen.
      requeue(trial, TrialStatus::kPaused);
      break;
  }
}

void TrialRunner::requeue(Trial& trial, TrialStatus status) {
  executor_->stop_trial(trial.index);
  release_resources(trial);
  // A resumed experiment must know it waits paused (synchronous HyperBand starts PENDING
  // trials at once, PAUSED ones only when it says so).
  if (status == TrialStatus::kPaused) journal(Json{{"e", "pause"}, {"i", trial.index}});
  --counts_[trial.status];
  trial.status = status;
  ++counts_[status];
  trial.location.clear();
  // Back in creation order, as Ray's schedulers see candidates (its trial list): which of two
  // equally good candidates runs first then does not depend on when each was paused, so a
  // resumed experiment (whose queue is rebuilt in creation order) chooses as the first run did.
  waiting_.insert(std::lower_bound(waiting_.begin(), waiting_.end(), trial.index), trial.index);
}

void TrialRunner::begin_checkpoint(Trial& trial, Decision then, bool manual, const std::filesystem::path& taken) {
  namespace fs = std::filesystem;
  const fs::path tmp = trial.logdir / fmt::format(".checkpoint_{}.tmp", trial.iteration);
  try {
    fs::remove_all(tmp);
    // A function-style trial wrote its checkpoint itself: take the directory as it is (the
    // executor may have moved it aside already, for a program that runs on meanwhile).
    const fs::path own = taken.empty() ? trial.logdir / "checkpoint" : taken;
    std::error_code ec;
    if (manual && fs::is_directory(own, ec) && !fs::is_empty(own, ec)) {
      fs::rename(own, tmp);
      commit_checkpoint(trial, tmp);
      apply_decision(trial, then);
      return;
    }
    fs::create_directories(tmp);
  } catch (const std::exception& e) {
    executor_->stop_trial(trial.index);
    process_failure(trial, fmt::format("checkpoint at iteration {} failed: {}", trial.iteration, e.what()));
    return;
  }
  trial.pending_decision = then;
  executor_->save_trial(trial.index, tmp);
}

void TrialRunner::commit_checkpoint(Trial& trial, const std::filesystem::path& written) {
  namespace fs = std::filesystem;
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
  std::string attr = options_.checkpoint_score_attr;
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
  const fs::path final_dir = trial.logdir / entry.dir;
  fs::remove_all(final_dir);  // a stale one (never journaled) or this iteration saved again
  fs::rename(written, final_dir);
  std::erase_if(trial.checkpoints, [&](const CheckpointEntry& c) { return c.dir == entry.dir; });
  // Which to delete: all but the best keep_checkpoints_num by score and the newest.
  std::vector<std::string> deleted;
  if (options_.keep_checkpoints_num > 0 && trial.checkpoints.size() + 1 > static_cast<size_t>(options_.keep_checkpoints_num)) {
    std::vector<const CheckpointEntry*> ranked;
    for (const auto& c : trial.checkpoints) ranked.push_back(&c);
    ranked.push_back(&entry);
    std::stable_sort(ranked.begin(), ranked.end(), [](const CheckpointEntry* a, const CheckpointEntry* b) {
      if (std::isnan(a->score) != std::isnan(b->score)) return std::isnan(b->score);
      return a->score > b->score;
    });
    for (size_t k = static_cast<size_t>(options_.keep_checkpoints_num); k < ranked.size(); ++k) {
      if (ranked[k] != &entry) deleted.push_back(ranked[k]->dir);
    }
  }
  // The results up to this checkpoint reach result.json before the journal names it.
  log_writer_->flush(trial.index);
  trial.checkpoints.push_back(entry);
  Json del = Json::array();
  for (const auto& dir : deleted) del.push_back(dir);
  journal(Json{{"e", "ckpt"}, {"i", trial.index}, {"c", entry.to_json()}, {"del", std::move(del)}});
  for (const auto& dir : deleted) {
    std::erase_if(trial.checkpoints, [&](const CheckpointEntry& c) { return c.dir == dir; });
    removals_after_commit_.push_back(trial.logdir / dir);  // once the record above is written
  }
  if (cloud_ && options_.sync_config.sync_on_checkpoint) request_upload();
}

bool TrialRunner::request_upload() {
  if (!cloud_) return false;
  if (upload_.running()) {
    upload_wanted_ = true;
    return false;
  }
  upload_wanted_ = false;
  last_upload_ = Clock::now();
  if (!cloud_->local_path.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(cloud_->local_path, ec);
    if (ec) {
      std::cerr << fmt::format("tune: warning: sync_config.upload_dir: cannot create {}: {}; the experiment goes on\n",
                               cloud_->local_path.string(), ec.message());
      return false;
    }
  }
  if (journal_.is_open()) {
    try {
      write_file_atomic(experiment_.dir / kUploadMarkFile, Json{{"journal_bytes", journal_.bytes()}}.dump() + "\n");
    } catch (const std::exception& e) {
      std::cerr << fmt::format("tune: warning: cannot write {}: {}\n", kUploadMarkFile, e.what());
    }
  }
  upload_.start(cloud_->command, experiment_.dir.string() + "/", cloud_->remote + "/", "sync_config.sync_to_cloud");
  return true;
}

void TrialRunner::poll_upload() {
  if (auto outcome = upload_.poll(options_.sync_config.sync_timeout_s)) {
    if (!outcome->empty()) {
      std::cerr << fmt::format("tune: warning: uploading {} to {} failed: {}; the experiment goes on\n",
                               experiment_.dir.string(), cloud_->remote, *outcome);
    }
  }
  if (upload_wanted_ && !upload_.running()) request_upload();
}

void TrialRunner::final_upload() {
  if (!cloud_) return;
  // The one in flight may have missed the last files: wait for it, then sync once more.
  if (upload_.running()) {
    const std::string error = upload_.wait(options_.sync_config.sync_timeout_s);
    if (!error.empty()) std::cerr << fmt::format("tune: warning: uploading {} to {} failed: {}\n",
                                                 experiment_.dir.string(), cloud_->remote, error);
  }
  if (!request_upload()) return;
  const std::string error = upload_.wait(options_.sync_config.sync_timeout_s);
  if (!error.empty()) {
    std::cerr << fmt::format("tune: warning: the final upload of {} to {} failed: {}; the results are complete in "
                             "{}\n",
                             experiment_.dir.string(), cloud_->remote, error, experiment_.dir.string());
  } else if (options_.verbose >= 1) {
    out() << fmt::format("Uploaded the experiment to {}\n", cloud_->remote);
  }
}

void TrialRunner::pull_from_node(Trial& trial) {
  if (!trial.placement || !driver_sync_ || trial.logdir.empty()) return;
  const std::string error =
      pull_trial_dir(*driver_sync_, *trial.placement, trial.logdir, options_.sync_config.sync_timeout_s);
  if (!error.empty()) {
    std::cerr << fmt::format("tune: warning: pulling the files of trial {} from {} failed: {}\n", trial.name,
                             trial.placement->location(), error);
  }
}

void TrialRunner::handle_logger_failures() {
  for (const auto& [key, message] : log_writer_->take_failures()) {
    auto it = live_.find(key);
    const std::string error = fmt::format("logging failed: {}", message);
    if (it == live_.end() || it->second->status != TrialStatus::kRunning) {
      std::cerr << "tune: " << error << "\n";
      continue;
    }
    executor_->stop_trial(key);
    process_failure(*it->second, error);
  }
}

void TrialRunner::write_error_file(const Trial& trial, const std::string& error) const {
  if (trial.logdir.empty()) return;
  try {
    FileWriter file(trial.logdir / "error.txt");
    file.write(fmt::format("Failure # {} (occurred at {})\n{}\n\n", trial.num_failures,
                           date_string(std::time(nullptr)), error));
    file.close();
  } catch (const std::exception& e) {
    std::cerr << fmt::format("tune: cannot write error.txt of {}: {}\n", trial.name, e.what());
  }
}

void TrialRunner::process_failure(Trial& trial, const std::string& error) {
  any_failure_ = true;
  ++trial.num_failures;
  trial.error_message = error;
  if (trial.logdir.empty() && options_.write_trial_files) {
    // The failure came before the directory existed; error.txt has nowhere to go.
  }
  write_error_file(trial, error);
  journal(Json{{"e", "fail"}, {"i", trial.index}, {"n", trial.num_failures}, {"msg", error}});
  for (const auto& callback : options_.callbacks) callback->on_trial_error(TrialView(trial));
  if (options_.verbose >= 2) {
    out() << fmt::format("Trial {} failed (failure {}): {}\n", trial.name, trial.num_failures, error);
  }
  const bool retry = !options_.fail_fast && (options_.max_failures < 0 || trial.num_failures <= options_.max_failures);
  if (retry) {
    // Start again from its latest checkpoint (or from scratch without one) when resources allow.
    trial.pending_decision.reset();
    trial.pending_config.reset();
    requeue(trial, TrialStatus::kPending);
    return;
  }
  scheduler_->on_trial_error(TrialView(trial));
  searcher_->on_trial_complete(trial.trial_id, TrialView(trial).last_result(), true);
  finish_trial(trial, TrialStatus::kError);
  if (options_.fail_fast) stop_all_ = true;
}

void TrialRunner::release_resources(Trial& trial) {
  if (trial.status != TrialStatus::kRunning) return;
  resources_.release(trial.resources, trial.gpu_ids);
  trial.gpu_ids.clear();
  --running_;
}

void TrialRunner::finish_trial(Trial& trial, TrialStatus status) {
  if (trial.status == TrialStatus::kRunning) executor_->stop_trial(trial.index);  // idempotent; frees its slot
  release_resources(trial);
  if (trial.awaiting_clone) {
    trial.awaiting_clone.reset();
    --awaiting_clones_;
  }
  for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
    if (*it == trial.index) {
      waiting_.erase(it);
      break;
    }
  }
  --counts_[trial.status];
  trial.status = status;
  ++counts_[status];
  trial.location.clear();
  pull_from_node(trial);  // its last files, when it ran off the driver's filesystem
  log_writer_->close(trial);
  if (status == TrialStatus::kError && !trial.logdir.empty()) {
    // A failed write (a full disk) may have left a torn last line: cut it, so what stays reads.
    try {
      rollback_trial_logs(trial.logdir, trial.iteration, {});
    } catch (const std::exception& e) {
      std::cerr << fmt::format("tune: cannot tidy the logs of {}: {}\n", trial.name, e.what());
    }
  }
  for (const auto& callback : options_.callbacks) callback->on_trial_complete(TrialView(trial));
  if (options_.verbose >= 2) {
    const bool failed = status == TrialStatus::kError;
    reporter_->print(out(), reporter_->final_result_line(trial.name, TrialView(trial).last_result(), options_.verbose));
    reporter_->print(out(), fmt::format("Trial {} {}{}\n", trial.name, failed ? "errored" : "completed",
                                        failed ? ": " + trial.error_message : ""));
  } else {
    reporter_->final_result_line(trial.name, Result(), 0);  // its throttle entry goes
  }
  // Bounded samples for the status table.
  const size_t keep = static_cast<size_t>(std::max(1, options_.reporter.max_progress_rows));
  auto& recent = status == TrialStatus::kError ? recent_errored_ : recent_terminated_;
  recent.push_back(row_of(trial));
  if (recent.size() > keep) recent.pop_front();
  if (status == TrialStatus::kError) {
    error_rows_.push_back({trial.name, trial.num_failures,
                           trial.logdir.empty() ? std::string() : (trial.logdir / "error.txt").string()});
    if (error_rows_.size() > static_cast<size_t>(std::max(1, options_.reporter.max_error_rows))) error_rows_.pop_front();
  }
  if (auto value = metric_value(TrialView(trial).last_result()); value && std::isfinite(*value)) {
    const bool better = !best_finished_ || (options_.mode == "max" ? *value > best_finished_->first
                                                                   : *value < best_finished_->first);
    if (better) best_finished_ = {*value, trial.name};
  }
  searcher_dirty_ = true;  // told of its end: journaled with this event
  TrialRecord record(trial.trial_id, trial.name, status, trial.config, TrialView(trial).last_result(), trial.logdir,
                     trial.error_message);
  record.metric_stats = std::move(trial.metric_stats);
  if (journal_.is_open()) {
    Json state = record.to_json(experiment_.dir);
    state["index"] = trial.index;
    state["tag"] = trial.experiment_tag;
    state["num_failures"] = trial.num_failures;
    journal(Json{{"e", "end"}, {"i", trial.index}, {"trial", std::move(state)}});
  }
  finished_.push_back(std::move(record));
  live_.erase(trial.index);  // `trial` is gone after this line
}

void TrialRunner::stop_everything() {
  std::vector<int64_t> keys;
  for (const auto& [key, trial] : live_) keys.push_back(key);
  for (int64_t key : keys) {
    auto it = live_.find(key);
    if (it == live_.end()) continue;
    Trial& trial = *it->second;
    if (trial.status == TrialStatus::kRunning) executor_->stop_trial(key);
    finish_trial(trial, TrialStatus::kTerminated);
  }
  executor_.reset();  // joins the workers
}

void TrialRunner::periodic(bool force) {
  const auto now = Clock::now();
  if (force || std::chrono::duration<double>(now - last_flush_).count() >= kFlushPeriodS) {
    last_flush_ = now;
    log_writer_->flush_all();
    for (const auto& callback : options_.callbacks) callback->flush();
    if (!force) maybe_snapshot();
  }
  if (cloud_ && !force) {
    poll_upload();
    const double period = options_.sync_config.sync_period_s;
    if (period > 0 && !upload_wanted_ && std::chrono::duration<double>(now - last_upload_).count() >= period) {
      if (!upload_.running()) log_writer_->flush_all();  // what is uploaded is as fresh as the files can be
      request_upload();
    }
  }
  if (options_.verbose >= 1 && !force &&
      std::chrono::duration<double>(now - last_report_).count() >= options_.reporter.max_report_frequency_s) {
    print_status(false);
  }
  if (is_tty_ && std::chrono::duration<double>(now - last_bar_).count() >= 0.1) {
    last_bar_ = now;
    const int64_t finished = counts_[TrialStatus::kTerminated] + counts_[TrialStatus::kError];
    reporter_->draw_progress_bar(out(), finished, searcher_->total_trials());
  }
}

StatusSnapshot TrialRunner::snapshot(bool done) const {
  StatusSnapshot s;
  s.scheduler_line = scheduler_->debug_string();
  s.resources_line = resources_.usage_string();
  s.logdir = experiment_.dir.string();
  s.counts = counts_;
  s.total_trials = searcher_->total_trials();
  const size_t max_rows = static_cast<size_t>(std::max(1, options_.reporter.max_progress_rows));
  // Live trials: at most max_rows of each state are needed for a fair cut.
  std::map<TrialStatus, size_t> taken;
  for (const auto& [key, trial] : live_) {
    if (taken[trial->status]++ < max_rows) s.rows.push_back(row_of(*trial));
  }
  for (const auto& row : recent_terminated_) s.rows.push_back(row);
  for (const auto& row : recent_errored_) s.rows.push_back(row);
  s.errors.assign(error_rows_.begin(), error_rows_.end());
  auto it = counts_.find(TrialStatus::kError);
  s.num_errored = it == counts_.end() ? 0 : it->second;
  if (!options_.metric.empty()) {
    std::optional<std::pair<double, std::string>> best = best_finished_;
    for (const auto& [key, trial] : live_) {
      if (auto value = metric_value(TrialView(*trial).last_result()); value && std::isfinite(*value)) {
        if (!best || (options_.mode == "max" ? *value > best->first : *value < best->first)) {
          best = {*value, trial->name};
        }
      }
    }
    if (best) {
      s.best_line = fmt::format("Current best trial: {} with {}={}", best->second, options_.metric,
                                format_float(best->first, 6));
    }
  }
  s.elapsed_s = std::chrono::duration<double>(Clock::now() - start_time_).count();
  s.done = done;
  return s;
}

void TrialRunner::print_status(bool done) {
  last_report_ = Clock::now();
  reporter_->print(out(), reporter_->render(snapshot(done)));
}

void TrialRunner::print_summary() {
  std::ostream& o = out();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_time_).count();
  int64_t total = 0;
  for (const auto& [status, count] : counts_) total += count;
  o << fmt::format("== Summary ==\n{} trials: {} TERMINATED, {} ERROR; wall time {}\n", total,
                   counts_[TrialStatus::kTerminated], counts_[TrialStatus::kError], format_duration(elapsed));
  if (best_finished_) {
    o << fmt::format("Best trial: {} with {}={}\n", best_finished_->second, options_.metric,
                     format_float(best_finished_->first, 6));
  }
  o << "Results: " << experiment_.dir.string() << "\n" << std::flush;
}

std::string TrialRunner::relative_to_experiment(const std::filesystem::path& path) const {
  const std::filesystem::path relative = path.lexically_relative(experiment_.dir);
  if (!relative.empty() && *relative.begin() != "..") return relative.string();
  return path.string();
}

void TrialRunner::journal(const Json& record) {
  if (journal_.is_open()) journal_.add(record);
}

void TrialRunner::commit_event() {
  journal_scheduler_state();
  commit_journal_only();
}

void TrialRunner::commit_loop_step() {
  // A scheduler that does not track its changes has its whole state compared only per
  // executor event (handle_event), not per turn of the loop as well.
  if (scheduler_->tracks_state_changes()) {
    commit_event();
  } else {
    commit_journal_only();
  }
}

bool TrialRunner::decision_in_flight() const {
  for (const auto& [key, trial] : live_) {
    if (trial->status == TrialStatus::kRunning &&
        ((trial->pending_decision && *trial->pending_decision != Decision::kContinue) || trial->pending_config)) {
      return true;
    }
  }
  return false;
}

void TrialRunner::journal_searcher_base() {
  if (!journal_.is_open()) return;
  journaled_searcher_state_ = searcher_->save();
  searcher_dirty_ = false;
  journal(Json{{"e", "srch"}, {"s", journaled_searcher_state_}});
}

void TrialRunner::journal_searcher_state() {
  if (!searcher_dirty_ || !journal_.is_open()) return;
  searcher_dirty_ = false;
  Json state = searcher_->save();
  const std::vector<StateChange> changes = diff_states(journaled_searcher_state_, state);
  if (!changes.empty()) journal(Json{{"e", "srchc"}, {"c", state_changes_to_json(changes)}});
  journaled_searcher_state_ = std::move(state);
}

void TrialRunner::commit_journal_only() {
  journal_searcher_state();  // with the event that changed it (a trial added or ended)
  // A STOP or PAUSE (or a new config) waiting for its checkpoint: the scheduler's changes
  // that decided it are staged, the trial's end or pause comes with the checkpoint. Both go
  // into the journal together, when the save is done (or failed), so that a resume never
  // finds the scheduler holding a decision whose trial did not carry it out, or the reverse.
  if (journal_.has_staged() && decision_in_flight()) return;
  if (!journal_.is_open() && options_.write_experiment_state) {
    removals_after_commit_.clear();  // the journal failed: the state on disk may still name them
    return;
  }
  try {
    journal_.commit();  // a no-op without a journal (write_experiment_state = false)
    for (const auto& path : removals_after_commit_) {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
    removals_after_commit_.clear();
  } catch (const std::system_error& e) {
    removals_after_commit_.clear();
    // Without its journal the experiment could not be resumed correctly: end it now, while
    // the state on disk is whole (every record before this one is complete).
    if (!fatal_error_) {
      fatal_error_ = fmt::format("the experiment journal cannot be written ({}); the experiment stops here and can "
                                 "be resumed (resume=true) once the problem is fixed",
                                 e.what());
    }
    stop_all_ = true;
    journal_ = ExperimentJournal();
  }
}

Json TrialRunner::live_state(const Trial& trial) const {
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

void TrialRunner::maybe_snapshot() {
  // Compaction when the journal's tail has grown as large as the snapshot itself (at least
  // 1 MiB): the cost stays proportional to the journal, and a resume reads at most about
  // twice the state.
  if (!journal_.is_open() || snapshot_) return;
  const uint64_t tail = journal_.bytes() - snapshot_journal_bytes_;
  if (tail >= std::max<uint64_t>(uint64_t{1} << 20, snapshot_bytes_)) begin_snapshot(false);
}

void TrialRunner::write_snapshot(bool completed) {
  abandon_snapshot();
  begin_snapshot(completed);
  if (snapshot_) continue_snapshot(std::numeric_limits<size_t>::max());
}

void TrialRunner::abandon_snapshot() {
  if (!snapshot_) return;
  std::error_code ec;
  std::filesystem::remove(snapshot_->tmp, ec);
  snapshot_.reset();
}

void TrialRunner::begin_snapshot(bool completed) {
  namespace fs = std::filesystem;
  // Records not journaled yet (scheduler and searcher changes included) are in the state saved
  // below: journal them first, so they lie before the offset the snapshot covers and are not
  // applied to it twice, and so the journal alone (without this snapshot) says the same.
  searcher_dirty_ = true;  // its results may have changed it too (those are not journaled each)
  commit_event();
  // Held back for a decision in flight: the snapshot waits too (the next period tries again).
  if (journal_.has_staged()) return;
  try {
    auto snapshot = std::make_unique<SnapshotInProgress>();
    snapshot->tmp = (experiment_.dir / kSnapshotFile).string() + ".tmp";
    Json head = {{"version", kStateVersion},
                 {"name", experiment_.name},
                 {"experiment_id", experiment_.experiment_id},
                 {"metric", options_.metric},
                 {"mode", options_.mode},
                 {"trainable", trainable_.name},
                 {"spec", spec_},
                 {"source", options_.source_spec},
                 {"searcher", journal_.is_open() ? journaled_searcher_state_ : searcher_->save()},
                 {"scheduler", scheduler_->save()},
                 {"next_index", next_index_},
                 {"journal_bytes", journal_.bytes()},
                 {"completed", completed}};
    std::string text = head.dump(-1, ' ', false, Json::error_handler_t::replace);
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
      std::ifstream in(experiment_.dir / kSnapshotFile, std::ios::binary);
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
    for (const auto& [key, trial] : live_) {
      if (!first) snapshot->live_text += ",\n";
      first = false;
      snapshot->live_text += live_state(*trial).dump(-1, ' ', false, Json::error_handler_t::replace);
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

void TrialRunner::continue_snapshot(size_t max_records) {
  namespace fs = std::filesystem;
  SnapshotInProgress& snapshot = *snapshot_;
  try {
    const size_t stop = snapshot.end - snapshot.next > max_records ? snapshot.next + max_records : snapshot.end;
    for (; snapshot.next < stop; ++snapshot.next) {
      if (snapshot.next > 0) snapshot.write(",\n");
      snapshot.write(
          finished_[snapshot.next].to_json(experiment_.dir).dump(-1, ' ', false, Json::error_handler_t::replace));
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
    fs::rename(snapshot.tmp, experiment_.dir / kSnapshotFile);
    snapshot_journal_bytes_ = snapshot.journal_bytes;
    snapshot_trials_ = snapshot.trials;
    snapshot_.reset();
  } catch (const std::exception& e) {
    abandon_snapshot();
    std::cerr << fmt::format("tune: cannot write the experiment snapshot: {}\n", e.what());
  }
}

void TrialRunner::restore_state(ResumeState&& resume) {
  StoredExperiment& stored = resume.stored;
  if (!stored.searcher_state.is_null()) searcher_->restore(stored.searcher_state);
  if (!stored.scheduler_state.is_null()) {
    scheduler_->restore(stored.scheduler_state);
    journaled_scheduler_state_ = stored.scheduler_state.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  next_index_ = stored.next_index;
  // Finished trials stay finished; with errored_only, those in ERROR run again below.
  std::vector<TrialRecord> rerun;
  for (TrialRecord& record : stored.finished) {
    if (resume.errored_only && record.status() == TrialStatus::kError) {
      rerun.push_back(std::move(record));
      continue;
    }
    ++counts_[record.status()];
    if (auto value = record.metric_stats.count(options_.metric) ? std::optional<double>(record.metric_stats.at(options_.metric).last)
                                                                : metric_value(record.last_result());
        value && std::isfinite(*value) && !options_.metric.empty()) {
      const bool better = !best_finished_ || (options_.mode == "max" ? *value > best_finished_->first
                                                                     : *value < best_finished_->first);
      if (better) best_finished_ = {*value, record.name()};
    }
    finished_.push_back(std::move(record));
  }
  // Unfinished trials continue from their latest checkpoint.
  for (const Json& state : stored.unfinished) {
    auto trial = std::make_unique<Trial>();
    trial->index = state.value("index", int64_t{0});
    trial->trial_id = state.value("trial_id", "");
    trial->name = state.value("name", trial->trial_id);
    trial->trainable_name = trainable_.name;
    trial->experiment_tag = state.value("tag", "");
    trial->config = state.value("config", Json::object());
    trial->num_failures = state.value("num_failures", 0);
    trial->error_message = state.value("error", "");
    const std::string logdir = state.value("logdir", "");
    if (!logdir.empty()) trial->logdir = std::filesystem::path(logdir).is_absolute() ? std::filesystem::path(logdir)
                                                                                     : experiment_.dir / logdir;
    if (auto it = state.find("checkpoints"); it != state.end() && it->is_array()) {
      for (const auto& c : *it) trial->checkpoints.push_back(CheckpointEntry::from_json(c));
    }
    // A checkpoint the journal names but the disk lacks (an upload copied while the run went
    // on, a directory deleted by hand) cannot be restored: the trial falls back to the newest
    // one that is complete, or to the start, instead of restoring nothing and going on as if.
    std::vector<std::string> missing;
    std::erase_if(trial->checkpoints, [&](const CheckpointEntry& c) {
      std::error_code ec;
      if (trial->logdir.empty() || std::filesystem::exists(trial->logdir / c.dir / ".tune_metadata", ec)) return false;
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
    trial->initial_checkpoint = initial_checkpoint_;
    const auto status = trial_status_from_string(state.value("status", "PENDING"));
    trial->status = status == TrialStatus::kPaused ? TrialStatus::kPaused : TrialStatus::kPending;
    if (status == TrialStatus::kRunning) restart_first_.push_back(trial->index);
    trial->resources = resources_for(trial->config);
    next_index_ = std::max(next_index_, trial->index + 1);
    Trial& ref = *trial;
    live_.emplace(ref.index, std::move(trial));
    waiting_.push_back(ref.index);
    ++counts_[ref.status];
    scheduler_->on_trial_add(TrialView(ref));
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
    prepare_restart(trial, unused);  // rolls the logs back to that checkpoint, which is where it ended
    searcher_->on_trial_complete(trial.trial_id, TrialView(trial).last_result(), false);
    scheduler_->on_trial_complete(TrialView(trial), TrialView(trial).last_result());
    finish_trial(trial, TrialStatus::kTerminated);
  }
  // ERRORED_ONLY: each errored trial is replaced by a new one with the same config.
  for (TrialRecord& old : rerun) {
    auto trial = std::make_unique<Trial>();
    trial->index = next_index_++;
    trial->trial_id = fmt::format("{}_{:05d}", experiment_.experiment_id.substr(0, 5), trial->index);
    trial->trainable_name = trainable_.name;
    trial->config = old.config();
    trial->name = trainable_.name + "_" + trial->trial_id;
    trial->resources = resources_for(trial->config);
    trial->initial_checkpoint = initial_checkpoint_;
    Trial& ref = *trial;
    live_.emplace(ref.index, std::move(trial));
    waiting_.push_back(ref.index);
    ++counts_[TrialStatus::kPending];
    scheduler_->on_trial_add(TrialView(ref));
    journal(Json{{"e", "add"},
                 {"i", ref.index},
                 {"id", ref.trial_id},
                 {"name", ref.name},
                 {"tag", ref.experiment_tag},
                 {"config", ref.config},
                 {"replaces", old.trial_id()}});
  }
}

}  // namespace tune::detail
