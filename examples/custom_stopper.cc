// custom_stopper.cc — the three ways to say when trials stop: a dict, a function, a Stopper.
//
// Mirrors the user guide's "Custom Stopping Criteria" section:
//  1. a dict {"training_iteration": 10, "mean_accuracy": 0.98}: a trial stops when ANY key
//     reaches its value (training_iteration is auto-filled by tune);
//  2. a function (trial_id, result) -> bool;
//  3. the guide's CustomStopper: once any trial reports foo > 10, stop_all() ends the whole
//     experiment — running trials stop after their current step, pending ones never start.
//
//   Usage: custom_stopper [local_dir]   (default ~/tune_results)
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "tune/tune.h"

namespace {

// A learner whose accuracy approaches 1 at a speed set by "lr": 1 - (1 - lr)^iteration.
// "foo" grows by "rate" per step, for the CustomStopper.
class Learner : public tune::Trainable {
 public:
  void setup(const tune::Config& config) override {
    lr_ = config.value("lr", 0.1);
    rate_ = config.value("rate", 1.0);
  }

  tune::Result step() override {
    // A little time per step, as real training takes: concurrent trials then advance at similar speeds.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ++iteration_;
    return {{"mean_accuracy", 1.0 - std::pow(1.0 - lr_, iteration_)}, {"foo", rate_ * iteration_}};
  }

 private:
  double lr_ = 0.1;
  double rate_ = 1.0;
  int iteration_ = 0;
};

// The guide's CustomStopper: stops every trial, and the experiment, once any trial reports foo > 10.
class CustomStopper : public tune::Stopper {
 public:
  bool operator()(const std::string& /*trial_id*/, const tune::Result& result) override {
    if (!should_stop_ && result.value("foo", 0.0) > 10) should_stop_ = true;
    return should_stop_;
  }
  // Whether to stop all trials and prevent new ones from starting.
  bool stop_all() override { return should_stop_; }

 private:
  bool should_stop_ = false;
};

tune::RunOptions base_options(const std::string& name, const std::string& local_dir) {
  tune::RunOptions options;
  options.name = name;
  options.local_dir = local_dir;
  options.verbose = 0;
  return options;
}

void print_trials(const tune::ExperimentAnalysis& analysis) {
  for (const tune::TrialRecord& trial : analysis.trials()) {
    const tune::Result last = trial.last_result();
    std::cout << "  " << trial.config().dump() << " -> " << tune::to_string(trial.status());
    if (last.is_null()) {
      std::cout << ", never started\n";
    } else {
      std::cout << " at iteration " << last["training_iteration"] << " (mean_accuracy "
                << last["mean_accuracy"].get<double>() << ", foo " << last["foo"] << ")\n";
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string local_dir = argc > 1 ? argv[1] : "~/tune_results";

    // 1. A dict: lr 0.5 passes mean_accuracy 0.98 at iteration 6; lr 0.1 runs to iteration 10.
    tune::RunOptions by_dict = base_options("stop_dict", local_dir);
    by_dict.config = {{"lr", tune::grid_search({0.1, 0.5})}};
    by_dict.stop = {{"training_iteration", 10}, {"mean_accuracy", 0.98}};
    std::cout << "stop={training_iteration: 10, mean_accuracy: 0.98}\n";
    print_trials(tune::run<Learner>(std::move(by_dict)));

    // 2. A function of (trial_id, result): give up on slow learners after 3 iterations, and stop
    //    the others once they are good enough.
    tune::RunOptions by_function = base_options("stop_function", local_dir);
    by_function.config = {{"lr", tune::grid_search({0.05, 0.3, 0.6})}};
    by_function.stop = [](const std::string& /*trial_id*/, const tune::Result& result) {
      const double accuracy = result["mean_accuracy"].get<double>();
      const auto iteration = result["training_iteration"].get<int64_t>();
      return (iteration >= 3 && accuracy < 0.5) || accuracy > 0.95;
    };
    std::cout << "stop=function(trial_id, result)\n";
    print_trials(tune::run<Learner>(std::move(by_function)));

    // 3. A Stopper with stop_all(). Two trials run at a time (num_cpus = 2, one CPU each): when the
    //    rate-3 trial passes foo 10 (at iteration 4, unless the machine is so busy that the rate-1 trial
    //    gets there first), everything stops: the other running trial ends after its current step, the
    //    waiting rate-2 trial never starts, and the rate-0.5 one is never created (trials are generated
    //    only when one can start).
    auto stopper = std::make_shared<CustomStopper>();
    tune::RunOptions by_stopper = base_options("stop_all", local_dir);
    by_stopper.config = {{"rate", tune::grid_search({1.0, 3.0, 2.0, 0.5})}};
    by_stopper.stop = stopper;
    by_stopper.num_cpus = 2;
    std::cout << "stop=CustomStopper()\n";
    print_trials(tune::run<Learner>(std::move(by_stopper)));
    std::cout << "CustomStopper.stop_all() = " << std::boolalpha << stopper->stop_all() << '\n';
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "custom_stopper: " << e.what() << '\n';
    return 1;
  }
}
