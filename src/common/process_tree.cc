// Leftover trial processes: the token scan of /proc and the subreaper's reaping (process_tree.h).
#include "common/process_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>

#include "common/subprocess.h"

namespace tune::detail {
namespace {

// An environment is at most a few MiB (ARG_MAX); a token past this is not looked for.
constexpr size_t kMaxEnvironBytes = 4 << 20;
// /proc/<pid>/stat is one short line.
constexpr size_t kMaxStatBytes = 4096;
// How often, and after what pause, a process caught mid-exec is asked again (50 ms in all: an
// exec preempted on a loaded machine can take that long).
constexpr int kUnsureRounds = 25;
constexpr std::chrono::milliseconds kUnsurePause{2};

// Up to `limit` bytes of a /proc file; nullopt when it cannot be opened or read (the process
// went away, or is not ours to read).
std::optional<std::string> read_proc_file(const std::string& path, size_t limit) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string text;
  char buffer[8192];
  while (text.size() < limit) {
    const ssize_t n = ::read(fd.get(), buffer, std::min(sizeof buffer, limit - text.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

// Every numeric entry of /proc.
std::vector<pid_t> all_pids() {
  std::vector<pid_t> pids;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return pids;
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (end != entry->d_name && *end == '\0' && pid > 0) pids.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(dir);
  return pids;
}

// The fields of /proc/<pid>/stat that matter here.
struct ProcStat {
  char state = '?';
  pid_t ppid = 0;
  pid_t pgrp = 0;
  pid_t session = 0;
  unsigned long flags = 0;  // the kernel's PF_* flags
};

std::optional<ProcStat> read_stat(pid_t pid) {
  const std::optional<std::string> text = read_proc_file("/proc/" + std::to_string(pid) + "/stat", kMaxStatBytes);
  if (!text) return std::nullopt;
  // "pid (comm) S ppid pgrp session tty_nr tpgid flags ...": comm may hold anything, so read
  // after its last ')'.
  const size_t close = text->rfind(')');
  if (close == std::string::npos || close + 2 >= text->size()) return std::nullopt;
  ProcStat stat;
  long ppid = 0, pgrp = 0, session = 0;
  if (std::sscanf(text->c_str() + close + 2, "%c %ld %ld %ld %*d %*d %lu", &stat.state, &ppid, &pgrp, &session,
                  &stat.flags) != 5) {
    return std::nullopt;
  }
  stat.ppid = static_cast<pid_t>(ppid);
  stat.pgrp = static_cast<pid_t>(pgrp);
  stat.session = static_cast<pid_t>(session);
  return stat;
}

// PF_KTHREAD (include/linux/sched.h): a kernel thread, which has no environment.
constexpr unsigned long kKernelThreadFlag = 0x00200000;

enum class Holding { kNo, kYes, kUnsure };

// Whether `pid` holds the token. A process in the middle of execve() shows an empty environment
// for a moment (its new address space is in place, its environment not yet copied in): a live
// process other than a kernel thread whose environment reads empty is kUnsure, to be asked
// again, so a sweep cannot miss a trial that is just starting a program.
Holding holding(pid_t pid, std::string_view token, bool prefix) {
  const std::optional<std::string> environ = read_proc_file("/proc/" + std::to_string(pid) + "/environ",
                                                            kMaxEnvironBytes);
  if (!environ) return Holding::kNo;
  if (environ->empty()) {
    const std::optional<ProcStat> stat = read_stat(pid);
    const bool live = stat && stat->state != 'Z' && stat->state != 'X' && (stat->flags & kKernelThreadFlag) == 0;
    return live ? Holding::kUnsure : Holding::kNo;
  }
  // "TUNE_TRIAL_TOKEN=" (built in place: GCC 12 at -O2 warns falsely about string + "=")
  std::string name = kTrialTokenVar;
  name.push_back('=');
  std::string_view rest = *environ;
  while (!rest.empty()) {
    const size_t end = std::min(rest.find('\0'), rest.size());
    std::string_view entry = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));
    if (!entry.starts_with(name)) continue;
    entry.remove_prefix(name.size());
    return (prefix ? entry.starts_with(token) : entry == token) ? Holding::kYes : Holding::kNo;
  }
  return Holding::kNo;
}

// Asks the `unsure` processes again after a pause, round after round, until each answers or
// kUnsureRounds have passed; those that hold the token join `found`. An execve() fills in the
// environment within microseconds: a process whose environment is still empty after the
// rounds has none (it was started with an empty one).
void settle_unsure(std::vector<pid_t> unsure, std::string_view token, bool prefix, std::vector<pid_t>& found) {
  for (int round = 0; round < kUnsureRounds && !unsure.empty(); ++round) {
    std::this_thread::sleep_for(kUnsurePause);
    std::erase_if(unsure, [&](pid_t pid) {
      const Holding answer = holding(pid, token, prefix);
      if (answer == Holding::kYes) found.push_back(pid);
      return answer != Holding::kUnsure;
    });
  }
}

// holding() for one process, settled when it is unsure.
bool holds_token(pid_t pid, std::string_view token, bool prefix) {
  const Holding answer = holding(pid, token, prefix);
  if (answer != Holding::kUnsure) return answer == Holding::kYes;
  std::vector<pid_t> found;
  settle_unsure({pid}, token, prefix, found);
  return !found.empty();
}

// This process's children, from /proc/self/task/*/children (every thread's), or from every
// process's stat where the kernel has no such files.
std::vector<pid_t> children_of_self() {
  std::vector<pid_t> children;
  const pid_t self = ::getpid();
  DIR* tasks = ::opendir("/proc/self/task");
  bool listed = false;
  if (tasks != nullptr) {
    while (const dirent* entry = ::readdir(tasks)) {
      if (entry->d_name[0] == '.') continue;
      const std::optional<std::string> text =
          read_proc_file(std::string("/proc/self/task/") + entry->d_name + "/children", kMaxEnvironBytes);
      if (!text) continue;
      listed = true;
      const char* p = text->c_str();
      char* end = nullptr;
      for (long pid = std::strtol(p, &end, 10); end != p; pid = std::strtol(p, &end, 10)) {
        children.push_back(static_cast<pid_t>(pid));
        p = end;
      }
    }
    ::closedir(tasks);
  }
  if (listed) return children;
  for (pid_t pid : all_pids()) {
    if (const std::optional<ProcStat> stat = read_stat(pid); stat && stat->ppid == self) children.push_back(pid);
  }
  return children;
}

// Reaps `pid` if it is an exited child of this process; true when it did.
bool reap_if_exited(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG) != 0) return false;
  return info.si_pid == pid;
}

}  // namespace

