// ProcessExecutor: every trial is a child process that speaks the worker protocol on fds 3/4
// (docs/protocol.md) or prints plain JSON result lines on stdout. Children are posix_spawn'ed
// (vfork + exec: cheap even from a big driver) into their own process group; one poll() over
// every child's pipes and pidfd runs on the runner's thread inside poll(), so events reach the
// sink from there only, as the Executor contract asks.
#include "executors/process_executor.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "executors/flat_json.h"
#include "executors/zygote.h"
#include "object_store/object_store.h"
#include "trial/auto_fill.h"
#include "tune/client.h"
#include "tune/error.h"
#include "tune/process.h"

extern char** environ;  // NOLINT: POSIX

namespace tune::detail {
namespace {

using Clock = std::chrono::steady_clock;
constexpr Clock::time_point kNever = Clock::time_point::max();
constexpr size_t kReadChunk = 65536;
constexpr int kMaxReadsAtExit = 256;  // 16 MiB
constexpr size_t kStderrTailLines = 20;
constexpr size_t kStderrTailLineBytes = 500;
// Plain programs are not paced by the runner: beyond this many unread results their stdout is
// no longer read, so the pipe fills and the program blocks (backpressure, bounded memory).
constexpr size_t kMaxBufferedResults = 256;
// Our pipe ends live at or above this fd, so the child's dup2 onto 0..4 never hits one of them.
constexpr int kFdFloor = 10;
constexpr int kPoliteSignal = SIGTERM;
// A zygote that has not said hello by then is given up (its trials are exec'd).
constexpr double kZygoteHelloTimeoutS = 60;
// After this many zygotes of one trainable died while serving, its trials are exec'd.
constexpr int kMaxZygoteLosses = 3;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

Clock::time_point after(double s) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

std::system_error os_error(const std::string& what) { return {errno, std::generic_category(), what}; }

// Moves `fd` to a close-on-exec descriptor >= kFdFloor.
UniqueFd lift(int fd) {
  if (fd >= kFdFloor) return UniqueFd(fd);
  const int lifted = ::fcntl(fd, F_DUPFD_CLOEXEC, kFdFloor);
  const int saved = errno;
  ::close(fd);
  if (lifted < 0) {
    errno = saved;
    throw os_error("fcntl(F_DUPFD_CLOEXEC)");
  }
  return UniqueFd(lifted);
}

// For our fresh pipe and socket ends only: F_SETFL replaces the status flags, and theirs are
// just the access mode (which F_SETFL ignores), so one call does it.
void set_nonblocking(int fd) {
  if (::fcntl(fd, F_SETFL, O_NONBLOCK) < 0) throw os_error("fcntl(O_NONBLOCK)");
}

UniqueFd open_log_here(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw os_error("cannot open " + path.string());
  return UniqueFd(fd);
}

// A log for a posix_spawn'ed child: lifted out of the way of its dup2 actions.
UniqueFd open_log(const std::filesystem::path& path) {
  UniqueFd fd = open_log_here(path);
  return lift(fd.release());
}

void write_fully(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a log file that cannot be written must not stop the trial
    data += n;
    size -= static_cast<size_t>(n);
  }
}

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
#else
  (void)pid;
  return -1;
#endif
}

std::string quoted_excerpt(std::string_view line, size_t max = 200) {
  std::string cut(line.substr(0, max));
  std::string out;
  for (unsigned char c : cut) {
    if (c >= 0x20 && c < 0x7f)
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out + (line.size() > max ? "..." : "");
}

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
  std::filesystem::path trial_dir;
  std::filesystem::path checkpoint_dir;
  std::optional<ExecutorEvent> stashed;                      // worker: what happened while the runner was deciding
  // Forked by this zygote (null: exec'd). Its pid is -1 until the zygote says it forked; its
  // exit status comes from the zygote too.
  std::shared_ptr<Zygote> zygote;
  std::unique_ptr<StartRequest> deferred;  // not started yet: waits for its zygote's hello
  bool kill_pending = false;               // killed before its pid was known
  std::string lost;                        // why it was killed without an exit status of its own

  bool alive() const { return !exited; }
  std::string who() const {
    return pid > 0 ? fmt::format("trial process '{}' (pid {})", command, pid)
                   : fmt::format("trial process '{}' (not started yet)", command);
  }
};

std::string stderr_tail_of_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  const off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size <= 0) return {};
  const off_t from = std::max<off_t>(0, size - 16384);
  std::string text(static_cast<size_t>(size - from), '\0');
  const ssize_t n = ::pread(fd.get(), text.data(), text.size(), from);
  if (n <= 0) return {};
  text.resize(static_cast<size_t>(n));
  return text;
}

std::string format_tail(std::deque<std::string> lines, const std::string& where) {
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  while (lines.size() > kStderrTailLines) lines.pop_front();
  if (lines.empty()) return {};
  std::string out = fmt::format("\nlast {} lines of stderr ({}):", lines.size(), where);
  for (const auto& line : lines) out += "\n  " + line;
  return out;
}

void keep_tail(std::deque<std::string>& tail, std::string_view line) {
  std::string cut = line.size() > kStderrTailLineBytes ? std::string(line.substr(0, kStderrTailLineBytes)) + "..."
                                                       : std::string(line);
  tail.push_back(std::move(cut));
  if (tail.size() > kStderrTailLines + 1) tail.pop_front();
}

std::string stderr_tail(const Child& child) {
  if (!child.err_path.empty() && !child.err) {
    std::deque<std::string> lines;
    const std::string text = stderr_tail_of_file(child.err_path);
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      keep_tail(lines, std::string_view(text).substr(start, end - start));
      start = end + 1;
    }
    return format_tail(std::move(lines), child.err_path.string());
  }
  std::deque<std::string> lines = child.err_tail;
  if (child.err_buf.pending() > 0) keep_tail(lines, child.err_buf.rest());
  return format_tail(std::move(lines),
                     child.err_path.empty() ? "not kept: no trial directory" : child.err_path.string());
}

// The driver's environment without the variables tune sets for its children.
std::map<std::string, std::string> inherited_environment() {
  static const char* const kOwned[] = {"TUNE_TRIAL_ID",        "TUNE_TRIAL_NAME",       "TUNE_EXPERIMENT_ID",
                                       "TUNE_TRIAL_DIR",       "TUNE_CHECKPOINT_DIR",   "TUNE_RESTORE_FROM",
                                       "TUNE_PROTOCOL_FDS",    "TUNE_PROTOCOL_VERSION", "TUNE_WORKER",
                                       "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS",       pinned::kEnvVar,
                                       zygote::kEnvVar};
  std::map<std::string, std::string> vars;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq == nullptr) continue;
    std::string name(*e, static_cast<size_t>(eq - *e));
    if (std::find(std::begin(kOwned), std::end(kOwned), name) != std::end(kOwned)) continue;
    vars[std::move(name)] = eq + 1;
  }
  return vars;
}

std::string omp_threads(const TrialInfo& info, const ProcessSpec& spec) {
  if (auto it = spec.env.find("OMP_NUM_THREADS"); it != spec.env.end()) return it->second;
  const double cpu = info.resources.cpu;
  return std::to_string(std::isfinite(cpu) ? std::max<int64_t>(1, static_cast<int64_t>(cpu)) : 1);
}

std::vector<std::string> as_environment(const std::map<std::string, std::string>& vars) {
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [name, value] : vars) out.push_back(name + "=" + value);
  return out;
}

std::vector<std::string> child_environment(const StartRequest& request, const ProcessSpec& spec,
                                           const std::filesystem::path& checkpoint_dir,
                                           const std::string& pinned_objects, bool launched) {
  std::map<std::string, std::string> vars = inherited_environment();
  const TrialInfo& info = request.info;
  vars["TUNE_TRIAL_ID"] = info.trial_id;
  vars["TUNE_TRIAL_NAME"] = info.trial_name;
  vars["TUNE_EXPERIMENT_ID"] = info.experiment_id;
  vars["TUNE_TRIAL_DIR"] = info.trial_dir.string();
  vars["TUNE_CHECKPOINT_DIR"] = checkpoint_dir.string();
  if (!info.restore_from.empty()) vars["TUNE_RESTORE_FROM"] = info.restore_from.string();
  std::string gpus;
  for (size_t i = 0; i < info.gpu_ids.size(); ++i) gpus += (i > 0 ? "," : "") + std::to_string(info.gpu_ids[i]);
  if (!launched) vars["CUDA_VISIBLE_DEVICES"] = gpus;  // empty: no GPU access (the guide's rule)
  vars["OMP_NUM_THREADS"] = omp_threads(info, spec);
  if (spec.protocol == ProcessSpec::Protocol::kWorker) {
    vars["TUNE_PROTOCOL_FDS"] = launched ? "0,1" : "3,4";
    vars["TUNE_PROTOCOL_VERSION"] = std::to_string(client::kProtocolVersion);
  }
  if (!pinned_objects.empty()) vars[pinned::kEnvVar] = pinned_objects;
  for (const auto& [name, value] : spec.env) vars[name] = value;
  return as_environment(vars);
}

