// tune::run(): validates every option before anything starts, then runs the experiment.
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <system_error>

#include "analysis/experiment_state.h"
#include "common/file_writer.h"
#include "common/process_tree.h"
#include "common/strings.h"
#include "executors/slurm_executor.h"
#include "runner/experiment_lock.h"
#include "runner/resource_manager.h"
#include "runner/run_options_rules.h"
#include "runner/signals.h"
#include "runner/trial_runner.h"
#include "sync/syncer.h"
#include "searchers/search_generator.h"
#include "tune/error.h"
#include "tune/run.h"

namespace tune {
namespace {

ResourcePool make_pool(const RunOptions& options) {
  ResourcePool pool = options.slurm ? detail::slurm_pool() : ResourcePool::detect();
  if (options.num_cpus) pool.cpu = *options.num_cpus;
  if (options.num_gpus) pool.gpu = *options.num_gpus;
  for (const auto& [name, amount] : options.custom_resources) pool.custom[name] = amount;  // checked by validate
  return pool;
}

// The option rules (run_options_rules.h), then those that need the trainable too.
void validate(const TrainableSpec& trainable, RunOptions& options) {
  if (!trainable.factory && !trainable.function) {
    throw TuneError("trainable: neither a Trainable factory nor a training function was given");
  }
  if (trainable.factory && trainable.function) {
    throw TuneError("trainable: give either a Trainable factory or a training function, not both");
  }
  if (options.slurm && !trainable.process) {
    throw TuneError(fmt::format("slurm: trials under Slurm run as processes, and '{}' runs in this process; use "
                                "tune::isolated(\"{}\") for a registered trainable, or tune::process_trainable",
                                trainable.name, trainable.name));
  }
  if (options.reuse_actors && trainable.process) {
    throw TuneError(fmt::format("reuse_actors: '{}' runs each trial as a child process, which cannot be reset for "
                                "another trial; reuse works for in-process class trainables (tune::run<T>, "
                                "registered_trainable) — set reuse_actors to false",
                                trainable.name));
  }
  detail::check_run_options(options);
  if (options.resources_per_trial) {
    if (trainable.default_resource_request) {
      throw TuneError(fmt::format("resources_per_trial: {} declares default_resource_request; give one or the other",
                                  trainable.name));
    }
    options.resources_per_trial->validate("resources_per_trial");
  }
  const bool checkpointing = options.checkpoint_freq > 0 || options.checkpoint_at_end;
  if (checkpointing && trainable.function && !trainable.process) {
    throw TuneError(fmt::format(
        "{}: {} is a function trainable, which tune cannot ask to save; checkpoint from inside it (write into "
        "reporter.checkpoint_dir(), then report should_checkpoint=true), or use the class API",
        options.checkpoint_freq > 0 ? "checkpoint_freq" : "checkpoint_at_end", trainable.name));
  }
  detail::resolve_cloud_target(options.sync_config, "");  // throws TuneError naming the sync_config field
}

// sync_config.upload_dir as a plain path must lie outside the experiment it receives.
void check_upload_dir(const RunOptions& options, const std::filesystem::path& local_dir, const std::string& name) {
  const auto cloud = detail::resolve_cloud_target(options.sync_config, name);
  if (!cloud || cloud->local_path.empty()) return;
  const std::filesystem::path experiment = local_dir / name;
  const auto [end, ignored] = std::mismatch(experiment.begin(), experiment.end(), cloud->local_path.begin(),
                                            cloud->local_path.end());
  if (end == experiment.end()) {
    throw TuneError(fmt::format("sync_config.upload_dir: {} would upload the experiment {} into itself; choose a "
                                "directory outside local_dir/name",
                                options.sync_config.upload_dir, experiment.string()));
  }
}

// resume = "REMOTE": <upload_dir>/<name> down into <local_dir>/<name>, with sync_to_cloud's
// source and target swapped.
void pull_remote_experiment(const RunOptions& options, const std::filesystem::path& local_dir) {
  const auto cloud = detail::resolve_cloud_target(options.sync_config, options.name);
  const std::filesystem::path target = local_dir / options.name;
  std::error_code ec;
  if (!cloud->local_path.empty() && !std::filesystem::is_directory(cloud->local_path, ec)) {
    throw TuneError(fmt::format("resume: \"REMOTE\": there is no experiment {} to pull from sync_config.upload_dir",
                                cloud->local_path.string()));
  }
  std::filesystem::create_directories(target, ec);
  if (ec) throw TuneError(fmt::format("local_dir: cannot create {}: {}", target.string(), ec.message()));
  detail::SyncJob job;
  job.start(cloud->command, cloud->remote + "/", target.string() + "/", "sync_config.sync_to_cloud");
  const std::string error = job.wait(options.sync_config.sync_timeout_s);
  if (!error.empty()) {
    throw TuneError(fmt::format("resume: \"REMOTE\": pulling {} into {} failed: {}", cloud->remote,
                                target.string(), error));
  }
  // The upload copied files while the experiment ran: its journal may name checkpoints copied
  // after it was. Cut it where it was when that upload began (experiment_state.h).
  const std::filesystem::path mark = target / detail::kUploadMarkFile;
  if (!std::filesystem::exists(mark, ec)) return;
  uint64_t bytes = 0;
  try {
    bytes = Json::parse(read_file(mark)).at("journal_bytes").get<uint64_t>();
  } catch (const std::exception& e) {
    throw TuneError(fmt::format("resume: \"REMOTE\": {} is unreadable: {}", mark.string(), e.what()));
  }
  const std::filesystem::path journal = target / detail::kJournalFile;
  if (!std::filesystem::exists(journal, ec)) return;
  if (std::filesystem::file_size(journal, ec) > bytes) {
    std::filesystem::resize_file(journal, bytes, ec);
    if (ec) throw TuneError(fmt::format("resume: \"REMOTE\": cannot cut {}: {}", journal.string(), ec.message()));
  }
  // The snapshot may have been copied later and describe more than that: the journal alone is whole.
  std::filesystem::remove(target / detail::kSnapshotFile, ec);
}

// RunOptions::restore: the checkpoint directory and what its metadata says.
std::pair<std::filesystem::path, detail::CheckpointEntry> resolve_restore(const std::string& restore) {
  std::filesystem::path dir = expand_user(restore);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw TuneError(fmt::format("restore: '{}' is not a checkpoint directory", restore));
  }
  dir = std::filesystem::absolute(dir, ec);
  detail::CheckpointEntry entry;
  entry.dir = dir.filename().string();
  const std::filesystem::path meta = dir / ".tune_metadata";
  if (std::filesystem::exists(meta, ec)) {
    Json json;
    try {
      json = Json::parse(read_file(meta));
    } catch (const std::exception& e) {
      throw TuneError(fmt::format("restore: cannot read {}: {}", meta.string(), e.what()));
    }
    if (!json.is_object()) throw TuneError(fmt::format("restore: {} is not a JSON object", meta.string()));
    entry.iteration = json.value("iteration", int64_t{0});
    entry.time_total_s = json.value("time_total_s", 0.0);
    entry.timesteps_total = json.value("timesteps_total", int64_t{0});
    entry.episodes_total = json.value("episodes_total", int64_t{0});
  }
  return {dir, entry};
}

// The run's settings that can be written down: kept with the state and compared on resume.
Json spec_of(const TrainableSpec& trainable, const RunOptions& options) {
  Json spec = {{"trainable", trainable.name},
               {"config", options.config.to_json()},
               {"num_samples", options.num_samples},
               {"stop", options.stop.criteria()},
               {"metric", options.metric},
               {"mode", options.mode},
               {"max_failures", options.max_failures},
               {"fail_fast", options.fail_fast},
               {"checkpoint_freq", options.checkpoint_freq},
               {"checkpoint_at_end", options.checkpoint_at_end},
               {"keep_checkpoints_num", options.keep_checkpoints_num},
               {"checkpoint_score_attr", options.checkpoint_score_attr},
               {"max_concurrent_trials", options.max_concurrent_trials},
               {"time_budget_s", options.time_budget_s},
               {"seed", options.seed ? Json(*options.seed) : Json(nullptr)},
               {"resources_per_trial",
                options.resources_per_trial ? options.resources_per_trial->to_json() : Json(nullptr)}};
  return spec;
}

// Resume keeps the stored settings: each difference is named in a warning, then the stored
// value replaces the new one where it can be expressed as data.
void apply_stored_spec(const Json& stored, const Json& fresh, RunOptions& options, std::ostream& warn) {
  if (!stored.is_object()) return;
  const Json a = flatten(stored);
  const Json b = flatten(fresh);
  std::vector<std::string> changes;
  for (const auto& [key, value] : b.items()) {
    auto it = a.find(key);
    if (it == a.end()) {
      changes.push_back(fmt::format("{} (new: {})", key, value.dump()));
    } else if (*it != value) {
      changes.push_back(fmt::format("{} (stored: {}, new: {})", key, it->dump(), value.dump()));
    }
  }
  for (const auto& [key, value] : a.items()) {
    if (!b.contains(key)) changes.push_back(fmt::format("{} (stored: {}, new: none)", key, value.dump()));
  }
  if (changes.empty()) return;
  warn << fmt::format("tune: resume ignores {} change(s) to the experiment's settings; the stored ones stay:\n",
                      changes.size());
  for (const auto& change : changes) warn << "  " << change << "\n";
  // Put the stored values back.
  auto get = [&](const char* key) -> const Json* {
    auto it = stored.find(key);
    return it == stored.end() ? nullptr : &*it;
  };
  if (const Json* v = get("num_samples"); v && v->is_number_integer()) options.num_samples = v->get<int64_t>();
  if (const Json* v = get("metric"); v && v->is_string()) options.metric = v->get<std::string>();
  if (const Json* v = get("mode"); v && v->is_string()) options.mode = v->get<std::string>();
  if (const Json* v = get("max_failures"); v && v->is_number_integer()) options.max_failures = v->get<int>();
  if (const Json* v = get("fail_fast"); v && v->is_boolean()) options.fail_fast = v->get<bool>();
  if (const Json* v = get("checkpoint_freq"); v && v->is_number_integer()) options.checkpoint_freq = v->get<int>();
  if (const Json* v = get("checkpoint_at_end"); v && v->is_boolean()) options.checkpoint_at_end = v->get<bool>();
  if (const Json* v = get("keep_checkpoints_num"); v && v->is_number_integer()) {
    options.keep_checkpoints_num = v->get<int>();
  }
  if (const Json* v = get("checkpoint_score_attr"); v && v->is_string()) {
    options.checkpoint_score_attr = v->get<std::string>();
  }
  if (const Json* v = get("max_concurrent_trials"); v && v->is_number_integer()) {
    options.max_concurrent_trials = v->get<int>();
  }
  if (const Json* v = get("time_budget_s"); v && v->is_number()) options.time_budget_s = v->get<double>();
  if (const Json* v = get("stop"); v && v->is_object() && !options.stop.criteria().is_null()) options.stop = StopSpec(*v);
  if (const Json* v = get("resources_per_trial"); v && v->is_object() && options.resources_per_trial) {
    options.resources_per_trial = Resources::from_json(*v, "resources_per_trial");
  }
  // The search space, unless it holds functions (those only exist in the new code).
  if (const Json* v = get("config"); v && v->is_object() && v->dump().find("\"<function>\"") == std::string::npos) {
    options.config = Space::from_json(*v);
  }
}

// The experiment directory to resume: <local_dir>/<name>, or without a name the newest
// experiment of this trainable under local_dir.
std::filesystem::path find_resume_dir(const std::filesystem::path& local_dir, const RunOptions& options,
                                      const TrainableSpec& trainable) {
  if (!options.name.empty()) return local_dir / options.name;
  std::filesystem::path best;
  std::filesystem::file_time_type best_time{};
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(local_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || !name.starts_with(trainable.name + "_")) continue;
    if (!detail::has_stored_experiment(entry.path())) continue;
    const auto time = std::filesystem::last_write_time(entry.path(), ec);
    if (best.empty() || time > best_time) {
      best = entry.path();
      best_time = time;
    }
  }
  if (best.empty()) {
    throw TuneError(fmt::format("resume: no experiment of '{}' under {} to resume (give name= to pick one)",
                                trainable.name, local_dir.string()));
  }
  return best;
}

