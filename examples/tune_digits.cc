// tune_digits.cc — tuning a real model: a small MLP classifying the UCI handwritten digits.
//
// Shows the class API on real training: a Trainable whose step() is one epoch of SGD,
// checkpoints written with the model's own save/load, a search space mixing a grid
// (hidden width) with log-uniform samples (learning rate, weight decay), and data loaded
// once in main() and shared read-only by every trial through the factory of a hand-built
// TrainableSpec (instead of make_trainable<T>(), which can only default-construct T).
// 2 widths x 4 samples = 8 trials of 15 epochs; the whole run takes a few seconds.
//
// The same binary also serves DigitsTrainable to process trials: registered in main() before
// tune::worker_main, it is what examples/digits_process.yaml runs with `tune run`, each trial
// in its own process (loading the data there, from $DIGITS_CSV or data/digits.csv).
//
//   Usage: tune_digits [path/to/digits.csv] [local_dir]
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>

#include "digits_model.h"
#include "tune/tune.h"

#ifndef TUNE_SOURCE_DIR  // set by the build; by hand, run from the repository root
#define TUNE_SOURCE_DIR "."
#endif

namespace {

class DigitsTrainable : public tune::Trainable {
 public:
  explicit DigitsTrainable(std::shared_ptr<const digits::Dataset> data) : data_(std::move(data)) {}

  void setup(const tune::Config& config) override {
    lr_ = config.value("lr", 0.01);
    momentum_ = config.value("momentum", 0.9);
    l2_ = config.value("l2", 1e-4);
    batch_ = config.value("batch", 32);
    const auto seed = config.value("seed", uint64_t{0});
    // The same split in every trial, so their accuracies are measured on the same held-out rows.
    split_ = digits::train_test_split(data_->n, 0.2, /*seed=*/0);
    model_.emplace(data_->d, config.value("hidden", 64), digits::num_classes(*data_), seed);
    rng_.seed(seed + 1);
  }

  tune::Result step() override {
    const double loss = model_->train_epoch(*data_, split_.train, lr_, momentum_, l2_, batch_, rng_);
    ++epoch_;
    return {{"mean_accuracy", model_->accuracy(*data_, split_.test)}, {"mean_loss", loss}, {"epoch", epoch_}};
  }

  // The model (weights and momentum) plus where training stands: the epoch and the shuffling
  // engine, so a restored trial continues exactly as the original would have.
  void save_checkpoint(const std::filesystem::path& dir) override {
    model_->save((dir / "model.bin").string());
    std::ofstream out(dir / "trainer.txt");
    out << epoch_ << '\n' << rng_ << '\n';
    if (!out) throw std::runtime_error("cannot write " + (dir / "trainer.txt").string());
  }

  void load_checkpoint(const std::filesystem::path& dir) override {
    model_ = digits::Mlp::load((dir / "model.bin").string());
    std::ifstream in(dir / "trainer.txt");
    in >> epoch_ >> rng_;
    if (!in) throw std::runtime_error("cannot read " + (dir / "trainer.txt").string());
  }

 private:
  std::shared_ptr<const digits::Dataset> data_;  // shared by all trials, never modified
  digits::Split split_;
  std::optional<digits::Mlp> model_;  // built in setup(), when the width is known
  std::mt19937_64 rng_;
  double lr_ = 0.01;
  double momentum_ = 0.9;
  double l2_ = 1e-4;
  int batch_ = 32;
  int64_t epoch_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    // As a worker process (a trial of `tune run examples/digits_process.yaml`) this binary
    // serves DigitsTrainable, whose data that process loads when the trial is made.
    tune::TrainableSpec worker;
    worker.factory = [] {
      const char* csv = std::getenv("DIGITS_CSV");
      return std::make_unique<DigitsTrainable>(std::make_shared<const digits::Dataset>(
          digits::load_csv(csv != nullptr && *csv != '\0' ? csv : TUNE_SOURCE_DIR "/data/digits.csv")));
    };
    tune::register_trainable("DigitsTrainable", std::move(worker));
    if (int rc = tune::worker_main(argc, argv); rc >= 0) return rc;

    const std::string csv = argc > 1 ? argv[1] : TUNE_SOURCE_DIR "/data/digits.csv";
    const auto data = std::make_shared<const digits::Dataset>(digits::load_csv(csv));

    tune::TrainableSpec spec;
    spec.name = "DigitsTrainable";
    spec.factory = [data] { return std::make_unique<DigitsTrainable>(data); };

    tune::RunOptions options;
    options.name = "digits_mlp";
    options.overwrite = true;  // the demo starts over each time it is run (without it, a rerun is refused)
    options.config = {
        {"lr", tune::loguniform(1e-3, 0.5)},
        {"hidden", tune::grid_search({16, 64})},
        {"l2", tune::loguniform(1e-6, 1e-2)},
        {"momentum", 0.9},
        {"batch", 32},
    };
    options.num_samples = 4;  // the grid twice over = 8 trials
    options.stop = {{"training_iteration", 15}};
    options.metric = "mean_accuracy";
    options.mode = "max";
    if (argc > 2) options.local_dir = argv[2];

    const tune::ExperimentAnalysis analysis = tune::run(spec, std::move(options));
    std::cout << "Best config: " << analysis.get_best_config().dump() << '\n';
    std::cout << "Best logdir: " << analysis.get_best_logdir().string() << '\n';
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "tune_digits: " << e.what() << '\n';
    return 1;
  }
}