// A zygote's own environment: the driver's, the worker protocol's (so that a binary of an older
// tune takes it for a worker and fails at once), no GPU, and its trainable's env.
std::vector<std::string> zygote_environment(const ProcessSpec& spec, const std::string& omp) {
  std::map<std::string, std::string> vars = inherited_environment();
  vars[zygote::kEnvVar] = "3";
  vars["TUNE_PROTOCOL_FDS"] = "3,4";
  vars["TUNE_PROTOCOL_VERSION"] = std::to_string(client::kProtocolVersion);
  vars["CUDA_VISIBLE_DEVICES"] = "";
  for (const auto& [name, value] : spec.env) vars[name] = value;
  vars["OMP_NUM_THREADS"] = omp;
  return as_environment(vars);
}

// posix_spawn's file actions and attributes, freed on every path. The child leads its own
// process group (a kill reaches what it starts; a terminal's ^C is the driver's to handle),
// with no signal blocked and the common ones at their defaults.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t none, defaults;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM}) {
      sigaddset(&defaults, sig);
    }
    posix_spawnattr_setsigdefault(&attr, &defaults);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }

  // posix_spawnp(argv[0]); the error number on failure (0: started).
  int spawn(pid_t& pid, const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    std::vector<char*> argv_ptrs;
    for (const auto& a : argv) argv_ptrs.push_back(const_cast<char*>(a.c_str()));
    argv_ptrs.push_back(nullptr);
    std::vector<char*> env_ptrs;
    for (const auto& e : env) env_ptrs.push_back(const_cast<char*>(e.c_str()));
    env_ptrs.push_back(nullptr);
    return posix_spawnp(&pid, argv[0].c_str(), &actions, &attr, argv_ptrs.data(), env_ptrs.data());
  }

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
};

std::string spawn_error(int error, const std::string& command) {
  if (error == ENOENT) {
    if (command.find('/') != std::string::npos) {
      return fmt::format("cannot start the trial process: '{}' does not exist (or its interpreter does not)", command);
    }
    const char* path = std::getenv("PATH");
    return fmt::format("cannot start the trial process: command '{}' not found (searched PATH={})", command,
                       path != nullptr ? path : "");
  }
  if (error == EACCES) {
    return fmt::format("cannot start the trial process: permission denied for '{}' (is it executable?)", command);
  }
  if (error == ENOEXEC) return fmt::format("cannot start the trial process: '{}' is not an executable", command);
  return fmt::format("cannot start the trial process '{}': {}", command, std::strerror(error));
}

class ProcessExecutor final : public Executor {
  struct Delivery {
    int64_t key;
    uint64_t serial;
    ExecutorEvent event;
  };

 public:
  ProcessExecutor(Sink sink, std::shared_ptr<ChildLauncher> launcher)
      : sink_(std::move(sink)), launcher_(std::move(launcher)) {}

  ~ProcessExecutor() override {
    for (auto& child : children_) {
      if (child->alive() && child->state != Child::State::kStopping && child->kill_at == kNever) ask_to_stop(*child);
    }
    by_key_.clear();
    // Wait for every child: politely until its grace runs out, then SIGKILL. Forked ones are
    // heard of through their zygotes.
    std::vector<Delivery> ignored;
    while (std::any_of(children_.begin(), children_.end(), [](const auto& c) { return c->alive(); })) {
      std::vector<pollfd> fds;
      Clock::time_point next = kNever;
      bool blind = false;
      for (auto& child : children_) {
        if (!child->alive()) continue;
        if (child->pidfd)
          fds.push_back({child->pidfd.get(), POLLIN, 0});
        else if (!child->zygote)
          blind = true;  // no pidfd: look again soon
        next = std::min(next, child->kill_at);
      }
      for (auto& z : zygotes_) {
        if (z->state == Zygote::State::kDead) continue;
        if (z->control) {
          fds.push_back({z->control.get(), static_cast<short>(POLLIN | (z->outgoing.empty() ? 0 : POLLOUT)), 0});
        }
        if (z->pidfd) fds.push_back({z->pidfd.get(), POLLIN, 0});
      }
      int wait_ms = next == kNever
                        ? 1000
                        : static_cast<int>(std::clamp(seconds(next - Clock::now()) * 1000.0 + 1.0, 0.0, 1000.0));
      if (blind) wait_ms = std::min(wait_ms, 10);
      ::poll(fds.data(), fds.size(), wait_ms);
      for (const auto& z : std::vector<std::shared_ptr<Zygote>>(zygotes_)) serve_zygote(*z, ignored);
      for (auto& child : children_) {
        if (!child->alive()) continue;
        if (!child->zygote) try_reap(*child);
        if (child->alive() && Clock::now() >= child->kill_at) kill_group(*child);
      }
      ignored.clear();
    }
    // A zygote ends when its control socket closes (it has no children left).
    for (auto& z : zygotes_) z->control.reset();
    const Clock::time_point give_up = after(2);
    for (auto& z : zygotes_) {
      while (!reap_zygote(*z, Clock::now() >= give_up)) {
        pollfd p{z->pidfd.get(), POLLIN, 0};
        ::poll(&p, z->pidfd ? 1 : 0, 10);
      }
    }
  }

  void start(StartRequest request) override {
    if (auto it = by_key_.find(request.key); it != by_key_.end()) {
      // A restarted trial: its previous process (if any is left) goes away first.
      Child& old = *it->second;
      by_key_.erase(it);
      if (old.alive() && old.state != Child::State::kStopping) ask_to_stop(old);
    }
    auto owned = std::make_unique<Child>();
    Child& child = *owned;
    child.serial = ++next_serial_;
    child.key = request.key;
    child.spec = request.trainable->process.get();
    child.plain = child.spec->protocol == ProcessSpec::Protocol::kPlain;
    child.trial_name = request.info.trial_name;
    child.command = child.spec->argv.empty() ? std::string() : child.spec->argv[0];
    child.filler = make_auto_filler(request);
    child.trial_dir = request.info.trial_dir;
    child.checkpoint_dir = checkpoint_dir_of(request.info);
    children_.push_back(std::move(owned));
    by_key_[request.key] = &child;
    launch(child, std::make_unique<StartRequest>(std::move(request)), queued_);
  }

  // Starts the child: forked by its zygote, or exec'd; or queued until its zygote is ready.
  void launch(Child& child, std::unique_ptr<StartRequest> request, std::vector<Delivery>& deliveries) {
    child.zygote.reset();
    try {
      if (std::shared_ptr<Zygote> z = zygote_for(child, *request)) {
        child.zygote = z;
        if (z->state != Zygote::State::kReady || !fork_from(*z, child, *request)) {
          if (z->state == Zygote::State::kReady) {
            child.zygote.reset();  // too big a request for the zygote
            spawn(child, *request);
          } else {
            child.deferred = std::move(request);
            z->waiting.push_back(child.serial);
            return;
          }
        }
      } else {
        spawn(child, *request);
      }
    } catch (const std::exception& e) {
      child.state = Child::State::kEnded;
      child.exited = true;  // nothing to wait for
      child.zygote.reset();
      deliveries.push_back({child.key, child.serial, {child.key, ExecutorEvent::Type::kError, {}, e.what()}});
      return;
    }
    launched(child, *request);
  }

  // The process runs (or its fork is asked for): setup and the first step go to it.
  void launched(Child& child, const StartRequest& request) {
    child.spawned_at = child.step_start = child.last_result_at = Clock::now();
    child.state = child.plain ? Child::State::kStepping : Child::State::kStarting;
    arm_step_timeout(child);
    if (!child.plain) {
      Json trial = {{"trial_id", request.info.trial_id},
                    {"trial_name", request.info.trial_name},
                    {"experiment_id", request.info.experiment_id},
                    {"trial_dir", request.info.trial_dir.string()},
                    {"checkpoint_dir", checkpoint_dir_of(request.info).string()},
                    // Launched: the launcher's scheduler picks the GPUs (CUDA_VISIBLE_DEVICES), not tune.
                    {"gpu_ids", launcher_ ? std::vector<int>{} : request.info.gpu_ids},
                    {"resources", request.info.resources.to_json()}};
      Json setup = {{"type", "setup"},
                    {"version", client::kProtocolVersion},
                    {"config", request.config},
                    {"trial", std::move(trial)},
                    {"restore_from", request.info.restore_from.empty() ? Json(nullptr)
                                                                      : Json(request.info.restore_from.string())}};
      // The first step goes right behind setup: one round trip less per trial.
      send(child, client::wire::dump_line(setup) + kStepLine);
    }
  }