// raise_on_failed_trial: a run with trials that did not complete is an error naming them.
void check_all_completed(const ExperimentAnalysis& analysis) {
  std::vector<std::string> failed;
  for (const auto& record : analysis.trials()) {
    if (record.status() != TrialStatus::kTerminated) failed.push_back(record.name());
  }
  if (failed.empty()) return;
  if (failed.size() > 10) {
    const size_t more = failed.size() - 10;
    failed.resize(10);
    failed.push_back(fmt::format("... {} more", more));
  }
  throw TuneError(fmt::format("trials did not complete: {} (see error.txt in their directories; set "
                              "raise_on_failed_trial=false to get the analysis instead)",
                              join(failed, ", ")));
}

// Each process trial holds a few pipes: with the usual soft limit of 1,024 open files, a
// thousand concurrent trials would fail for want of descriptors. The soft limit goes up to
// the hard one (which only an administrator sets); what is still short is backpressure.
void raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &limit);  // refused: the old limit stays, which is no error
}

// A directory whose state recorded an experiment: a snapshot, or a journal with at least its
// head line whole. A journal cut inside its first line (a driver killed as it started) holds
// nothing to lose, so a new start may take the directory without being told to.
bool holds_recorded_experiment(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir / detail::kSnapshotFile, ec)) return true;
  std::ifstream journal(dir / detail::kJournalFile, std::ios::binary);
  if (!journal) return false;
  std::array<char, 65536> buffer;
  while (journal.read(buffer.data(), buffer.size()) || journal.gcount() > 0) {
    if (std::find(buffer.begin(), buffer.begin() + journal.gcount(), '\n') != buffer.begin() + journal.gcount()) {
      return true;
    }
  }
  return false;
}

