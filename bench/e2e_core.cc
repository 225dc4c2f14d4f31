// End-to-end benchmarks of the in-process core (issue: core). Prints a table.
//
//   bookkeeping  10,000 trials x 1 step of a trivial trainable, default loggers on
//   throughput   96 concurrent trials reporting as fast as they can for 10 s, loggers on:
//                class API, function API on threads, function API as fibers
//   csv_new_keys 2 trials x 2,000 results, one of them with a new key in every result
//   scale        1,000,000 one-step trials, per-trial files off: peak RSS and the time of
//                the first vs the last 100,000 trials
//
// Usage: e2e_core [--quick] [--only NAME] [--iterations N] [DIR]   (DIR: where results go, default .)
//   NAME: bookkeeping, throughput (throughput_class, throughput_function, throughput_fiber:
//         one of them), csv_new_keys, scale
//   --iterations N: throughput trials stop after N results each instead of after 10 s
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "tune/tune.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// CPU seconds (user + system) of the calling thread or of the whole process. On a shared,
// loaded machine wall-clock rates say more about the neighbours than about tune; CPU time
// per result does not (much).
double cpu_seconds(int who) {
  rusage usage{};
  getrusage(who, &usage);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return s(usage.ru_utime) + s(usage.ru_stime);
}

long peak_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

tune::RunOptions base_options(const std::filesystem::path& dir, const std::string& name) {
  tune::RunOptions options;
  options.name = name;
  options.local_dir = dir.string();
  options.verbose = 0;
  options.raise_on_failed_trial = true;
  return options;
}

// Records when every `every`-th trial completes.
class CompletionClock : public tune::Callback {
 public:
  explicit CompletionClock(int64_t every) : every_(every) {}
  void on_trial_complete(const tune::TrialView&) override {
    if (++done_ % every_ == 0) marks_.push_back(Clock::now());
  }
  std::vector<Clock::time_point> marks_;

 private:
  int64_t every_;
  int64_t done_ = 0;
};

struct Row {
  std::string name, measure, value, target, verdict;
};

Row bookkeeping(const std::filesystem::path& dir, int64_t trials) {
  auto options = base_options(dir, "bench_bookkeeping");
  options.num_samples = trials;
  options.num_cpus = 2;
  options.config = {{"x", tune::uniform(0, 1)}};
  const auto start = Clock::now();
  tune::run([](const tune::Config& c, tune::Reporter& r) { r.report({{"score", c["x"]}}); }, std::move(options));
  const double s = seconds_since(start);
  return {"bookkeeping", fmt::format("{} trials x 1 step, loggers on", trials), fmt::format("{:.2f} s ({:.0f} us/trial)", s, s / trials * 1e6),
          "< 5 s for 10,000", trials == 10000 ? (s < 5 ? "met" : "MISSED") : "(quick)"};
}

// Counts every result the runner logged.
class ResultCounter : public tune::Callback {
 public:
  void on_trial_result(const tune::TrialView&, const tune::Result&) override { ++results; }
  int64_t results = 0;
};

// A trivial class-API trainable: one cheap result per step.
class Trivial : public tune::Trainable {
 public:
  tune::Result step() override {
    ++i_;
    return {{"score", static_cast<double>(i_)}, {"loss", 1.0 / static_cast<double>(i_)}};
  }

 private:
  int64_t i_ = 0;
};

// `iterations` > 0: each trial stops after that many results instead of after `seconds`
// (fixed work, for instruction counts under callgrind).
// `fibers`: the function API with FunctionExecution::kFiber.
Row throughput(const std::filesystem::path& dir, double seconds, bool function_api, int64_t iterations,
               bool fibers = false) {
  auto options = base_options(dir, function_api ? "bench_throughput_fn" : "bench_throughput");
  if (fibers) options.function_execution = tune::FunctionExecution::kFiber;
  const char* api = !function_api ? "class" : fibers ? "function (fiber)" : "function (thread)";
  options.num_samples = 96;
  options.num_cpus = 96;
  if (iterations > 0) {
    options.stop = {{"training_iteration", iterations}};
  } else {
    options.time_budget_s = seconds;
  }
  auto counter = std::make_shared<ResultCounter>();
  options.callbacks.push_back(counter);
  const auto start = Clock::now();
  const double thread_cpu_start = cpu_seconds(RUSAGE_THREAD);  // the runner runs on this thread
  const double process_cpu_start = cpu_seconds(RUSAGE_SELF);
  if (function_api) {
    tune::run(
        [](const tune::Config&, tune::Reporter& r) {
          for (int64_t i = 1;; ++i) r.report({{"score", static_cast<double>(i)}, {"loss", 1.0 / static_cast<double>(i)}});
        },
        std::move(options));
  } else {
    tune::run<Trivial>(std::move(options));
  }
  const double s = seconds_since(start);
  const auto results = static_cast<double>(counter->results);
  const double rate = results / s;
  const double runner_us = (cpu_seconds(RUSAGE_THREAD) - thread_cpu_start) / results * 1e6;
  const double all_us = (cpu_seconds(RUSAGE_SELF) - process_cpu_start) / results * 1e6;
  std::cerr << fmt::format("throughput ({} API): {} results in {:.2f} s; CPU per result: runner thread {:.2f} us, all "
                           "threads {:.2f} us\n",
                           api, counter->results, s, runner_us, all_us);
  return {"throughput", fmt::format("96 concurrent {} trials, {:.0f} s, loggers on", api, seconds),
          fmt::format("{:.0f} results/s", rate), ">= 100,000 results/s", rate >= 100000 ? "met" : "MISSED"};
}

