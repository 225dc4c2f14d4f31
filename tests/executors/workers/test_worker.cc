// Test helper binary of the process-executor tests. Three roles:
//   * worker: TUNE_WORKER set -> tune::worker_main serves a registered trainable;
//   * plain program: `test_worker plain MODE [ARGS]` prints JSON result lines on stdout;
//   * driver: `test_worker drive LOCAL_DIR [exec]` runs tune::run("Counter", ...) on itself
//     (with `exec`: every trial exec'd, no zygote) and prints one JSON line per trial;
//   * orphaning driver: `test_worker orphan_drive LOCAL_DIR` runs two PidWriter trials whose
//     step sleeps 100 s (until the test kills this driver), with stop_grace_s = 1;
//   * pinning driver: `test_worker pin_drive LOCAL_DIR` pins a float array, prints
//     {"id": ..., "pid": ...} and runs two PinnedReader trials that never end (until killed).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "executors/workers/trainables.h"
#include "tune/process.h"
#include "tune/tune.h"

using namespace tune::testing;  // NOLINT: registered names are the bare class names

TUNE_REGISTER_TRAINABLE(Counter);
TUNE_REGISTER_TRAINABLE(Crasher);
TUNE_REGISTER_TRAINABLE(PinnedReader);
TUNE_REGISTER_TRAINABLE(Sleeper);
TUNE_REGISTER_FUNCTION(count_fn);
TUNE_REGISTER_TRAINABLE(Climb);
TUNE_REGISTER_TRAINABLE(Shift);
TUNE_REGISTER_TRAINABLE(EnvReporter);
TUNE_REGISTER_TRAINABLE(PidWriter);

namespace {

extern "C" char** environ;  // NOLINT: POSIX

// Writes argv and the environment to $TUNE_TRIAL_DIR/argv.json.
void dump(int argc, char** argv) {
  tune::Json out = {{"argv", tune::Json::array()}, {"env", tune::Json::object()}, {"pid", getpid()}};
  for (int i = 0; i < argc; ++i) out["argv"].push_back(argv[i]);
  for (char** e = environ; *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq != nullptr) out["env"][std::string(*e, static_cast<size_t>(eq - *e))] = eq + 1;
  }
  const char* dir = std::getenv("TUNE_TRIAL_DIR");
  std::ofstream(std::string(dir != nullptr ? dir : ".") + "/argv.json") << out.dump() << "\n";
}

int plain(int argc, char** argv) {
  const std::string mode = argc > 2 ? argv[2] : "";
  if (mode == "dump") {
    dump(argc, argv);
    std::cout << "{\"score\": 1}" << std::endl;
  } else if (mode == "count") {
    const int n = argc > 3 ? std::atoi(argv[3]) : 3;
    for (int i = 1; i <= n; ++i) std::cout << "epoch " << i << " starting\n{\"score\": " << i << "}\n";
  } else if (mode == "exit3") {
    std::cout << "{\"score\": 1}" << std::endl;
    std::cerr << "plain: failing on purpose" << std::endl;
    return 3;
  } else if (mode == "bigline") {
    std::cout << "{\"blob\": \"" << std::string(10 << 20, 'x') << "\"}" << std::endl;
  } else if (mode == "badutf8") {
    std::cout << "{\"name\": \"caf\xe9\"}" << std::endl;
  } else if (mode == "array") {
    std::cout << "[1, 2, 3]\n{\"score\": 1}\n{not json at all}" << std::endl;
  } else if (mode == "nan") {
    std::cout << "{\"loss\": NaN, \"up\": Infinity, \"down\": -Infinity, \"text\": \"NaN\"}" << std::endl;
  } else if (mode == "ignore_term") {
    // Ignores SIGTERM, so only SIGKILL ends it; records its pid for the test to check.
    signal(SIGTERM, SIG_IGN);
    dump(argc, argv);
    for (int i = 1;; ++i) {
      std::cout << "{\"score\": " << i << "}" << std::endl;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  } else {
    std::cerr << "unknown plain mode '" << mode << "'\n";
    return 2;
  }
  return 0;
}

// Quiet options of the driver roles: two trials at a time.
tune::RunOptions driver_options(const char* name, const char* local_dir) {
  tune::RunOptions options;
  options.name = name;
  options.local_dir = local_dir;
  options.verbose = 0;
  options.num_cpus = 2;
  return options;
}

int drive(const char* local_dir, bool exec) {
  tune::RunOptions options = driver_options("drive", local_dir);
  options.config = {{"rate", tune::grid_search({1, 2})}};
  options.stop = {{"training_iteration", 3}};
  tune::ProcessSpec spec;
  spec.launch = tune::ProcessSpec::Launch::kExec;
  const tune::ExperimentAnalysis analysis =
      exec ? tune::run(tune::isolated("Counter", spec), std::move(options)) : tune::run("Counter", std::move(options));
  for (const auto& trial : analysis.trials()) {
    std::cout << tune::Json{{"status", tune::to_string(trial.status())},
                            {"iteration", trial.last_result().value("training_iteration", 0)},
                            {"score", trial.last_result().value("score", 0.0)},
                            {"worker_pid", trial.last_result().value("worker_pid", 0)},
                            {"driver_pid", getpid()}}
                     .dump()
              << "\n";
  }
  return 0;
}

int orphan_drive(const char* local_dir) {
  tune::RunOptions options = driver_options("orphan_drive", local_dir);
  options.num_samples = 2;
  options.config = {{"sleep_ms", 100000}};
  tune::ProcessSpec spec;
  spec.stop_grace_s = 1;
  tune::run(tune::isolated("PidWriter", spec), std::move(options));
  return 0;
}

int pin_drive(const char* local_dir) {
  const tune::PinnedObject object =
      tune::pin_in_object_store<float>(1 << 20, [](std::span<float> out) { std::fill(out.begin(), out.end(), 1.0F); });
  std::cout << tune::Json{{"id", object.id()}, {"pid", getpid()}}.dump() << std::endl;
  tune::RunOptions options = driver_options("pin_drive", local_dir);
  options.num_samples = 2;
  options.config = {{"object", object.id()}, {"sleep_ms", 20}};
  tune::run("PinnedReader", std::move(options));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // The explicit registration form, which no linker can drop.
  tune::register_trainable("ExplicitCounter", tune::make_trainable<Counter>("ExplicitCounter"));
  if (int rc = tune::worker_main(argc, argv); rc >= 0) return rc;
  if (argc > 1 && std::strcmp(argv[1], "plain") == 0) return plain(argc, argv);
  if (argc > 2 && std::strcmp(argv[1], "drive") == 0) return drive(argv[2], argc > 3 && std::strcmp(argv[3], "exec") == 0);
  if (argc > 2 && std::strcmp(argv[1], "orphan_drive") == 0) return orphan_drive(argv[2]);
  if (argc > 2 && std::strcmp(argv[1], "pin_drive") == 0) return pin_drive(argv[2]);
  std::cerr << "usage: test_worker plain MODE | drive LOCAL_DIR [exec] | orphan_drive LOCAL_DIR | pin_drive LOCAL_DIR "
               "(or run under tune as a worker)\n";
  return 2;
}