// A default experiment name, "<trainable>_<date>", whose directory this call creates: a name
// whose directory exists already (another run started in the same second, in this process or
// another) gets a suffix "_2", "_3", ... mkdir is atomic, so two runs never share one.
std::string claim_default_name(const std::filesystem::path& local_dir, const std::string& trainable) {
  const std::string base = trainable + "_" + date_string(std::time(nullptr));
  std::error_code ec;
  std::filesystem::create_directories(local_dir, ec);
  if (ec) throw TuneError(fmt::format("local_dir: cannot create {}: {}", local_dir.string(), ec.message()));
  for (int n = 1; n < 10000; ++n) {
    const std::string name = n == 1 ? base : fmt::format("{}_{}", base, n);
    if (std::filesystem::create_directory(local_dir / name, ec)) return name;
    if (ec) throw TuneError(fmt::format("local_dir: cannot create {}: {}", (local_dir / name).string(), ec.message()));
  }
  throw TuneError(fmt::format("name: every default name {}_N under {} is taken; give a name", base, local_dir.string()));
}

// What run() finds before it creates anything: the experiment to resume (if any), its
// directory, and the lock on it, held until the run returns.
struct Opening {
  std::optional<detail::ResumeState> resume;
  std::filesystem::path resume_dir;
  std::optional<detail::ExperimentLock> lock;
  bool start_over = false;  // replace what the directory holds
};

