// The experiment event loop (ray-tune-semantics.md §3), lockstep with the executor.
#include "runner/trial_runner.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <system_error>

#include "common/file_writer.h"
#include "common/strings.h"
#include "executors/process_executor.h"
#include "trial/auto_fill.h"
#include "tune/error.h"

namespace tune::detail {
namespace {

constexpr size_t kMaxDirnameBytes = 200;
constexpr double kFlushPeriodS = 5.0;

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

StatusRow row_of(const Trial& trial) {
  return StatusRow{trial.name, trial.status, trial.location, trial.config, TrialView(trial).last_result()};
}

}  // namespace

TrialRunner::TrialRunner(const TrainableSpec& trainable, RunOptions options, ExperimentInfo experiment,
                         ResourcePool pool, std::shared_ptr<Stopper> stopper)
    : trainable_(trainable),
      options_(std::move(options)),
      experiment_(std::move(experiment)),
      resources_(std::move(pool)),
      stopper_(std::move(stopper)),
      searcher_(options_.search_alg),
      scheduler_(options_.scheduler) {
  experiment_.space = &options_.config;
  auto sink = [this](ExecutorEvent&& event) { handle_event(std::move(event)); };
  executor_ = trainable_.process      ? make_process_executor(sink)
              : options_.local_mode ? make_local_executor(sink)
                                    : make_thread_executor(sink);
  collect_domain_paths(options_.config, "", param_columns_);
  reporter_ = std::make_unique<StatusReporter>(options_.reporter, options_.metric, param_columns_);
  log_writer_ = std::make_unique<LogWriter>(
      experiment_, options_.write_trial_files ? options_.loggers : std::vector<LoggerFactory>{});
  std::ostream& o = out();
  is_tty_ = options_.reporter.progress_bar && &o == &std::cout && isatty(STDOUT_FILENO) && options_.verbose >= 1;
  for (const auto& callback : options_.callbacks) callback->setup(experiment_);
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
  start_time_ = last_report_ = last_flush_ = last_bar_ = Clock::now();
  if (options_.verbose >= 1) print_status(false);
  while (true) {
    if (fatal_error_) break;
    const bool started = fill_free_resources();
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
    periodic(false);
  }
  stop_everything();
  periodic(true);
  for (const auto& callback : options_.callbacks) callback->on_experiment_end();
  write_experiment_state();
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
  while (!stop_all_ && !fatal_error_) {
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
    std::vector<TrialView> candidates;
    std::vector<int64_t> keys;
    for (int64_t key : waiting_) {
      const Trial& trial = *live_.at(key);
      if (resources_.fits(trial.resources)) {
        candidates.emplace_back(trial);
        keys.push_back(key);
      }
    }
    if (candidates.empty()) break;
    const std::optional<size_t> chosen = scheduler_->choose_trial_to_run(candidates);
    if (!chosen || *chosen >= keys.size()) break;
    start_trial(*live_.at(keys[*chosen]));
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
  Trial& ref = *trial;
  live_.emplace(index, std::move(trial));
  waiting_.push_back(index);
  ++counts_[TrialStatus::kPending];
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
    }
  } catch (const std::exception& e) {
    process_failure(trial, fmt::format("cannot set up the trial's logs: {}", e.what()));
    return;
  }
  log_writer_->open(trial);
  for (const auto& callback : options_.callbacks) callback->on_trial_start(TrialView(trial));
  StartRequest request;
  request.key = trial.index;
  request.trainable = &trainable_;
  request.config = trial.config;
  request.info.trial_id = trial.trial_id;
  request.info.trial_name = trial.name;
  request.info.experiment_id = experiment_.experiment_id;
  request.info.trial_dir = trial.logdir;
  request.info.gpu_ids = trial.gpu_ids;
  request.info.resources = trial.resources;
  executor_->start(std::move(request));
}

