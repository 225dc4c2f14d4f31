// Internal: the Slurm executor — the process executor with every child started by `srun`
// (tune/slurm.h). The worker protocol runs over srun's forwarded stdin/stdout.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "executors/executor.h"
#include "tune/resources.h"
#include "tune/slurm.h"

namespace tune::detail {

// `experiment_dir` keeps the job names of steps that may still run (.slurm_steps): steps a
// killed driver left behind are cancelled when the next executor starts there.
std::unique_ptr<Executor> make_slurm_executor(Executor::Sink sink, const SlurmOptions& options,
                                              const std::filesystem::path& experiment_dir);

// The srun command line for one trial: srun, its flags from `resources` and `options`, "--",
// then `argv`. `in_allocation`: a step of the current job (--exact) rather than a job of its
// own (partition, account). Throws TuneError naming the resource Slurm cannot express.
std::vector<std::string> srun_command(const SlurmOptions& options, bool in_allocation, const std::string& job_name,
                                      const Resources& resources, const std::vector<std::string>& argv);

// What srun's and slurmstepd's own stderr lines say went wrong (a cancelled step, a time
// limit, a lost node, a step that could not be created); empty when they say nothing did.
std::string describe_slurm_failure(const std::vector<std::string>& launcher_lines);

// The default pool under Slurm: inside an allocation, its CPUs (SLURM_JOB_CPUS_PER_NODE) and
// GPUs (SLURM_JOB_GPUS / SLURM_GPUS_ON_NODE); outside one, unbounded (Slurm queues the jobs).
ResourcePool slurm_pool();

// True when this process runs inside a Slurm allocation (SLURM_JOB_ID is set).
bool inside_slurm_allocation();

}  // namespace tune::detail
