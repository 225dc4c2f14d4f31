// custom_logger.cc — a custom Logger running alongside the default JSON/CSV/TensorBoard loggers.
//
// Mirrors the user guide's "Logging" section: `loggers=DEFAULT_LOGGERS + (CustomLogger,)` is
// `options.loggers = tune::default_loggers(); options.loggers.push_back(tune::logger<MyLogger>());`.
// tune makes one logger per trial (from the experiment and the trial); it sees every result of
// that trial and is closed when the trial ends. MyLogger writes one line per result to
// my_log.txt in the trial's directory, next to result.json, progress.csv and the event file.
//
//   Usage: custom_logger [local_dir]   (default ~/tune_results)
#include <algorithm>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tune/tune.h"

namespace {

class MyLogger : public tune::Logger {
 public:
  // The view is only valid during this call: keep what is needed, not the view.
  MyLogger(const tune::ExperimentInfo& experiment, const tune::TrialView& trial)
      : out_(trial.logdir() / "my_log.txt"), trial_name_(trial.name()) {
    if (!out_) throw std::runtime_error("cannot write " + (trial.logdir() / "my_log.txt").string());
    out_ << "experiment " << experiment.name << ", trial " << trial_name_ << '\n';
  }

  void on_result(const tune::Result& result) override {
    out_ << "iteration " << result["training_iteration"] << ": mean_loss=" << result["mean_loss"] << '\n';
  }

  void flush() override { out_.flush(); }

  void close(const tune::TrialView& trial) override {
    out_ << trial_name_ << " ended " << tune::to_string(trial.status()) << '\n';
    out_.close();
  }

 private:
  std::ofstream out_;
  std::string trial_name_;
};

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

}  // namespace

int main(int argc, char** argv) {
  try {
    tune::RunOptions options;
    options.name = "experiment_name";
    if (argc > 1) options.local_dir = argv[1];
    options.config = {{"lr", tune::grid_search({0.1, 0.5})}};
    options.stop = {{"training_iteration", 3}};
    options.loggers = tune::default_loggers();
    options.loggers.push_back(tune::logger<MyLogger>());
    options.verbose = 0;

    const tune::ExperimentAnalysis analysis =
        tune::run(tune::make_trainable<MyTrainableClass>("MyTrainableClass"), std::move(options));
    const std::filesystem::path dir = analysis.trials().at(0).logdir();

    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) files.push_back(entry.path().filename());
    std::sort(files.begin(), files.end());
    std::cout << "Files in " << dir.string() << ":\n";
    for (const std::string& file : files) std::cout << "  " << file << '\n';

    std::cout << "my_log.txt:\n";
    std::ifstream in(dir / "my_log.txt");
    for (std::string line; std::getline(in, line);) std::cout << "  " << line << '\n';
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "custom_logger: " << e.what() << '\n';
    return 1;
  }
}