void TrialRunner::handle_event(ExecutorEvent&& event) {
  auto it = live_.find(event.key);
  if (it == live_.end() || it->second->status != TrialStatus::kRunning) return;  // stopped meanwhile
  Trial& trial = *it->second;
  try {
    switch (event.type) {
      case ExecutorEvent::Type::kResult:
        process_result(trial, std::move(event.result));
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
        process_failure(trial, event.error);
        break;
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
}

std::optional<double> TrialRunner::metric_value(const Result& result) const {
  if (options_.metric.empty()) return std::nullopt;
  const Json* v = find_path(result, options_.metric);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

void TrialRunner::process_result(Trial& trial, Result&& result) {
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
    searcher_->on_trial_result(trial.trial_id, result);
    if (decision == Decision::kStop) {
      result["done"] = true;
      searcher_->on_trial_complete(trial.trial_id, result, false);
    }
  }
  trial.last_result = std::make_shared<const Result>(std::move(result));
  trial.done = decision == Decision::kStop;
  log_writer_->write(trial.index, *trial.last_result);
  for (const auto& callback : options_.callbacks) callback->on_trial_result(TrialView(trial), *trial.last_result);
  if (options_.verbose >= 3) {
    out() << fmt::format("Result for {}: {}\n", trial.name, trial.last_result->dump());
  }
  if (stopper_ && stopper_->stop_all()) stop_all_ = true;
  if (stop_all_ && decision == Decision::kContinue) decision = Decision::kStop;
  switch (decision) {
    case Decision::kContinue:
      executor_->continue_trial(trial.index);
      break;
    case Decision::kStop:
      executor_->stop_trial(trial.index);
      finish_trial(trial, TrialStatus::kTerminated);
      break;
    case Decision::kPause:
      // Pausing frees the trial's resources and needs a checkpoint to come back from;
      // without checkpoint support the state would be lost, so this is reported plainly.
      executor_->stop_trial(trial.index);
      process_failure(trial, "the scheduler asked to PAUSE this trial, which needs checkpointing; this build cannot "
                             "pause trials yet");
      break;
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
  for (const auto& callback : options_.callbacks) callback->on_trial_error(TrialView(trial));
  if (options_.verbose >= 2) {
    out() << fmt::format("Trial {} failed (failure {}): {}\n", trial.name, trial.num_failures, error);
  }
  const bool retry = !options_.fail_fast && (options_.max_failures < 0 || trial.num_failures <= options_.max_failures);
  if (retry) {
    // Start again from scratch (no checkpoint to restore from in this build).
    executor_->stop_trial(trial.index);
    release_resources(trial);
    --counts_[trial.status];
    trial.status = TrialStatus::kPending;
    ++counts_[TrialStatus::kPending];
    trial.location.clear();
    waiting_.push_back(trial.index);
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
  log_writer_->close(trial);
  for (const auto& callback : options_.callbacks) callback->on_trial_complete(TrialView(trial));
  if (options_.verbose >= 2) {
    out() << fmt::format("Trial {} {}{}\n", trial.name, status == TrialStatus::kError ? "errored" : "completed",
                         status == TrialStatus::kError ? ": " + trial.error_message : "");
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
  TrialRecord record(trial.trial_id, trial.name, status, trial.config, TrialView(trial).last_result(), trial.logdir,
                     trial.error_message);
  record.metric_stats = std::move(trial.metric_stats);
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
  }
  if (options_.verbose >= 1 && !force &&
      std::chrono::duration<double>(now - last_report_).count() >= options_.reporter.max_report_frequency_s) {
    print_status(false);
  }
  if (is_tty_ && std::chrono::duration<double>(now - last_bar_).count() >= 0.1) {
    last_bar_ = now;
    const int64_t finished = counts_[TrialStatus::kTerminated] + counts_[TrialStatus::kError];
    out() << "\r\033[K" << StatusReporter::progress_bar(finished, searcher_->total_trials()) << std::flush;
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
  std::ostream& o = out();
  if (is_tty_) o << "\r\033[K";
  o << reporter_->render(snapshot(done)) << std::flush;
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

void TrialRunner::write_experiment_state() const {
  try {
    const std::filesystem::path path = experiment_.dir / "experiment_state.json";
    const std::filesystem::path tmp = path.string() + ".tmp";
    FileWriter file(tmp, /*truncate=*/true);
    Json head = {{"version", 1},
                 {"name", experiment_.name},
                 {"experiment_id", experiment_.experiment_id},
                 {"metric", options_.metric},
                 {"mode", options_.mode},
                 {"trainable", trainable_.name}};
    std::string text = head.dump();
    text.pop_back();  // reopen the object to stream the trials into it
    file.write(text);
    file.write(",\"trials\":[");
    for (size_t i = 0; i < finished_.size(); ++i) {
      if (i) file.write(",\n");
      file.write(finished_[i].to_json(experiment_.dir).dump(-1, ' ', false, Json::error_handler_t::replace));
    }
    file.write("]}\n");
    file.sync();
    file.close();
    std::filesystem::rename(tmp, path);
  } catch (const std::exception& e) {
    std::cerr << fmt::format("tune: cannot write the experiment state: {}\n", e.what());
  }
}

}  // namespace tune::detail
