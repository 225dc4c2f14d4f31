// The experiment event loop (ray-tune-semantics.md §3), lockstep with the executor.
#include "runner/trial_runner.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <system_error>

#include "callbacks/log_rollback.h"
#include "common/file_writer.h"
#include "common/strings.h"
#include "executors/process_executor.h"
#include "executors/slurm_executor.h"
#include "runner/metric_check.h"
#include "schedulers/scheduler_util.h"
#include "runner/trial_setup.h"
#include "trial/auto_fill.h"
#include "tune/error.h"
#include "tune/searcher.h"

namespace tune::detail {
namespace {

constexpr double kFlushPeriodS = 5.0;
// Finished trials a snapshot in progress writes per turn of the runner's loop (~3 ms).
constexpr size_t kSnapshotSlice = 1000;

// A result after which the runner commits a checkpoint the trial wrote itself.
bool carries_checkpoint(const ExecutorEvent& event) {
  if (!event.checkpoint.empty()) return true;
  return result_flag(event.result, "should_checkpoint");
}

}  // namespace

TrialRunner::TrialRunner(const TrainableSpec& trainable, RunOptions options, ExperimentInfo experiment,
                         ResourcePool pool, std::shared_ptr<Stopper> stopper, Json spec,
                         std::optional<ResumeState> resume,
                         std::optional<std::pair<std::filesystem::path, CheckpointEntry>> initial_checkpoint,
                         Seams seams)
    : trainable_(trainable),
      options_(std::move(options)),
      experiment_(std::move(experiment)),
      resources_(std::move(pool)),
      stopper_(std::move(stopper)),
      searcher_(options_.search_alg),
      scheduler_(options_.scheduler),
      status_(options_, experiment_.dir.string(),
              {[this] { return scheduler_->debug_string(); }, [this] { return resources_.usage_string(); },
               [this] { return searcher_->total_trials(); }}),
      resume_(std::move(resume)),
      initial_checkpoint_(std::move(initial_checkpoint)) {
  experiment_.space = &options_.config;
  auto sink = [this](ExecutorEvent&& event) { handle_event(std::move(event)); };
  executor_ = seams.make_executor     ? seams.make_executor(sink)
              : options_.slurm        ? make_slurm_executor(sink, *options_.slurm, experiment_.dir)
              : trainable_.process    ? make_process_executor(sink)
              : options_.local_mode   ? make_local_executor(sink, options_.reuse_actors)
                                      : make_thread_executor(sink, {options_.function_execution,
                                                                    options_.fiber_stack_size,
                                                                    options_.reuse_actors});
  log_writer_ = std::make_unique<LogWriter>(
      experiment_, options_.write_trial_files ? options_.loggers : std::vector<LoggerFactory>{});
  for (const auto& callback : options_.callbacks) callback->setup(experiment_);
  const ExperimentStore::Backing backing = seams.state == ExperimentStore::Backing::kMemory ? seams.state
                                           : options_.write_experiment_state ? ExperimentStore::Backing::kFiles
                                                                             : ExperimentStore::Backing::kNone;
  HeadRecord head{experiment_.name, experiment_.experiment_id, trainable_.name, options_.metric, options_.mode,
                  std::move(spec), options_.source_spec};
  ExperimentStore::Hooks hooks{[this] { return decision_in_flight(); },
                               [this](const std::string& message) {
                                 if (!fatal_error_) fatal_error_ = message;
                                 stop_all_ = true;
                               }};
  store_ = std::make_unique<ExperimentStore>(experiment_.dir, backing, std::move(head), *searcher_, *scheduler_,
                                             std::move(hooks));
  checkpoints_ = std::make_unique<CheckpointCoordinator>(
      CheckpointCoordinator::Settings{options_.metric, options_.checkpoint_score_attr, options_.keep_checkpoints_num},
      *store_, *log_writer_);
  if (auto cloud = resolve_cloud_target(options_.sync_config, experiment_.name)) {
    uploader_ = std::make_unique<ExperimentUploader>(
        std::move(*cloud), options_.sync_config, experiment_.dir, [this]() -> std::optional<uint64_t> {
          if (!store_->journal_open()) return std::nullopt;
          return store_->journal_bytes();
        });
  }
  driver_sync_ = resolve_driver_sync(options_.sync_config);
  // The next trial's request, when its config cannot change it (see next_trial_could_start).
  // Not for a searcher whose configs never depend on results (grid/random search, wrapped or
  // not): suggesting ahead costs nothing, and the schedulers keep seeing a trial waiting as they
  // always have (synchronous HyperBand fills its brackets from it, as with Ray Tune's runner).
  const bool learns = searcher_->learns_from_results();
  if (learns && options_.resources_per_trial) {
    next_request_ = *options_.resources_per_trial;
  } else if (learns && !trainable_.default_resource_request) {
    next_request_ = Resources{};
  }
}

TrialRunner::~TrialRunner() = default;

std::ostream& TrialRunner::out() const { return status_.out(); }

Resources TrialRunner::resources_for(const Config& config) const {
  if (options_.resources_per_trial) return *options_.resources_per_trial;
  if (trainable_.default_resource_request) {
    if (auto request = trainable_.default_resource_request(config)) return *request;
  }
  return Resources{};
}

ExperimentAnalysis TrialRunner::run() {
  last_flush_ = Clock::now();
  status_.start();
  open_state();
  if (options_.verbose >= 1) status_.print(false, live_);
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
    if (store_->snapshot_in_progress()) store_->continue_snapshot(kSnapshotSlice);
  }
  if (interrupting_ && !fatal_error_) return end_interrupted();
  stop_everything();
  commit_event();
  periodic(true);
  for (const auto& callback : options_.callbacks) callback->on_experiment_end();
  // Killed before this point, the experiment resumes from its journal; past it, it is done.
  store_->record_done();
  commit_event();
  write_final_state(/*completed=*/true);
  if (fatal_error_) throw TuneError(*fatal_error_);
  return ExperimentAnalysis(experiment_.dir, store_->take_finished(), options_.metric, options_.mode);
}

