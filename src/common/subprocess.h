// Internal: the one home of child-process plumbing — owned descriptors, pipes, posix_spawn with
// its file actions and attributes, and the words for how a child ended. Every module that starts
// a program (executors, sync commands, Slurm queries, the external searcher) goes through here,
// so how a child is set up (its stdio, its process group, its signal dispositions) is decided in
// one place. Nothing here holds state between calls; every function is thread-safe as far as
// the system calls it wraps are (posix_spawn is).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "tune/json.h"

namespace tune::detail {

// An owned file descriptor: closed by its destructor. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Both ends of a pipe or socket pair, close-on-exec. For a pipe, `first` is the read end.
struct FdPair {
  UniqueFd first;
  UniqueFd second;
};

// A std::system_error for the current errno, saying what failed.
std::system_error os_error(const std::string& what);

// pipe2(O_CLOEXEC); throws os_error.
FdPair make_pipe();
// socketpair(AF_UNIX, type | SOCK_CLOEXEC); throws os_error.
FdPair make_socket_pair(int type);

// Descriptors below this are where a child's dup2 actions put its stdio and protocol fds
// (0..4) and pinned objects: ours are lifted above, so no action overwrites one of them.
constexpr int kFdFloor = 10;
// Moves `fd` (taking ownership) to a close-on-exec descriptor >= kFdFloor; throws os_error.
UniqueFd lift_fd(int fd);
inline UniqueFd lift_fd(UniqueFd fd) { return lift_fd(fd.release()); }

// O_NONBLOCK for a fresh pipe or socket end (whose other status flags are just its access
// mode, which F_SETFL ignores); throws os_error.
void set_nonblocking(int fd);

// Opens `path` for appending (created 0644), close-on-exec; throws os_error naming the file.
UniqueFd open_append(const std::filesystem::path& path);

// Writes all of it, retrying on EINTR; gives up silently on an error (a log that cannot be
// written must not stop what feeds it).
void write_fully(int fd, const char* data, size_t size);

// pidfd_open(pid), close-on-exec; an empty UniqueFd where the kernel has none.
UniqueFd open_pidfd(pid_t pid);

// How to start a child. Descriptors are given by number; the caller keeps them open until
// spawn_process returns.
struct SpawnOptions {
  // One descriptor of the child: `target` becomes a dup of `source`, or /dev/null (opened with
  // `null_flags`) when `source` is -1. Applied in order, before close_from.
  struct Fd {
    int target = -1;
    int source = -1;
    int null_flags = 0;  // O_RDONLY / O_WRONLY, for /dev/null
  };
  // argv[0] is looked up in PATH (posix_spawnp). Must not be empty.
  std::vector<std::string> argv;
  // "NAME=value" entries; `inherit_env`: the driver's own environment instead.
  std::vector<std::string> env;
  bool inherit_env = true;
  std::vector<Fd> fds;
  // Closes every descriptor >= this in the child (covers fds opened without close-on-exec);
  // -1: none closed beyond the close-on-exec ones.
  int close_from = -1;
  // The child's working directory; empty: the driver's.
  std::filesystem::path cwd;
  // The child leads a process group of its own, so that kill(-pid) reaches whatever it starts
  // and a terminal's ^C stays the driver's to handle.
  bool new_process_group = false;
  // No signal blocked and the common ones (SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD,
  // SIGUSR1/2, SIGALRM) at their defaults, whatever the driver did with them.
  bool reset_signals = false;
  // The child gets SIGKILL when the thread that started it exits (PR_SET_PDEATHSIG), so a
  // SIGKILLed driver leaves no trial behind. posix_spawn cannot ask for that: such a child is
  // started with fork + execve instead. Spawn it from a thread that lives as long as the child
  // should (the runner's).
  bool die_with_parent = false;

  void dev_null(int target, int flags) { fds.push_back({target, -1, flags}); }
  void dup(int source, int target) { fds.push_back({target, source, 0}); }
};

// What spawn_process did: the child's pid, or the error number (0: started).
struct Spawned {
  pid_t pid = -1;
  int error = 0;
  explicit operator bool() const { return error == 0; }
};

// posix_spawnp with `options` (fork + execve for `die_with_parent`; argv[0] looked up in the
// driver's PATH either way). Never throws for a program that cannot start: see Spawned.
Spawned spawn_process(const SpawnOptions& options);

// Waits for `pid` (retrying on EINTR) and returns its wait status.
int wait_for_exit(pid_t pid);

// argv with "{key}" / "{a/b}" replaced by config values (strings as-is, other values as JSON)
// and "{{" / "}}" by literal braces. Throws TuneError naming the argument when a key is not in
// the config or a value holds a NUL byte.
std::vector<std::string> substitute_argv(const std::vector<std::string>& argv, const Config& config);

// "exited with code 3", "exited with signal SIGSEGV (Segmentation fault)", "was killed by
// SIGKILL (possibly out of memory ...)" for a waitpid() status; `killed_by_tune` says the
// SIGKILL was ours, so no OOM guess.
std::string describe_wait_status(int status, bool killed_by_tune);

}  // namespace tune::detail
