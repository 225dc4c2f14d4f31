// resources.cc — what each trial asks for: CPUs, a fraction of a GPU, extra CPUs it uses itself.
//
// Mirrors the user guide's "Trial Parallelism", "Resource Allocation (Using GPUs)" and
// "Advanced Resource Allocation" sections. Trials are packed into a pool (the guide's
// ray.init(num_cpus=..., num_gpus=...) is RunOptions::num_cpus / num_gpus; by default the
// machine's). The pool here declares one GPU, so the example also runs on a machine without one:
//  1. {"cpu": 1, "gpu": 0.5}: two trials share GPU 0 and run at the same time; each reads the
//     GPUs it was given from trial_info().gpu_ids (an in-process trial selects them itself; the
//     process executor sets CUDA_VISIBLE_DEVICES for a child process).
//  2. {"cpu": 1, "extra_cpu": 1} in a 2-CPU pool: each trial reserves 2 CPUs (one for itself, one
//     for the workers it would start), so the two trials run one after the other.
//
//   Usage: resources [local_dir]   (default ~/tune_results)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "tune/tune.h"

namespace {

// How many trials are in step() at once, and the most there ever were.
struct Occupancy {
  std::atomic<int> running{0};
  std::atomic<int> most{0};
};

class GpuTrainable : public tune::Trainable {
 public:
  explicit GpuTrainable(std::shared_ptr<Occupancy> occupancy) : occupancy_(std::move(occupancy)) {}

  // Counted inside step(), not from setup() to cleanup(): a stopped trial's cleanup may run after
  // its successor has started, since its slot is free as soon as its last result is in.
  tune::Result step() override {
    const int now = ++occupancy_->running;
    int most = occupancy_->most.load();
    while (now > most && !occupancy_->most.compare_exchange_weak(most, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // stands in for work on the GPU
    --occupancy_->running;
    const tune::TrialInfo& info = trial_info();
    return {{"gpu_ids", info.gpu_ids}, {"resources", info.resources.to_string()}};
  }

 private:
  std::shared_ptr<Occupancy> occupancy_;
};

void run_and_print(tune::RunOptions options) {
  auto occupancy = std::make_shared<Occupancy>();
  tune::TrainableSpec spec;
  spec.name = "GpuTrainable";
  spec.factory = [occupancy] { return std::make_unique<GpuTrainable>(occupancy); };
  const tune::ExperimentAnalysis analysis = tune::run(spec, std::move(options));
  for (const tune::TrialRecord& trial : analysis.trials()) {
    const tune::Result last = trial.last_result();
    std::cout << "  " << trial.name() << ": gpu_ids=" << last["gpu_ids"].dump()
              << " resources=" << last["resources"].get<std::string>() << '\n';
  }
  std::cout << "  trials training at once: at most " << occupancy->most.load() << '\n';
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string local_dir = argc > 1 ? argv[1] : "~/tune_results";

    tune::RunOptions fractional;
    fractional.name = "fractional_gpu";
    fractional.local_dir = local_dir;
    fractional.config = {{"trial", tune::grid_search({1, 2})}};
    fractional.stop = {{"training_iteration", 5}};
    fractional.resources_per_trial = tune::Resources{.cpu = 1, .gpu = 0.5};
    fractional.num_cpus = 2;
    fractional.num_gpus = 1;  // declare the pool: works with or without a real GPU
    fractional.verbose = 0;
    std::cout << "resources_per_trial={cpu: 1, gpu: 0.5}, pool of 2 CPUs and 1 GPU:\n";
    run_and_print(std::move(fractional));

    tune::RunOptions extra;
    extra.name = "extra_cpu";
    extra.local_dir = local_dir;
    extra.config = {{"trial", tune::grid_search({1, 2})}};
    extra.stop = {{"training_iteration", 5}};
    extra.resources_per_trial = tune::Resources{.cpu = 1, .extra_cpu = 1};
    extra.num_cpus = 2;
    extra.num_gpus = 0;
    extra.verbose = 0;
    std::cout << "resources_per_trial={cpu: 1, extra_cpu: 1}, pool of 2 CPUs:\n";
    run_and_print(std::move(extra));
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "resources: " << e.what() << '\n';
    return 1;
  }
}