  void continue_trial(int64_t key) override {
    Child* child = owned(key);
    if (child == nullptr || child->state != Child::State::kWaiting) return;
    if (child->stashed) {
      child->state = Child::State::kEnded;
      queued_.push_back({child->key, child->serial, std::move(*child->stashed)});
      child->stashed.reset();
      if (child->alive()) kill_group(*child);
      return;
    }
    child->state = Child::State::kStepping;
    child->step_start = Clock::now();
    child->awaiting = "step";
    if (child->plain) {
      wake_.push_back(child->serial);  // a buffered line may answer at once
    } else {
      send(*child, kStepLine);
    }
    arm_step_timeout(*child);
  }

  void save_trial(int64_t key, const std::filesystem::path& dir) override {
    Child* child = owned(key);
    if (child == nullptr || child->state != Child::State::kWaiting) return;
    if (child->stashed) {  // it died or failed while the runner was deciding
      child->state = Child::State::kEnded;
      queued_.push_back({child->key, child->serial, std::move(*child->stashed)});
      child->stashed.reset();
      if (child->alive()) kill_group(*child);
      return;
    }
    if (child->plain) {
      queued_.push_back({child->key, child->serial,
                         {child->key, ExecutorEvent::Type::kError, {},
                          "a plain-protocol program cannot be asked to save: it checkpoints itself (write into "
                          "$TUNE_CHECKPOINT_DIR, then print a result with \"should_checkpoint\": true)"}});
      return;
    }
    child->state = Child::State::kSaving;
    child->step_start = Clock::now();
    child->awaiting = "save";
    send(*child, client::wire::dump_line(Json{{"type", "save"}, {"dir", dir.string()}}));
    arm_step_timeout(*child);
  }

  void stop_trial(int64_t key) override {
    auto it = by_key_.find(key);
    if (it == by_key_.end()) return;
    Child& child = *it->second;
    by_key_.erase(it);
    if (child.state == Child::State::kEnded || child.state == Child::State::kStopping) return;
    child.state = Child::State::kStopping;
    child.deadline = kNever;
    child.results.clear();
    if (child.alive()) ask_to_stop(child);
  }

  void poll(std::chrono::milliseconds timeout) override {
    // One vector, its capacity kept from poll to poll: no allocation per round of results.
    std::vector<Delivery> deliveries = std::move(spare_deliveries_);
    deliveries.clear();
    std::move(queued_.begin(), queued_.end(), std::back_inserter(deliveries));
    queued_.clear();
    std::vector<uint64_t> wake;
    wake.swap(wake_);
    for (uint64_t serial : wake) {
      if (Child* child = by_serial(serial); child != nullptr) advance_plain(*child, deliveries);
    }
    wait_and_read(deliveries.empty() ? timeout : std::chrono::milliseconds(0), deliveries);
    check_deadlines(deliveries);
    // Forget children that are over: exited and no longer the current process of their key.
    std::erase_if(children_, [this](const std::unique_ptr<Child>& c) {
      if (c->alive()) return false;
      auto it = by_key_.find(c->key);
      return it == by_key_.end() || it->second != c.get();
    });
    std::erase_if(zygotes_, [](const std::shared_ptr<Zygote>& z) { return z->state == Zygote::State::kDead && z->exited; });
    for (auto& delivery : deliveries) {
      // The runner may have stopped or restarted the trial since (inside an earlier sink call).
      Child* child = owned(delivery.key);
      if (child == nullptr || child->serial != delivery.serial) continue;
      sink_(std::move(delivery.event));
    }
    deliveries.clear();
    spare_deliveries_ = std::move(deliveries);
  }

 private:
  static constexpr const char* kStepLine = "{\"type\":\"step\"}\n";

  Child* owned(int64_t key) {
    auto it = by_key_.find(key);
    return it == by_key_.end() ? nullptr : it->second;
  }
  Child* by_serial(uint64_t serial) {
    for (auto& child : children_) {
      if (child->serial == serial) return child.get();
    }
    return nullptr;
  }
  size_t live_count() const {
    return static_cast<size_t>(
        std::count_if(children_.begin(), children_.end(), [](const auto& c) { return c->alive(); }));
  }

  static std::filesystem::path checkpoint_dir_of(const TrialInfo& info) {
    return info.trial_dir.empty() ? std::filesystem::path() : info.trial_dir / "checkpoint";
  }

  void arm_step_timeout(Child& child) {
    child.deadline = child.spec->step_timeout_s > 0 ? after(child.spec->step_timeout_s) : kNever;
  }

  // Where the child runs: checked here, so a missing directory is the trial's clear error.
  static std::filesystem::path working_dir_of(const ProcessSpec& spec, const StartRequest& request) {
    std::filesystem::path working_dir = spec.working_dir.empty() ? request.info.trial_dir : spec.working_dir;
    if (!working_dir.empty() && !spec.working_dir.empty()) {
      std::error_code ec;
      if (!std::filesystem::is_directory(working_dir, ec)) {
        throw TuneError(fmt::format("working_dir: {} is not a directory", working_dir.string()));
      }
    }
    return working_dir;
  }