// resume=PROMPT: asks on the terminal whether to resume `dir`.
bool ask_to_resume(const std::filesystem::path& dir) {
  if (!isatty(STDIN_FILENO)) {
    throw TuneError(fmt::format("resume: \"PROMPT\" needs a terminal to ask whether to resume {}; use resume=true "
                                "to continue it or resume=false to start over",
                                dir.string()));
  }
  std::cout << fmt::format("Resume the experiment in {}? [y/N] ", dir.string()) << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return !answer.empty() && (answer[0] == 'y' || answer[0] == 'Y');
}

// Resume: finds the experiment and reads its state before anything is created; the stored
// spec's options replace `options`' where the user left them unset (validated again).
Opening open_resume(const TrainableSpec& trainable, RunOptions& options, const std::filesystem::path& local_dir) {
  Opening opening;
  opening.start_over = options.overwrite;
  if (!options.name.empty()) check_upload_dir(options, local_dir, options.name);
  if (options.resume.value == "REMOTE") pull_remote_experiment(options, local_dir);
  if (!options.resume.enabled()) return opening;
  opening.resume_dir = find_resume_dir(local_dir, options, trainable);
  const std::filesystem::path& dir = opening.resume_dir;
  if (!detail::has_stored_experiment(dir)) {
    throw TuneError(
        fmt::format("resume: {} holds no experiment state to resume (start it with resume=false)", dir.string()));
  }
  // Taken before the state is read: a driver still writing it refuses this one.
  opening.lock.emplace(detail::ExperimentLock::acquire(dir));
  if (options.resume.value == "PROMPT" && !ask_to_resume(dir)) {
    opening.start_over = true;  // the answer is the explicit word to replace it
    return opening;
  }
  detail::ResumeState& resume = opening.resume.emplace();
  try {
    resume.stored = detail::read_stored_experiment(dir);
  } catch (const TuneError& e) {
    throw TuneError(fmt::format("resume: {}", e.what()));
  }
  resume.errored_only = options.resume.value == "ERRORED_ONLY";
  const std::string stored_trainable = resume.stored.header.value("trainable", "");
  if (!stored_trainable.empty() && stored_trainable != trainable.name) {
    throw TuneError(fmt::format("resume: {} is an experiment of '{}', not of '{}'", dir.string(), stored_trainable,
                                trainable.name));
  }
  apply_stored_spec(resume.stored.header.value("spec", Json()), spec_of(trainable, options), options, std::cerr);
  validate(trainable, options);
  return opening;
}

