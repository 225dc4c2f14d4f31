// The zygote's side of the fork server (zygote.h) and the control messages both sides use.
#include "executors/zygote.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/saturate.h"

namespace tune::detail::zygote {
namespace {

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

// Reads from a message, front to back; `ok` turns false on a short message.
struct Reader {
  std::string_view rest;
  bool ok = true;

  template <typename T>
  T get() {
    T value{};
    if (rest.size() < sizeof value) {
      ok = false;
      return value;
    }
    std::memcpy(&value, rest.data(), sizeof value);
    rest.remove_prefix(sizeof value);
    return value;
  }
  std::string_view bytes(size_t n) {
    if (rest.size() < n) {
      ok = false;
      return {};
    }
    std::string_view out = rest.substr(0, n);
    rest.remove_prefix(n);
    return out;
  }
};

void close_all(std::vector<int>& fds) {
  for (int fd : fds) ::close(fd);
  fds.clear();
}

// The wait status waitpid() would give for what waitid() found.
int wait_status_of(const siginfo_t& info) {
  switch (info.si_code) {
    case CLD_EXITED:
      return (info.si_status & 0xff) << 8;
    case CLD_KILLED:
      return info.si_status & 0x7f;
    case CLD_DUMPED:
      return (info.si_status & 0x7f) | 0x80;
    default:
      return 0;
  }
}

// A last word from a child that could not become a worker: an error reply on its reply
// descriptor (the driver shows it as the trial's error), then _exit — the child must not
// run anything else of the zygote.
[[noreturn]] void child_fails(const std::string& message, bool has_reply_fd) {
  if (has_reply_fd) {
    const std::string line =
        nlohmann::json{{"type", "error"}, {"message", message}}.dump(-1, ' ', false,
                                                                   nlohmann::json::error_handler_t::replace) +
        "\n";
    [[maybe_unused]] const ssize_t n = ::write(4, line.data(), line.size());
  }
  const std::string text = "tune zygote: " + message + "\n";
  [[maybe_unused]] const ssize_t n = ::write(2, text.data(), text.size());
  ::_exit(127);
}

class Server {
 public:
  explicit Server(int control) : control_(control) {}

  Outcome run() {
    if (!handshake()) return {false, 1};
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &chld, &original_mask_);
    signals_ = ::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signals_ < 0) {
      std::cerr << "tune zygote: signalfd: " << std::strerror(errno) << "\n";
      return {false, 1};
    }
    std::string_view message;
    std::vector<int> fds;
    while (true) {
      pollfd p[2] = {{control_, POLLIN, 0}, {signals_, POLLIN, 0}};
      if (::poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (p[1].revents != 0) {
        signalfd_siginfo info;
        while (::read(signals_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        }
        report_exits();
      }
      if (p[0].revents == 0) continue;
      bool eof = false;
      // Every message that is there (a burst of trial starts arrives together).
      while (true) {
        bool truncated = false;
        fds.clear();
        const ssize_t n = receive_message(control_, buffer_, message, fds, truncated);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
          eof = true;
          break;
        }
        if (message[0] == 'F') {
          if (fork_trial(message, fds, truncated)) return {true, 0};  // the child: a trial's worker now
        } else if (message[0] == 'R') {
          reap(message);
          close_all(fds);
        } else {
          close_all(fds);  // nothing else is defined; ignore it
        }
      }
      if (eof) break;
    }
    shut_down();
    return {false, 0};
  }

 private:
  bool handshake() {
    std::string_view message;
    std::vector<int> fds;
    bool truncated = false;
    ssize_t n = -1;
    while (true) {
      pollfd p{control_, POLLIN, 0};
      if (::poll(&p, 1, -1) < 0 && errno != EINTR) return false;
      n = receive_message(control_, buffer_, message, fds, truncated);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      break;
    }
    close_all(fds);
    if (n <= 0) return false;  // the driver went away first
    try {
      const auto hello = nlohmann::json::parse(message);
      if (hello.value("type", "") != "zygote" || hello.value("version", 0) != kVersion) {
        std::cerr << "tune zygote: the driver speaks another zygote protocol: " << message << "\n";
        return false;
      }
      const double grace = hello.value("grace_s", 5.0);
      grace_s_ = std::isfinite(grace) && grace >= 0 ? grace : 5.0;
    } catch (const nlohmann::json::exception&) {
      std::cerr << "tune zygote: the first message is not a zygote hello\n";
      return false;
    }
    const std::string reply = hello_line(",\"pid\":" + std::to_string(::getpid()));
    return send_blocking(reply);
  }

  bool send_blocking(const std::string& message) {
    while (::send(control_, message.data(), message.size(), MSG_NOSIGNAL) < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {  // the driver reads soon
        pollfd p{control_, POLLOUT, 0};
        ::poll(&p, 1, 1000);
        continue;
      }
      return false;  // the driver is gone: end of file comes next
    }
    return true;
  }

