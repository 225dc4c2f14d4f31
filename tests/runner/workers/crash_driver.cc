// Test helper of the crash-consistency tests (tests/runner/crash_test.cc): a driver that runs
// one checkpointing experiment and can be SIGKILLed at any moment, then run again to resume.
//
//   tune_test_crash_driver LOCAL_DIR NAME inproc|process [SAMPLES] [ITERATIONS]
//
// Runs NAME under LOCAL_DIR (resuming when its state exists) with the Accumulator trainable,
// in-process or each trial in a child process (this binary re-run as a worker); exits 0
// when it finished. The trainable's results depend on its whole history, so a wrong
// restore shows up as a different "sum" than an uninterrupted run's.
// SCHEDULER=asha|hyperband|hb_bohb|median_stopping_rule|pbt: that scheduler (metric sum,
// max) decides, one trial at a time so that its decisions do not depend on the order
// concurrent trials happen to report in.
// SEARCHER=tpe: TPE (seeded, metric sum, max) suggests the configs, one trial at a time, so
// that each suggestion follows from the trials before it alone.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "tune/process.h"
#include "tune/tune.h"

namespace {

class Accumulator : public tune::Trainable {
 public:
  void setup(const tune::Config& config) override {
    x_ = config.at("x").get<double>();
    k_ = config.at("k").get<int>();
  }
  tune::Result step() override {
    ++iteration_;
    sum_ = sum_ * 0.5 + x_ * iteration_ + k_;
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    return {{"sum", sum_}, {"own_iteration", iteration_}};
  }
  void save_checkpoint(const std::filesystem::path& dir) override {
    const std::string text = tune::Json{{"sum", sum_}, {"iteration", iteration_}}.dump();
    std::ofstream out(dir / "state.json");
    // KILL_IN_SAVE=N: the first save at iteration N writes half its state and dies (SIGKILL),
    // leaving a torn checkpoint behind.
    if (const char* at = std::getenv("KILL_IN_SAVE"); at != nullptr && std::atoi(at) == iteration_) {
      const std::filesystem::path marker = trial_info().trial_dir / "killed_in_save";
      if (!std::filesystem::exists(marker)) {
        std::ofstream(marker) << "1";
        out << text.substr(0, text.size() / 2) << std::flush;
        ::raise(SIGKILL);
      }
    }
    out << text << std::flush;
    if (!out) throw std::runtime_error("cannot write " + (dir / "state.json").string() + ": " + std::strerror(errno));
  }
  void load_checkpoint(const std::filesystem::path& dir) override {
    std::ifstream in(dir / "state.json");
    const tune::Json state = tune::Json::parse(in);  // throws on a torn file
    sum_ = state.at("sum").get<double>();
    iteration_ = state.at("iteration").get<int>();
  }

 private:
  double x_ = 0;
  int k_ = 0;
  double sum_ = 0;
  int iteration_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  tune::register_trainable("Accumulator", tune::make_trainable<Accumulator>("Accumulator"));
  if (int rc = tune::worker_main(argc, argv); rc >= 0) return rc;
  if (argc < 4) {
    std::cerr << "usage: tune_test_crash_driver LOCAL_DIR NAME inproc|process [SAMPLES] [ITERATIONS]\n";
    return 2;
  }
  const std::string mode = argv[3];
  tune::RunOptions options;
  options.local_dir = argv[1];
  options.name = argv[2];
  options.config = {{"x", tune::uniform(0, 1)}, {"k", tune::grid_search({1, 2})}};
  options.num_samples = argc > 4 ? std::atoi(argv[4]) : 25;
  options.stop = {{"training_iteration", argc > 5 ? std::atoi(argv[5]) : 12}};
  options.seed = 7;
  options.checkpoint_freq = 3;
  options.max_failures = 2;
  options.num_cpus = 4;
  options.verbose = 0;
  if (const char* scheduler = std::getenv("SCHEDULER"); scheduler != nullptr) {
    const std::string type = scheduler;
    tune::Json spec = tune::Json{{"type", type}, {"max_t", 9}, {"reduction_factor", 3}};
    if (type == "asha") spec = {{"type", "asha"}, {"max_t", 15}, {"grace_period", 1}, {"reduction_factor", 3}};
    if (type == "median_stopping_rule") {
      spec = {{"type", type}, {"time_attr", "training_iteration"}, {"grace_period", 4}, {"min_samples_required", 3}};
    }
    if (type == "pbt") {
      spec = {{"type", "pbt"},
              {"time_attr", "training_iteration"},
              {"perturbation_interval", 3},
              {"quantile_fraction", 0.25},
              {"hyperparam_mutations", {{"x", {{"uniform", {0, 1}}}}}},
              {"log_config", true},
              {"seed", 5}};
    }
    options.scheduler = tune::make_scheduler(spec);
    options.metric = "sum";
    options.mode = "max";
    options.num_cpus = 1;
  }
  if (const char* searcher = std::getenv("SEARCHER"); searcher != nullptr && std::string(searcher) == "tpe") {
    options.config = {{"x", tune::uniform(0, 1)}, {"k", tune::randint(1, 3)}};
    tune::TPESearcher::Options tpe;
    tpe.seed = 11;
    tpe.n_startup_trials = 4;
    options.search_alg = std::make_shared<tune::TPESearcher>(tpe);
    options.metric = "sum";
    options.mode = "max";
    options.num_cpus = 1;
  }
  // Resume once the journal holds its head record (a kill may come before that).
  std::ifstream journal(std::filesystem::path(argv[1]) / argv[2] / "experiment_state.jsonl");
  std::string head;
  const bool has_head = std::getline(journal, head) && !journal.eof();
  const char* resume_mode = std::getenv("RESUME_MODE");
  options.resume = has_head ? (resume_mode != nullptr ? resume_mode : "LOCAL") : "";
  try {
    if (mode == "process") {
      tune::ProcessSpec spec;
      spec.stop_grace_s = 2;
      tune::run(tune::isolated("Accumulator", spec), std::move(options));
    } else {
      tune::run(tune::registered_trainable("Accumulator"), std::move(options));
    }
  } catch (const tune::TuneError& e) {
    std::cerr << "crash_driver: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
