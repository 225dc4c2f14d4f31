// Internal: the rules a RunOptions must keep, in one place. tune::run() checks them all before
// anything starts (check_run_options); the spec parser (src/spec/) calls each option's rule as
// it reads that key, so a spec file's error names its line, and the rules between options once
// every key is read. Each throws TuneError "<field>: <rule>, got <value>".
// Rules that need the trainable too (reuse_actors, checkpointing a function) stay in run.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tune/run.h"

namespace tune::detail {

void check_name(const std::string& name);
void check_local_dir(const std::string& local_dir);
void check_num_samples(int64_t num_samples);
void check_mode(const std::string& mode);
void check_verbose(int64_t verbose);
void check_max_concurrent_trials(int64_t max_concurrent_trials);
void check_time_budget_s(double time_budget_s);
void check_max_failures(int64_t max_failures);
void check_checkpoint_freq(int64_t checkpoint_freq);
// 0 keeps every checkpoint (a spec writes null for it).
void check_keep_checkpoints_num(int64_t keep_checkpoints_num);
void check_checkpoint_score_attr(const std::string& checkpoint_score_attr);
// false, true, "LOCAL", "PROMPT", "ERRORED_ONLY", "REMOTE" (and "" / "true" / "false").
void check_resume_mode(const std::string& resume);
// num_cpus, num_gpus and each custom resource of the pool: finite and >= 0. `field` is how the
// caller spells it ("custom_resources.tpu" in C++, "custom_resources/tpu" in a spec).
void check_pool_amount(const std::optional<double>& amount, const std::string& field);
// A custom pool resource must not be one of the built-in ones.
void check_custom_resource_name(const std::string& name, const std::string& field);

// The rules between options: metric needs mode and mode needs metric, fail_fast excludes
// max_failures, resume "REMOTE" needs a name and sync_config.upload_dir. The field named is the
// one that was given.
void check_option_combinations(const RunOptions& options);

// Every rule above, and those of options a spec cannot set (reporter, loggers, callbacks,
// fibers, Slurm), on a whole RunOptions.
void check_run_options(const RunOptions& options);

}  // namespace tune::detail
