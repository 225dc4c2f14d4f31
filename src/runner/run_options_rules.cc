#include "runner/run_options_rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/strings.h"
#include "executors/fiber.h"
#include "tune/error.h"

namespace tune::detail {

void check_name(const std::string& name) {
  if (name.find('/') != std::string::npos || name == "." || name == "..") {
    throw TuneError(fmt::format("name: '{}' must be a single directory name (no '/', not . or ..)", name));
  }
  if (const size_t at = find_control_character(name); at != std::string::npos) {
    throw TuneError(fmt::format("name: '{}' holds a control character (byte {}); it names a directory and is printed",
                                escape_for_terminal(name), at + 1));
  }
}

void check_local_dir(const std::string& local_dir) {
  if (local_dir.empty()) throw TuneError("local_dir: must not be empty");
}

void check_num_samples(int64_t num_samples) {
  if (num_samples == 0 || num_samples < -1) {
    throw TuneError(fmt::format("num_samples: must be >= 1, or -1 for no limit, got {}", num_samples));
  }
}

void check_mode(const std::string& mode) {
  if (!mode.empty() && mode != "min" && mode != "max") {
    throw TuneError(fmt::format("mode: must be 'min' or 'max', got '{}'", mode));
  }
}

void check_verbose(int64_t verbose) {
  if (verbose < 0 || verbose > 3) throw TuneError(fmt::format("verbose: must be 0, 1, 2 or 3, got {}", verbose));
}

void check_max_concurrent_trials(int64_t max_concurrent_trials) {
  if (max_concurrent_trials < 0) {
    throw TuneError(
        fmt::format("max_concurrent_trials: must be >= 1 (or 0 for no limit), got {}", max_concurrent_trials));
  }
}

void check_time_budget_s(double time_budget_s) {
  if (!(time_budget_s >= 0)) throw TuneError(fmt::format("time_budget_s: must be >= 0, got {}", time_budget_s));
  if (!std::isfinite(time_budget_s)) {
    throw TuneError(fmt::format("time_budget_s: must be a finite number of seconds, got {}", time_budget_s));
  }
}

void check_max_failures(int64_t max_failures) {
  if (max_failures < -1) {
    throw TuneError(fmt::format("max_failures: must be >= 0, or -1 to retry forever, got {}", max_failures));
  }
}

void check_checkpoint_freq(int64_t checkpoint_freq) {
  if (checkpoint_freq < 0) {
    throw TuneError(fmt::format("checkpoint_freq: must be >= 0 (0 = off), got {}", checkpoint_freq));
  }
}

void check_keep_checkpoints_num(int64_t keep_checkpoints_num) {
  if (keep_checkpoints_num < 0) {
    throw TuneError(
        fmt::format("keep_checkpoints_num: must be >= 1 (or 0 to keep all), got {}", keep_checkpoints_num));
  }
}

void check_checkpoint_score_attr(const std::string& checkpoint_score_attr) {
  const std::string key = checkpoint_score_attr.starts_with("min-") ? checkpoint_score_attr.substr(4)
                                                                    : checkpoint_score_attr;
  if (key.empty()) {
    throw TuneError("checkpoint_score_attr: must name a result key (\"min-\" + key when lower is better)");
  }
}

void check_resume_mode(const std::string& resume) {
  static const std::vector<std::string> kModes = {"LOCAL", "PROMPT", "ERRORED_ONLY", "REMOTE"};
  static const std::vector<std::string> kBooleans = {"", "true", "True", "false", "False"};
  if (std::find(kModes.begin(), kModes.end(), resume) != kModes.end()) return;
  if (std::find(kBooleans.begin(), kBooleans.end(), resume) != kBooleans.end()) return;
  throw TuneError(fmt::format("resume: '{}' is not a resume mode; use true, false, LOCAL, PROMPT, ERRORED_ONLY or "
                              "REMOTE{}",
                              resume, did_you_mean(resume, kModes)));
}

void check_pool_amount(const std::optional<double>& amount, const std::string& field) {
  if (amount && !(std::isfinite(*amount) && *amount >= 0)) {
    throw TuneError(fmt::format("{}: must be a finite number >= 0, got {}", field, *amount));
  }
}

void check_custom_resource_name(const std::string& name, const std::string& field) {
  if (name == "cpu" || name == "gpu" || name == "memory") {
    throw TuneError(fmt::format("{}: use num_cpus/num_gpus for built-in resources", field));
  }
}

void check_option_combinations(const RunOptions& options) {
  if (options.metric.empty() != options.mode.empty()) {
    throw TuneError(options.metric.empty() ? "mode: is given without 'metric'"
                                           : "metric: is given without 'mode' (min or max)");
  }
  if (options.fail_fast && options.max_failures != 0) {
    throw TuneError("fail_fast: cannot be combined with max_failures (fail_fast stops at the first failure)");
  }
  if (options.resume.value == "REMOTE") {
    if (options.sync_config.upload_dir.empty()) {
      throw TuneError("resume: REMOTE pulls the experiment from sync_config.upload_dir, which is not given");
    }
    if (options.name.empty()) {
      throw TuneError("resume: REMOTE needs 'name' (the experiment to pull from sync_config.upload_dir)");
    }
  }
}

namespace {

// Options only the C++ API has.
void check_api_only_options(const RunOptions& options) {
  if (options.slurm && options.local_mode) throw TuneError("slurm: cannot be combined with local_mode");
  if (options.slurm && options.slurm->srun.empty()) throw TuneError("slurm.srun: must name the srun program");
  if (options.function_execution == FunctionExecution::kFiber) {
    if (options.local_mode) {
      throw TuneError("function_execution: kFiber cannot be combined with local_mode (which runs every trial on the "
                      "calling thread, one after another)");
    }
    if (!fibers_supported()) throw TuneError("function_execution: kFiber is implemented for x86-64 only; use kThread");
  }
  if (options.fiber_stack_size < kMinFiberStackSize || options.fiber_stack_size > (std::size_t{1} << 30)) {
    throw TuneError(fmt::format("fiber_stack_size: must be between {} (64 KiB) and {} (1 GiB) bytes, got {}",
                                kMinFiberStackSize, std::size_t{1} << 30, options.fiber_stack_size));
  }
  if (!(options.reporter.max_report_frequency_s >= 0)) {
    throw TuneError("reporter.max_report_frequency_s: must be >= 0");
  }
  for (size_t i = 0; i < options.loggers.size(); ++i) {
    if (!options.loggers[i]) throw TuneError(fmt::format("loggers[{}]: is empty", i));
  }
  for (size_t i = 0; i < options.callbacks.size(); ++i) {
    if (!options.callbacks[i]) throw TuneError(fmt::format("callbacks[{}]: is null", i));
  }
}

}  // namespace

void check_run_options(const RunOptions& options) {
  check_api_only_options(options);
  check_name(options.name);
  check_local_dir(options.local_dir);
  check_num_samples(options.num_samples);
  check_mode(options.mode);
  check_verbose(options.verbose);
  check_max_concurrent_trials(options.max_concurrent_trials);
  check_time_budget_s(options.time_budget_s);
  check_max_failures(options.max_failures);
  check_checkpoint_freq(options.checkpoint_freq);
  check_keep_checkpoints_num(options.keep_checkpoints_num);
  check_checkpoint_score_attr(options.checkpoint_score_attr);
  check_resume_mode(options.resume.value);
  check_pool_amount(options.num_cpus, "num_cpus");
  check_pool_amount(options.num_gpus, "num_gpus");
  for (const auto& [name, amount] : options.custom_resources) {
    check_pool_amount(amount, "custom_resources." + name);
    check_custom_resource_name(name, "custom_resources." + name);
  }
  check_option_combinations(options);
  const bool checkpointing = options.checkpoint_freq > 0 || options.checkpoint_at_end;
  if (checkpointing && !options.write_trial_files) {
    throw TuneError(fmt::format("{}: checkpoints live in trial directories, but write_trial_files=false",
                                options.checkpoint_freq > 0 ? "checkpoint_freq" : "checkpoint_at_end"));
  }
}

}  // namespace tune::detail