  // True in the child.
  bool fork_trial(std::string_view message, std::vector<int>& fds, bool truncated) {
    ForkRequest request;
    if (truncated || !decode_fork(message, request) || request.targets.size() != fds.size()) {
      close_all(fds);
      send_blocking(encode_forked(request.serial, -EPROTO));
      return false;
    }
    std::fflush(nullptr);  // nothing the zygote buffered is printed twice
    const pid_t zygote = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
      become_trial(request, fds, zygote);
      return true;
    }
    const int error = errno;
    close_all(fds);
    if (pid < 0) {
      send_blocking(encode_forked(request.serial, -error));
      return false;
    }
    // Also here, not only in the child: the group exists before the driver learns the pid.
    ::setpgid(pid, pid);
    children_[pid] = false;
    send_blocking(encode_forked(request.serial, pid));
    return false;
  }

  void become_trial(const ForkRequest& request, std::vector<int>& fds, pid_t zygote) {
    ::setpgid(0, 0);
    // The trial dies with its zygote, which dies with the driver (both PR_SET_PDEATHSIG): a
    // SIGKILLed driver leaves no worker behind. Armed, then checked, as the zygote may have
    // died in between.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != zygote) ::_exit(127);
    ::close(control_);
    ::close(signals_);
    int top = 3;
    for (int target : request.targets) top = std::max(top, target + 1);
    for (const auto& [target, path] : request.opens) top = std::max(top, target + 1);
    const bool has_reply_fd = std::find(request.targets.begin(), request.targets.end(), 4) != request.targets.end();
    // Out of the targets' way first, so that no dup2 below overwrites a descriptor still to come.
    for (int& fd : fds) {
      if (fd >= top) continue;
      const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, top);
      if (moved < 0) child_fails(std::string("fcntl(F_DUPFD_CLOEXEC): ") + std::strerror(errno), false);
      ::close(fd);
      fd = moved;
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (::dup2(fds[i], request.targets[i]) < 0) child_fails(std::string("dup2: ") + std::strerror(errno), false);
    }
    for (const auto& [target, path] : request.opens) {
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0 || ::dup2(fd, target) < 0) {
        child_fails("cannot open " + path + ": " + std::strerror(errno), has_reply_fd);
      }
      ::close(fd);
    }
    ::closefrom(top);  // the received copies, and anything else of the zygote's
    for (int fd = 3; fd < top; ++fd) {  // below top: only what the request put there stays
      const bool wanted = std::find(request.targets.begin(), request.targets.end(), fd) != request.targets.end() ||
                          std::any_of(request.opens.begin(), request.opens.end(),
                                      [fd](const auto& open) { return open.first == fd; });
      if (!wanted) ::close(fd);
    }
    ::sigprocmask(SIG_SETMASK, &original_mask_, nullptr);
    ::clearenv();
    for (const std::string& entry : request.env) {
      const size_t eq = entry.find('=');
      if (eq == std::string::npos || eq == 0) continue;
      ::setenv(entry.substr(0, eq).c_str(), entry.c_str() + eq + 1, 1);
    }
    if (!request.cwd.empty() && ::chdir(request.cwd.c_str()) != 0) {
      child_fails("cannot change to the working directory " + request.cwd + ": " + std::strerror(errno),
                  has_reply_fd);
    }
  }

  void report_exits() {
    for (auto& [pid, reported] : children_) {
      if (reported) continue;
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != pid) {
        continue;
      }
      // What it left of its group goes with it; the leader, a zombie, keeps the group id taken.
      ::kill(-pid, SIGKILL);
      reported = true;
      send_blocking(encode_exited(pid, wait_status_of(info)));
    }
  }

  void reap(std::string_view message) {
    Reader in{message.substr(1)};
    while (in.ok && !in.rest.empty()) {
      const auto pid = in.get<int32_t>();
      if (!in.ok) break;
      auto it = children_.find(pid);
      if (it == children_.end() || !it->second) continue;  // only reported exits are reaped
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      children_.erase(it);
    }
  }

  // The driver is gone (or done): live children get the grace to end by themselves, then
  // their groups are killed; everything is reaped.
  void shut_down() {
    const auto deadline =
        std::chrono::steady_clock::now() + saturating_duration<std::chrono::steady_clock::duration>(grace_s_);
    auto reap_exited = [this] {
      for (auto it = children_.begin(); it != children_.end();) {
        const pid_t pid = it->first;
        siginfo_t info{};
        const int rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
        if (rc != 0 && errno == EINTR) continue;
        if (rc == 0 && info.si_pid == 0) {  // still running
          ++it;
          continue;
        }
        if (rc == 0) {
          ::kill(-pid, SIGKILL);
          int status = 0;
          ::waitpid(pid, &status, 0);
        }
        it = children_.erase(it);  // reaped, or not ours any more
      }
    };
    reap_exited();
    while (!children_.empty() && std::chrono::steady_clock::now() < deadline) {
      pollfd p{signals_, POLLIN, 0};
      ::poll(&p, 1, 50);
      signalfd_siginfo info;
      while (::read(signals_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      }
      reap_exited();
    }
    for (const auto& [pid, reported] : children_) ::kill(-pid, SIGKILL);
    for (const auto& [pid, reported] : children_) {
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    children_.clear();
    ::close(signals_);
    signals_ = -1;
  }

  int control_;
  int signals_ = -1;
  double grace_s_ = 5;
  sigset_t original_mask_{};
  std::unordered_map<pid_t, bool> children_;  // pid -> its exit was reported
  std::vector<char> buffer_;                  // received messages
};

}  // namespace

