// Internal: what the process executor knows of each child and each zygote (process_executor.h),
// shared by its three parts — the loop (process_executor.cc), the zygote client
// (zygote_client.cc) and the reading of what children write (child_output.cc) — and the
// helpers that build a child's environment and words its failures. Owned by the runner's
// thread: nothing here is thread-safe.
#pragma once

#include <chrono>
#include <cmath>
#include <csignal>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/saturate.h"
#include "common/subprocess.h"
#include "executors/executor.h"
#include "object_store/object_store.h"
#include "trial/auto_fill.h"
#include "tune/process.h"

namespace tune::detail::proc {

using Clock = std::chrono::steady_clock;
inline constexpr Clock::time_point kNever = Clock::time_point::max();
inline constexpr size_t kReadChunk = 65536;
inline constexpr int kMaxReadsAtExit = 256;  // 16 MiB
inline constexpr size_t kStderrTailLines = 20;
inline constexpr size_t kStderrTailLineBytes = 500;
// Plain programs are not paced by the runner: beyond this many unread results their stdout is
// no longer read, so the pipe fills and the program blocks (backpressure, bounded memory).
inline constexpr size_t kMaxBufferedResults = 256;
inline constexpr int kPoliteSignal = SIGTERM;
// A zygote that has not said hello by then is given up (its trials are exec'd).
inline constexpr double kZygoteHelloTimeoutS = 60;
// After this many zygotes of one trainable died while serving, its trials are exec'd.
inline constexpr int kMaxZygoteLosses = 3;

inline double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Now + s seconds; s comes from users (step_timeout_s, stop_grace_s, a ProcessSpec built in
// C++ without the spec's checks), so it saturates at kMaxSeconds ("never") instead of
// overflowing the clock.
inline Clock::time_point after(double s) { return Clock::now() + saturating_duration<Clock::duration>(s); }

// Buffered line splitting for one non-blocking descriptor.
struct LineBuffer {
  std::string data;
  size_t start = 0;

  void append(const char* chunk, size_t n) {
    if (start > 0 && start == data.size()) {
      data.clear();
      start = 0;
    }
    data.append(chunk, n);
  }
  // The next complete line (without '\n'), valid until the next append.
  bool next(std::string_view& line) {
    const size_t newline = data.find('\n', start);
    if (newline == std::string::npos) {
      if (start > 0 && start * 2 >= data.size()) {
        data.erase(0, start);
        start = 0;
      }
      return false;
    }
    line = std::string_view(data).substr(start, newline - start);
    start = newline + 1;
    return true;
  }
  size_t pending() const { return data.size() - start; }
  std::string_view rest() const { return std::string_view(data).substr(start); }
  void clear() {
    data.clear();
    start = 0;
  }
};

// A fork server of ours (zygote.h), for the trials of one registered trainable (and one
// OMP_NUM_THREADS value: OpenMP reads it once, when the binary loads).
struct Zygote {
  enum class State {
    kStarting,  // started, hello sent; its hello not read yet
    kReady,     // forks on request
    kDead,      // exited, or given up (its process reaped or about to be)
  };
  // A message the control socket did not take yet, with the descriptors it carries.
  struct Outgoing {
    std::string bytes;
    std::vector<int> fds;                                    // attached, in order
    std::vector<UniqueFd> owned;                             // closed once sent
    std::vector<std::shared_ptr<const PinnedRegion>> keep;  // pinned objects, open until sent
  };
  const ProcessSpec* spec = nullptr;
  std::string omp;
  pid_t pid = -1;
  UniqueFd pidfd;
  UniqueFd control;  // SOCK_SEQPACKET
  State state = State::kStarting;
  bool exited = false;
  bool killed_by_tune = false;
  int wait_status = 0;
  Clock::time_point hello_deadline = kNever;
  std::deque<uint64_t> waiting;  // children to fork once it is ready (serials)
  std::deque<Outgoing> outgoing;
  std::vector<char> buffer;  // received messages

  std::string who() const { return fmt::format("zygote '{}' (pid {})", spec->argv[0], pid); }
};

struct Child {
  enum class State {
    kStarting,  // setup (and the first step) sent; no reply yet
    kStepping,  // a step is asked for; the next reply is its answer
    kWaiting,   // a result went to the runner; waiting for continue_trial / stop_trial
    kSaving,    // a save is asked for (worker protocol); the next reply is 'saved'
    kStopping,  // the runner stopped it; kept until it exits
    kEnded,     // ended by itself or by a failure already reported
  };
  uint64_t serial = 0;
  int64_t key = 0;
  const ProcessSpec* spec = nullptr;
  bool plain = false;
  std::string trial_name;
  std::string command;  // argv[0], for messages
  pid_t pid = -1;
  UniqueFd pidfd;
  UniqueFd request;  // driver -> child requests (socket, fd 3 in the child)
  UniqueFd reply;    // child -> driver replies (fd 4), or the plain program's stdout
  UniqueFd out;      // the worker's stdout when echoed
  UniqueFd err;      // stderr when echoed or when there is no trial directory
  UniqueFd out_log;  // files the driver copies piped output into
  UniqueFd err_log;
  std::filesystem::path err_path;  // stderr.log, read back for the crash report
  LineBuffer reply_buf, out_buf, err_buf;
  std::deque<std::string> err_tail;  // last lines of a piped stderr
  std::vector<std::string> launcher_lines;  // stderr lines of the launcher (srun), bounded
  std::string unsent;                // requests the socket did not take yet
  State state = State::kStarting;
  std::string awaiting = "setup";  // the request whose reply is due, for messages
  bool exited = false;
  int wait_status = 0;
  bool killed_by_tune = false;
  bool skipping_long_line = false;
  bool close_requests = false;  // shut the request socket once `unsent` is out
  int64_t line_number = 0;
  Clock::time_point spawned_at;
  Clock::time_point step_start;
  Clock::time_point last_result_at;
  Clock::time_point deadline = kNever;  // step timeout
  Clock::time_point kill_at = kNever;   // stop grace
  std::unique_ptr<AutoFiller> filler;
  struct PlainResult {
    Result result;
    Clock::time_point at;
    std::filesystem::path checkpoint;  // taken from the checkpoint dir when the line said should_checkpoint
  };
  std::deque<PlainResult> results;  // plain: parsed, not yet handed over
  std::string plain_failure;        // plain: a bad line, reported after the results read before it
  std::filesystem::path trial_dir;
  std::filesystem::path checkpoint_dir;
  std::optional<ExecutorEvent> stashed;                      // worker: what happened while the runner was deciding
  // Forked by this zygote (null: exec'd). Its pid is -1 until the zygote says it forked; its
  // exit status comes from the zygote too.
  std::shared_ptr<Zygote> zygote;
  std::unique_ptr<StartRequest> deferred;  // not started yet: waits for its zygote's hello
  // Being forked by its zygote: kept until the zygote says the pid, so that a fork refused for
  // want of processes or memory (EAGAIN, ENOMEM) is held back and tried again like a spawn.
  std::unique_ptr<StartRequest> forking;
  bool kill_pending = false;               // killed before its pid was known
  std::string lost;                        // why it was killed without an exit status of its own
  std::string token;                       // TUNE_TRIAL_TOKEN of its processes (process_tree.h)
  // Since when it waits for descriptors or processes to start (backpressure); kNever: it does not.
  Clock::time_point held_since = kNever;

  bool alive() const { return !exited; }
  std::string who() const {
    return pid > 0 ? fmt::format("trial process '{}' (pid {})", command, pid)
                   : fmt::format("trial process '{}' (not started yet)", command);
  }
};

// A log for a posix_spawn'ed child: lifted out of the way of its dup2 actions.
inline UniqueFd open_log(const std::filesystem::path& path) { return lift_fd(open_append(path)); }

// Keeps `line` (cut) as the newest of a bounded stderr tail.
void keep_tail(std::deque<std::string>& tail, std::string_view line);
// "\nlast N lines of stderr (where):\n  ..." for an error message; empty when there is none.
std::string stderr_tail(const Child& child);

// OMP_NUM_THREADS for the trial: the trainable's env, else its whole CPUs (at least 1).
std::string omp_threads(const TrialInfo& info, const ProcessSpec& spec);
// A trial child's environment ("NAME=value"): the driver's, tune's variables, the trainable's env.
std::vector<std::string> child_environment(const StartRequest& request, const ProcessSpec& spec,
                                           const std::filesystem::path& checkpoint_dir,
                                           const std::string& pinned_objects, bool launched);
// A zygote's own environment: the driver's, the worker protocol's (so that a binary of an older
// tune takes it for a worker and fails at once), no GPU, and its trainable's env.
std::vector<std::string> zygote_environment(const ProcessSpec& spec, const std::string& omp);
// Why a trial process could not start (an error number of posix_spawn), in the user's words.
std::string spawn_error(int error, const std::string& command);

}  // namespace tune::detail::proc
