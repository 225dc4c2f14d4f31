// Internal: RunOptions::handle_signals. While a SignalGuard lives, SIGINT, SIGTERM and SIGHUP
// store into the run's interrupt flag and do nothing else (the handler is async-signal-safe):
// the first signal asks for a graceful stop (1), any further one forces it (2). The runner
// polls the flag on every turn of its loop. The previous handlers come back when the guard
// goes. One guard at a time per process (a second throws TuneError naming handle_signals).
// Thread-safety: construct and destroy on one thread; signal_number() from any thread.
#pragma once

#include <atomic>
#include <csignal>
#include <memory>

namespace tune::detail {

class SignalGuard {
 public:
  explicit SignalGuard(std::shared_ptr<std::atomic<int>> flag);
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

  // The first signal received while the guard lived (SIGINT, SIGTERM, SIGHUP), or 0.
  int signal_number() const;

 private:
  std::shared_ptr<std::atomic<int>> flag_;
  struct sigaction previous_[3];
};

// The exit status of a program ended by `signal`, as a shell reports it (128 + signal).
constexpr int exit_code_for_signal(int signal) { return 128 + signal; }

}  // namespace tune::detail
