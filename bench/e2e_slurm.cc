// End-to-end benchmark of the Slurm executor (issue: Slurm). Prints a table.
//
//   srun floor   raw `srun true` steps inside one allocation, no tune: one at a time (latency)
//                and 2 in flight (what the allocation's 2 CPUs allow; per-step cost = wall x 2 / n)
//   launch       n one-step trials of a minimal registered worker (this binary re-run through
//                srun), 2 at a time: per-trial cost = wall x 2 / n, against the srun floor
//   sweep        200 trials x 10 steps on the Slurm executor and on the process executor: wall
//                time of each and the ratio
//
// Needs a running cluster (SLURM_CONF; scripts/slurm_cluster.sh start) and makes its own
// allocation (salloc --no-shell -c2), cancelled at the end.
// Usage: e2e_slurm [--quick] [DIR]   (DIR: where results go, default .)
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "minimal_worker.h"
#include "tune/process.h"
#include "tune/tune.h"

extern char** environ;  // NOLINT: POSIX

using tune_bench::Clock;
using tune_bench::Minimal;
using tune_bench::seconds_since;

TUNE_REGISTER_TRAINABLE(Minimal);

namespace {

pid_t spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) {
    std::cerr << "cannot start " << argv[0] << "\n";
    std::exit(2);
  }
  return pid;
}

// Runs `n` commands with at most `width` at once; returns the wall time.
double run_steps(const std::vector<std::string>& argv, int n, int width) {
  const auto start = Clock::now();
  int started = 0, running = 0;
  while (started < n || running > 0) {
    while (running < width && started < n) {
      spawn(argv);
      ++started;
      ++running;
    }
    int status = 0;
    if (::wait(&status) > 0) --running;
  }
  return seconds_since(start);
}

std::string capture(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

tune::RunOptions options_for(const std::filesystem::path& dir, const std::string& name, int64_t trials, int64_t steps) {
  tune::RunOptions options;
  options.name = name;
  options.local_dir = dir.string();
  options.verbose = 0;
  options.num_samples = trials;
  options.stop = {{"training_iteration", steps}};
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  if (int rc = tune::worker_main(argc, argv); rc >= 0) return rc;
  bool quick = false;
  std::filesystem::path dir = ".";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0)
      quick = true;
    else
      dir = argv[i];
  }
  if (std::getenv("SLURM_CONF") == nullptr) {
    std::cerr << "e2e_slurm: SLURM_CONF is not set; start a cluster first: eval \"$(scripts/slurm_cluster.sh start)\"\n";
    return 2;
  }
  const std::string granted = capture("salloc --no-shell --immediate=30 -N1 -c2 -J tune_bench");
  const size_t at = granted.find("Granted job allocation ");
  if (at == std::string::npos) {
    std::cerr << "e2e_slurm: salloc failed: " << granted;
    return 2;
  }
  const std::string job = std::to_string(std::atoll(granted.c_str() + at + 23));
  ::setenv("SLURM_JOB_ID", job.c_str(), 1);
  ::setenv("SLURM_JOB_CPUS_PER_NODE", "2", 1);

  const int floor_n = quick ? 20 : 60;
  const int launch_n = quick ? 40 : 200;
  const int64_t sweep_trials = quick ? 40 : 200;
  const int64_t sweep_steps = 10;

  // srun floor
  const std::vector<std::string> srun_true = {"srun", "--ntasks=1", "--nodes=1", "--cpus-per-task=1", "--exact",
                                              "--", "true"};
  const double serial = run_steps(srun_true, floor_n / 2, 1) / (floor_n / 2);
  const double concurrent = run_steps(srun_true, floor_n, 2) * 2 / floor_n;

  // launch: one-step trials through the Slurm executor, 2 at a time (the allocation's CPUs)
  tune::ProcessSpec spec;
  spec.argv = {"/proc/self/exe"};
  spec.argv[0] = std::filesystem::read_symlink("/proc/self/exe").string();
  double launch = 0;
  {
    tune::RunOptions options = options_for(dir, "slurm_launch", launch_n, 1);
    options.slurm = tune::SlurmOptions{};
    const auto start = Clock::now();
    tune::run(tune::isolated("Minimal", spec), std::move(options));
    launch = seconds_since(start) * 2 / launch_n;
  }

  // sweep: the same experiment on both executors
  double sweep_slurm = 0, sweep_process = 0;
  {
    tune::RunOptions options = options_for(dir, "slurm_sweep", sweep_trials, sweep_steps);
    options.slurm = tune::SlurmOptions{};
    const auto start = Clock::now();
    tune::run(tune::isolated("Minimal", spec), std::move(options));
    sweep_slurm = seconds_since(start);
  }
  {
    tune::RunOptions options = options_for(dir, "process_sweep", sweep_trials, sweep_steps);
    options.num_cpus = 2;
    const auto start = Clock::now();
    tune::run(tune::isolated("Minimal", spec), std::move(options));
    sweep_process = seconds_since(start);
  }
  capture("scancel " + job);

  std::cout << "| measure | value |\n|---|---|\n";
  std::cout << fmt::format("| raw `srun true` step, one at a time (latency) | {:.0f} ms |\n", serial * 1e3);
  std::cout << fmt::format("| raw `srun true` steps, 2 in flight: per step (wall x 2 / {}) | {:.0f} ms ({:.1f} steps/s) |\n",
                           floor_n, concurrent * 1e3, 1 / concurrent * 2);
  std::cout << fmt::format("| one-step trials through the Slurm executor, 2 in flight: per trial (wall x 2 / {}) | "
                           "{:.0f} ms = {:.2f}x raw srun (target <= 1.2x) |\n",
                           launch_n, launch * 1e3, launch / concurrent);
  std::cout << fmt::format("| {} trials x {} steps: Slurm executor / process executor | {:.2f} s / {:.2f} s = {:.1f}x |\n",
                           sweep_trials, sweep_steps, sweep_slurm, sweep_process, sweep_slurm / sweep_process);
  return 0;
}
