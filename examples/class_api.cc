// class_api.cc — the class API: a tune::Trainable subclass run with a config and a stop criterion.
//
// Mirrors the user guide's "Training API" section (the dry-run Trainable): setup() prints
// config["print_me"], every step() returns {"accuracy": 0.5, "f1": 0.1}, and the trial is
// stopped at training_iteration 200 (an auto-filled field: tune counts the steps).
//
//   Usage: class_api [local_dir]   (default ~/tune_results)
#include <exception>
#include <iostream>
#include <string>
#include <utility>

#include "tune/tune.h"

namespace {

class PrintMe : public tune::Trainable {
 public:
  void setup(const tune::Config& config) override {
    const std::string print_me = config.value("print_me", "");
    if (!print_me.empty()) std::cout << print_me << '\n';
  }

  // One step of training; tune calls it repeatedly until the trial is stopped.
  tune::Result step() override { return {{"accuracy", 0.5}, {"f1", 0.1}}; }
};

}  // namespace

int main(int argc, char** argv) {
  try {
    tune::RunOptions options;
    options.name = "class_api";
    options.config = {{"print_me", "hello-world"}};
    options.stop = {{"training_iteration", 200}};
    options.verbose = 1;  // status at the start and the end, not every result
    if (argc > 1) options.local_dir = argv[1];

    const tune::ExperimentAnalysis analysis = tune::run<PrintMe>(std::move(options));
    const tune::TrialRecord& trial = analysis.trials().at(0);
    const tune::Result last = trial.last_result();
    std::cout << "Trial " << trial.name() << " ended " << tune::to_string(trial.status()) << " after "
              << last["training_iteration"] << " iterations; last result: accuracy=" << last["accuracy"]
              << " f1=" << last["f1"] << '\n';
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "class_api: " << e.what() << '\n';
    return 1;
  }
}