  void spawn(Child& child, const StartRequest& request) {
    const ProcessSpec& spec = *child.spec;
    std::vector<std::string> argv = substitute_argv(spec.argv, request.config);
    const bool launched = launcher_ != nullptr;
    if (launched) argv = launcher_->wrap(request, std::move(argv));
    const std::filesystem::path& trial_dir = request.info.trial_dir;
    const std::filesystem::path working_dir = working_dir_of(spec, request);
    // Pinned objects (tune/object_store.h) follow the protocol fds: 3.. (plain) or 5.. (worker).
    // A launched child may run on another machine: no pinned objects, and its protocol is on 0/1.
    const ChildPinnedObjects pinned = launched ? ChildPinnedObjects{} : pinned_objects_for_child(child.plain ? 3 : 5);
    const std::vector<std::string> env =
        child_environment(request, spec, checkpoint_dir_of(request.info), pinned.env, launched);

    // Where the child's stdout and stderr go. Straight to files when nothing needs to see them
    // on the way (cheapest, and they survive a driver crash); through pipes otherwise.
    const bool have_dir = !trial_dir.empty();
    UniqueFd out_target, err_target;  // the child's ends
    if (have_dir) child.err_path = trial_dir / "stderr.log";
    if (child.plain || spec.echo_output || launched) {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) throw os_error("pipe2");
      UniqueFd read_end = lift(p[0]);
      out_target = lift(p[1]);
      (child.plain || launched ? child.reply : child.out) = std::move(read_end);
      // A launched worker writes stdout.log itself (client.h moves its stdout there).
      if (have_dir && (child.plain || !launched)) child.out_log = open_log(trial_dir / "stdout.log");
    } else if (have_dir) {
      out_target = open_log(trial_dir / "stdout.log");
    }
    if (have_dir && !spec.echo_output && !launched) {
      err_target = open_log(child.err_path);
    } else {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) throw os_error("pipe2");
      child.err = lift(p[0]);
      err_target = lift(p[1]);
      if (have_dir) child.err_log = open_log(child.err_path);
    }
    UniqueFd request_target, reply_target;
    if (!child.plain) {
      // (Launched: the reply pipe is the child's stdout, made above.)
      int s[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) != 0) throw os_error("socketpair");
      child.request = lift(s[0]);
      request_target = lift(s[1]);
      if (!launched) {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) throw os_error("pipe2");
        child.reply = lift(p[0]);
        reply_target = lift(p[1]);
      }
    }

    SpawnSetup setup;
    posix_spawn_file_actions_t& actions = setup.actions;
    if (launched && request_target)
      posix_spawn_file_actions_adddup2(&actions, request_target.get(), 0);
    else
      posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (out_target)
      posix_spawn_file_actions_adddup2(&actions, out_target.get(), 1);
    else
      posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, err_target.get(), 2);
    if (!child.plain && !launched) {
      posix_spawn_file_actions_adddup2(&actions, request_target.get(), 3);
      posix_spawn_file_actions_adddup2(&actions, reply_target.get(), 4);
    }
    for (const auto& [from, to] : pinned.dup2) posix_spawn_file_actions_adddup2(&actions, from, to);
    // Nothing else of the driver's leaks into the trial (the lifted fds are close-on-exec
    // already; this also covers descriptors the user's program opened without it).
    posix_spawn_file_actions_addclosefrom_np(&actions, launched ? 3 : pinned.next_free_fd);
    if (!working_dir.empty()) posix_spawn_file_actions_addchdir_np(&actions, working_dir.c_str());
    pid_t pid = -1;
    const int rc = setup.spawn(pid, argv, env);
    if (rc != 0) {
      // A working_dir removed in between also lands here as ENOENT; it was checked just above.
      throw TuneError(spawn_error(rc, argv[0]));
    }
    child.pid = pid;
    child.command = argv[0];
    child.pidfd.reset(open_pidfd(pid));
    for (const UniqueFd* fd : {&child.request, &child.reply, &child.out, &child.err}) {
      if (*fd) set_nonblocking(fd->get());
    }
  }

  void send(Child& child, std::string_view data) {
    if (!child.request) return;
    if (child.unsent.empty()) {
      const ssize_t n = ::send(child.request.get(), data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n == static_cast<ssize_t>(data.size())) return;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return;  // gone: its exit tells
      data.remove_prefix(n > 0 ? static_cast<size_t>(n) : 0);
    }
    child.unsent.append(data);
  }

  void flush_unsent(Child& child) {
    while (!child.unsent.empty()) {
      const ssize_t n =
          ::send(child.request.get(), child.unsent.data(), child.unsent.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) child.unsent.clear();
        break;
      }
      child.unsent.erase(0, static_cast<size_t>(n));
    }
    if (child.unsent.empty() && child.close_requests) ::shutdown(child.request.get(), SHUT_WR);
  }

  // No more requests: the child reads end-of-file after what is queued (a client blocked on
  // its request pipe wakes up and ends).
  void close_requests(Child& child) {
    if (!child.request || child.close_requests) return;
    child.close_requests = true;
    if (child.unsent.empty()) ::shutdown(child.request.get(), SHUT_WR);
  }

  // A child still waiting for its zygote never runs: nothing to stop or wait for.
  static bool abandon_unstarted(Child& child) {
    if (!child.deferred) return false;
    child.deferred.reset();
    child.exited = true;
    child.deadline = child.kill_at = kNever;
    return true;
  }

  void ask_to_stop(Child& child) {
    child.deadline = kNever;
    if (!child.alive() || abandon_unstarted(child)) return;
    if (child.plain) {
      ::kill(-child.pid, kPoliteSignal);
    } else {
      send(child, "{\"type\":\"stop\"}\n");
      close_requests(child);
    }
    child.kill_at = after(child.spec->stop_grace_s);
  }

  void kill_group(Child& child) {
    child.kill_at = kNever;
    child.deadline = kNever;
    if (!child.alive() || abandon_unstarted(child)) return;
    child.killed_by_tune = true;
    if (launcher_) launcher_->cancel(child.trial_name);
    if (child.pid <= 0) {
      child.kill_pending = true;  // forked, but its pid is not known yet: killed when it is
      return;
    }
    ::kill(-child.pid, SIGKILL);
  }

  // True when the process has exited (and is now reaped).
  bool try_reap(Child& child) {
    if (!child.alive()) return true;
    if (child.zygote) return false;  // not our child: its zygote reports the exit
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(child.pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
      if (errno == EINTR) return false;
      child.exited = true;  // not our child any more (someone else reaped it): nothing to wait for
      child.pidfd.reset();
      return true;
    }
    if (info.si_pid == 0) return false;
    // Whatever it started and left behind goes with it. The leader is a zombie until the
    // waitpid below, so its pid (the group id) cannot have been reused by anyone.
    ::kill(-child.pid, SIGKILL);
    int status = 0;
    while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
    }
    child.exited = true;
    child.wait_status = status;
    child.pidfd.reset();
    return true;
  }


  // ---- zygotes (zygote.h) ----

  using ZygoteKey = std::pair<const ProcessSpec*, std::string>;

  // The zygote that is to fork this trial, started if need be; null: exec it.
  std::shared_ptr<Zygote> zygote_for(const Child& child, const StartRequest& request) {
    const ProcessSpec& spec = *child.spec;
    if (launcher_ || child.plain || spec.launch != ProcessSpec::Launch::kZygote) return nullptr;
    // The zygote runs argv as it is; a trial whose placeholders make another argv needs its own exec.
    bool has_placeholder = false;
    for (const std::string& arg : spec.argv) has_placeholder = has_placeholder || arg.find('{') != std::string::npos;
    if (has_placeholder && substitute_argv(spec.argv, request.config) != spec.argv) return nullptr;
    ZygoteKey key{&spec, omp_threads(request.info, spec)};
    if (exec_only_.contains(key)) return nullptr;
    if (auto it = zygote_for_.find(key); it != zygote_for_.end() && it->second->state != Zygote::State::kDead) {
      return it->second;
    }
    if (zygote_losses_[&spec] >= kMaxZygoteLosses) return nullptr;
    try {
      auto z = start_zygote(spec, key.second);
      zygote_for_[key] = z;
      return z;
    } catch (const std::exception&) {
      // Its exec would fail the same way, with the message the trial should show.
      exec_only_.insert(key);
      return nullptr;
    }
  }

  std::shared_ptr<Zygote> start_zygote(const ProcessSpec& spec, const std::string& omp) {
    auto z = std::make_shared<Zygote>();
    z->spec = &spec;
    z->omp = omp;
    int s[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s) != 0) throw os_error("socketpair");
    z->control = UniqueFd(s[0]);
    const UniqueFd theirs = lift(s[1]);
    const std::vector<std::string> env = zygote_environment(spec, omp);
    pid_t pid = -1;
    if (spec.start_zygote) {
      pid = spec.start_zygote(theirs.get(), env);  // an embedder's fork of itself (ProcessSpec)
    } else {
      SpawnSetup setup;
      posix_spawn_file_actions_t& actions = setup.actions;
      // stdin and stdout: nothing (a trial's own are set after its fork); stderr: the driver's,
      // for what goes wrong in the zygote itself.
      posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
      posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
      posix_spawn_file_actions_adddup2(&actions, theirs.get(), 3);
      posix_spawn_file_actions_adddup2(&actions, theirs.get(), 4);
      posix_spawn_file_actions_addclosefrom_np(&actions, 5);
      if (const int rc = setup.spawn(pid, spec.argv, env); rc != 0) {
        throw TuneError(spawn_error(rc, spec.argv[0]));
      }
    }
    z->pid = pid;
    z->pidfd.reset(open_pidfd(pid));
    set_nonblocking(z->control.get());
    const double grace = std::isfinite(spec.stop_grace_s) ? spec.stop_grace_s : 5.0;
    zygote::send_message(z->control.get(), zygote::hello_line(fmt::format(",\"grace_s\":{}", grace)));
    z->hello_deadline = after(kZygoteHelloTimeoutS);
    zygotes_.push_back(z);
    return z;
  }

  // Asks `z` to fork the child: false when the request is too big for it (exec it instead).
  bool fork_from(Zygote& z, Child& child, const StartRequest& request) {
    const ProcessSpec& spec = *child.spec;
    const std::filesystem::path& trial_dir = request.info.trial_dir;
    const std::filesystem::path working_dir = working_dir_of(spec, request);
    ChildPinnedObjects pinned = pinned_objects_for_child(5);
    std::vector<std::string> env = child_environment(request, spec, checkpoint_dir_of(request.info), pinned.env, false);
    size_t bytes = 64 + working_dir.native().size() + 8 * (5 + pinned.dup2.size());
    for (const auto& e : env) bytes += e.size() + 1;
    if (bytes > zygote::kMaxMessage || 4 + pinned.dup2.size() > zygote::kMaxFds) return false;

    Zygote::Outgoing out;
    zygote::ForkRequest fork;
    auto attach = [&](UniqueFd fd, int target) {
      out.fds.push_back(fd.get());
      fork.targets.push_back(target);
      out.owned.push_back(std::move(fd));
    };
    auto make_pipe = [](UniqueFd& read_end, UniqueFd& write_end) {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) throw os_error("pipe2");
      read_end = UniqueFd(p[0]);
      write_end = UniqueFd(p[1]);
    };
    const bool have_dir = !trial_dir.empty();
    if (have_dir) child.err_path = trial_dir / "stderr.log";
    // As for an exec'd worker: straight to the files unless output is echoed; the child opens
    // them itself (an error to open them is its trial's error).
    if (spec.echo_output) {
      UniqueFd write_end;
      make_pipe(child.out, write_end);
      attach(std::move(write_end), 1);
      if (have_dir) child.out_log = open_log_here(trial_dir / "stdout.log");
    } else if (have_dir) {
      fork.opens.emplace_back(1, (trial_dir / "stdout.log").string());
    }  // else: the zygote's /dev/null
    if (have_dir && !spec.echo_output) {
      fork.opens.emplace_back(2, child.err_path.string());
    } else {
      UniqueFd write_end;
      make_pipe(child.err, write_end);
      attach(std::move(write_end), 2);
      if (have_dir) child.err_log = open_log_here(child.err_path);
    }
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) throw os_error("socketpair");
    child.request = UniqueFd(sp[0]);
    attach(UniqueFd(sp[1]), 3);
    UniqueFd reply_write;
    make_pipe(child.reply, reply_write);
    attach(std::move(reply_write), 4);
    for (const auto& [from, to] : pinned.dup2) {
      out.fds.push_back(from);
      fork.targets.push_back(to);
    }
    out.keep = std::move(pinned.keep);
    fork.serial = child.serial;
    fork.cwd = working_dir.string();
    fork.env = std::move(env);
    out.bytes = zygote::encode_fork(fork);
    child.pid = -1;
    child.command = spec.argv[0];
    for (const UniqueFd* fd : {&child.request, &child.reply, &child.out, &child.err}) {
      if (*fd) set_nonblocking(fd->get());
    }
    send_to_zygote(z, std::move(out));
    return true;
  }

  void send_to_zygote(Zygote& z, Zygote::Outgoing out) {
    if (z.outgoing.empty() && (!z.control || zygote::send_message(z.control.get(), out.bytes, out.fds) ||
                               (errno != EAGAIN && errno != EWOULDBLOCK))) {
      return;  // sent, or the zygote is gone (its end says so: its trials fail then)
    }
    z.outgoing.push_back(std::move(out));
  }

  void flush_zygote(Zygote& z) {
    while (!z.outgoing.empty() && z.control) {
      const Zygote::Outgoing& out = z.outgoing.front();
      if (!zygote::send_message(z.control.get(), out.bytes, out.fds) && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;
      }
      z.outgoing.pop_front();
    }
  }

  // Everything the zygote says, its exit included.
  void serve_zygote(Zygote& z, std::vector<Delivery>& deliveries) {
    if (z.state == Zygote::State::kDead) return;
    flush_zygote(z);
    std::string_view message;
    std::vector<int> fds;
    while (z.control) {
      bool truncated = false;
      fds.clear();
      const ssize_t n = zygote::receive_message(z.control.get(), z.buffer, message, fds, truncated);
      for (int fd : fds) ::close(fd);  // a zygote sends none
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n <= 0) {  // it exited (or closed its end): its wait status tells
        zygote_died(z, deliveries, "");
        return;
      }
      if (z.state == Zygote::State::kStarting) {
        if (!is_hello(message)) {
          // An older tune's worker answers our hello with an error: no zygote there.
          zygote_died(z, deliveries, "did not answer as a zygote: " + quoted_excerpt(message));
          return;
        }
        z.state = Zygote::State::kReady;
        z.hello_deadline = kNever;
        start_waiting(z, deliveries);
        continue;
      }
      on_zygote_message(z, message, deliveries);
    }
    if (z.pidfd) {
      pollfd p{z.pidfd.get(), POLLIN, 0};
      if (::poll(&p, 1, 0) > 0) zygote_died(z, deliveries, "");
    }
  }

  static bool is_hello(std::string_view message) {
    try {
      const Json hello = Json::parse(message);
      return hello.is_object() && hello.value("type", "") == "zygote" && hello.value("version", 0) == zygote::kVersion;
    } catch (const Json::exception&) {
      return false;
    }
  }

  void start_waiting(Zygote& z, std::vector<Delivery>& deliveries) {
    std::deque<uint64_t> waiting;
    waiting.swap(z.waiting);
    for (uint64_t serial : waiting) {
      Child* child = by_serial(serial);
      if (child == nullptr || !child->deferred) continue;  // stopped meanwhile
      launch(*child, std::move(child->deferred), deliveries);
    }
  }

  void on_zygote_message(Zygote& z, std::string_view message, std::vector<Delivery>& deliveries) {
    auto read_i32 = [&](size_t at) {
      int32_t v = 0;
      if (message.size() >= at + sizeof v) std::memcpy(&v, message.data() + at, sizeof v);
      return v;
    };
    if (message[0] == 'P' && message.size() >= 13) {
      uint64_t serial = 0;
      std::memcpy(&serial, message.data() + 1, sizeof serial);
      const int32_t pid = read_i32(9);
      Child* child = by_serial(serial);
      if (child == nullptr || child->zygote.get() != &z) {
        if (pid > 0) ::kill(-pid, SIGKILL);  // nobody wants it any more; its exit is reaped below
        return;
      }
      if (pid <= 0) {
        child->exited = true;
        child->lost = fmt::format("{} could not fork it: {}", z.who(), std::strerror(-pid));
        on_exited(*child, deliveries);
        return;
      }
      child->pid = pid;
      if (child->kill_pending) ::kill(-pid, SIGKILL);
    } else if (message[0] == 'X' && message.size() >= 9) {
      const int32_t pid = read_i32(1);
      const int32_t status = read_i32(5);
      send_to_zygote(z, {zygote::encode_reap({pid}), {}, {}, {}});
      for (auto& child : children_) {
        if (child->zygote.get() != &z || child->pid != pid || child->exited) continue;
        child->exited = true;
        child->wait_status = status;
        on_exited(*child, deliveries);
        break;
      }
    }
  }

  // The zygote is gone (or given up): trials waiting for it start otherwise; the ones it forked,
  // whose exit it can no longer tell, are killed and fail.
  void zygote_died(Zygote& z, std::vector<Delivery>& deliveries, const std::string& why) {
    if (z.state == Zygote::State::kDead) return;
    const bool served = z.state == Zygote::State::kReady;
    z.state = Zygote::State::kDead;
    z.control.reset();
    z.outgoing.clear();
    if (!z.exited) {
      ::kill(z.pid, SIGKILL);
      z.killed_by_tune = true;
      reap_zygote(z, true);
    }
    const std::string what = fmt::format(
        "{} {}", z.who(), !why.empty() ? why : describe_wait_status(z.wait_status, z.killed_by_tune));
    const ZygoteKey key{z.spec, z.omp};
    if (auto it = zygote_for_.find(key); it != zygote_for_.end() && it->second.get() == &z) zygote_for_.erase(it);
    if (served) {
      ++zygote_losses_[z.spec];
    } else {
      exec_only_.insert(key);
    }
    for (auto& child : children_) {
      if (child->zygote.get() != &z || child->exited || child->deferred) continue;
      if (child->pid > 0) ::kill(-child->pid, SIGKILL);
      child->killed_by_tune = true;
      child->exited = true;
      child->wait_status = SIGKILL;
      child->lost = what;
      on_exited(*child, deliveries);
    }
    start_waiting(z, deliveries);
  }

  // True when the zygote's process is reaped; `wait`: block for it.
  static bool reap_zygote(Zygote& z, bool wait) {
    if (z.exited) return true;
    if (wait) ::kill(z.pid, SIGKILL);
    int status = 0;
    pid_t got;
    while ((got = ::waitpid(z.pid, &status, wait ? 0 : WNOHANG)) < 0 && errno == EINTR) {
    }
    if (got == 0) return false;
    z.exited = true;
    z.wait_status = got > 0 ? status : 0;
    z.pidfd.reset();
    return true;
  }

  // ---- the event loop ----

  void wait_and_read(std::chrono::milliseconds timeout, std::vector<Delivery>& deliveries) {
    pollfds_.clear();
    watches_.clear();
    Clock::time_point next = kNever;
    bool blind = false;  // a child without pidfd: look for its exit now and then
    for (auto& owned_child : children_) {
      Child& c = *owned_child;
      if (!c.alive()) continue;
      auto watch = [&](const UniqueFd& fd, short events, int which) {
        if (!fd) return;
        pollfds_.push_back({fd.get(), events, 0});
        watches_.push_back({&c, which});
      };
      if (!(c.plain && c.results.size() >= kMaxBufferedResults)) watch(c.reply, POLLIN, 0);
      watch(c.out, POLLIN, 1);
      watch(c.err, POLLIN, 2);
      if (!c.unsent.empty()) watch(c.request, POLLOUT, 3);
      if (c.pidfd)
        watch(c.pidfd, POLLIN, 4);
      else if (!c.zygote)
        blind = true;
      next = std::min({next, c.deadline, c.kill_at});
    }
    for (auto& z : zygotes_) {
      if (z->state == Zygote::State::kDead) continue;
      if (z->control) {
        pollfds_.push_back({z->control.get(), static_cast<short>(POLLIN | (z->outgoing.empty() ? 0 : POLLOUT)), 0});
        watches_.push_back({nullptr, 5, z.get()});
      }
      if (z->pidfd) {
        pollfds_.push_back({z->pidfd.get(), POLLIN, 0});
        watches_.push_back({nullptr, 5, z.get()});
      }
      next = std::min(next, z->hello_deadline);
    }
    int wait_ms = static_cast<int>(timeout.count());
    if (next != kNever) {
      const double until = seconds(next - Clock::now()) * 1000.0;
      wait_ms = std::min(wait_ms, static_cast<int>(std::clamp(std::ceil(until), 0.0, 1e9)));
    }
    if (blind) wait_ms = std::min(wait_ms, 20);
    if (pollfds_.empty()) {
      if (wait_ms > 0) ::poll(nullptr, 0, wait_ms);
    } else {
      const int n = ::poll(pollfds_.data(), pollfds_.size(), std::max(0, wait_ms));
      if (n < 0 && errno != EINTR) throw os_error("poll");
      if (n > 0) {
        for (size_t i = 0; i < pollfds_.size(); ++i) {
          if (pollfds_[i].revents == 0) continue;
          if (watches_[i].zygote != nullptr) {
            serve_zygote(*watches_[i].zygote, deliveries);
            continue;
          }
          Child& c = *watches_[i].child;
          switch (watches_[i].which) {
            case 0:
              read_reply(c, deliveries, false);
              break;
            case 1:
              read_output(c, c.out, c.out_buf, c.out_log, false, false);
              break;
            case 2:
              read_output(c, c.err, c.err_buf, c.err_log, true, false);
              break;
            case 3:
              flush_unsent(c);
              break;
            case 4:
              on_exit_signalled(c, deliveries);
              break;
          }
        }
      }
    }
    if (blind) {
      for (auto& c : children_) {
        if (c->alive() && !c->pidfd && !c->zygote && try_reap(*c)) on_exited(*c, deliveries);
      }
    }
  }

  void on_exit_signalled(Child& child, std::vector<Delivery>& deliveries) {
    if (!try_reap(child)) return;
    on_exited(child, deliveries);
  }

  // The process is gone: read what it left in the pipes, then decide what its exit means.
  void on_exited(Child& child, std::vector<Delivery>& deliveries) {
    if (child.reply) read_reply(child, deliveries, true);
    if (child.out) read_output(child, child.out, child.out_buf, child.out_log, false, true);
    if (child.err) read_output(child, child.err, child.err_buf, child.err_log, true, true);
    child.request.reset();
    child.unsent.clear();
    child.deadline = child.kill_at = kNever;
    switch (child.state) {
      case Child::State::kSaving: {
        ExecutorEvent event = exit_event(child, "before replying to 'save'");
        if (event.type == ExecutorEvent::Type::kFinished) {
          event = {child.key, ExecutorEvent::Type::kError, {},
                   fmt::format("{} exited with status 0 instead of replying to 'save'", child.who())};
        }
        child.state = Child::State::kEnded;
        deliveries.push_back({child.key, child.serial, std::move(event)});
        break;
      }
      case Child::State::kStarting:
      case Child::State::kStepping:
        if (child.plain) {
          advance_plain(child, deliveries);
        } else {
          ExecutorEvent event = exit_event(child, "before replying to '" + child.awaiting + "'");
          child.state = Child::State::kEnded;
          deliveries.push_back({child.key, child.serial, std::move(event)});
        }
        break;
      case Child::State::kWaiting:
        if (!child.plain && !child.stashed) child.stashed = exit_event(child, "after its last result");
        break;
      case Child::State::kStopping:
      case Child::State::kEnded:
        break;
    }
  }

  ExecutorEvent exit_event(const Child& child, const std::string& when) {
    if (!child.lost.empty()) {
      std::string message = fmt::format("{} was lost{}: {}", child.who(), when.empty() ? "" : " " + when, child.lost);
      message += stderr_tail(child);
      return {child.key, ExecutorEvent::Type::kError, {}, std::move(message)};
    }
    // The launcher knows more than the status: srun exits 0 after a node failure.
    const std::string cluster = launcher_ && !child.killed_by_tune
                                    ? launcher_->failure(child.launcher_lines, child.wait_status)
                                    : std::string();
    if (!cluster.empty()) {
      std::string message = fmt::format("{} {}: {}{}", child.who(), describe_wait_status(child.wait_status, false),
                                        cluster, when.empty() ? "" : " (" + when + ")");
      message += stderr_tail(child);
      return {child.key, ExecutorEvent::Type::kError, {}, std::move(message)};
    }
    if (WIFEXITED(child.wait_status) && WEXITSTATUS(child.wait_status) == 0) {
      return {child.key, ExecutorEvent::Type::kFinished, {}, {}};
    }
    std::string message =
        fmt::format("{} {}{}", child.who(), describe_wait_status(child.wait_status, child.killed_by_tune),
                    when.empty() ? "" : " " + when);
    message += stderr_tail(child);
    return {child.key, ExecutorEvent::Type::kError, {}, std::move(message)};
  }

  // Reads what is available; `to_end`: the process exited, take everything still buffered.
  void read_reply(Child& child, std::vector<Delivery>& deliveries, bool to_end) {
    char chunk[kReadChunk];
    // After the exit, a descendant may still hold the pipe and write: take what is there, boundedly.
    for (int reads = 0; child.reply && reads < kMaxReadsAtExit; ++reads) {
      const ssize_t n = ::read(child.reply.get(), chunk, sizeof chunk);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // EAGAIN: all read for now
      }
      if (n == 0) {
        child.reply.reset();  // EOF
        break;
      }
      const auto size = static_cast<size_t>(n);
      if (child.plain) {
        if (child.out_log) write_fully(child.out_log.get(), chunk, size);
        child.reply_buf.append(chunk, size);
        std::string_view line;
        while (child.reply_buf.next(line)) plain_line(child, line, deliveries);
        check_long_plain_line(child, deliveries);
      } else {
        child.reply_buf.append(chunk, size);
        std::string_view line;
        while (child.reply_buf.next(line)) worker_line(child, line, deliveries);
        if (child.reply_buf.pending() > child.spec->max_message_bytes && child.state != Child::State::kStopping &&
            child.state != Child::State::kEnded) {
          protocol_failure(child,
                           fmt::format("a reply is longer than max_message_bytes={} (at least {} bytes without a "
                                       "newline); results must be small JSON objects: write large data to files in "
                                       "the trial directory",
                                       child.spec->max_message_bytes, child.reply_buf.pending()),
                           deliveries);
        }
        if (child.state == Child::State::kEnded || child.state == Child::State::kStopping) child.reply_buf.clear();
      }
      if (size < sizeof chunk && !to_end) break;  // drained; poll() says when there is more
    }
    if (to_end && child.plain && child.reply_buf.pending() > 0 && !child.skipping_long_line) {
      // A last line without '\n'.
      const std::string last(child.reply_buf.rest());
      child.reply_buf.clear();
      plain_line(child, last, deliveries);
    }
    if (child.plain) advance_plain(child, deliveries);
  }

  void read_output(Child& child, UniqueFd& fd, LineBuffer& buffer, UniqueFd& log, bool is_err, bool to_end) {
    char chunk[kReadChunk];
    for (int reads = 0; fd && reads < kMaxReadsAtExit; ++reads) {
      const ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (n == 0) {
        fd.reset();
        break;
      }
      const auto size = static_cast<size_t>(n);
      if (log) write_fully(log.get(), chunk, size);
      buffer.append(chunk, size);
      std::string_view line;
      while (buffer.next(line)) {
        if (is_err) keep_tail(child.err_tail, line);
        if (is_err && launcher_ && child.launcher_lines.size() < kStderrTailLines && launcher_->is_launcher_line(line)) {
          child.launcher_lines.emplace_back(line.substr(0, kStderrTailLineBytes));
        }
        if (child.spec->echo_output) echo(child, line, is_err);
      }
      if (buffer.pending() > kReadChunk) {  // an endless line: keep its start only
        if (is_err) keep_tail(child.err_tail, buffer.rest());
        buffer.clear();
      }
      if (size < sizeof chunk && !to_end) break;
    }
  }

  static void echo(const Child& child, std::string_view line, bool is_err) {
    std::ostream& os = is_err ? std::cerr : std::cout;
    os << '[' << child.trial_name << "] " << line << '\n';
  }

  // A failure the trial is to blame for: reported now (or when the runner is done deciding),
  // and the process is killed.
  void protocol_failure(Child& child, const std::string& problem, std::vector<Delivery>& deliveries) {
    ExecutorEvent event{child.key, ExecutorEvent::Type::kError, {}, fmt::format("{}: {}", child.who(), problem)};
    fail(child, std::move(event), deliveries);
  }

  void fail(Child& child, ExecutorEvent event, std::vector<Delivery>& deliveries) {
    switch (child.state) {
      case Child::State::kStarting:
      case Child::State::kStepping:
      case Child::State::kSaving:
        child.state = Child::State::kEnded;
        deliveries.push_back({child.key, child.serial, std::move(event)});
        kill_group(child);
        break;
      case Child::State::kWaiting:
        if (!child.stashed) child.stashed = std::move(event);
        kill_group(child);
        break;
      case Child::State::kStopping:
      case Child::State::kEnded:
        break;
    }
  }

  void worker_line(Child& child, std::string_view line, std::vector<Delivery>& deliveries) {
    ++child.line_number;
    if (child.state == Child::State::kStopping || child.state == Child::State::kEnded) return;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > child.spec->max_message_bytes) {
      protocol_failure(child,
                       fmt::format("reply line {} is {} bytes, longer than max_message_bytes={}; results must be "
                                   "small JSON objects: write large data to files in the trial directory",
                                   child.line_number, line.size(), child.spec->max_message_bytes),
                       deliveries);
      return;
    }
    if (const size_t bad = invalid_utf8_offset(line); bad != std::string_view::npos) {
      protocol_failure(child,
                       fmt::format("reply line {} is not valid UTF-8 (byte 0x{:02x} at offset {}); the protocol is "
                                   "UTF-8 JSON",
                                   child.line_number, static_cast<unsigned char>(line[bad]), bad),
                       deliveries);
      return;
    }
    // The reply of nearly every step, {"type":"result","result":{...}}: only the result is parsed.
    // Anything unusual about it goes the general way below, which words the errors.
    if ((child.state == Child::State::kStarting || child.state == Child::State::kStepping) &&
        line.starts_with(client::wire::kResultPrefix) && line.back() == '}') {
      const std::string_view inner =
          line.substr(client::wire::kResultPrefix.size(), line.size() - client::wire::kResultPrefix.size() - 1);
      Result result;
      if (parse_flat_object(inner, result)) {  // the usual flat object of metrics
        accept_result(child, std::move(result), deliveries);
        return;
      }
      try {
        result = client::wire::parse_line(inner);
        accept_result(child, std::move(result), deliveries);
        return;
      } catch (const Json::parse_error&) {
        // e.g. more fields after the result
      }
    }
    Json message;
    try {
      message = client::wire::parse_line(line);
    } catch (const Json::parse_error& e) {
      protocol_failure(child,
                       fmt::format("reply line {} is not valid JSON ({}); it begins: {}", child.line_number, e.what(),
                                   quoted_excerpt(line)),
                       deliveries);
      return;
    }
    const Json* type = message.is_object() ? find_path(message, "type") : nullptr;
    if (type == nullptr || !type->is_string()) {
      protocol_failure(child,
                       fmt::format("reply line {} is not a protocol message (a JSON object with a string \"type\"); "
                                   "it begins: {}",
                                   child.line_number, quoted_excerpt(line)),
                       deliveries);
      return;
    }
    const std::string& kind = type->get_ref<const std::string&>();
    const bool answering = child.state == Child::State::kStarting || child.state == Child::State::kStepping ||
                           child.state == Child::State::kSaving;
    if (kind == "saved" && child.state == Child::State::kSaving) {
      child.state = Child::State::kWaiting;
      child.deadline = kNever;
      deliveries.push_back({child.key, child.serial, {child.key, ExecutorEvent::Type::kSaved, {}, {}}});
      return;
    }
    if ((kind == "result" || kind == "done") && child.state == Child::State::kSaving) {
      protocol_failure(child, fmt::format("reply '{}' (line {}) answers 'save'; expected 'saved' or 'error'", kind,
                                          child.line_number),
                       deliveries);
      return;
    }
    if (kind == "ready" && child.state == Child::State::kStarting) {
      const Json version = message.value("version", Json(client::kProtocolVersion));
      if (version != client::kProtocolVersion) {
        protocol_failure(child,
                         fmt::format("the worker speaks protocol version {}; this driver speaks {}", version.dump(),
                                     client::kProtocolVersion),
                         deliveries);
        return;
      }
      child.state = Child::State::kStepping;  // setup done; the step already waits in its pipe
      child.awaiting = "step";
      child.step_start = Clock::now();
      arm_step_timeout(child);
      return;
    }
    if (kind == "result" && answering) {
      accept_result(child, message.contains("result") ? std::move(message["result"]) : Json(), deliveries);
      return;
    }
    if (kind == "error") {
      const auto it = message.find("message");
      std::string text = it == message.end() ? "(the error reply has no message)"
                                             : (it->is_string() ? it->get<std::string>() : it->dump());
      if (auto tb = message.find("traceback");
          tb != message.end() && tb->is_string() && !tb->get_ref<const std::string&>().empty()) {
        text += "\n" + tb->get<std::string>();
      }
      ExecutorEvent event{child.key, ExecutorEvent::Type::kError, {}, std::move(text)};
      if (answering) {
        child.state = Child::State::kEnded;
        deliveries.push_back({child.key, child.serial, std::move(event)});
        // It exits by itself after an error reply; the grace bounds the wait.
        close_requests(child);
        child.kill_at = after(child.spec->stop_grace_s);
      } else {
        fail(child, std::move(event), deliveries);
      }
      return;
    }
    if (kind == "done" && answering) {
      child.state = Child::State::kEnded;
      child.deadline = kNever;
      deliveries.push_back({child.key, child.serial, {child.key, ExecutorEvent::Type::kFinished, {}, {}}});
      close_requests(child);
      child.kill_at = after(child.spec->stop_grace_s);
      return;
    }
    protocol_failure(child,
                     fmt::format("unexpected reply '{}' (line {}) while {}", kind, child.line_number,
                                 answering ? "waiting for the reply to '" + child.awaiting + "'"
                                           : std::string("no request was pending")),
                     deliveries);
  }

  // A step's result: auto-filled and handed to the runner; the child waits for the decision.
  void accept_result(Child& child, Result result, std::vector<Delivery>& deliveries) {
    try {
      child.filler->fill(result, seconds(Clock::now() - child.step_start));
    } catch (const TuneError& e) {
      protocol_failure(child, e.what(), deliveries);
      return;
    }
    child.state = Child::State::kWaiting;
    child.deadline = kNever;
    deliveries.push_back({child.key, child.serial, {child.key, ExecutorEvent::Type::kResult, std::move(result), {}}});
  }

  void plain_line(Child& child, std::string_view line, std::vector<Delivery>& deliveries) {
    ++child.line_number;
    if (child.skipping_long_line) {  // the end of an over-long log line
      child.skipping_long_line = false;
      return;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (child.spec->echo_output) echo(child, line, false);
    if (child.state == Child::State::kStopping || child.state == Child::State::kEnded) return;
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] != '{') return;  // a log line
    if (line.size() > child.spec->max_message_bytes) {
      too_long_result(child, line.size(), deliveries);
      return;
    }
    Json value;
    try {
      value = client::wire::parse_line(line);
    } catch (const Json::parse_error&) {
      if (const size_t bad = invalid_utf8_offset(line); bad != std::string_view::npos) {
        protocol_failure(child,
                         fmt::format("stdout line {} looks like a JSON result but is not valid UTF-8 (byte 0x{:02x} "
                                     "at offset {}); results must be UTF-8 JSON objects",
                                     child.line_number, static_cast<unsigned char>(line[bad]), bad),
                         deliveries);
      }
      return;  // not JSON: a log line that happens to start with '{'
    }
    if (!value.is_object()) return;
    // The program is not paused while its results wait: a checkpoint it announces is taken
    // now, before it can start writing the next one.
    std::filesystem::path taken;
    if (value.value("should_checkpoint", false) == true && !child.checkpoint_dir.empty()) {
      std::error_code ec;
      if (std::filesystem::is_directory(child.checkpoint_dir, ec) && !std::filesystem::is_empty(child.checkpoint_dir, ec)) {
        taken = child.trial_dir / fmt::format(".checkpoint_taken_{}", child.line_number);
        std::filesystem::remove_all(taken, ec);
        std::filesystem::rename(child.checkpoint_dir, taken, ec);
        if (ec) taken.clear();
      }
    }
    child.results.push_back({std::move(value), Clock::now(), std::move(taken)});
  }

  void too_long_result(Child& child, size_t size, std::vector<Delivery>& deliveries) {
    protocol_failure(child,
                     fmt::format("stdout line {} is a result of at least {} bytes, longer than max_message_bytes={}; "
                                 "results must be small JSON objects: write large data to files in the trial "
                                 "directory",
                                 child.line_number + 1, size, child.spec->max_message_bytes),
                     deliveries);
  }

  // A plain line without its newline yet but already too long: a result that is too big is a
  // failure; a log line is kept in stdout.log (written already) and skipped up to its end.
  void check_long_plain_line(Child& child, std::vector<Delivery>& deliveries) {
    if (child.reply_buf.pending() <= child.spec->max_message_bytes) return;
    const std::string_view rest = child.reply_buf.rest();
    const size_t first = rest.find_first_not_of(" \t");
    const bool looks_like_result = first != std::string_view::npos && rest[first] == '{';
    if (looks_like_result && !child.skipping_long_line && child.state != Child::State::kStopping &&
        child.state != Child::State::kEnded) {
      too_long_result(child, rest.size(), deliveries);
    }
    child.skipping_long_line = true;
    child.reply_buf.clear();
  }

  // Plain: hands over the next buffered result when the runner asked for one, or the end.
  void advance_plain(Child& child, std::vector<Delivery>& deliveries) {
    if (!child.plain || child.state != Child::State::kStepping) return;
    if (!child.results.empty()) {
      auto [result, at, taken] = std::move(child.results.front());
      child.results.pop_front();
      try {
        child.filler->fill(result, seconds(at - child.last_result_at));
      } catch (const TuneError& e) {
        protocol_failure(child, e.what(), deliveries);
        return;
      }
      child.last_result_at = at;
      child.state = Child::State::kWaiting;
      child.deadline = kNever;
      deliveries.push_back(
          {child.key, child.serial, {child.key, ExecutorEvent::Type::kResult, std::move(result), {}, std::move(taken)}});
      return;
    }
    if (child.exited) {
      ExecutorEvent event = exit_event(child, "");
      child.state = Child::State::kEnded;
      deliveries.push_back({child.key, child.serial, std::move(event)});
    }
  }

  void check_deadlines(std::vector<Delivery>& deliveries) {
    const auto now = Clock::now();
    for (const auto& z : std::vector<std::shared_ptr<Zygote>>(zygotes_)) {
      if (z->state == Zygote::State::kStarting && z->hello_deadline <= now) {
        zygote_died(*z, deliveries, fmt::format("said no hello within {:g} s", kZygoteHelloTimeoutS));
      }
    }
    for (auto& owned_child : children_) {
      Child& c = *owned_child;
      if (!c.alive()) continue;
      if (c.deadline <= now && (c.state == Child::State::kStarting || c.state == Child::State::kStepping ||
                                c.state == Child::State::kSaving)) {
        if (c.plain && !c.results.empty()) continue;
        kill_group(c);
        std::string message =
            fmt::format("{} gave no {} within step_timeout_s={:g} s and was killed (SIGKILL to its process group)",
                        c.who(), c.plain ? "result line" : "reply to '" + c.awaiting + "'", c.spec->step_timeout_s);
        message += stderr_tail(c);
        c.state = Child::State::kEnded;
        c.results.clear();
        deliveries.push_back({c.key, c.serial, {c.key, ExecutorEvent::Type::kError, {}, std::move(message)}});
      } else if (c.kill_at <= now) {
        kill_group(c);
      }
    }
  }

  Sink sink_;
  std::shared_ptr<ChildLauncher> launcher_;  // null: children are started directly
  std::vector<std::unique_ptr<Child>> children_;  // every child not yet reaped (and the current ones)
  std::unordered_map<int64_t, Child*> by_key_;    // the current process of each running trial
  std::vector<Delivery> queued_;                  // events produced outside poll()
  std::vector<Delivery> spare_deliveries_;        // poll()'s, kept for its capacity
  std::vector<uint64_t> wake_;                    // plain children to look at again
  uint64_t next_serial_ = 0;
  std::vector<std::shared_ptr<Zygote>> zygotes_;        // every zygote process not yet reaped
  std::map<ZygoteKey, std::shared_ptr<Zygote>> zygote_for_;  // the current one of each key
  std::map<const ProcessSpec*, int> zygote_losses_;         // zygotes that died serving
  std::set<ZygoteKey> exec_only_;                           // keys whose zygote could not start
  std::vector<pollfd> pollfds_;
  struct WatchEntry {
    Child* child;
    int which;
    Zygote* zygote = nullptr;
  };
  std::vector<WatchEntry> watches_;
};

}  // namespace