std::vector<Row> scale(const std::filesystem::path& dir, int64_t trials) {
  auto options = base_options(dir, "bench_scale");
  options.num_samples = trials;
  options.num_cpus = 2;
  options.write_trial_files = false;
  options.config = {{"x", tune::uniform(0, 1)}, {"y", tune::choice({"a", "b", "c"})}};
  const int64_t block = trials / 10;
  auto clock = std::make_shared<CompletionClock>(block);
  options.callbacks.push_back(clock);
  const auto start = Clock::now();
  options.stop = {{"training_iteration", 1}};
  tune::run<Trivial>(std::move(options));
  const double s = seconds_since(start);
  const double first = std::chrono::duration<double>(clock->marks_.front() - start).count();
  const double last =
      std::chrono::duration<double>(clock->marks_.back() - clock->marks_[clock->marks_.size() - 2]).count();
  if (std::getenv("TUNE_BENCH_VERBOSE")) {
    for (size_t i = 1; i < clock->marks_.size(); ++i) {
      std::cerr << fmt::format("block {}: {:.3f} s\n", i, std::chrono::duration<double>(clock->marks_[i] - clock->marks_[i - 1]).count());
    }
  }
  const double rss_mb = static_cast<double>(peak_rss_kb()) / 1024.0;
  const bool full = trials == 1000000;
  return {{"scale", fmt::format("{} one-step trials, files off: total", trials), fmt::format("{:.1f} s", s), "", ""},
          {"scale", "peak RSS", fmt::format("{:.0f} MB", rss_mb), "< 1 GB", full ? (rss_mb < 1024 ? "met" : "MISSED") : "(quick)"},
          {"scale", fmt::format("last {} / first {} trials", block, block),
           fmt::format("{:.2f} s / {:.2f} s = {:.2f}x", last, first, last / first), "<= 1.5x",
           full ? (last / first <= 1.5 ? "met" : "MISSED") : "(quick)"}};
}

// Logging when result keys come and go (issue 17 item 8): 2,000 results each bringing a new
// key, beside a trial with fixed keys, against the same run with fixed keys only (the floor).
Row csv_new_keys(const std::filesystem::path& dir) {
  const auto run_one = [&](bool new_keys) {
    auto options = base_options(dir, new_keys ? "bench_csv_new_keys" : "bench_csv_fixed_keys");
    options.num_samples = 2;
    options.num_cpus = 2;
    options.stop = {{"training_iteration", 2000}};
    options.config = {{"changing", tune::grid_search({new_keys, false})}};
    const auto start = Clock::now();
    tune::run(
        [](const tune::Config& c, tune::Reporter& r) {
          const bool changing = c["changing"].get<bool>();
          for (int64_t i = 1;; ++i) {
            tune::Result result = {{"loss", 1.0 / static_cast<double>(i)}};
            if (changing) result["key_" + std::to_string(i)] = i;
            r.report(std::move(result));
          }
        },
        std::move(options));
    return seconds_since(start);
  };
  const double floor = run_one(false);
  const double s = run_one(true);
  return {"csv_new_keys", "2 trials x 2,000 results, one with a new key in each",
          fmt::format("{:.2f} s ({:.1f}x fixed keys)", s, s / floor), "< 2 s", s < 2 ? "met" : "MISSED"};
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string only;
  int64_t iterations = 0;
  // Default: the current directory. A directory where many files were recently deleted
  // (a busy /tmp) makes ext4 inode allocation several times slower and hides our own cost.
  std::filesystem::path dir = ".";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
    else if (std::strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) iterations = std::atoll(argv[++i]);
    else dir = argv[i];
  }
  dir /= fmt::format("tune_bench_{}", getpid());
  std::vector<Row> rows;
  try {
    if (only.empty() || only == "bookkeeping") rows.push_back(bookkeeping(dir, quick ? 1000 : 10000));
    if (only.empty() || only == "throughput" || only == "throughput_class") rows.push_back(throughput(dir, quick ? 2 : 10, false, iterations));
    if (only.empty() || only == "throughput" || only == "throughput_function") rows.push_back(throughput(dir, quick ? 2 : 10, true, iterations));
    if (only.empty() || only == "throughput" || only == "throughput_fiber") rows.push_back(throughput(dir, quick ? 2 : 10, true, iterations, true));
    if (only.empty() || only == "csv_new_keys") rows.push_back(csv_new_keys(dir));
    if (only.empty() || only == "scale") {
      for (auto& r : scale(dir, quick ? 100000 : 1000000)) rows.push_back(r);
    }
  } catch (const std::exception& e) {
    std::cerr << "benchmark failed: " << e.what() << "\n";
    std::filesystem::remove_all(dir);
    return 1;
  }
  if (std::getenv("TUNE_BENCH_KEEP") == nullptr) std::filesystem::remove_all(dir);  // set: to look at the files
  std::cout << fmt::format("| {:<11} | {:<58} | {:<28} | {:<20} | {:<7} |\n", "benchmark", "measure", "value", "target",
                           "verdict");
  std::cout << fmt::format("|{:-<13}|{:-<60}|{:-<30}|{:-<22}|{:-<9}|\n", "", "", "", "", "");
  for (const auto& r : rows) {
    std::cout << fmt::format("| {:<11} | {:<58} | {:<28} | {:<20} | {:<7} |\n", r.name, r.measure, r.value, r.target,
                             r.verdict);
  }
  return 0;
}
