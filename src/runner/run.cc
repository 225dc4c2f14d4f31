// tune::run(): validates every option before anything starts, then runs the experiment.
#include <fmt/format.h>

#include <cmath>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "common/strings.h"
#include "runner/resource_manager.h"
#include "runner/trial_runner.h"
#include "tune/error.h"
#include "tune/run.h"

namespace tune {
namespace {

void check_pool_amount(const std::optional<double>& amount, const char* field) {
  if (!amount) return;
  if (std::isnan(*amount) || std::isinf(*amount) || *amount < 0) {
    throw TuneError(fmt::format("{}: must be a finite number >= 0, got {}", field, *amount));
  }
}

ResourcePool make_pool(const RunOptions& options) {
  check_pool_amount(options.num_cpus, "num_cpus");
  check_pool_amount(options.num_gpus, "num_gpus");
  ResourcePool pool = ResourcePool::detect();
  if (options.num_cpus) pool.cpu = *options.num_cpus;
  if (options.num_gpus) pool.gpu = *options.num_gpus;
  for (const auto& [name, amount] : options.custom_resources) {
    check_pool_amount(amount, ("custom_resources." + name).c_str());
    if (name == "cpu" || name == "gpu" || name == "memory") {
      throw TuneError(fmt::format("custom_resources.{}: use num_cpus/num_gpus for built-in resources", name));
    }
    pool.custom[name] = amount;
  }
  return pool;
}

void validate(const TrainableSpec& trainable, RunOptions& options) {
  if (!trainable.factory && !trainable.function) {
    throw TuneError("trainable: neither a Trainable factory nor a training function was given");
  }
  if (trainable.factory && trainable.function) {
    throw TuneError("trainable: give either a Trainable factory or a training function, not both");
  }
  if (options.num_samples == 0 || options.num_samples < -1) {
    throw TuneError(fmt::format("num_samples: must be >= 1, or -1 for no limit; got {}", options.num_samples));
  }
  if (!options.mode.empty() && options.mode != "min" && options.mode != "max") {
    throw TuneError(fmt::format("mode: must be \"min\" or \"max\", got \"{}\"", options.mode));
  }
  if (options.metric.empty() != options.mode.empty()) {
    throw TuneError(options.metric.empty() ? "metric: mode was given without a metric"
                                           : "mode: metric was given without a mode (\"min\" or \"max\")");
  }
  if (options.verbose < 0 || options.verbose > 3) {
    throw TuneError(fmt::format("verbose: must be 0, 1, 2 or 3, got {}", options.verbose));
  }
  if (options.max_concurrent_trials < 0) {
    throw TuneError(fmt::format("max_concurrent_trials: must be >= 1 (or 0 for no limit), got {}",
                                options.max_concurrent_trials));
  }
  if (std::isnan(options.time_budget_s) || options.time_budget_s < 0) {
    throw TuneError(fmt::format("time_budget_s: must be >= 0, got {}", options.time_budget_s));
  }
  if (options.max_failures < -1) {
    throw TuneError(fmt::format("max_failures: must be >= 0, or -1 to retry forever; got {}", options.max_failures));
  }
  if (options.fail_fast && options.max_failures != 0) {
    throw TuneError("fail_fast: cannot be combined with max_failures (fail_fast stops at the first failure)");
  }
  if (options.reporter.max_report_frequency_s < 0 || std::isnan(options.reporter.max_report_frequency_s)) {
    throw TuneError("reporter.max_report_frequency_s: must be >= 0");
  }
  if (options.name.find('/') != std::string::npos || options.name == "." || options.name == "..") {
    throw TuneError(fmt::format("name: \"{}\" must be a single directory name (no '/', not . or ..)", options.name));
  }
  if (options.resources_per_trial) {
    if (trainable.default_resource_request) {
      throw TuneError(fmt::format("resources_per_trial: {} declares default_resource_request; give one or the other",
                                  trainable.name));
    }
    options.resources_per_trial->validate("resources_per_trial");
  }
  for (size_t i = 0; i < options.loggers.size(); ++i) {
    if (!options.loggers[i]) throw TuneError(fmt::format("loggers[{}]: is empty", i));
  }
  for (size_t i = 0; i < options.callbacks.size(); ++i) {
    if (!options.callbacks[i]) throw TuneError(fmt::format("callbacks[{}]: is null", i));
  }
}

}  // namespace

ExperimentAnalysis run(const TrainableSpec& trainable, RunOptions options) {
  validate(trainable, options);
  ResourcePool pool = make_pool(options);
  detail::ResourceManager check(pool);
  if (options.resources_per_trial) check.check_feasible(*options.resources_per_trial, "resources_per_trial");

  // Plugins: defaults, then metric and mode handed once to each.
  if (!options.scheduler) options.scheduler = std::make_shared<FIFOScheduler>();
  if (!options.search_alg) {
    options.search_alg = std::make_shared<BasicVariantGenerator>(options.config, options.num_samples, options.seed);
  }
  options.scheduler->set_search_properties(options.metric, options.mode);
  options.search_alg->set_search_properties(options.metric, options.mode, options.config);
  if (auto* variants = dynamic_cast<BasicVariantGenerator*>(options.search_alg.get())) {
    // Resolve the first variant now: a sample_from cycle or a bad path is a misuse that
    // must surface before any directory exists.
    if (variants->total_trials().value_or(1) > 0) {
      const Config first = variants->generate(0).config;
      if (!options.resources_per_trial && trainable.default_resource_request) {
        if (auto request = trainable.default_resource_request(first)) {
          request->validate("default_resource_request");
          check.check_feasible(*request, "default_resource_request");
        }
      }
    }
  }

  std::shared_ptr<Stopper> stopper = options.stop.make_stopper();
  if (options.time_budget_s > 0) {
    auto timeout = std::make_shared<TimeoutStopper>(std::chrono::duration<double>(options.time_budget_s));
    stopper = stopper ? std::make_shared<CombinedStopper>(std::vector<std::shared_ptr<Stopper>>{stopper, timeout})
                      : std::shared_ptr<Stopper>(timeout);
  }

  ExperimentInfo experiment;
  experiment.name = options.name.empty() ? trainable.name + "_" + date_string(std::time(nullptr)) : options.name;
  experiment.experiment_id = random_hex(32);
  experiment.metric = options.metric;
  experiment.mode = options.mode;
  const std::filesystem::path local_dir = expand_user(options.local_dir);
  if (options.local_dir.empty()) throw TuneError("local_dir: must not be empty");
  experiment.dir = local_dir / experiment.name;
  std::error_code ec;
  std::filesystem::create_directories(experiment.dir, ec);
  if (ec) {
    throw TuneError(fmt::format("local_dir: cannot create {}: {}", experiment.dir.string(), ec.message()));
  }
  detail::TrialRunner runner(trainable, std::move(options), std::move(experiment), std::move(pool),
                             std::move(stopper));
  return runner.run();
}

}  // namespace tune
