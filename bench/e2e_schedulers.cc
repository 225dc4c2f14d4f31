// End-to-end benchmark of the trial schedulers (issue 5). Needs no data. Prints tables.
//
//   counting_ones   4 binary + 4 continuous dimensions; value = (sum of the bits + sum over
//                   the continuous x_i of the mean of Bernoulli(x_i) draws) / 8, maximised.
//                   One iteration = 9 draws per continuous dimension, so the budget of a trial
//                   runs from 9 draws (iteration 1) to 729 (iteration 81): eta = 3.
//   curve           a learning curve: acc(t) = final - (final - 0.1) * exp(-t / tau), where a
//                   large learning rate converges fast to a worse final value (curves cross).
//   For each: FIFO + random search, ASHA, HyperBand, median stopping, HyperBandForBOHB with
//   random search and with BOHB's searcher (BOHBSearcher); 2 concurrent trials;
//   every method gets the total budget of FIFO's N trials run to 81 iterations. Measured: the
//   true value of the incumbent (the best value reported at >= 27 iterations) as budget is
//   spent, median over the seeds.
//   pbt             a noisy quadratic whose best learning rate shrinks during training
//                   (expected loss of SGD: v <- (1-lr)^2 v + lr^2). PBT (population 8) vs the
//                   best of 8 random fixed learning rates, same budget (8 x 100 steps).
//
// Usage: e2e_schedulers [--seeds N] [--trials N] [--only NAME] [DIR]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tune/tune.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kMaxT = 81;
constexpr int kDrawsPerIteration = 9;
// The incumbent is the best value reported at >= 27 iterations (243 draws): Ray's HyperBand
// caps its later brackets' last milestone at max_t - r (54 here), so exactly 81 would hide them.
constexpr int kIncumbentT = 27;

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t x = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL + (a << 6) + (a >> 2));
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ULL;
  return x ^ (x >> 29);
}

// ---- problems ----

double counting_ones_truth(const tune::Config& c) {
  double sum = 0;
  for (int i = 0; i < 4; ++i) sum += c.value(fmt::format("c{}", i), 0) + c.value(fmt::format("x{}", i), 0.0);
  return sum / 8;
}

class CountingOnes : public tune::Trainable {
 public:
  void setup(const tune::Config& config) override {
    config_ = config;
    seed_ = std::hash<std::string>{}(trial_info().trial_id);
  }
  tune::Result step() override {
    ++t_;
    std::mt19937_64 rng(mix(seed_, static_cast<uint64_t>(t_)));
    for (int i = 0; i < 4; ++i) {
      std::bernoulli_distribution draw(config_.value(fmt::format("x{}", i), 0.0));
      for (int k = 0; k < kDrawsPerIteration; ++k) ones_[i] += draw(rng) ? 1 : 0;
    }
    double sum = 0;
    for (int i = 0; i < 4; ++i) {
      sum += config_.value(fmt::format("c{}", i), 0) + static_cast<double>(ones_[i]) / (kDrawsPerIteration * t_);
    }
    return {{"value", sum / 8}};
  }
  void save_checkpoint(const fs::path& dir) override {
    std::ofstream(dir / "s") << t_ << " " << ones_[0] << " " << ones_[1] << " " << ones_[2] << " " << ones_[3];
  }
  void load_checkpoint(const fs::path& dir) override {
    std::ifstream(dir / "s") >> t_ >> ones_[0] >> ones_[1] >> ones_[2] >> ones_[3];
  }

 private:
  tune::Config config_;
  uint64_t seed_ = 0;
  int64_t t_ = 0;
  int64_t ones_[4] = {0, 0, 0, 0};
};

tune::Space counting_ones_space() {
  tune::Space space = tune::Space::object({});
  for (int i = 0; i < 4; ++i) {
    space.set(fmt::format("c{}", i), tune::choice({0, 1}));
    space.set(fmt::format("x{}", i), tune::uniform(0, 1));
  }
  return space;
}

// final and tau from lr (log scale) and width: the best final value sits at lr = 1e-2.5,
// while a larger lr converges faster.
double curve_final(const tune::Config& c) {
  const double l = std::log10(c.value("lr", 1e-3));
  const double width = c.value("width", 64);
  return 0.95 - 0.08 * (l + 2.5) * (l + 2.5) - 0.05 * std::abs(std::log2(width / 128.0)) / 3;
}
double curve_tau(const tune::Config& c) { return 2.0 / std::pow(c.value("lr", 1e-3), 0.5); }

