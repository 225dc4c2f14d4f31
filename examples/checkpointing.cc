// checkpointing.cc — checkpoints, recovery from a failure, and resuming an experiment.
//
// A trainable fits w to minimise (w - target)^2 by gradient descent; its state (w and how many
// steps it took) is what it checkpoints. Every 5th iteration is checkpointed, only the 2 best
// by loss are kept (plus the newest), and each trial crashes once at iteration 12: with
// max_failures = 1 it restarts from checkpoint_10 and finishes, each iteration logged once.
// Running the same experiment again with resume = true finds nothing left to do.
//
//   Usage: checkpointing [local_dir]   (default ~/tune_results)
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

#include "tune/tune.h"

namespace {

class Fit : public tune::Trainable {
 public:
  void setup(const tune::Config& config) override {
    lr_ = config.at("lr").get<double>();
    target_ = config.at("target").get<double>();
  }

  tune::Result step() override {
    ++steps_;
    if (steps_ == 12 && !crashed_before()) throw std::runtime_error("simulated crash at step 12");
    w_ -= lr_ * 2 * (w_ - target_);
    return {{"loss", (w_ - target_) * (w_ - target_)}, {"steps", steps_}};
  }

  void save_checkpoint(const std::filesystem::path& dir) override {
    std::ofstream(dir / "state.txt") << w_ << ' ' << steps_;
  }
  void load_checkpoint(const std::filesystem::path& dir) override {
    std::ifstream(dir / "state.txt") >> w_ >> steps_;
    restored_ = true;
  }

 private:
  // One crash per trial: the restored trial remembers it came back from a checkpoint.
  bool crashed_before() const { return restored_; }

  double lr_ = 0.1;
  double target_ = 0;
  double w_ = 0;
  int steps_ = 0;
  bool restored_ = false;
};

tune::RunOptions options_for(const std::string& local_dir) {
  tune::RunOptions options;
  options.name = "checkpointing";
  options.config = {{"lr", tune::grid_search({0.05, 0.1})}, {"target", tune::grid_search({1.0, 3.0})}};
  options.stop = {{"training_iteration", 20}};
  options.checkpoint_freq = 5;
  options.keep_checkpoints_num = 2;
  options.checkpoint_score_attr = "min-loss";
  options.max_failures = 1;
  options.verbose = 0;
  if (!local_dir.empty()) options.local_dir = local_dir;
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string local_dir = argc > 1 ? argv[1] : "";
    const tune::ExperimentAnalysis analysis = tune::run<Fit>(options_for(local_dir));
    for (const tune::TrialRecord& trial : analysis.trials()) {
      std::set<std::string> checkpoints;
      for (const auto& entry : std::filesystem::directory_iterator(trial.logdir())) {
        const std::string name = entry.path().filename().string();
        if (name.starts_with("checkpoint_")) checkpoints.insert(name);
      }
      std::string kept;
      for (const auto& name : checkpoints) kept += (kept.empty() ? "" : " ") + name;
      std::ifstream results(trial.logdir() / "result.json");
      int lines = 0;
      for (std::string line; std::getline(results, line);) ++lines;
      std::cout << trial.name() << ": " << tune::to_string(trial.status()) << " after "
                << trial.last_result()["training_iteration"] << " iterations (" << lines
                << " results logged), restored from a checkpoint after a crash: "
                << (trial.last_result()["iterations_since_restore"] == 10 ? "yes" : "no") << "; kept: " << kept << "\n";
    }
    // The experiment is finished: resuming it runs nothing and returns the same trials.
    tune::RunOptions again = options_for(local_dir);
    again.resume = true;
    const tune::ExperimentAnalysis resumed = tune::run<Fit>(std::move(again));
    std::cout << "resume = true: " << resumed.trials().size() << " trials, nothing left to run\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "checkpointing: " << e.what() << "\n";
    return 1;
  }
}
