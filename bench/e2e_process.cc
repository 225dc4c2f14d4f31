// End-to-end benchmarks of trials as child processes (issue: process executor). Prints a table.
//
//   launch      1,000 one-step trials of a minimal registered C++ worker (this binary re-run
//               as a worker), 2 at a time: per-trial overhead, the median of each trial's
//               start -> end time (from per-trial timestamps) and wall time x 2 / trials
//   lockstep    100 concurrent process trials x 1,000 steps of a trivial worker: steps/s
//   floor       what the machine itself charges: posix_spawn + exit + waitpid of /bin/true and
//               of this binary as a worker that finds no setup (no tune involved), median of 200;
//               and the lockstep exchange alone (forked children answering lines, no tune)
//
// Both run with the default loggers (per-trial files on) and again with per-trial files off.
// Each row also gives the CPU time per trial or step, of the driver and of its children
// (getrusage), which other load on a shared machine disturbs less than the wall time.
// Usage: e2e_process [--quick] [--only floor|launch|lockstep] [--files on|off] [DIR]
//   (DIR: where results go, default .; --files: only that half of the launch and lockstep rows)
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
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
  std::string name, measure, value, target, verdict, cpu;
};

// CPU seconds (user + system) of this process and of its reaped descendants (the trials and
// zygotes: their own children are counted once their parent is reaped), so that a run's CPU
// cost per step can be read apart from the wall time, which other load on the machine inflates.
struct CpuTimes {
  double self = 0, children = 0;
  static CpuTimes now() {
    auto seconds = [](const rusage& u) {
      return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
             static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
    };
    rusage self{}, children{};
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    return {seconds(self), seconds(children)};
  }
  // "driver X µs + children Y µs" per unit, since `start`.
  std::string per(const CpuTimes& start, double units) const {
    return fmt::format("driver {:.1f} + children {:.1f} us", (self - start.self) / units * 1e6,
                       (children - start.children) / units * 1e6);
  }
};

Row launch(const std::filesystem::path& dir, int64_t trials, bool files) {
  auto options = base_options(dir, files ? "bench_launch" : "bench_launch_nofiles", files);
  options.num_samples = trials;
  options.num_cpus = 2;
  options.stop = {{"training_iteration", 1}};
  auto clock = std::make_shared<TrialClock>();
  options.callbacks.push_back(clock);
  const CpuTimes cpu = CpuTimes::now();
  const auto start = Clock::now();
  tune::run("Minimal", std::move(options));
  const double wall = seconds_since(start);
  const std::string cpu_per_trial = CpuTimes::now().per(cpu, static_cast<double>(trials));
  const double median_ms = clock->median() * 1e3;
  const double amortised_ms = wall * 2 / static_cast<double>(trials) * 1e3;
  const bool full = trials == 1000;
  return {"launch", fmt::format("{} one-step trials, 2 at a time, files {}", trials, files ? "on" : "off"),
          fmt::format("median {:.2f} ms ({:.2f} ms amortised)", median_ms, amortised_ms), "median < 3 ms",
          full ? (median_ms < 3 ? "met" : "MISSED") : "(quick)", cpu_per_trial + " per trial"};
}

Row lockstep(const std::filesystem::path& dir, int64_t trials, int64_t steps, bool files) {
  auto options = base_options(dir, files ? "bench_lockstep" : "bench_lockstep_nofiles", files);
  options.num_samples = trials;
  options.num_cpus = static_cast<double>(trials);
  options.stop = {{"training_iteration", steps}};
  const CpuTimes cpu = CpuTimes::now();
  const auto start = Clock::now();
  tune::run("Minimal", std::move(options));
  const double wall = seconds_since(start);
  const std::string cpu_per_step = CpuTimes::now().per(cpu, static_cast<double>(trials * steps));
  const double rate = static_cast<double>(trials * steps) / wall;
  const bool full = trials == 100 && steps == 1000;
  return {"lockstep", fmt::format("{} trials x {} steps, files {}", trials, steps, files ? "on" : "off"),
          fmt::format("{:.0f} steps/s ({:.2f} s)", rate, wall), ">= 50,000 steps/s",
          full ? (rate >= 50000 ? "met" : "MISSED") : "(quick)", cpu_per_step + " per step"};
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
          "(the machine's)", "", ""};
}