class Curve : public tune::Trainable {
 public:
  void setup(const tune::Config& config) override {
    final_ = curve_final(config);
    tau_ = curve_tau(config);
    seed_ = std::hash<std::string>{}(trial_info().trial_id);
  }
  tune::Result step() override {
    ++t_;
    std::mt19937_64 rng(mix(seed_, static_cast<uint64_t>(t_)));
    std::normal_distribution<double> noise(0, 0.005);
    return {{"value", final_ - (final_ - 0.1) * std::exp(-static_cast<double>(t_) / tau_) + noise(rng)}};
  }
  void save_checkpoint(const fs::path& dir) override { std::ofstream(dir / "t") << t_; }
  void load_checkpoint(const fs::path& dir) override { std::ifstream(dir / "t") >> t_; }

 private:
  double final_ = 0, tau_ = 1;
  uint64_t seed_ = 0;
  int64_t t_ = 0;
};

tune::Space curve_space() {
  return tune::Space{{"lr", tune::loguniform(1e-5, 1)}, {"width", tune::choice({16, 32, 64, 128, 256, 512})}};
}

// ---- measuring ----

// Stops each trial at kMaxT and the experiment once the budget is spent; records the
// incumbent (best reported value at >= kIncumbentT) as budget goes.
class Budget : public tune::Stopper, public tune::Callback {
 public:
  Budget(int64_t limit, std::function<double(const tune::Config&)> truth)
      : limit_(limit), truth_(std::move(truth)) {}
  bool operator()(const std::string&, const tune::Result& result) override {
    return result.value("training_iteration", 0) >= kMaxT;
  }
  bool stop_all() override { return spent_ >= limit_; }
  void on_trial_result(const tune::TrialView& trial, const tune::Result& result) override {
    if (spent_ >= limit_) return;
    ++spent_;
    if (result.value("training_iteration", 0) >= kIncumbentT) {
      const double v = result.value("value", 0.0);
      if (!best_reported_ || v > *best_reported_) {
        best_reported_ = v;
        incumbent_ = truth_(trial.config());
      }
    }
    curve_.push_back(incumbent_);  // curve_[k] = incumbent's true value after k+1 iterations
  }
  const std::vector<double>& curve() const { return curve_; }

 private:
  int64_t limit_;
  int64_t spent_ = 0;
  std::function<double(const tune::Config&)> truth_;
  std::optional<double> best_reported_;
  double incumbent_ = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> curve_;
};

std::shared_ptr<tune::TrialScheduler> make_method(const std::string& name) {
  if (name == "asha") {
    tune::AsyncHyperBandScheduler::Options o;
    o.max_t = kMaxT;
    o.grace_period = 1;
    o.reduction_factor = 3;
    return std::make_shared<tune::AsyncHyperBandScheduler>(o);
  }
  if (name == "hyperband" || name == "hb_bohb" || name == "bohb") {
    tune::HyperBandScheduler::Options o;
    o.max_t = kMaxT;
    o.reduction_factor = 3;
    if (name == "hyperband") return std::make_shared<tune::HyperBandScheduler>(o);
    return std::make_shared<tune::HyperBandForBOHB>(o);  // bohb: with BOHB's searcher (run_method)
  }
  if (name == "median") {
    tune::MedianStoppingRule::Options o;
    o.time_attr = "training_iteration";
    o.grace_period = 3;
    o.min_samples_required = 3;
    o.min_time_slice = 27;  // yield to waiting trials at most every 27 iterations
    return std::make_shared<tune::MedianStoppingRule>(o);
  }
  return std::make_shared<tune::FIFOScheduler>();
}