// The scheduler and searcher, defaulted and handed the metric, mode and space; the first
// variant resolved (and its resource request checked) so a misuse surfaces before any
// directory exists.
void prepare_plugins(const TrainableSpec& trainable, RunOptions& options, const detail::ResourceManager& check) {
  if (const auto* replay = dynamic_cast<const PopulationBasedTrainingReplay*>(options.scheduler.get())) {
    // The replayed trial's config comes from the policy file.
    if (!options.config.empty()) {
      throw TuneError("config: PopulationBasedTrainingReplay takes the config from its policy file; leave config empty");
    }
    if (options.num_samples != 1) {
      throw TuneError(fmt::format("num_samples: PopulationBasedTrainingReplay replays one trial; got {}",
                                  options.num_samples));
    }
    options.config = Space(replay->config());
  }
  // No config at all is the empty config: a trainable reads {} (config.value("x", d) works), not null.
  if (options.config.to_json().is_null()) options.config = Space::from_json(Json::object());
  if (!options.scheduler) options.scheduler = std::make_shared<FIFOScheduler>();
  if (!options.search_alg) {
    options.search_alg = std::make_shared<BasicVariantGenerator>(options.config, options.num_samples, options.seed);
  }
  if (!options.search_alg->counts_trials()) {
    // A model-based searcher: num_samples is the number of trials it is asked for.
    options.search_alg = std::make_shared<detail::SearchGenerator>(options.search_alg, options.num_samples);
  }
  options.scheduler->set_search_properties(options.metric, options.mode);
  options.search_alg->set_search_properties(options.metric, options.mode, options.config);
  auto* variants = dynamic_cast<BasicVariantGenerator*>(options.search_alg.get());
  if (variants == nullptr || variants->total_trials().value_or(1) <= 0) return;
  // A sample_from cycle or a bad path is a misuse.
  const Config first = variants->generate(0).config;
  if (!options.resources_per_trial && trainable.default_resource_request) {
    if (auto request = trainable.default_resource_request(first)) {
      request->validate("default_resource_request");
      check.check_feasible(*request, "default_resource_request");
    }
  }
}

// `stop` and `time_budget_s` as one stopper (null: neither).
std::shared_ptr<Stopper> make_stopper(const RunOptions& options) {
  std::shared_ptr<Stopper> stopper = options.stop.make_stopper();
  if (options.time_budget_s <= 0) return stopper;
  auto timeout = std::make_shared<TimeoutStopper>(std::chrono::duration<double>(options.time_budget_s));
  return stopper ? std::make_shared<CombinedStopper>(std::vector<std::shared_ptr<Stopper>>{stopper, timeout})
                 : std::shared_ptr<Stopper>(timeout);
}

