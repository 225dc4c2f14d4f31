// Test helper: whether a process is gone, for the tests that children never outlive their
// driver. A zombie counts as gone (it runs nothing; its parent may be this test process, a
// subreaper, that has not reaped it yet — reaped here when it is ours).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

namespace tune::testing {

inline bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;
  const size_t close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size() || text[close + 2] != 'Z') return false;
  ::waitpid(pid, nullptr, WNOHANG);
  return true;
}

// Waits up to `patience` for `pid` to be gone; true when it is.
inline bool gone_within(pid_t pid, std::chrono::milliseconds patience) {
  const auto until = std::chrono::steady_clock::now() + patience;
  while (!process_gone(pid)) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// The pid written as the first word of `path`, waiting up to `patience` for the file; -1 if none.
inline pid_t read_pid_file(const std::string& path, std::chrono::milliseconds patience) {
  const auto until = std::chrono::steady_clock::now() + patience;
  while (std::chrono::steady_clock::now() < until) {
    std::ifstream in(path);
    long pid = -1;
    if (in >> pid && pid > 0) return static_cast<pid_t>(pid);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

}  // namespace tune::testing
