// Internal: stackful coroutines (fibers), for function trials run with
// FunctionExecution::kFiber (thread_executor.cc).
//
// A fiber runs a body on a stack of its own (mmap'd, with a PROT_NONE guard page below it)
// and gives control back with Fiber::suspend() from anywhere inside the body, however deep;
// resume() continues it there. Switching is a user-space register swap (about 20 ns), not a
// thread switch. The switches are annotated for AddressSanitizer and ThreadSanitizer, and each
// fiber keeps its own C++ exception-handling state (a fiber may suspend inside a catch block).
//
// Not thread-safe, and a fiber never migrates: it is created, resumed and destroyed on one
// thread, so thread-local state in the body stays valid. Implemented for x86-64 only
// (fibers_supported()); elsewhere constructing one throws.
#pragma once

#include <cstddef>
#include <functional>

namespace tune::detail {

// Whether this build can run fibers (x86-64).
bool fibers_supported();

// The smallest stack a fiber may be given (RunOptions::fiber_stack_size).
inline constexpr std::size_t kMinFiberStackSize = 64 * 1024;

class Fiber {
 public:
  // `body` starts at the first resume(). It must not let an exception escape (std::terminate).
  // `stack_size` is rounded up to whole pages; stacks of finished fibers are kept per thread
  // and reused.
  Fiber(std::function<void()> body, std::size_t stack_size);
  // The fiber must have finished or never started: a suspended body's frames would be
  // discarded without running their destructors.
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Runs the body until it calls suspend() or returns. May be called from a thread's own
  // stack or from inside another fiber (that one then waits until this one suspends).
  void resume();
  // Inside a running fiber's body: back to the resume() that ran it.
  static void suspend();
  // The fiber whose body is running on this thread; null outside any.
  static Fiber* current();

  bool started() const { return started_; }
  bool finished() const { return finished_; }

 private:
  friend struct FiberAccess;
  void run_body() noexcept;
  [[noreturn]] void finish() noexcept;
  void switch_out(bool final);

  std::function<void()> body_;
  std::size_t stack_size_ = 0;    // usable bytes, without the guard page
  char* stack_ = nullptr;         // the mapping: guard page, then the stack
  void* sp_ = nullptr;            // saved stack pointer while not running
  void* caller_sp_ = nullptr;     // the resume() side's saved stack pointer while running
  Fiber* caller_fiber_ = nullptr;  // current() of the resume() side
  bool started_ = false;
  bool finished_ = false;
  // Per-fiber C++ exception state (__cxa_eh_globals: caught exceptions, uncaught count).
  void* eh_caught_ = nullptr;
  unsigned int eh_uncaught_ = 0;
  // Sanitizer bookkeeping (unused in plain builds).
  const void* caller_stack_bottom_ = nullptr;
  std::size_t caller_stack_size_ = 0;
  void* fake_stack_ = nullptr;   // ASan: the fake stack of the side that switched away
  void* tsan_fiber_ = nullptr;   // TSan: this fiber
  void* tsan_caller_ = nullptr;  // TSan: the resume() side
};

}  // namespace tune::detail
