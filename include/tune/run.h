// tune/run.h — tune::run(): run an experiment and return its analysis.
//
// RunOptions carries every option of the guide's tune.run with the same names. Options
// are validated before anything starts; a violation throws TuneError naming the field.
// Trials that fail do not throw: they end in ERROR with error.txt (unless fail_fast), and
// run() throws TuneError("trials did not complete") at the end only when
// raise_on_failed_trial is set.
// Thread-safety: run() may be called from any thread; one experiment per call.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tune/analysis.h"
#include "tune/callback.h"
#include "tune/json.h"
#include "tune/resources.h"
#include "tune/scheduler.h"
#include "tune/search_space.h"
#include "tune/searcher.h"
#include "tune/slurm.h"
#include "tune/stopper.h"
#include "tune/sync.h"
#include "tune/trainable.h"
#include "tune/trial.h"

namespace tune {

// How the console status is printed.
struct ReporterOptions {
  int max_progress_rows = 20;
  int max_error_rows = 20;
  double max_report_frequency_s = 5.0;
  // Where status goes; null = std::cout.
  std::ostream* out = nullptr;
  // Live progress bar of finished/total trials when `out` is a terminal.
  bool progress_bar = true;
};

// RunOptions::resume: continue an experiment instead of starting a new one.
//   false / ""        a new experiment (a directory with an old state is started over);
//   true / "LOCAL"    continue <local_dir>/<name> (without a name: the newest experiment of
//                     this trainable under local_dir);
//   "PROMPT"          ask on the terminal whether to continue (refused without a terminal);
//   "ERRORED_ONLY"    continue, and run the trials that ended in ERROR again (same config);
//   "REMOTE"          pull <sync_config.upload_dir>/<name> into <local_dir>/<name> first (with
//                     sync_to_cloud, source and target swapped), then continue it as LOCAL;
//                     needs a name and an upload_dir.
struct Resume {
  Resume() = default;
  Resume(bool on) : value(on ? "LOCAL" : "") {}                // NOLINT: implicit by design
  Resume(const char* mode) : value(mode ? mode : "") {}        // NOLINT
  Resume(std::string mode) : value(std::move(mode)) {}         // NOLINT
  bool enabled() const { return !value.empty() && value != "false" && value != "False"; }
  std::string value;
};

struct RunOptions {
  // Experiment name; the directory is <local_dir>/<name>. Default: "<trainable>_<date>".
  std::string name;
  // The search space.
  Space config;
  // Repeats of the whole grid, each with fresh random values; -1 = until stopped.
  int64_t num_samples = 1;
  // Stopping: {{"training_iteration", 10}, {"a/b", 0.9}} (any key reaching its value), a
  // function (trial_id, result) -> bool, or a std::shared_ptr<Stopper>.
  StopSpec stop;
  // Per trial; default {cpu: 1} or the trainable's default_resource_request.
  std::optional<Resources> resources_per_trial;
  // Root of experiment directories; "~" is expanded.
  std::string local_dir = "~/tune_results";
  // Display name of a trial (also the prefix of its directory name).
  std::function<std::string(const TrialView&)> trial_name_creator;
  // The whole directory name of a trial (sanitised, bounded).
  std::function<std::string(const TrialView&)> trial_dirname_creator;
  // 0 silent, 1 status only, 2 status + brief per-trial results, 3 detailed.
  int verbose = 2;
  // The metric and mode ("min" | "max") handed to every plugin and the analysis.
  std::string metric;
  std::string mode;
  // At most this many trials at once (0 = as many as resources allow).
  int max_concurrent_trials = 0;
  // Stop the experiment after this many seconds (0 = no limit).
  double time_budget_s = 0;
  // Makes sampling reproducible.
  std::optional<uint64_t> seed;
  // Stop everything at the first trial failure.
  bool fail_fast = false;
  // Throw TuneError at the end if any trial did not end TERMINATED.
  bool raise_on_failed_trial = true;
  // Retries of a failed trial (each from its latest checkpoint); -1 = forever.
  int max_failures = 0;
  // Checkpoints (class API: save_checkpoint/load_checkpoint; a function checkpoints itself,
  // see tune/trainable.h). Each is <trial dir>/checkpoint_<iteration>/ with .tune_metadata.
  // After every checkpoint_freq-th iteration (0 = off).
  int checkpoint_freq = 0;
  // When the trial ends by a stop (criteria, done, scheduler, end of experiment).
  bool checkpoint_at_end = false;
  // Keep only the best N checkpoints by checkpoint_score_attr (0 = keep all); the newest is
  // always kept as well, since a restore needs it.
  int keep_checkpoints_num = 0;
  // A result key, higher is better; "min-loss" makes lower loss better.
  std::string checkpoint_score_attr = "training_iteration";
  // A checkpoint directory to start the (single) trial from; its iteration and time_total_s
  // continue. The config, stop and name may differ from the run that wrote it.
  std::string restore;
  // Continue an earlier experiment (see Resume).
  Resume resume;
  // What produced this run, kept in the experiment state (not compared on resume): `tune run`
  // stores the spec there so that `tune resume DIR` can rebuild the trainable.
  Json source_spec;
  // Start over in an experiment directory that already holds an experiment, replacing its
  // state. Off (the default), such a start is refused, naming the two ways out: resume, or
  // another name.
  bool overwrite = false;
  // Keep the experiment journal and snapshots (experiment_state.jsonl/.json); off makes the
  // experiment impossible to resume but saves their small cost per trial event.
  bool write_experiment_state = true;
  // The local pool (the guide's ray.init(num_cpus=...)): defaults from the machine.
  std::optional<double> num_cpus;
  std::optional<double> num_gpus;
  std::map<std::string, double> custom_resources;
  // Everything sequential on the calling thread (debugging).
  bool local_mode = false;
  // How function trainables run: each trial on its own thread (kThread), or as a fiber on the
  // runner's thread (kFiber: several times cheaper per result, but steps run one at a time;
  // see FunctionExecution in tune/trainable.h). kFiber cannot be combined with local_mode.
  FunctionExecution function_execution = FunctionExecution::kThread;
  // kFiber: each trial's stack in bytes (64 KiB to 1 GiB, rounded up to whole pages). Pages
  // are committed as they are touched; running past the end hits a guard page and crashes
  // the process, as overflowing a thread's stack does, so give deep recursion or large local
  // arrays room (a thread's default stack is 8 MiB; sanitizer builds use 2-3 times more).
  std::size_t fiber_stack_size = std::size_t{1} << 20;
  // Keep the instance of a class trial that stopped or paused and hand it to the next trial
  // (or the same one restarting: a PAUSE, a PBT exploit) after set_trial_info and
  // reset_config(new config), instead of destroying it and making, setting up a new one: saves
  // what setup() costs (loading data, building a model). reset_config must reconfigure the
  // instance completely and return true; when it returns false (the default) the trial gets a
  // new instance, as without reuse. A restored trial then loads its checkpoint as usual. At
  // most as many instances are kept as were ever live at once; failed trials' instances are
  // never reused. In-process class trainables only: function trials already reuse their
  // threads (nothing to reset), and a child process cannot be reused (refused up front).
  bool reuse_actors = false;
  // Set: every trial is a Slurm job step (tune/slurm.h); the trainable must run as a process
  // (tune::isolated, process_trainable, a spec's trainable). The pool defaults to the
  // allocation's CPUs and GPUs inside one, and is unbounded outside (Slurm queues the jobs;
  // bound them with max_concurrent_trials or num_cpus).
  std::optional<SlurmOptions> slurm;
  // Per-trial loggers; default JSON + CSV (+ TensorBoard).
  std::vector<LoggerFactory> loggers = default_loggers();
  // Experiment-wide callbacks, called after the loggers.
  std::vector<std::shared_ptr<Callback>> callbacks;
  // Off: no trial directories and no per-trial files at all (for huge sweeps).
  bool write_trial_files = true;
  // Uploading the experiment (upload_dir, sync_to_cloud, sync_period_s, ...) and pulling trial
  // directories from nodes without a shared filesystem (sync_to_driver); see tune/sync.h.
  SyncConfig sync_config;
  // Plugins; default FIFOScheduler and BasicVariantGenerator(config, num_samples, seed).
  std::shared_ptr<TrialScheduler> scheduler;
  std::shared_ptr<Searcher> search_alg;
  ReporterOptions reporter;
  // Graceful interruption. `interrupt`, when set, is polled by the runner on every turn of its
  // loop: 0 = run on, 1 = stop gracefully (running trials are stopped the way a stop does,
  // checkpoint_at_end honoured, the state written, the final table printed), 2 = force (the
  // children are ended now, the state written). Embedders (the Python package, a GUI) store
  // into it from any thread or a signal handler. `handle_signals` installs SIGINT/SIGTERM/
  // SIGHUP handlers for the duration of run() that do exactly that (the first signal asks for
  // a graceful stop, a second one forces it); the CLI turns it on. A run that was interrupted
  // returns normally and its analysis says so (ExperimentAnalysis::interrupted()).
  std::shared_ptr<std::atomic<int>> interrupt;
  bool handle_signals = false;
};

ExperimentAnalysis run(const TrainableSpec& trainable, RunOptions options);

// Class API: tune::run<MyTrainable>(options).
template <typename T>
ExperimentAnalysis run(RunOptions options) {
  return run(make_trainable<T>(), std::move(options));
}

// Function API: tune::run(fn, options).
inline ExperimentAnalysis run(TrainFunction function, RunOptions options, std::string name = "func") {
  return run(make_trainable(std::move(name), std::move(function)), std::move(options));
}

}  // namespace tune
