// End-to-end benchmarks of trials as child processes (issue: process executor). Prints a table.
//
//   launch      1,000 one-step trials of a minimal registered C++ worker (this binary re-run
//               as a worker), 2 at a time: per-trial overhead, the median of each trial's
//               start -> end time (from per-trial timestamps) and wall time x 2 / trials
//   lockstep    100 concurrent process trials x 1,000 steps of a trivial worker: steps/s
//   floor       what the machine itself charges: posix_spawn + exit + waitpid of /bin/true and
//               of this binary as a worker that finds no setup (no tune involved), median of 200
//
// Both run with the default loggers (per-trial files on) and again with per-trial files off.
// Usage: e2e_process [--quick] [--only floor|launch|lockstep] [DIR]   (DIR: where results go, default .)
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "minimal_worker.h"
#include "tune/process.h"
#include "tune/tune.h"

using tune_bench::Clock;
using tune_bench::Minimal;
using tune_bench::seconds_since;

TUNE_REGISTER_TRAINABLE(Minimal);

namespace {

tune::RunOptions base_options(const std::filesystem::path& dir, const std::string& name, bool files) {
  tune::RunOptions options;
  options.name = name;
  options.local_dir = dir.string();
  options.verbose = 0;
  options.raise_on_failed_trial = true;
  options.write_trial_files = files;
  return options;
}

// Per-trial start and end times.
class TrialClock : public tune::Callback {
 public:
  void on_trial_start(const tune::TrialView& trial) override { start_[trial.trial_id()] = Clock::now(); }
  void on_trial_complete(const tune::TrialView& trial) override {
    durations_.push_back(std::chrono::duration<double>(Clock::now() - start_[trial.trial_id()]).count());
  }
  double median() {
    if (durations_.empty()) return 0;
    std::nth_element(durations_.begin(), durations_.begin() + static_cast<long>(durations_.size() / 2),
                     durations_.end());
    return durations_[durations_.size() / 2];
  }

 private:
  std::map<std::string, Clock::time_point> start_;
  std::vector<double> durations_;
};

struct Row {
  std::string name, measure, value, target, verdict;
};

Row launch(const std::filesystem::path& dir, int64_t trials, bool files) {
  auto options = base_options(dir, files ? "bench_launch" : "bench_launch_nofiles", files);
  options.num_samples = trials;
  options.num_cpus = 2;
  options.stop = {{"training_iteration", 1}};
  auto clock = std::make_shared<TrialClock>();
  options.callbacks.push_back(clock);
  const auto start = Clock::now();
  tune::run("Minimal", std::move(options));
  const double wall = seconds_since(start);
  const double median_ms = clock->median() * 1e3;
  const double amortised_ms = wall * 2 / static_cast<double>(trials) * 1e3;
  const bool full = trials == 1000;
  return {"launch", fmt::format("{} one-step trials, 2 at a time, files {}", trials, files ? "on" : "off"),
          fmt::format("median {:.2f} ms ({:.2f} ms amortised)", median_ms, amortised_ms), "median < 3 ms",
          full ? (median_ms < 3 ? "met" : "MISSED") : "(quick)"};
}

Row lockstep(const std::filesystem::path& dir, int64_t trials, int64_t steps, bool files) {
  auto options = base_options(dir, files ? "bench_lockstep" : "bench_lockstep_nofiles", files);
  options.num_samples = trials;
  options.num_cpus = static_cast<double>(trials);
  options.stop = {{"training_iteration", steps}};
  const auto start = Clock::now();
  tune::run("Minimal", std::move(options));
  const double wall = seconds_since(start);
  const double rate = static_cast<double>(trials * steps) / wall;
  const bool full = trials == 100 && steps == 1000;
  return {"lockstep", fmt::format("{} trials x {} steps, files {}", trials, steps, files ? "on" : "off"),
          fmt::format("{:.0f} steps/s ({:.2f} s)", rate, wall), ">= 50,000 steps/s",
          full ? (rate >= 50000 ? "met" : "MISSED") : "(quick)"};
}

// Median of spawning `argv` and waiting for it, 200 times; fds 3 and 4 are /dev/null.
double spawn_floor_ms(std::vector<std::string> argv, const std::vector<std::string>& extra_env) {
  std::vector<std::string> env_strings(extra_env);
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> env;
  for (auto& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 3, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 4, "/dev/null", O_WRONLY, 0);
  std::vector<double> times;
  for (int i = 0; i < 200; ++i) {
    const auto start = Clock::now();
    pid_t pid = -1;
    if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env.data()) != 0) break;
    int status = 0;
    waitpid(pid, &status, 0);
    times.push_back(seconds_since(start) * 1e3);
  }
  posix_spawn_file_actions_destroy(&actions);
  if (times.empty()) return 0;
  std::nth_element(times.begin(), times.begin() + static_cast<long>(times.size() / 2), times.end());
  return times[times.size() / 2];
}

Row floor_row() {
  const double true_ms = spawn_floor_ms({"/bin/true"}, {});
  const double self_ms = spawn_floor_ms({"/proc/self/exe"}, {"TUNE_WORKER=Minimal", "TUNE_PROTOCOL_FDS=3,4"});
  return {"floor", "spawn+exit+wait: /bin/true, this binary", fmt::format("{:.2f} ms, {:.2f} ms", true_ms, self_ms),
          "(the machine's)", ""};
}

}  // namespace

int main(int argc, char** argv) {
  if (int rc = tune::worker_main(argc, argv); rc >= 0) return rc;
  bool quick = false;
  std::string only;
  std::filesystem::path dir = ".";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0)
      quick = true;
    else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc)
      only = argv[++i];
    else
      dir = argv[i];
  }
  dir /= fmt::format("tune_bench_process_{}", getpid());
  std::vector<Row> rows;
  try {
    if (only.empty() || only == "floor") rows.push_back(floor_row());
    for (bool files : {true, false}) {
      if (only.empty() || only == "launch") rows.push_back(launch(dir, quick ? 100 : 1000, files));
      if (only.empty() || only == "lockstep")
        rows.push_back(lockstep(dir, quick ? 20 : 100, quick ? 200 : 1000, files));
    }
  } catch (const std::exception& e) {
    std::cerr << "benchmark failed: " << e.what() << "\n";
    std::filesystem::remove_all(dir);
    return 1;
  }
  std::filesystem::remove_all(dir);
  std::cout << fmt::format("| {:<9} | {:<44} | {:<36} | {:<18} | {:<7} |\n", "benchmark", "measure", "value", "target",
                           "verdict");
  std::cout << fmt::format("|{:-<11}|{:-<46}|{:-<38}|{:-<20}|{:-<9}|\n", "", "", "", "", "");
  for (const auto& r : rows) {
    std::cout << fmt::format("| {:<9} | {:<44} | {:<36} | {:<18} | {:<7} |\n", r.name, r.measure, r.value, r.target,
                             r.verdict);
  }
  return 0;
}
