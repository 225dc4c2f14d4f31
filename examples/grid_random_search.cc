// grid_random_search.cc — a search space of grid searches, computed values and random samples.
//
// Mirrors the user guide's "Grid Search/Random Search" and "Sampling Multiple Times" sections.
// The first experiment crosses two grids (bar x foo = 6 trials); qux is computed by a
// sample_from function and baz is a plain value copied into every config. The second repeats
// a 3x3 grid over nn_layers num_samples = 10 times (90 trials), drawing alpha and beta afresh
// for each; beta reads alpha through spec.config(). A seed makes every draw reproducible.
//
//   Usage: grid_random_search [local_dir]   (default ~/tune_results)
#include <cstddef>
#include <exception>
#include <iostream>
#include <string>
#include <utility>

#include "tune/tune.h"

namespace {

// Reports one result computed from the config, then returns: the trial ends.
void trainable(const tune::Config& config, tune::Reporter& reporter) {
  reporter({{"score", config.value("foo", 0) + config.value("alpha", 0.0)}});
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string local_dir = argc > 1 ? argv[1] : "~/tune_results";

    tune::RunOptions grid;
    grid.name = "grid_search";
    grid.config = {
        {"qux", tune::sample_from([](tune::Spec&) { return 2 + 2; })},
        {"bar", tune::grid_search({true, false})},
        {"foo", tune::grid_search({1, 2, 3})},
        {"baz", "asd"},
    };
    grid.verbose = 0;
    grid.local_dir = local_dir;
    const tune::ExperimentAnalysis grid_analysis = tune::run(trainable, std::move(grid), "trainable");
    std::cout << "Grid search: " << grid_analysis.trials().size() << " trials\n";
    for (const tune::TrialRecord& trial : grid_analysis.trials()) std::cout << "  " << trial.config().dump() << '\n';

    tune::RunOptions sampled;
    sampled.name = "my_trainable";
    sampled.config = {
        // The guide's np.random.uniform(100) draws from [1, 100); spec.uniform uses this value's own
        // engine, so the draws are reproducible under the seed.
        {"alpha", tune::sample_from([](tune::Spec& spec) { return spec.uniform(1, 100); })},
        {"beta",
         tune::sample_from([](tune::Spec& spec) { return spec.config("alpha").get<double>() * spec.normal(); })},
        {"nn_layers", {tune::grid_search({16, 64, 256}), tune::grid_search({16, 64, 256})}},
    };
    sampled.num_samples = 10;  // the 3x3 grid 10 times over
    sampled.seed = 2024;
    sampled.verbose = 0;
    sampled.local_dir = local_dir;
    const tune::ExperimentAnalysis sampled_analysis = tune::run(trainable, std::move(sampled), "my_trainable");
    const auto& trials = sampled_analysis.trials();
    std::cout << "Sampling multiple times: " << trials.size() << " trials (3x3 grid x num_samples=10)\n";
    for (size_t i = 0; i < trials.size() && i < 5; ++i) std::cout << "  " << trials[i].config().dump() << '\n';
    std::cout << "  ...\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "grid_random_search: " << e.what() << '\n';
    return 1;
  }
}