void TrialRunner::write_final_state(bool completed) {
  store_->write_snapshot(completed, live_, next_index_);
  if (uploader_) uploader_->final_upload(options_.verbose >= 1, out());
  if (options_.verbose >= 1) {
    status_.print(true, live_);
    status_.print_summary();
  }
}

std::string TrialRunner::trial_id_of(int64_t index) const {
  return fmt::format("{}_{:05d}", experiment_.experiment_id.substr(0, 5), index);
}

std::unique_ptr<Trial> TrialRunner::make_trial(int64_t index, Config config) const {
  auto trial = std::make_unique<Trial>();
  trial->index = index;
  trial->trial_id = trial_id_of(index);
  trial->trainable_name = trainable_.name;
  trial->config = std::move(config);
  trial->name = trainable_.name + "_" + trial->trial_id;
  trial->initial_checkpoint = initial_checkpoint_;
  return trial;
}

Trial& TrialRunner::add_trial(std::unique_ptr<Trial> trial) {
  Trial& ref = *trial;
  live_.emplace(ref.index, std::move(trial));
  waiting_.push_back(ref.index);
  status_.counters().added(ref.status);
  scheduler_->on_trial_add(TrialView(ref));
  return ref;
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
    if (!has_pending && !searcher_finished_ && next_trial_could_start()) {
      if (!create_trial()) {
        if (waiting_.empty()) break;
      }
    }
    if (awaiting_clones_ > 0) settle_awaiting_clones();
    // Not while a STOP/PAUSE waits for its checkpoint: the journal is held back until then
    // (commit_journal_only), and a trial started meanwhile would get files (params.json) that
    // its journal does not name yet.
    if (decision_in_flight()) break;
    // Short of file descriptors: the waiting trials start when a running one has ended.
    if (!descriptors_.room_for_a_trial(static_cast<size_t>(running_))) break;
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

// A suggestion is asked for only when the trial could start now: the resource test that starts
// a PENDING trial below, and no STOP/PAUSE waiting for its checkpoint (nothing starts then).
// Asked for earlier, it would wait PENDING, and the searcher would have one suggestion more
// outstanding than trials can run (on 2 cores with max_concurrent_trials 0: 3 instead of 2),
// which a model-based searcher pays for with suggestions made on less information. With
// nothing running everything is free, so it asks (a request that never fits fails in
// create_trial). A request that depends on the config (the trainable's
// default_resource_request) is unknown until the config exists: then it asks, as before,
// rather than guess and leave resources idle; so does grid/random search (constructor).
bool TrialRunner::next_trial_could_start() const {
  if (running_ == 0 || !next_request_) return true;
  return resources_.fits(*next_request_) && !decision_in_flight();
}

bool TrialRunner::create_trial() {
  const int64_t index = next_index_;
  const std::string trial_id = trial_id_of(index);
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
  std::unique_ptr<Trial> trial = make_trial(index, std::move(suggestion.config));
  trial->experiment_tag = suggestion.tag;
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
  Trial& ref = add_trial(std::move(trial));
  store_->record_add(ref);
  store_->mark_searcher_changed();  // it suggested: its changes are journaled with this event
  if (!ref.error_message.empty()) {
    // A config-dependent request that can never fit: this trial fails, the run goes on.
    write_error_file(ref, ref.error_message);
    finish_trial(ref, TrialStatus::kError);
  }
  return true;
}

void TrialRunner::start_trial(Trial& trial) {
  leave_line(trial);
  const bool first_start = options_.write_trial_files && trial.logdir.empty();  // journals "dir" below
  // A resume restarts what was running first (see restart_first_), so the journal says what runs.
  if (!first_start) store_->record_run(trial);
  set_status(trial, TrialStatus::kRunning);
  trial.gpu_ids = resources_.commit(trial.resources);
  ++running_;
  descriptors_.trial_started();
  trial.location = fmt::format("{}:{}", HostInfo::get().node_ip, HostInfo::get().pid);
  try {
    if (options_.write_trial_files && trial.logdir.empty()) {
      trial.logdir = make_trial_dir(experiment_.dir, trial, options_.trial_dirname_creator);
      store_->record_dir(trial);
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
    checkpoints_->prepare_restart(trial, request);
  } catch (const std::exception& e) {
    process_failure(trial, fmt::format("cannot prepare the trial's restart: {}", e.what()));
    return;
  }
  trial.has_run = true;
  log_writer_->open(trial);
  for (const auto& callback : options_.callbacks) callback->on_trial_start(TrialView(trial));
  fill_start_request(request, trial, trainable_, experiment_.experiment_id, driver_sync_,
                     options_.sync_config.sync_timeout_s);
  trial.placement.reset();  // the executor says where this run is, if it is elsewhere
  executor_->start(std::move(request));
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
          CheckpointCoordinator::discard_save(trial);
        }
        process_failure(trial, event.error);
        break;
      case ExecutorEvent::Type::kSaved: {
        if (!trial.pending_decision) break;  // not asked for (cannot happen); ignore
        const Decision then = *trial.pending_decision;
        trial.pending_decision.reset();
        try {
          commit_checkpoint(trial, CheckpointCoordinator::saving_dir(trial));
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

std::optional<double> TrialRunner::metric_value(const Result& result) const {
  return detail::metric_value(result, options_.metric);
}

void TrialRunner::process_result(Trial& trial, Result&& result, const std::filesystem::path& taken_checkpoint) {
  if (!trial.last_result) check_first_result(trial.name, result, options_);  // a typo'd metric ends the run
  if (auto it = result.find("training_iteration"); it != result.end() && it->is_number_integer()) {
    trial.iteration = it->get<int64_t>();
  }
  if (auto value = metric_value(result)) trial.metric_stats[options_.metric].add(*value);
  const bool done_reported = result_flag(result, "done");
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
    status_.print_line(status_.reporter().result_line(trial.name, *trial.last_result, options_.verbose, Clock::now()));
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
  const bool manual = result_flag(last, "should_checkpoint");
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
    if (decision == Decision::kPause) checkpoints_->adopt_config(trial, std::move(config), std::move(tag));
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
  if (status == TrialStatus::kPaused) store_->record_pause(trial);
  set_status(trial, status);
  trial.location.clear();
  // Back in creation order, as Ray's schedulers see candidates (its trial list): which of two
  // equally good candidates runs first then does not depend on when each was paused, so a
  // resumed experiment (whose queue is rebuilt in creation order) chooses as the first run did.
  waiting_.insert(std::lower_bound(waiting_.begin(), waiting_.end(), trial.index), trial.index);
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

void TrialRunner::process_failure(Trial& trial, const std::string& error) {
  ++trial.num_failures;
  trial.error_message = error;
  write_error_file(trial, error);  // nowhere to go before the trial has its directory
  store_->record_failure(trial);
  for (const auto& callback : options_.callbacks) callback->on_trial_error(TrialView(trial));
  if (options_.verbose >= 2) {
    status_.print_line(fmt::format("Trial {} failed (failure {}): {}\n", trial.name, trial.num_failures, error));
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
  leave_line(trial);
  const TrialStatus from = trial.status;
  trial.status = status;
  trial.location.clear();
  pull_from_node(trial);  // its last files, when it ran off the driver's filesystem
  log_writer_->close(trial);
  if (status == TrialStatus::kError) tidy_logs_after_error(trial);
  for (const auto& callback : options_.callbacks) callback->on_trial_complete(TrialView(trial));
  if (options_.verbose >= 2) {
    const bool failed = status == TrialStatus::kError;
    status_.print_line(
        status_.reporter().final_result_line(trial.name, TrialView(trial).last_result(), options_.verbose));
    // The error comes from the trial (a child's stderr): escaped, so it cannot draw on the terminal.
    status_.print_line(fmt::format("Trial {} {}{}\n", escape_for_terminal(trial.name), failed ? "errored" : "completed",
                                   failed ? ": " + escape_for_terminal(trial.error_message) : ""));
  } else {
    status_.reporter().final_result_line(trial.name, Result(), 0);  // its throttle entry goes
  }
  status_.counters().finished(trial, from);
  store_->mark_searcher_changed();  // told of its end: journaled with this event
  TrialRecord record(trial.trial_id, trial.name, status, trial.config, TrialView(trial).last_result(), trial.logdir,
                     trial.error_message);
  record.metric_stats = std::move(trial.metric_stats);
  store_->record_end(trial, std::move(record));
  live_.erase(trial.index);  // `trial` is gone after this line
}

void TrialRunner::leave_line(const Trial& trial) {
  if (auto it = std::find(waiting_.begin(), waiting_.end(), trial.index); it != waiting_.end()) waiting_.erase(it);
}

void TrialRunner::set_status(Trial& trial, TrialStatus status) {
  status_.counters().moved(trial.status, status);
  trial.status = status;
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
    if (!force) store_->maybe_snapshot(live_, next_index_);
  }
  if (uploader_ && !force) uploader_->periodic([this] { log_writer_->flush_all(); });
  status_.periodic(live_, /*with_table=*/!force);
}

void TrialRunner::commit_loop_step() {
  // A scheduler that does not track its changes has its whole state compared only per
  // executor event (handle_event), not per turn of the loop as well.
  if (scheduler_->tracks_state_changes()) {
    commit_event();
  } else {
    store_->commit_journal_only();
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

}  // namespace tune::detail
