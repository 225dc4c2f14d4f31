// Fibers: mmap'd stacks with a guard page, and a hand-written x86-64 register swap.
//
// tune_fiber_switch saves the callee-saved registers (rbp, rbx, r12-r15), MXCSR and the x87
// control word on the current stack, stores the stack pointer, loads the other one and pops
// the same set: everything else is caller-saved under the System V ABI, so the C++ code
// around the call already keeps it. A new stack is laid out as if it had been switched away
// from at the start of tune_fiber_trampoline, which calls tune_fiber_entry(fiber).
#include "executors/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tune/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define TUNE_FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TUNE_FIBER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define TUNE_FIBER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TUNE_FIBER_TSAN 1
#endif
#endif
#ifdef TUNE_FIBER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef TUNE_FIBER_TSAN
#include <sanitizer/tsan_interface.h>
#endif

// The C++ runtime's per-thread exception state (libstdc++ and libc++abi share this layout):
// the stack of exceptions being handled and the count of those thrown but not yet caught.
namespace __cxxabiv1 {
struct __cxa_eh_globals;
extern "C" __cxa_eh_globals* __cxa_get_globals() noexcept;
}  // namespace __cxxabiv1

#if defined(__x86_64__)
extern "C" {
void tune_fiber_switch(void** save_sp, void* load_sp);
void tune_fiber_trampoline();
}
asm(R"(
    .pushsection .text
    .p2align 4
    .globl tune_fiber_switch
    .hidden tune_fiber_switch
    .type tune_fiber_switch, @function
tune_fiber_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size tune_fiber_switch, .-tune_fiber_switch

    .p2align 4
    .globl tune_fiber_trampoline
    .hidden tune_fiber_trampoline
    .type tune_fiber_trampoline, @function
tune_fiber_trampoline:
    .cfi_startproc
    .cfi_undefined rip
    movq %r13, %rdi
    callq *%r12
    ud2
    .cfi_endproc
    .size tune_fiber_trampoline, .-tune_fiber_trampoline
    .popsection
)");
#endif

