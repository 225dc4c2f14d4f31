// Internal: the process executor — every trial a child process (tune/process.h, docs/protocol.md).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "executors/executor.h"
#include "tune/json.h"

namespace tune::detail {

// How a child is started when not directly: through a launcher such as srun (the Slurm
// executor). A launched child speaks the protocol on its stdin/stdout (TUNE_PROTOCOL_FDS=0,1:
// all that srun forwards), gets no CUDA_VISIBLE_DEVICES from tune (the launcher's scheduler sets
// it) and no pinned objects (another node cannot map them); its stderr is always piped so the
// launcher's own messages there can be read.
class ChildLauncher {
 public:
  virtual ~ChildLauncher() = default;
  // The command line that runs `argv` for this trial. Throws TuneError for a request the
  // launcher cannot express (the trial then fails with that message).
  virtual std::vector<std::string> wrap(const StartRequest& request, std::vector<std::string> argv) = 0;
  // True for a stderr line the launcher itself wrote (kept, bounded, for failure()).
  virtual bool is_launcher_line(std::string_view line) const = 0;
  // What went wrong beyond the exit status, from the launcher's lines: a cancelled or
  // timed-out step, a lost node. Empty when they say nothing is wrong. A non-empty answer
  // makes the exit a failure even with status 0.
  virtual std::string failure(const std::vector<std::string>& launcher_lines, int wait_status) = 0;
  // The child (the launcher process) is about to be SIGKILLed, which it cannot pass on: ends
  // what it launched for the trial named `trial_name` by other means.
  virtual void cancel(const std::string& trial_name) = 0;
};

// Trials of trainables whose `process` is set. One poll() loop on the runner's thread, inside
// poll(): no thread per child. With a launcher, every child is started through it.
std::unique_ptr<Executor> make_process_executor(Executor::Sink sink, std::shared_ptr<ChildLauncher> launcher = nullptr);

}  // namespace tune::detail