std::unique_ptr<Executor> make_process_executor(Executor::Sink sink, std::shared_ptr<ChildLauncher> launcher) {
  return std::make_unique<ProcessExecutor>(std::move(sink), std::move(launcher));
}

std::vector<std::string> substitute_argv(const std::vector<std::string>& argv, const Config& config) {
  auto is_key_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.' || c == '/';
  };
  std::vector<std::string> out;
  out.reserve(argv.size());
  for (size_t index = 0; index < argv.size(); ++index) {
    const std::string& arg = argv[index];
    std::string result;
    for (size_t i = 0; i < arg.size();) {
      const char c = arg[i];
      if (c == '{' && i + 1 < arg.size() && arg[i + 1] == '{') {
        result += '{';
        i += 2;
      } else if (c == '}' && i + 1 < arg.size() && arg[i + 1] == '}') {
        result += '}';
        i += 2;
      } else if (c == '{') {
        size_t end = i + 1;
        while (end < arg.size() && is_key_char(arg[end])) ++end;
        if (end == i + 1 || end >= arg.size() || arg[end] != '}') {
          result += c;  // not a placeholder: a literal brace
          ++i;
          continue;
        }
        const std::string key = arg.substr(i + 1, end - i - 1);
        const Json* value = find_path(config, key);
        if (value == nullptr) {
          std::vector<std::string> keys;
          if (config.is_object()) {
            const Json flat = flatten(config);
            for (const auto& [k, v] : flat.items()) keys.push_back(k);
          }
          std::string listed;
          for (size_t k = 0; k < keys.size(); ++k) listed += (k > 0 ? ", " : "") + keys[k];
          throw TuneError(fmt::format("argv[{}]: \"{{{}}}\" names no config value (the config has: {})", index, key,
                                      listed.empty() ? "nothing" : listed));
        }
        std::string text = value->is_string() ? value->get<std::string>()
                                              : value->dump(-1, ' ', false, Json::error_handler_t::replace);
        if (text.find('\0') != std::string::npos) {
          throw TuneError(
              fmt::format("argv[{}]: config value \"{}\" holds a NUL byte, which no argument can carry", index, key));
        }
        result += text;
        i = end + 1;
      } else {
        result += c;
        ++i;
      }
    }
    out.push_back(std::move(result));
  }
  if (out.empty() || out[0].empty()) throw TuneError("argv: the command (argv[0]) is empty");
  return out;
}

std::string describe_wait_status(int status, bool killed_by_tune) {
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    const std::string name = abbrev != nullptr ? std::string("SIG") + abbrev : fmt::format("signal {}", sig);
    const char* what = strsignal(sig);
    const std::string core = WCOREDUMP(status) ? ", core dumped" : "";
    if (sig == SIGKILL) {
      return killed_by_tune ? fmt::format("was killed by {} (sent by tune)", name)
                            : fmt::format(
                                  "was killed by {} (possibly out of memory: the kernel's OOM killer sends "
                                  "SIGKILL){}",
                                  name, core);
    }
    return fmt::format("exited with signal {} ({}){}", name, what != nullptr ? what : "unknown", core);
  }
  return fmt::format("ended with wait status {}", status);
}

size_t invalid_utf8_offset(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // Fast path: eight ASCII bytes at once.
    while (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, s + i, 8);
      if ((word & 0x8080808080808080ULL) != 0) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t min;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, min = 0x10000, cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace tune::detail