namespace tune::detail {

struct EhGlobals {
  void* caught;
  unsigned int uncaught;
};

struct FiberAccess {
  static void entry(void* arg) noexcept {
    auto* fiber = static_cast<Fiber*>(arg);
#ifdef TUNE_FIBER_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &fiber->caller_stack_bottom_, &fiber->caller_stack_size_);
#endif
    fiber->run_body();
    fiber->finish();
  }
};

namespace {

thread_local Fiber* t_current = nullptr;

size_t page_size() {
  static const size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

// Stacks of finished fibers, per thread (fibers never leave their thread), for the next ones.
class StackCache {
 public:
  static constexpr size_t kMaxKept = 256;
  ~StackCache() {
    for (auto [map, size] : free_) munmap(map, size);
  }
  // A mapping of `bytes` (guard page included).
  char* take(size_t bytes) {
    for (size_t i = free_.size(); i-- > 0;) {
      if (free_[i].second != bytes) continue;
      char* map = free_[i].first;
      free_[i] = free_.back();
      free_.pop_back();
#ifdef TUNE_FIBER_ASAN
      // The last fiber's frames never returned: clear their redzones.
      __asan_unpoison_memory_region(map + page_size(), bytes - page_size());
#endif
      return map;
    }
    void* map = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                     -1, 0);
    if (map == MAP_FAILED) {
      throw std::runtime_error("cannot map a fiber stack of " + std::to_string(bytes) + " bytes: " +
                               std::strerror(errno));
    }
    if (mprotect(map, page_size(), PROT_NONE) != 0) {  // the guard page: an overflow faults
      const int error = errno;
      munmap(map, bytes);
      throw std::runtime_error(std::string("cannot protect a fiber stack's guard page: ") + std::strerror(error));
    }
    return static_cast<char*>(map);
  }
  void give(char* map, size_t bytes) {
    if (free_.size() < kMaxKept) {
      free_.emplace_back(map, bytes);
    } else {
      munmap(map, bytes);
    }
  }

 private:
  std::vector<std::pair<char*, size_t>> free_;
};

StackCache& stack_cache() {
  thread_local StackCache cache;
  return cache;
}

void swap_eh_globals(void*& caught, unsigned int& uncaught) {
  auto* globals = reinterpret_cast<EhGlobals*>(__cxxabiv1::__cxa_get_globals());
  std::swap(globals->caught, caught);
  std::swap(globals->uncaught, uncaught);
}

}  // namespace

bool fibers_supported() {
#if defined(__x86_64__)
  return true;
#else
  return false;
#endif
}

Fiber::Fiber(std::function<void()> body, size_t stack_size) : body_(std::move(body)) {
#if defined(__x86_64__)
  const size_t page = page_size();
  stack_size_ = (std::max(stack_size, kMinFiberStackSize) + page - 1) / page * page;
  stack_ = stack_cache().take(stack_size_ + page);
  // The first switch to the fiber pops this frame and "returns" into the trampoline, which
  // calls FiberAccess::entry(this) (r12, r13) with the stack 16-byte aligned as the ABI wants.
  auto* top = reinterpret_cast<uint64_t*>(stack_ + page + stack_size_);
  top[-1] = 0;
  top[-2] = 0;
  top[-3] = reinterpret_cast<uint64_t>(&tune_fiber_trampoline);
  top[-4] = 0;                                                   // rbp
  top[-5] = 0;                                                   // rbx
  top[-6] = reinterpret_cast<uint64_t>(&FiberAccess::entry);    // r12
  top[-7] = reinterpret_cast<uint64_t>(this);                    // r13
  top[-8] = 0;                                                   // r14
  top[-9] = 0;                                                   // r15
  top[-10] = 0x1F80u | (uint64_t{0x037F} << 32);                 // MXCSR and x87 control word defaults
  sp_ = &top[-10];
#ifdef TUNE_FIBER_TSAN
  tsan_fiber_ = __tsan_create_fiber(0);
#endif
#else
  (void)stack_size;
  throw TuneError("function_execution: fibers are implemented for x86-64 only; use FunctionExecution::kThread");
#endif
}

Fiber::~Fiber() {
  if (started_ && !finished_) std::terminate();  // its frames would vanish without their destructors
#ifdef TUNE_FIBER_TSAN
  if (tsan_fiber_ != nullptr) __tsan_destroy_fiber(tsan_fiber_);
#endif
  if (stack_ != nullptr) stack_cache().give(stack_, stack_size_ + page_size());
}

Fiber* Fiber::current() { return t_current; }

void Fiber::resume() {
#if defined(__x86_64__)
  if (finished_) return;
  started_ = true;
  caller_fiber_ = t_current;
  t_current = this;
  swap_eh_globals(eh_caught_, eh_uncaught_);
#ifdef TUNE_FIBER_ASAN
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, stack_ + page_size(), stack_size_);
#endif
#ifdef TUNE_FIBER_TSAN
  tsan_caller_ = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(tsan_fiber_, 0);
#endif
  tune_fiber_switch(&caller_sp_, sp_);
#ifdef TUNE_FIBER_ASAN
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
  swap_eh_globals(eh_caught_, eh_uncaught_);
  t_current = caller_fiber_;
#endif
}

void Fiber::suspend() {
  Fiber* self = t_current;
  if (self == nullptr) std::terminate();  // not inside a fiber
  self->switch_out(false);
}

void Fiber::switch_out(bool final) {
  (void)final;  // only ASan needs to know
#if defined(__x86_64__)
#ifdef TUNE_FIBER_ASAN
  // Leaving for good: null tells ASan to free this fiber's fake stack.
  __sanitizer_start_switch_fiber(final ? nullptr : &fake_stack_, caller_stack_bottom_, caller_stack_size_);
#endif
#ifdef TUNE_FIBER_TSAN
  __tsan_switch_to_fiber(tsan_caller_, 0);
#endif
  tune_fiber_switch(&sp_, caller_sp_);
#ifdef TUNE_FIBER_ASAN
  __sanitizer_finish_switch_fiber(fake_stack_, &caller_stack_bottom_, &caller_stack_size_);
#endif
#endif
}

void Fiber::run_body() noexcept {
  body_();  // an escaping exception terminates (noexcept): the body catches its own
  body_ = nullptr;  // its captures die here, on the fiber, while it can still run code
}

void Fiber::finish() noexcept {
  finished_ = true;
  switch_out(true);
  std::abort();  // never resumed again
}

}  // namespace tune::detail
