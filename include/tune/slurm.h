// tune/slurm.h — running every trial as a Slurm job step (RunOptions::slurm).
//
// Each trial is one `srun` of the trial's process (a registered trainable of this binary re-run
// as a worker, or a command): no shell, the worker protocol on srun's forwarded stdin/stdout,
// so no port is opened. Inside an allocation (salloc/sbatch: SLURM_JOB_ID is set) each trial is
// a step of it (`srun --exact`); outside one, each trial is its own job in `partition`.
// The trial's resources become srun flags: --cpus-per-task = ceil(cpu + extra_cpu),
// --gres=gpu:N (whole GPUs only: a fractional request fails the trial), --mem (memory in MB,
// rounded up), --gres=NAME:N for custom resources. Slurm sets CUDA_VISIBLE_DEVICES.
// The trial directories (local_dir) must be on a filesystem the nodes share.
// Thread-safety: a value type.
#pragma once

#include <string>
#include <vector>

namespace tune {

struct SlurmOptions {
  // Outside an allocation: the partition (-p) and account (-A) of each trial's job; empty:
  // Slurm's defaults. Inside an allocation the steps use the allocation's.
  std::string partition;
  std::string account;
  // --time of each trial's step or job, in Slurm's format ("30", "1:00:00", "2-0"); empty:
  // the partition's or allocation's limit. A trial killed at it fails (max_failures applies).
  std::string time_limit;
  // --mem-per-cpu (e.g. "2G"); empty: the cluster's default. Ignored when the trial requests memory.
  std::string mem_per_cpu;
  // More srun flags, each one argument ("--constraint=a100", "--qos=short"), before the command.
  std::vector<std::string> extra_srun_args;
  // The srun program (looked up in PATH).
  std::string srun = "srun";
};

}  // namespace tune