// The lockstep exchange with no tune at all: `children` forked processes, each answering a
// request line on a socket with a reply line on a pipe, `steps` times, driven by one poll()
// loop that sends the next request as soon as a reply is read (the transport and wakeups
// the process executor cannot avoid).
Row lockstep_floor_row(int children, int steps) {
  std::vector<int> requests, replies;
  std::vector<pid_t> pids;
  for (int i = 0; i < children; ++i) {
    int s[2], p[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) != 0 || pipe2(p, O_CLOEXEC) != 0) break;
    const pid_t pid = fork();
    if (pid == 0) {
      for (size_t j = 0; j < requests.size(); ++j) {
        close(requests[j]);
        close(replies[j]);
      }
      close(s[0]);
      close(p[0]);
      static const char kReply[] = "{\"type\":\"result\",\"result\":{\"score\":1}}\n";
      char buffer[256];
      while (read(s[1], buffer, sizeof buffer) > 0) {
        if (write(p[1], kReply, sizeof kReply - 1) < 0) break;
      }
      _exit(0);
    }
    close(s[1]);
    close(p[1]);
    requests.push_back(s[0]);
    replies.push_back(p[0]);
    pids.push_back(pid);
  }
  static const char kStep[] = "{\"type\":\"step\"}\n";
  const CpuTimes cpu = CpuTimes::now();
  const auto start = Clock::now();
  std::vector<int> left(requests.size(), steps);
  int64_t done = 0;
  const int64_t total = static_cast<int64_t>(requests.size()) * steps;
  for (int fd : requests) send(fd, kStep, sizeof kStep - 1, MSG_NOSIGNAL);
  std::vector<pollfd> fds(requests.size());
  char buffer[4096];
  while (done < total) {
    for (size_t i = 0; i < replies.size(); ++i) fds[i] = {replies[i], POLLIN, 0};
    if (poll(fds.data(), fds.size(), 1000) <= 0) break;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0 || read(replies[i], buffer, sizeof buffer) <= 0) continue;
      ++done;
      if (--left[i] > 0) send(requests[i], kStep, sizeof kStep - 1, MSG_NOSIGNAL);
    }
  }
  const double wall = seconds_since(start);
  for (int fd : requests) close(fd);
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  for (int fd : replies) close(fd);
  const std::string cpu_per_step = CpuTimes::now().per(cpu, static_cast<double>(total));
  return {"floor",
          fmt::format("lockstep IPC alone: {} forked children x {}", requests.size(), steps),
          fmt::format("{:.0f} steps/s", static_cast<double>(done) / wall),
          "(the machine's)",
          "",
          cpu_per_step + " per step"};
}

}  // namespace

int main(int argc, char** argv) {
  if (int rc = tune::worker_main(argc, argv); rc >= 0) return rc;
  bool quick = false;
  std::string only, files_only;
  std::filesystem::path dir = ".";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0)
      quick = true;
    else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc)
      only = argv[++i];
    else if (std::strcmp(argv[i], "--files") == 0 && i + 1 < argc)
      files_only = argv[++i];
    else
      dir = argv[i];
  }
  dir /= fmt::format("tune_bench_process_{}", getpid());
  std::vector<Row> rows;
  try {
    if (only.empty() || only == "floor") {
      rows.push_back(floor_row());
      rows.push_back(lockstep_floor_row(quick ? 20 : 100, quick ? 200 : 1000));
    }
    for (bool files : {true, false}) {
      if (!files_only.empty() && files != (files_only == "on")) continue;
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
  std::cout << fmt::format("| {:<9} | {:<44} | {:<36} | {:<18} | {:<7} | {:<46} |\n", "benchmark", "measure", "value",
                           "target", "verdict", "CPU");
  std::cout << fmt::format("|{:-<11}|{:-<46}|{:-<38}|{:-<20}|{:-<9}|{:-<48}|\n", "", "", "", "", "", "");
  for (const auto& r : rows) {
    std::cout << fmt::format("| {:<9} | {:<44} | {:<36} | {:<18} | {:<7} | {:<46} |\n", r.name, r.measure, r.value,
                             r.target, r.verdict, r.cpu);
  }
  return 0;
}
