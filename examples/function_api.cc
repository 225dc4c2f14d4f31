// function_api.cc — the function API: a training function that reports its results.
//
// Mirrors the user guide's "Training API" section (the function-based example): the
// function prints config["print_me"] and reports {"accuracy": 0.5, "f1": 0.1} 200 times
// (tune.track.log in the guide is reporter.report / reporter(...) here). The trial ends when
// the function returns. It also shows reporter.trial_info(): what a running trial may ask
// about itself (its id, name and directory).
//
//   Usage: function_api [local_dir]   (default ~/tune_results)
#include <chrono>
#include <exception>
#include <iostream>
#include <string>
#include <thread>
#include <utility>

#include "tune/tune.h"

namespace {

void trainable(const tune::Config& config, tune::Reporter& reporter) {
  const std::string print_me = config.value("print_me", "");
  if (!print_me.empty()) std::cout << print_me << '\n';

  const tune::TrialInfo& info = reporter.trial_info();
  std::cout << "trial_info: id=" << info.trial_id << " name=" << info.trial_name << " dir=" << info.trial_dir.string()
            << '\n';

  for (int i = 0; i < 200; ++i) {
    // The guide sleeps a second per iteration to stand in for training; a millisecond keeps this quick.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    reporter({{"accuracy", 0.5}, {"f1", 0.1}});
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    tune::RunOptions options;
    options.name = "function_api";
    options.config = {{"print_me", "hello-world"}};
    options.verbose = 1;
    if (argc > 1) options.local_dir = argv[1];

    const tune::ExperimentAnalysis analysis = tune::run(trainable, std::move(options), "trainable");
    const tune::TrialRecord& trial = analysis.trials().at(0);
    std::cout << "Trial " << trial.name() << " ended " << tune::to_string(trial.status()) << " after "
              << trial.last_result()["training_iteration"] << " reports\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "function_api: " << e.what() << '\n';
    return 1;
  }
}