std::string trial_token(std::string_view experiment_id, std::string_view trial_id) {
  return experiment_token_prefix(experiment_id) + std::string(trial_id);
}

std::string experiment_token_prefix(std::string_view experiment_id) { return std::string(experiment_id) + "/"; }

std::vector<pid_t> find_token_holders(std::string_view token, bool prefix) {
  std::vector<pid_t> found;
  if (token.empty()) return found;
  const pid_t self = ::getpid();
  std::vector<pid_t> unsure;  // caught mid-exec: asked again after a pause
  for (pid_t pid : all_pids()) {
    if (pid == self) continue;
    const Holding answer = holding(pid, token, prefix);
    if (answer == Holding::kYes) found.push_back(pid);
    if (answer == Holding::kUnsure) unsure.push_back(pid);
  }
  settle_unsure(std::move(unsure), token, prefix, found);
  return found;
}

size_t kill_token_holders(std::string_view token, bool prefix, std::chrono::milliseconds patience) {
  const auto give_up = std::chrono::steady_clock::now() + patience;
  const pid_t self = ::getpid();
  std::vector<pid_t> killed;
  std::vector<pid_t> to_reap;  // killed children of ours, reaped once they are gone
  while (true) {
    const std::vector<pid_t> holders = find_token_holders(token, prefix);
    for (pid_t pid : holders) {
      const std::optional<ProcStat> stat = read_stat(pid);
      // The group it leads goes too (a trial's own helpers), never this process's own group.
      if (stat && stat->pgrp == pid && pid != ::getpgrp()) ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      if (std::find(killed.begin(), killed.end(), pid) == killed.end()) killed.push_back(pid);
      if (stat && stat->ppid == self && std::find(to_reap.begin(), to_reap.end(), pid) == to_reap.end()) {
        to_reap.push_back(pid);
      }
    }
    std::erase_if(to_reap, [](pid_t pid) { return reap_if_exited(pid); });
    if ((holders.empty() && to_reap.empty()) || std::chrono::steady_clock::now() >= give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return killed.size();
}

void become_child_subreaper() { (void)::prctl(PR_SET_CHILD_SUBREAPER, 1); }

size_t end_adopted_orphans(std::string_view token, const std::vector<pid_t>& groups, const std::vector<pid_t>& mine) {
  const pid_t session = ::getsid(0);
  size_t killed = 0;
  for (pid_t pid : children_of_self()) {
    if (std::find(mine.begin(), mine.end(), pid) != mine.end()) continue;
    const std::optional<ProcStat> stat = read_stat(pid);
    if (!stat) continue;
    if (stat->state == 'Z') {
      if (stat->session != session || std::find(groups.begin(), groups.end(), stat->pgrp) != groups.end()) {
        reap_if_exited(pid);
      }
    } else if (!token.empty() && holds_token(pid, token, false)) {
      if (stat->pgrp == pid && pid != ::getpgrp()) ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      ++killed;
    }
  }
  return killed;
}

}  // namespace tune::detail
