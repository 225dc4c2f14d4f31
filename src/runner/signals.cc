// SignalGuard: the handler only stores into atomics (lock-free, so async-signal-safe).
#include "runner/signals.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "tune/error.h"

namespace tune::detail {
namespace {

constexpr int kSignals[3] = {SIGINT, SIGTERM, SIGHUP};

// A signal handler can reach nothing but statics: the flag of the run that installed it, and
// the first signal seen. Both are set only by SignalGuard.
std::atomic<std::atomic<int>*> g_flag{nullptr};
std::atomic<int> g_first_signal{0};
static_assert(std::atomic<std::atomic<int>*>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "a signal handler may only touch lock-free atomics");

extern "C" void on_interrupt_signal(int signal) {
  std::atomic<int>* flag = g_flag.load();
  if (flag == nullptr) return;
  int expected = 0;
  g_first_signal.compare_exchange_strong(expected, signal);
  expected = 0;
  if (!flag->compare_exchange_strong(expected, 1)) flag->store(2);  // already asked once: force
}

}  // namespace

SignalGuard::SignalGuard(std::shared_ptr<std::atomic<int>> flag) : flag_(std::move(flag)) {
  std::atomic<int>* expected = nullptr;
  if (!flag_ || !g_flag.compare_exchange_strong(expected, flag_.get())) {
    throw TuneError("handle_signals: another run() in this process handles the signals already; turn it off for "
                    "this one (set RunOptions::interrupt instead)");
  }
  g_first_signal.store(0);
  struct sigaction action {};
  action.sa_handler = on_interrupt_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // the runner's own waits wake up by their timeout
  for (size_t i = 0; i < 3; ++i) {
    if (::sigaction(kSignals[i], &action, &previous_[i]) != 0) {
      const int error = errno;
      for (size_t k = 0; k < i; ++k) ::sigaction(kSignals[k], &previous_[k], nullptr);
      g_flag.store(nullptr);
      throw TuneError(fmt::format("handle_signals: cannot install a handler: {}", std::strerror(error)));
    }
  }
}

SignalGuard::~SignalGuard() {
  for (size_t i = 0; i < 3; ++i) ::sigaction(kSignals[i], &previous_[i], nullptr);
  g_flag.store(nullptr);
}

int SignalGuard::signal_number() const { return g_first_signal.load(); }

}  // namespace tune::detail
