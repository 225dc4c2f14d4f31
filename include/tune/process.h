// tune/process.h — trials as child processes: programs in any language, and the user's
// own C++ binary re-run as a worker so a crash kills only its trial.
//
// Three kinds of child speak the worker protocol (docs/protocol.md):
//  * a registered trainable of this binary (TUNE_REGISTER_TRAINABLE(MyTrainable) or
//    tune::register_trainable), run isolated with RunOptions-independent
//    `tune::run("MyTrainable", options)` or `process_trainable(...)`;
//  * any program through a client (clients/python/tune_client.py, tune/client.h);
//  * a plain program that prints JSON result lines on stdout.
// Config values are substituted into argv ("--lr={lr}") without any shell.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tune/analysis.h"
#include "tune/trainable.h"

namespace tune {

struct RunOptions;

// How to run one trial as a child process.
struct ProcessSpec {
  enum class Protocol {
    kWorker,  // the full JSON-lines protocol (registered trainables and clients)
    kPlain,   // stdout JSON lines are results; stop = SIGTERM then SIGKILL
  };
  // argv[0] is looked up in PATH; "{key}" / "{a/b}" are replaced by config values.
  std::vector<std::string> argv;
  Protocol protocol = Protocol::kWorker;
  std::map<std::string, std::string> env;  // extra environment
  std::filesystem::path working_dir;       // empty: the trial directory
  double step_timeout_s = 0;               // no reply within this: killed, counted as a failure (0 = none)
  double stop_grace_s = 5;                 // SIGTERM -> SIGKILL delay
  bool echo_output = false;                // also copy child output to the console, prefixed by trial name
};

// A trainable whose trials run `spec` as child processes.
TrainableSpec process_trainable(std::string name, ProcessSpec spec);

// ---- registered trainables of this binary ----
// Registers under `name`; returns true so it can initialise a static (see the macro).
bool register_trainable(const std::string& name, TrainableSpec spec);
// The registered trainable, or TuneError listing the registered names.
const TrainableSpec& registered_trainable(const std::string& name);
std::vector<std::string> registered_trainable_names();

// Runs the registered trainable `name` with every trial in its own child process (this
// binary re-run as a worker). main() must call tune::worker_main first (see below).
ExperimentAnalysis run(const std::string& name, RunOptions options);

// Call first thing in main(): when this process was started as a worker it serves the
// protocol and returns the exit code to return from main; otherwise returns -1.
//   int main(int argc, char** argv) { if (int rc = tune::worker_main(argc, argv); rc >= 0) return rc; ... }
int worker_main(int argc, char** argv);

}  // namespace tune

#define TUNE_CONCAT_INNER(a, b) a##b
#define TUNE_CONCAT(a, b) TUNE_CONCAT_INNER(a, b)
// Registers a Trainable subclass under its class name.
#define TUNE_REGISTER_TRAINABLE(T) \
  static const bool TUNE_CONCAT(tune_registered_, __LINE__) = ::tune::register_trainable(#T, ::tune::make_trainable<T>(#T))
