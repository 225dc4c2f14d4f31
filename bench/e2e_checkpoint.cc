// End-to-end benchmarks of checkpointing and the experiment journal (issue: checkpointing,
// fault tolerance and resume). Prints a table.
//
//   journal      2,000 trials x 100 results, loggers off: seconds with the journal on vs off,
//                as microseconds added per result (and per trial)
//   resume       a 100,000-trial experiment (stopped with work left): time from run(resume)
//                to the first new trial starting, and the time to read the state alone
//   checkpoint   16 trials x 1,000 steps of ~1 ms with checkpoint_freq=10 and 10 MB
//                checkpoints (keep_checkpoints_num=1) vs no checkpoints, as a ratio
//
// Usage: e2e_checkpoint [--quick] [--only NAME] [DIR]   (DIR: where results go, default .)
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "analysis/experiment_state.h"
#include "tune/tune.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct Row {
  std::string name, measure, value, target, verdict;
};

tune::RunOptions base_options(const fs::path& dir, const std::string& name) {
  tune::RunOptions options;
  options.name = name;
  options.local_dir = dir.string();
  options.verbose = 0;
  return options;
}

class Trivial : public tune::Trainable {
 public:
  tune::Result step() override { return {{"loss", 1.0 / static_cast<double>(++n_)}}; }

 private:
  int n_ = 0;
};

std::vector<Row> journal(const fs::path& dir, int trials, int steps) {
  auto once = [&](bool on, int round) {
    tune::RunOptions options = base_options(dir, fmt::format("journal_{}_{}", on ? "on" : "off", round));
    options.num_samples = trials;
    options.stop = {{"training_iteration", steps}};
    options.loggers = {};
    options.write_experiment_state = on;
    const auto start = Clock::now();
    tune::run<Trivial>(std::move(options));
    return seconds_since(start);
  };
  // Alternate and keep the best of three: the difference is small next to the noise.
  double best_on = 1e9;
  double best_off = 1e9;
  for (int round = 0; round < 3; ++round) {
    best_off = std::min(best_off, once(false, round));
    best_on = std::min(best_on, once(true, round));
  }
  const double results = static_cast<double>(trials) * steps;
  const double per_result_us = (best_on - best_off) / results * 1e6;
  const double per_trial_us = (best_on - best_off) / trials * 1e6;
  return {{"journal", fmt::format("{} trials x {} results: off / on", trials, steps),
           fmt::format("{:.3f} s / {:.3f} s", best_off, best_on), "", ""},
          {"journal", "added per result", fmt::format("{:.3f} us", per_result_us), "< 2 us",
           per_result_us < 2 ? "met" : "MISSED"},
          {"journal", "added per trial (add, dir, end records)", fmt::format("{:.1f} us", per_trial_us), "", ""}};
}

// Stops the whole experiment once `after` trials have finished.
class StopAfter : public tune::Stopper {
 public:
  explicit StopAfter(int64_t after) : after_(after) {}
  bool operator()(const std::string&, const tune::Result&) override { return ++seen_ > after_; }
  bool stop_all() override { return seen_ >= after_; }

 private:
  int64_t after_;
  int64_t seen_ = 0;
};

// One result, then done.
class OneStep : public tune::Trainable {
 public:
  tune::Result step() override { return {{"loss", 0.5}, {"done", true}}; }
};

class FirstStart : public tune::Callback {
 public:
  void on_trial_start(const tune::TrialView&) override {
    if (!at) at = Clock::now();
  }
  std::optional<Clock::time_point> at;
};

std::vector<Row> resume(const fs::path& dir, int64_t trials) {
  // The experiment: `trials` one-step trials of a 3-parameter space, then a stop with more to do.
  auto options = [&] {
    tune::RunOptions o = base_options(dir, "resume");
    o.config = {{"lr", tune::loguniform(1e-4, 1e-1)}, {"layers", tune::choice({1, 2, 3})}, {"dropout", tune::uniform(0, 0.5)}};
    o.num_samples = trials + 100;
    o.write_trial_files = false;
    o.raise_on_failed_trial = false;
    o.seed = 1;
    return o;
  };
  tune::RunOptions first = options();
  first.stop = std::make_shared<StopAfter>(trials);
  const auto build_start = Clock::now();
  tune::run<OneStep>(std::move(first));
  const double build_s = seconds_since(build_start);
  const auto state_bytes = fs::file_size(dir / "resume" / "experiment_state.json");

  const auto read_start = Clock::now();
  const tune::detail::StoredExperiment stored = tune::detail::read_stored_experiment(dir / "resume");
  const double read_s = seconds_since(read_start);

  tune::RunOptions again = options();
  again.resume = true;
  auto first_start = std::make_shared<FirstStart>();
  again.callbacks = {first_start};
  const auto resume_start = Clock::now();
  tune::run<OneStep>(std::move(again));
  const double total_s = seconds_since(resume_start);
  const double ready_s = first_start->at ? std::chrono::duration<double>(*first_start->at - resume_start).count() : -1;
  const bool full = trials >= 100000;
  return {{"resume", fmt::format("{} finished trials: built in / state file", stored.finished.size()),
           fmt::format("{:.1f} s / {:.0f} MB", build_s, static_cast<double>(state_bytes) / 1e6), "", ""},
          {"resume", "read the state (snapshot + journal tail)", fmt::format("{:.2f} s", read_s), "", ""},
          {"resume", "run(resume=true) until the next trial starts", fmt::format("{:.2f} s", ready_s), "< 2 s",
           full ? (ready_s >= 0 && ready_s < 2 ? "met" : "MISSED") : "(quick)"},
          {"resume", "whole resumed run (100 more trials, final snapshot)", fmt::format("{:.2f} s", total_s), "", ""}};
}

