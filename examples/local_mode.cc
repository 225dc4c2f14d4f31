// local_mode.cc — local_mode: every trial runs on the thread that called tune::run (debugging).
//
// Mirrors the user guide's "Debugging" section (ray.init(local_mode=True)): with
// RunOptions::local_mode set, no worker threads are started, so a debugger breakpoint in
// step() stops the whole experiment and stack traces are plain. As the guide warns, several
// trials interleave: class trainables advance one step at a time, round-robin. Each step here
// records which trial ran and on which thread.
//
//   Usage: local_mode [local_dir]   (default ~/tune_results)
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tune/tune.h"

namespace {

struct Step {
  std::string trial;
  std::thread::id thread;
};

class Recorder : public tune::Trainable {
 public:
  // No lock: in local mode all trials run on one thread (that is the point being shown).
  explicit Recorder(std::shared_ptr<std::vector<Step>> steps) : steps_(std::move(steps)) {}

  tune::Result step() override {
    steps_->push_back({trial_info().trial_name, std::this_thread::get_id()});
    return {{"mean_loss", 1.0 / static_cast<double>(steps_->size())}};
  }

 private:
  std::shared_ptr<std::vector<Step>> steps_;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    auto steps = std::make_shared<std::vector<Step>>();
    tune::TrainableSpec spec;
    spec.name = "Recorder";
    spec.factory = [steps] { return std::make_unique<Recorder>(steps); };

    tune::RunOptions options;
    options.name = "local_mode";
    if (argc > 1) options.local_dir = argv[1];
    options.config = {{"x", tune::grid_search({1, 2})}};
    options.stop = {{"training_iteration", 3}};
    options.local_mode = true;
    options.verbose = 0;
    const tune::ExperimentAnalysis analysis = tune::run(spec, std::move(options));

    const std::thread::id caller = std::this_thread::get_id();
    bool all_on_caller = true;
    std::cout << "Steps in the order they ran:\n";
    for (const Step& step : *steps) {
      std::cout << "  " << step.trial << (step.thread == caller ? "  (calling thread)" : "  (another thread)") << '\n';
      all_on_caller = all_on_caller && step.thread == caller;
    }
    std::cout << analysis.trials().size() << " trials, " << steps->size()
              << " steps, all on the calling thread: " << (all_on_caller ? "yes" : "no") << '\n';
    return all_on_caller ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "local_mode: " << e.what() << '\n';
    return 1;
  }
}