Outcome serve(int control_fd) { return Server(control_fd).run(); }

std::string encode_fork(const ForkRequest& request) {
  std::string out;
  out += 'F';
  put<uint64_t>(out, request.serial);
  put<uint32_t>(out, static_cast<uint32_t>(request.targets.size()));
  for (int target : request.targets) put<uint32_t>(out, static_cast<uint32_t>(target));
  put<uint32_t>(out, static_cast<uint32_t>(request.cwd.size()));
  out += request.cwd;
  put<uint32_t>(out, static_cast<uint32_t>(request.env.size()));
  for (const std::string& entry : request.env) {
    out += entry;
    out += '\0';
  }
  put<uint32_t>(out, static_cast<uint32_t>(request.opens.size()));
  for (const auto& [target, path] : request.opens) {
    put<uint32_t>(out, static_cast<uint32_t>(target));
    put<uint32_t>(out, static_cast<uint32_t>(path.size()));
    out += path;
  }
  return out;
}

bool decode_fork(std::string_view message, ForkRequest& out) {
  if (message.empty() || message[0] != 'F') return false;
  Reader in{message.substr(1)};
  out.serial = in.get<uint64_t>();
  const auto count = in.get<uint32_t>();
  if (!in.ok || count > kMaxFds) return false;
  out.targets.clear();
  for (uint32_t i = 0; i < count; ++i) {
    const auto target = in.get<uint32_t>();
    if (target > 1u << 20) return false;
    out.targets.push_back(static_cast<int>(target));
  }
  const auto cwd_len = in.get<uint32_t>();
  out.cwd = std::string(in.bytes(cwd_len));
  const auto env_count = in.get<uint32_t>();
  if (!in.ok) return false;
  out.env.clear();
  for (uint32_t i = 0; i < env_count; ++i) {
    const size_t end = in.rest.find('\0');
    if (end == std::string_view::npos) return false;
    out.env.emplace_back(in.rest.substr(0, end));
    in.rest.remove_prefix(end + 1);
  }
  const auto opens = in.get<uint32_t>();
  if (!in.ok || opens > kMaxFds) return false;
  out.opens.clear();
  for (uint32_t i = 0; i < opens; ++i) {
    const auto target = in.get<uint32_t>();
    const auto length = in.get<uint32_t>();
    const std::string_view path = in.bytes(length);
    if (!in.ok || target > 1u << 20) return false;
    out.opens.emplace_back(static_cast<int>(target), std::string(path));
  }
  return in.ok && in.rest.empty();
}

std::string encode_forked(uint64_t serial, int32_t pid_or_error) {
  std::string out = "P";
  put<uint64_t>(out, serial);
  put<int32_t>(out, pid_or_error);
  return out;
}

std::string encode_exited(pid_t pid, int wait_status) {
  std::string out = "X";
  put<int32_t>(out, pid);
  put<int32_t>(out, wait_status);
  return out;
}

std::string encode_reap(const std::vector<pid_t>& pids) {
  std::string out = "R";
  for (pid_t pid : pids) put<int32_t>(out, pid);
  return out;
}

std::string hello_line(std::string_view fields) {
  return "{\"type\":\"zygote\",\"version\":" + std::to_string(kVersion) + std::string(fields) + "}\n";
}

bool send_message(int socket, std::string_view message, const std::vector<int>& fds) {
  iovec iov{const_cast<char*>(message.data()), message.size()};
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  std::vector<char> control;
  if (!fds.empty()) {
    control.assign(CMSG_SPACE(fds.size() * sizeof(int)), 0);
    header.msg_control = control.data();
    header.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&header);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
  }
  while (true) {
    const ssize_t n = ::sendmsg(socket, &header, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return true;
    if (errno != EINTR) return false;
  }
}

ssize_t receive_message(int socket, std::vector<char>& buffer, std::string_view& message, std::vector<int>& fds,
                        bool& truncated) {
  if (buffer.size() < kMaxMessage) buffer.resize(kMaxMessage);
  alignas(cmsghdr) char control[CMSG_SPACE(kMaxFds * sizeof(int))];
  iovec iov{buffer.data(), buffer.size()};
  msghdr header{};
  header.msg_iov = &iov;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(socket, &header, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0) {
    message = {};
    return n;
  }
  message = std::string_view(buffer.data(), static_cast<size_t>(n));
  truncated = (header.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const size_t first = fds.size();
    fds.resize(first + count);
    std::memcpy(fds.data() + first, CMSG_DATA(c), count * sizeof(int));
  }
  return n;
}

}  // namespace tune::detail::zygote