template <typename T>
std::vector<double> run_method(const std::string& method, const fs::path& dir, uint64_t seed, int trials,
                               const tune::Space& space, std::function<double(const tune::Config&)> truth) {
  const int64_t limit = static_cast<int64_t>(trials) * kMaxT;
  auto budget = std::make_shared<Budget>(limit, truth);
  tune::RunOptions options;
  options.name = fmt::format("{}_{}", method, seed);
  options.local_dir = dir.string();
  options.verbose = 0;
  options.num_cpus = 2;
  options.seed = seed;
  options.config = space;
  options.metric = "value";
  options.mode = "max";
  // Median stopping gets FIFO's N trials: under an endless searcher its trials, paused for
  // want of samples, would wait behind new PENDING ones forever (Ray's FIFO order).
  options.num_samples = method == "fifo" || method == "median" ? trials : trials * 40;
  options.scheduler = make_method(method);
  if (method == "bohb") {
    tune::BOHBSearcher::Options o;
    o.seed = seed;
    options.search_alg = std::make_shared<tune::BOHBSearcher>(o);
  }
  options.stop = budget;
  options.callbacks = {budget};
  options.loggers = {tune::json_logger()};
  tune::run<T>(std::move(options));
  fs::remove_all(dir / fmt::format("{}_{}", method, seed));
  return budget->curve();
}

