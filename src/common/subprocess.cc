// Child-process plumbing (subprocess.h): descriptors, posix_spawn, wait statuses, argv templates.
#include "common/subprocess.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "tune/error.h"

extern char** environ;  // NOLINT: POSIX

namespace tune::detail {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

std::system_error os_error(const std::string& what) { return {errno, std::generic_category(), what}; }

FdPair make_pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw os_error("pipe2");
  return {UniqueFd(p[0]), UniqueFd(p[1])};
}

FdPair make_socket_pair(int type) {
  int s[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, s) != 0) throw os_error("socketpair");
  return {UniqueFd(s[0]), UniqueFd(s[1])};
}

UniqueFd lift_fd(int fd) {
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

void set_nonblocking(int fd) {
  if (::fcntl(fd, F_SETFL, O_NONBLOCK) < 0) throw os_error("fcntl(O_NONBLOCK)");
}

UniqueFd open_append(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw os_error("cannot open " + path.string());
  return UniqueFd(fd);
}

void write_fully(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

UniqueFd open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return UniqueFd(fd);
#else
  (void)pid;
  return UniqueFd();
#endif
}

namespace {

// posix_spawn's file actions and attributes, freed on every path.
class SpawnAttributes {
 public:
  explicit SpawnAttributes(const SpawnOptions& options) {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attr_);
    short flags = 0;
    if (options.new_process_group) {
      flags |= POSIX_SPAWN_SETPGROUP;
      posix_spawnattr_setpgroup(&attr_, 0);
    }
    if (options.reset_signals) {
      flags |= POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
      sigset_t none, defaults;
      sigemptyset(&none);
      posix_spawnattr_setsigmask(&attr_, &none);
      sigemptyset(&defaults);
      for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM}) {
        sigaddset(&defaults, sig);
      }
      posix_spawnattr_setsigdefault(&attr_, &defaults);
    }
    if (flags != 0) posix_spawnattr_setflags(&attr_, flags);
    for (const SpawnOptions::Fd& fd : options.fds) {
      if (fd.source < 0) {
        posix_spawn_file_actions_addopen(&actions_, fd.target, "/dev/null", fd.null_flags, 0);
      } else {
        posix_spawn_file_actions_adddup2(&actions_, fd.source, fd.target);
      }
    }
    if (options.close_from >= 0) posix_spawn_file_actions_addclosefrom_np(&actions_, options.close_from);
    if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions_, options.cwd.c_str());
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  ~SpawnAttributes() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attr() const { return &attr_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

std::vector<char*> pointers_of(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// The file execvp would run for `name`: itself when it holds a '/', else the first executable
// regular file of that name in the driver's PATH. Errors as execvp's: ENOENT, or EACCES when
// only non-executable files were found.
std::string resolve_program(const std::string& name, int& error) {
  error = 0;
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  const std::string dirs = path != nullptr ? path : "/bin:/usr/bin";
  bool denied = false;
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string dir = end == start ? "." : dirs.substr(start, end - start);
    const std::string candidate = dir + "/" + name;
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      denied = true;
    }
    start = end + 1;
  }
  error = denied ? EACCES : ENOENT;
  return {};
}

// The child's side of fork_and_exec: async-signal-safe calls only (the driver has threads).
// An errno that stops it goes to `report` (close-on-exec, so the parent reads end-of-file
// when execve succeeds).
[[noreturn]] void exec_child(const SpawnOptions& options, const char* program, char* const* argv, char* const* envp,
                             pid_t parent, int report, const sigset_t& old_mask) {
  auto fail = [report](int error) {
    [[maybe_unused]] const ssize_t n = ::write(report, &error, sizeof error);
    ::_exit(127);
  };
  if (options.new_process_group && ::setpgid(0, 0) != 0) fail(errno);
  // Armed, then checked: a parent that died before prctl would never send the signal.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(errno);
  if (::getppid() != parent) ::_exit(127);
  if (options.reset_signals) {
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM}) {
      ::signal(sig, SIG_DFL);
    }
  }
  for (const SpawnOptions::Fd& fd : options.fds) {
    int source = fd.source;
    if (source < 0) {
      source = ::open("/dev/null", fd.null_flags | O_CLOEXEC);
      if (source < 0) fail(errno);
    }
    if (source == fd.target) {
      if (::fcntl(source, F_SETFD, 0) != 0) fail(errno);  // as posix_spawn's dup2 onto itself
    } else if (::dup2(source, fd.target) < 0) {
      fail(errno);
    }
    if (fd.source < 0 && source != fd.target) ::close(source);
  }
  if (options.close_from >= 0) {
    // Everything from close_from up goes, except the report pipe (close-on-exec already).
    const auto from = static_cast<unsigned>(options.close_from);
    const auto keep = static_cast<unsigned>(report);
    if (keep < from) {
      ::close_range(from, ~0U, 0);
    } else {
      if (keep > from) ::close_range(from, keep - 1, 0);
      ::close_range(keep + 1, ~0U, 0);
    }
  }
  if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) fail(errno);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, options.reset_signals ? &none : &old_mask, nullptr);
  ::execve(program, argv, envp);
  fail(errno);
  ::_exit(127);  // (fail does not return; said again for the compiler)
}

// fork + execve, for what posix_spawn cannot set (the parent-death signal). Everything the
// child needs is built before the fork; signals stay blocked across it so that no handler of
// the driver runs in the child.
Spawned fork_and_exec(const SpawnOptions& options, const std::vector<char*>& argv, char* const* envp) {
  Spawned spawned;
  const std::string program = resolve_program(options.argv[0], spawned.error);
  if (spawned.error != 0) return spawned;
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return {-1, errno};
  const UniqueFd read_end(report[0]);
  // The child's report end sits above every descriptor its dup2 actions write.
  int above = kFdFloor;
  for (const SpawnOptions::Fd& fd : options.fds) above = std::max(above, fd.target + 1);
  UniqueFd write_end(::fcntl(report[1], F_DUPFD_CLOEXEC, above));
  ::close(report[1]);
  if (!write_end) return {-1, errno};
  sigset_t all, old_mask;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old_mask);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) exec_child(options, program.c_str(), argv.data(), envp, parent, write_end.get(), old_mask);
  const int fork_error = errno;
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  write_end.reset();
  if (pid < 0) return {-1, fork_error};
  int error = 0;
  ssize_t n;
  while ((n = ::read(read_end.get(), &error, sizeof error)) < 0 && errno == EINTR) {
  }
  if (n == static_cast<ssize_t>(sizeof error)) {
    wait_for_exit(pid);  // it never ran the program: reaped here, as posix_spawn does
    return {-1, error};
  }
  return {pid, 0};
}

}  // namespace

Spawned spawn_process(const SpawnOptions& options) {
  if (options.argv.empty()) return {-1, EINVAL};
  if (options.die_with_parent) {
    const std::vector<char*> argv = pointers_of(options.argv);
    std::vector<char*> env;
    if (!options.inherit_env) env = pointers_of(options.env);
    return fork_and_exec(options, argv, options.inherit_env ? environ : env.data());
  }
  const SpawnAttributes setup(options);
  const std::vector<char*> argv = pointers_of(options.argv);
  std::vector<char*> env;
  if (!options.inherit_env) env = pointers_of(options.env);
  Spawned spawned;
  spawned.error = posix_spawnp(&spawned.pid, argv[0], setup.actions(), setup.attr(), argv.data(),
                               options.inherit_env ? environ : env.data());
  if (spawned.error != 0) spawned.pid = -1;
  return spawned;
}

int wait_for_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
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

}  // namespace tune::detail
