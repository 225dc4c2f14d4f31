// Uses the installed library through the umbrella header only.
#include <tune/tune.h>

#include <iostream>

int main(int argc, char** argv) {
  tune::RunOptions options;
  options.name = "downstream";
  options.local_dir = argc > 1 ? argv[1] : "/tmp/tune_downstream";
  options.verbose = 0;
  options.config = {{"x", tune::grid_search({1, 2, 3})}};
  options.metric = "score";
  options.mode = "max";
  auto analysis = tune::run(
      [](const tune::Config& config, tune::Reporter& reporter) {
        reporter.report({{"score", config["x"].get<int>()}, {"done", true}});
      },
      std::move(options));
  std::cout << "best x = " << analysis.get_best_config()["x"] << "\n";
  return 0;
}