// The experiment's name, id and directory (created, locked, and refused if it holds another
// experiment that is not to be replaced).
ExperimentInfo open_experiment(const TrainableSpec& trainable, const RunOptions& options,
                               const std::filesystem::path& local_dir, Opening& opening) {
  ExperimentInfo experiment;
  if (opening.resume) {
    experiment.name = opening.resume->stored.header.value("name", opening.resume_dir.filename().string());
    experiment.experiment_id = opening.resume->stored.header.value("experiment_id", random_hex(32));
    experiment.dir = opening.resume_dir;
    // What a SIGKILLed driver left (setsid() grandchildren; trials whose death signal is not
    // through yet) ends before any trial restarts: never two copies of one trial at once.
    detail::kill_token_holders(detail::experiment_token_prefix(experiment.experiment_id), true,
                               std::chrono::seconds(10));
  } else {
    experiment.name = options.name.empty() ? claim_default_name(local_dir, trainable.name) : options.name;
    experiment.experiment_id = random_hex(32);
    experiment.dir = local_dir / experiment.name;
    if (options.name.empty()) check_upload_dir(options, local_dir, experiment.name);
  }
  experiment.metric = options.metric;
  experiment.mode = options.mode;
  std::error_code ec;
  std::filesystem::create_directories(experiment.dir, ec);
  if (ec) {
    throw TuneError(fmt::format("local_dir: cannot create {}: {}", experiment.dir.string(), ec.message()));
  }
  if (opening.resume) return experiment;
  if (!opening.lock || opening.resume_dir != experiment.dir) {
    opening.lock.emplace(detail::ExperimentLock::acquire(experiment.dir));
  }
  if (!opening.start_over && holds_recorded_experiment(experiment.dir)) {
    throw TuneError(fmt::format("name: {} already holds an experiment; continue it with resume=true (tune resume {}), "
                                "or give the new one another name (overwrite=true replaces it)",
                                experiment.dir.string(), experiment.dir.string()));
  }
  return experiment;
}

}  // namespace

ExperimentAnalysis run(const TrainableSpec& trainable, RunOptions options) {
  validate(trainable, options);
  raise_open_file_limit();
  // Absolute: trials (child processes in their own directories) get paths inside it.
  std::error_code absolute_error;
  const std::filesystem::path local_dir =
      std::filesystem::absolute(expand_user(options.local_dir), absolute_error).lexically_normal();
  Opening opening = open_resume(trainable, options, local_dir);
  std::optional<std::pair<std::filesystem::path, detail::CheckpointEntry>> initial_checkpoint;
  if (!options.restore.empty()) initial_checkpoint = resolve_restore(options.restore);

  ResourcePool pool = make_pool(options);
  const detail::ResourceManager check(pool);
  if (options.resources_per_trial) check.check_feasible(*options.resources_per_trial, "resources_per_trial");
  prepare_plugins(trainable, options, check);
  std::shared_ptr<Stopper> stopper = make_stopper(options);
  ExperimentInfo experiment = open_experiment(trainable, options, local_dir, opening);

  Json spec = spec_of(trainable, options);
  const bool raise_on_failed_trial = options.raise_on_failed_trial;
  // Signals reach the runner through the interrupt flag only; the handlers go with the guard.
  std::optional<detail::SignalGuard> signals;
  if (options.handle_signals) {
    if (!options.interrupt) options.interrupt = std::make_shared<std::atomic<int>>(0);
    signals.emplace(options.interrupt);
  }
  detail::TrialRunner runner(trainable, std::move(options), std::move(experiment), std::move(pool),
                             std::move(stopper), std::move(spec), std::move(opening.resume),
                             std::move(initial_checkpoint));
  ExperimentAnalysis analysis = runner.run();
  if (analysis.interrupted() && signals && signals->signal_number() != 0) {
    analysis.set_interrupted(signals->signal_number());
  }
  // An interrupted run's unfinished trials wait for a resume: they did not fail.
  if (raise_on_failed_trial && !analysis.interrupted()) check_all_completed(analysis);
  return analysis;
}

}  // namespace tune