double median(std::vector<double> v) {
  std::erase_if(v, [](double x) { return std::isnan(x); });
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Median over seeds of the incumbent after `spent` iterations (NaN while a seed has none).
double median_at(const std::vector<std::vector<double>>& curves, size_t spent) {
  std::vector<double> at;
  for (const auto& c : curves) {
    if (c.empty()) continue;
    at.push_back(c[std::min(spent, c.size()) - 1]);
  }
  // A seed with no incumbent yet counts as the worst: the median is NaN until half have one.
  size_t missing = 0;
  for (double x : at) missing += std::isnan(x) ? 1 : 0;
  if (missing * 2 >= at.size()) return std::numeric_limits<double>::quiet_NaN();
  for (double& x : at) {
    if (std::isnan(x)) x = -1e9;
  }
  return median(at);
}

template <typename T>
void multi_fidelity(const std::string& problem, const fs::path& dir, int seeds, int trials, const tune::Space& space,
                    std::function<double(const tune::Config&)> truth) {
  const std::vector<std::string> methods = {"fifo", "asha", "hyperband", "median", "hb_bohb", "bohb"};
  std::map<std::string, std::vector<std::vector<double>>> curves;
  std::map<std::string, double> seconds;
  for (const std::string& method : methods) {
    const auto start = Clock::now();
    for (int s = 0; s < seeds; ++s) {
      curves[method].push_back(run_method<T>(method, dir, static_cast<uint64_t>(s + 1), trials, space, truth));
    }
    seconds[method] = std::chrono::duration<double>(Clock::now() - start).count();
  }
  const size_t total = static_cast<size_t>(trials) * kMaxT;
  const std::vector<double> fractions = {1.0 / 27, 1.0 / 9, 1.0 / 3, 2.0 / 3, 1.0};
  std::cout << fmt::format("\n## {}: median over {} seeds of the incumbent's true value vs budget spent\n", problem,
                           seeds);
  std::cout << fmt::format("(budget = {} trials x {} iterations = {} iterations = {} draws; 2 concurrent trials)\n\n",
                           trials, kMaxT, total, total * kDrawsPerIteration);
  std::string header = "| method |";
  std::string rule = "|---|";
  for (double f : fractions) {
    header += fmt::format(" {:.0f}% |", 100 * f);
    rule += "---|";
  }
  std::cout << header << " budget to reach FIFO's final | budget to reach HyperBand's final | wall s |\n"
            << rule << "---|---|---|\n";
  // The share of the budget after which the method's median incumbent first reaches `target`.
  const auto reach = [&](const std::string& method, double target) {
    for (size_t spent = 1; spent <= total; ++spent) {
      const double v = median_at(curves[method], spent);
      if (!std::isnan(v) && v >= target) {
        return fmt::format("{:.1f}%", 100.0 * static_cast<double>(spent) / static_cast<double>(total));
      }
    }
    return std::string("never");
  };
  const double fifo_final = median_at(curves["fifo"], total);
  const double hyperband_final = median_at(curves["hyperband"], total);
  const std::map<std::string, std::string> labels = {
      {"fifo", "fifo+random"}, {"hb_bohb", "hb_bohb+random"}, {"bohb", "hb_bohb+bohb"}};
  for (const std::string& method : methods) {
    std::string line = fmt::format("| {} |", labels.count(method) ? labels.at(method) : method);
    for (double f : fractions) {
      const double v = median_at(curves[method], std::max<size_t>(1, static_cast<size_t>(f * total)));
      line += std::isnan(v) ? " - |" : fmt::format(" {:.4f} |", v);
    }
    std::cout << line
              << fmt::format(" {} | {} | {:.1f} |\n", reach(method, fifo_final), reach(method, hyperband_final),
                             seconds[method]);
  }
}

// ---- PBT ----

// Expected squared distance to the optimum of SGD on a noisy quadratic: v <- (1-lr)^2 v + lr^2.
class NoisyQuadratic : public tune::Trainable {
 public:
  void setup(const tune::Config& config) override { lr_ = config.value("lr", 0.1); }
  tune::Result step() override {
    v_ = (1 - lr_) * (1 - lr_) * v_ + lr_ * lr_;
    return {{"loss", v_}};
  }
  bool reset_config(const tune::Config& config) override {
    lr_ = config.value("lr", 0.1);
    return true;
  }
  void save_checkpoint(const fs::path& dir) override {
    std::ofstream out(dir / "v");
    out.precision(17);
    out << v_;
  }
  void load_checkpoint(const fs::path& dir) override { std::ifstream(dir / "v") >> v_; }

 private:
  double lr_ = 0.1;
  double v_ = 100;
};

double run_quadratic(const fs::path& dir, uint64_t seed, bool pbt) {
  tune::RunOptions options;
  options.name = fmt::format("{}_{}", pbt ? "pbt" : "random", seed);
  options.local_dir = dir.string();
  options.verbose = 0;
  options.num_cpus = 2;
  options.seed = seed;
  options.config = tune::Space{{"lr", tune::loguniform(1e-3, 1)}};
  options.num_samples = 8;
  options.metric = "loss";
  options.mode = "min";
  options.stop = {{"training_iteration", 100}};
  options.loggers = {tune::json_logger()};
  if (pbt) {
    tune::PopulationBasedTraining::Options o;
    o.time_attr = "training_iteration";
    o.perturbation_interval = 5;
    o.hyperparam_mutations["lr"].domain = tune::loguniform(1e-3, 1);
    o.seed = seed;
    o.log_config = false;
    options.scheduler = std::make_shared<tune::PopulationBasedTraining>(o);
  }
  const tune::ExperimentAnalysis analysis = tune::run<NoisyQuadratic>(std::move(options));
  double best = std::numeric_limits<double>::infinity();
  for (const auto& t : analysis.trials()) best = std::min(best, t.last_result().value("loss", best));
  fs::remove_all(dir / fmt::format("{}_{}", pbt ? "pbt" : "random", seed));
  return best;
}

void pbt_bench(const fs::path& dir, int seeds) {
  std::vector<double> random, pbt;
  int wins = 0;
  for (int s = 0; s < seeds; ++s) {
    random.push_back(run_quadratic(dir, static_cast<uint64_t>(s + 1), false));
    pbt.push_back(run_quadratic(dir, static_cast<uint64_t>(s + 1), true));
    wins += pbt.back() < random.back() ? 1 : 0;
  }
  std::cout << fmt::format("\n## pbt: noisy quadratic, final loss of the best trial (lower is better), {} seeds\n\n",
                           seeds);
  std::cout << "| method | median best loss | PBT better in |\n|---|---|---|\n";
  std::cout << fmt::format("| random search, 8 fixed lr x 100 steps | {:.4f} | |\n", median(random));
  std::cout << fmt::format("| PBT, population 8 x 100 steps | {:.4f} | {}/{} seeds |\n", median(pbt), wins, seeds);
}

}  // namespace

int main(int argc, char** argv) {
  int seeds = 20;
  int trials = 32;
  std::string only;
  fs::path dir = fs::temp_directory_path() / "tune_e2e_schedulers";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seeds" && i + 1 < argc) {
      seeds = std::stoi(argv[++i]);
    } else if (arg == "--trials" && i + 1 < argc) {
      trials = std::stoi(argv[++i]);
    } else if (arg == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else {
      dir = arg;
    }
  }
  try {
    fs::create_directories(dir);
    if (only.empty() || only == "counting_ones") {
      multi_fidelity<CountingOnes>("counting_ones", dir, seeds, trials, counting_ones_space(), counting_ones_truth);
    }
    if (only.empty() || only == "curve") {
      multi_fidelity<Curve>("curve", dir, seeds, trials, curve_space(), curve_final);
    }
    if (only.empty() || only == "pbt") pbt_bench(dir, seeds);
  } catch (const std::exception& e) {
    std::cerr << "e2e_schedulers: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
