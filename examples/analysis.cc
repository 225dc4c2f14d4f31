// analysis.cc — reading results back: ExperimentAnalysis from tune::run and from disk.
//
// Mirrors the user guide's "Analyzing Results" section. After a small experiment, the analysis
// is rebuilt with ExperimentAnalysis::load(dir) from the experiment directory alone (as a
// separate program would do later), then asked for the best config and trial directory by
// two scopes: "last" compares each trial's final loss, "avg" the mean over all its results.
// The two models below disagree on purpose: "big" starts high and ends lowest, "small" starts
// low and improves slowly. Finally the whole experiment as a table: dataframe().to_csv().
//
//   Usage: analysis [local_dir]   (default ~/tune_results)
#include <exception>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>

#include "tune/tune.h"

namespace {

// Three results: "big" 10, 1, 0.1 (avg 3.7); "small" 2, 1.8, 1.62 (avg 1.81).
void train(const tune::Config& config, tune::Reporter& reporter) {
  const bool big = config.value("model", "") == "big";
  double loss = big ? 10.0 : 2.0;
  for (int i = 0; i < 3; ++i) {
    reporter({{"loss", loss}});
    loss *= big ? 0.1 : 0.9;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    tune::RunOptions options;
    options.name = "analysis_example";
    if (argc > 1) options.local_dir = argv[1];
    options.config = {{"model", tune::grid_search({"big", "small"})}, {"lr", 0.01}};
    options.metric = "loss";
    options.mode = "min";
    options.verbose = 0;
    const std::filesystem::path dir = tune::run(train, std::move(options), "train").experiment_dir();

    // From disk only. load() also takes the run's metric and mode from the directory; the calls below
    // name them anyway, as the guide's get_best_config(metric=...) does (any reported metric works).
    const tune::ExperimentAnalysis analysis = tune::ExperimentAnalysis::load(dir);
    std::cout << "Loaded " << analysis.trials().size() << " trials from " << dir.string() << '\n';
    for (const std::string scope : {"last", "avg"}) {
      std::cout << "Best config (scope=" << scope << ") is " << analysis.get_best_config("loss", "min", scope).dump()
                << '\n';
      std::cout << "  in " << analysis.get_best_logdir("loss", "min", scope).filename().string() << '\n';
    }

    std::cout << "dataframe().to_csv():\n";
    std::istringstream csv(analysis.dataframe().to_csv());
    int shown = 0;
    for (std::string line; shown < 3 && std::getline(csv, line); ++shown) std::cout << "  " << line << '\n';
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "analysis: " << e.what() << '\n';
    return 1;
  }
}
