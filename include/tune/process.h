// tune/process.h — trials as child processes: programs in any language, and the user's
// own C++ binary re-run as a worker so a crash kills only its trial.
//
// Three kinds of child speak the worker protocol (docs/protocol.md):
//  * a registered trainable of this binary (TUNE_REGISTER_TRAINABLE(MyTrainable) or
//    tune::register_trainable), run isolated with `tune::run("MyTrainable", options)` or
//    `tune::run(tune::isolated("MyTrainable"), options)`;
//  * any program through a client (clients/python/tune_client.py, tune/client.h);
//  * a plain program that prints JSON result lines on stdout.
// Config values are substituted into argv ("--lr={lr}") without any shell.
// Thread-safety: register_trainable is meant for static initialisation and main(); the rest
// may be called from any thread.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tune/analysis.h"
#include "tune/trainable.h"

namespace tune {

struct RunOptions;

// How to run one trial as a child process. Every child gets, besides the driver's environment:
// TUNE_TRIAL_ID, TUNE_TRIAL_NAME, TUNE_EXPERIMENT_ID, TUNE_TRIAL_DIR, TUNE_CHECKPOINT_DIR,
// TUNE_RESTORE_FROM (only when restoring), CUDA_VISIBLE_DEVICES (its GPU ids, empty without GPUs),
// OMP_NUM_THREADS (max(1, floor(cpu))) and, for kWorker, TUNE_PROTOCOL_FDS=3,4; then `env`
// (which wins). Its stdout/stderr go to stdout.log / stderr.log in the trial directory. Each
// child leads its own process group, so a kill reaches what it started.
struct ProcessSpec {
  enum class Protocol {
    kWorker,  // the JSON-lines protocol on fds 3 and 4 (registered trainables and clients)
    kPlain,   // stdout JSON-object lines are results; stop = SIGTERM, then SIGKILL after stop_grace_s
  };
  // argv[0] is looked up in PATH; "{key}" / "{a/b}" are replaced by config values (strings
  // as-is, other values as JSON), "{{" / "}}" are literal braces. No shell is involved.
  std::vector<std::string> argv;
  Protocol protocol = Protocol::kWorker;
  // How a kWorker child is started.
  enum class Launch {
    kAuto,    // isolated() / run(name): kZygote; process_trainable(): kExec
    kExec,    // posix_spawn of argv for every trial
    // argv is started once as a fork server (a "zygote": the binary, calling tune::worker_main,
    // serves TUNE_WORKER from `env`), which forks one child per trial: no exec, no dynamic
    // loading, no static initialisers per trial. The child gets its own descriptors,
    // environment, working directory and process group, so it behaves as an exec'd worker
    // does. Needs a binary that starts no threads and no GPU context before worker_main (fork
    // copies neither). Trials are exec'd instead when their substituted argv differs from
    // `argv`, under Slurm, or when the binary cannot serve as a zygote (an older tune).
    kZygote,
  };
  Launch launch = Launch::kAuto;
  // kZygote only: starts the zygote instead of a posix_spawn of argv. For embedders whose
  // trials must be forks of the driver's own state (the Python package forks its interpreter,
  // so closures need no pickling): called on the runner's thread with the zygote's end of the
  // control socket (to serve as descriptors 3 and 4) and the environment it must run with; returns
  // the pid of a child of this process that will call tune::worker_main with TUNE_ZYGOTE=3.
  // Throwing makes its trials exec'd from argv instead.
  std::function<pid_t(int control_fd, const std::vector<std::string>& env)> start_zygote;
  std::map<std::string, std::string> env;  // extra environment
  std::filesystem::path working_dir;       // empty: the trial directory (or the driver's when none)
  double step_timeout_s = 0;               // no reply within this: killed, counted as a failure (0 = none)
  double stop_grace_s = 5;                 // stop request (kWorker) or SIGTERM (kPlain) -> SIGKILL delay
  bool echo_output = false;                // also copy child output to the console, prefixed by trial name
  size_t max_message_bytes = 4 << 20;      // a longer protocol/result line fails the trial
};

// A trainable whose trials run `spec` as child processes. Throws TuneError for an empty argv,
// a negative or non-finite timeout, a zero max_message_bytes, or launch = kZygote with the
// plain protocol or without TUNE_WORKER in env.
TrainableSpec process_trainable(std::string name, ProcessSpec spec);

// The registered trainable `registered_name` with every trial in its own child process: this
// binary (/proc/self/exe) re-run as a worker (TUNE_WORKER=<name>), so a crash kills only its
// trial. `options` sets timeouts, env and echo; a non-empty options.argv names another binary
// that registers the same name and calls worker_main. launch kAuto becomes kZygote: the binary
// is started once and forks each trial (ProcessSpec::Launch). Keeps the registered
// default_resource_request. Throws TuneError when the name is not registered here and
// options.argv is empty.
TrainableSpec isolated(const std::string& registered_name, ProcessSpec options = {});

// ---- registered trainables of this binary ----
// Registers under `name` (replacing an earlier registration of it); returns true so it can
// initialise a static (see the macros). A static registration in an object file of a static
// library that nothing else references is dropped by the linker: calling register_trainable
// from main() before worker_main is the explicit form that always survives.
bool register_trainable(const std::string& name, TrainableSpec spec);
// The registered trainable, or TuneError listing the registered names.
const TrainableSpec& registered_trainable(const std::string& name);
std::vector<std::string> registered_trainable_names();

// Runs the registered trainable `name` with every trial in its own child process (this
// binary re-run as a worker): run(isolated(name), options). main() must call
// tune::worker_main first (see below).
ExperimentAnalysis run(const std::string& name, RunOptions options);

// Call first thing in main(), after any explicit register_trainable calls: when this process
// was started as a worker (TUNE_WORKER and TUNE_PROTOCOL_FDS set) it serves the protocol and
// returns the exit code to return from main (0 after stop, 1 after an error); otherwise
// returns -1 and changes nothing.
//   int main(int argc, char** argv) { if (int rc = tune::worker_main(argc, argv); rc >= 0) return rc; ... }
int worker_main(int argc, char** argv);

}  // namespace tune

#define TUNE_CONCAT_INNER(a, b) a##b
#define TUNE_CONCAT(a, b) TUNE_CONCAT_INNER(a, b)
// Registers a Trainable subclass under its class name.
#define TUNE_REGISTER_TRAINABLE(T)                            \
  static const bool TUNE_CONCAT(tune_registered_, __LINE__) = \
      ::tune::register_trainable(#T, ::tune::make_trainable<T>(#T))
// Registers a training function `void fn(const tune::Config&, tune::Reporter&)` under its name.
#define TUNE_REGISTER_FUNCTION(fn)                            \
  static const bool TUNE_CONCAT(tune_registered_, __LINE__) = \
      ::tune::register_trainable(#fn, ::tune::make_trainable(#fn, fn))
