// Internal: the process executor — every trial a child process (tune/process.h, docs/protocol.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "executors/executor.h"
#include "tune/json.h"

namespace tune::detail {

// Trials of trainables whose `process` is set. One poll() loop on the runner's thread, inside
// poll(): no thread per child.
std::unique_ptr<Executor> make_process_executor(Executor::Sink sink);

// argv with "{key}" / "{a/b}" replaced by config values (strings as-is, other values as JSON)
// and "{{" / "}}" by literal braces. Throws TuneError naming the argument when a key is not in
// the config or a value holds a NUL byte.
std::vector<std::string> substitute_argv(const std::vector<std::string>& argv, const Config& config);

// "exited with code 3", "exited with signal SIGSEGV (Segmentation fault)", "was killed by
// SIGKILL (possibly out of memory ...)" for a waitpid() status; `killed_by_tune` says the
// SIGKILL was ours, so no OOM guess.
std::string describe_wait_status(int status, bool killed_by_tune);

// Byte offset of the first invalid UTF-8 sequence in `text`, or npos.
size_t invalid_utf8_offset(std::string_view text);

}  // namespace tune::detail