// ~1 ms of arithmetic per step; the checkpoint is `bytes` of state.
class Heavy : public tune::Trainable {
 public:
  explicit Heavy(size_t bytes) : state_(bytes, 'x') {}
  tune::Result step() override {
    const auto until = Clock::now() + std::chrono::microseconds(1000);
    double x = 0;
    while (Clock::now() < until) x += 1e-9;
    ++n_;
    state_[static_cast<size_t>(n_) % state_.size()] = static_cast<char>(n_);
    return {{"x", x}};
  }
  void save_checkpoint(const fs::path& dir) override {
    std::ofstream out(dir / "state.bin", std::ios::binary);
    out.write(state_.data(), static_cast<std::streamsize>(state_.size()));
    if (!out) throw std::runtime_error("cannot write the checkpoint");
  }
  void load_checkpoint(const fs::path& dir) override {
    std::ifstream in(dir / "state.bin", std::ios::binary);
    in.read(state_.data(), static_cast<std::streamsize>(state_.size()));
  }

 private:
  std::string state_;
  int n_ = 0;
};

std::vector<Row> checkpoint(const fs::path& dir, int trials, int steps, size_t bytes) {
  auto once = [&](bool with_checkpoints) {
    tune::TrainableSpec spec;
    spec.name = "Heavy";
    spec.factory = [bytes] { return std::make_unique<Heavy>(bytes); };
    tune::RunOptions options = base_options(dir, with_checkpoints ? "ckpt_on" : "ckpt_off");
    options.num_samples = trials;
    options.stop = {{"training_iteration", steps}};
    if (with_checkpoints) {
      options.checkpoint_freq = 10;
      options.keep_checkpoints_num = 1;
    }
    const auto start = Clock::now();
    tune::run(spec, std::move(options));
    return seconds_since(start);
  };
  const double off = once(false);
  const double on = once(true);
  const double written_gb = static_cast<double>(trials) * (steps / 10) * static_cast<double>(bytes) / 1e9;
  return {{"checkpoint",
           fmt::format("{} trials x {} steps (1 ms), {} MB every 10: off / on", trials, steps, bytes >> 20),
           fmt::format("{:.2f} s / {:.2f} s", off, on), "", ""},
          {"checkpoint", fmt::format("overhead ratio ({:.1f} GB written)", written_gb),
           fmt::format("{:.2f}x", on / off), "reported", ""}};
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string only;
  fs::path dir = ".";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) only = argv[++i];
    else dir = argv[i];
  }
  dir /= fmt::format("tune_bench_ckpt_{}", getpid());
  std::vector<Row> rows;
  try {
    if (only.empty() || only == "journal") {
      for (auto& r : journal(dir, quick ? 200 : 2000, 100)) rows.push_back(r);
    }
    if (only.empty() || only == "resume") {
      for (auto& r : resume(dir, quick ? 10000 : 100000)) rows.push_back(r);
    }
    if (only.empty() || only == "checkpoint") {
      for (auto& r : checkpoint(dir, 16, quick ? 200 : 1000, size_t{10} << 20)) rows.push_back(r);
    }
  } catch (const std::exception& e) {
    std::cerr << "benchmark failed: " << e.what() << "\n";
    fs::remove_all(dir);
    return 1;
  }
  fs::remove_all(dir);
  std::cout << fmt::format("| {:<10} | {:<56} | {:<22} | {:<8} | {:<7} |\n", "benchmark", "measure", "value", "target",
                           "verdict");
  std::cout << fmt::format("|{:-<12}|{:-<58}|{:-<24}|{:-<10}|{:-<9}|\n", "", "", "", "", "");
  for (const auto& r : rows) {
    std::cout << fmt::format("| {:<10} | {:<56} | {:<22} | {:<8} | {:<7} |\n", r.name, r.measure, r.value, r.target,
                             r.verdict);
  }
  return 0;
}
