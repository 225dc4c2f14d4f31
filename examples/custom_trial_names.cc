// custom_trial_names.cc — naming trials (and their directories) with trial_name_creator.
//
// Mirrors the user guide's "Custom Trial Names" section: trial_name_creator receives a view of
// the new trial and returns its display name, here "<trainable>_<lr>". That name is what the
// status table shows and the prefix of the trial's directory ("<name>_<tag>_<date>").
// trial_dirname_creator, its sibling, replaces the whole directory name instead.
//
//   Usage: custom_trial_names [local_dir]   (default ~/tune_results)
#include <exception>
#include <iostream>
#include <string>
#include <utility>

#include "tune/tune.h"

namespace {

class MyTrainableClass : public tune::Trainable {
 public:
  void setup(const tune::Config& config) override { lr_ = config.value("lr", 0.1); }
  tune::Result step() override {
    loss_ *= 1.0 - lr_;
    return {{"mean_loss", loss_}};
  }

 private:
  double lr_ = 0.1;
  double loss_ = 1.0;
};

// The guide's trial_name_string(trial): the trainable's name and the trial's learning rate.
std::string trial_name_string(const tune::TrialView& trial) {
  return trial.trainable_name() + "_" + trial.config()["lr"].dump();
}

void print_trials(const tune::ExperimentAnalysis& analysis) {
  for (const tune::TrialRecord& trial : analysis.trials()) {
    std::cout << "  name: " << trial.name() << "   directory: " << trial.logdir().filename().string() << '\n';
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string local_dir = argc > 1 ? argv[1] : "~/tune_results";

    tune::RunOptions options;
    options.name = "example-experiment";
    options.local_dir = local_dir;
    options.config = {{"lr", tune::grid_search({0.01, 0.1, 0.5})}};
    options.stop = {{"training_iteration", 3}};
    options.trial_name_creator = trial_name_string;
    options.verbose = 1;  // the status table lists the trials by their custom names
    const auto named = tune::run(tune::make_trainable<MyTrainableClass>("MyTrainableClass"), options);
    std::cout << "trial_name_creator:\n";
    print_trials(named);

    // The whole directory name: here without the date (a name taken by an earlier run gets a random suffix).
    options.name = "example-experiment-dirnames";
    options.trial_dirname_creator = [](const tune::TrialView& trial) {
      return "trial_" + std::to_string(trial.index()) + "_lr=" + trial.config()["lr"].dump();
    };
    options.verbose = 0;
    const auto dirnamed = tune::run(tune::make_trainable<MyTrainableClass>("MyTrainableClass"), std::move(options));
    std::cout << "trial_name_creator + trial_dirname_creator:\n";
    print_trials(dirnamed);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "custom_trial_names: " << e.what() << '\n';
    return 1;
  }
}
