// Fibers (src/executors/fiber.h) on their own: the order of resume and suspend, nesting,
// exceptions inside a fiber, unwinding, deep recursion, many at once and stack reuse.
#include "executors/fiber.h"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tune::detail {
namespace {

TEST(FiberTest, ResumeRunsUntilTheNextSuspend) {
  std::vector<int> trace;
  Fiber fiber([&] {
    trace.push_back(1);
    EXPECT_NE(Fiber::current(), nullptr);
    Fiber::suspend();
    trace.push_back(3);
    Fiber::suspend();
    trace.push_back(5);
  }, 64 << 10);
  EXPECT_FALSE(fiber.started());
  EXPECT_EQ(Fiber::current(), nullptr);
  fiber.resume();
  trace.push_back(2);
  fiber.resume();
  trace.push_back(4);
  EXPECT_FALSE(fiber.finished());
  fiber.resume();
  EXPECT_TRUE(fiber.finished());
  fiber.resume();  // a finished fiber stays finished
  EXPECT_EQ(trace, (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_EQ(Fiber::current(), nullptr);
}

TEST(FiberTest, AnUnstartedFiberCanBeDestroyed) {
  bool ran = false;
  { Fiber fiber([&] { ran = true; }, 64 << 10); }
  EXPECT_FALSE(ran);
}

TEST(FiberTest, FibersNestAndStayOnTheirThread) {
  std::vector<std::string> trace;
  const auto thread = std::this_thread::get_id();
  Fiber inner([&] {
    trace.push_back("inner 1");
    Fiber::suspend();
    trace.push_back("inner 2");
  }, 64 << 10);
  Fiber outer([&] {
    Fiber* self = Fiber::current();
    trace.push_back("outer 1");
    inner.resume();
    EXPECT_EQ(Fiber::current(), self);  // back in the outer fiber after the inner suspended
    Fiber::suspend();
    inner.resume();
    EXPECT_EQ(std::this_thread::get_id(), thread);
    trace.push_back("outer 2");
  }, 64 << 10);
  outer.resume();
  outer.resume();
  EXPECT_TRUE(inner.finished());
  EXPECT_TRUE(outer.finished());
  EXPECT_EQ(trace, (std::vector<std::string>{"outer 1", "inner 1", "inner 2", "outer 2"}));
}

// Each fiber has its own exception-handling state: one suspended inside a catch block keeps
// its exception while another fiber (and the thread) throw and catch others.
TEST(FiberTest, ExceptionsBeingHandledAreKeptPerFiber) {
  std::string seen_a;
  std::string seen_b;
  auto body = [](std::string name, std::string& seen) {
    return [name, &seen] {
      try {
        throw std::runtime_error(name);
      } catch (const std::exception&) {
        Fiber::suspend();
        try {
          throw;  // the exception this fiber is handling, whatever ran meanwhile
        } catch (const std::runtime_error& e) {
          seen = e.what();
        }
      }
    };
  };
  Fiber a(body("a", seen_a), 64 << 10);
  Fiber b(body("b", seen_b), 64 << 10);
  a.resume();
  b.resume();
  EXPECT_EQ(std::uncaught_exceptions(), 0);
  try {
    throw std::logic_error("thread");
  } catch (const std::logic_error&) {
    a.resume();
    b.resume();
    try {
      throw;
    } catch (const std::logic_error& e) {
      EXPECT_STREQ(e.what(), "thread");
    }
  }
  EXPECT_EQ(seen_a, "a");
  EXPECT_EQ(seen_b, "b");
}

// What the executor relies on: an exception thrown at a suspension point unwinds the fiber's
// frames (destructors run) up to the body's own handler.
TEST(FiberTest, AnExceptionThrownAfterSuspendUnwindsTheFrames) {
  struct Stop {};
  int destroyed = 0;
  bool stop = false;
  struct Guard {
    int& count;
    ~Guard() { ++count; }
  };
  Fiber fiber([&] {
    try {
      Guard outer{destroyed};
      auto wait = [&] {
        Guard inner{destroyed};
        Fiber::suspend();
        if (stop) throw Stop{};
      };
      for (;;) wait();
    } catch (const Stop&) {
    }
  }, 64 << 10);
  fiber.resume();
  fiber.resume();
  EXPECT_EQ(destroyed, 1);
  stop = true;
  fiber.resume();
  EXPECT_TRUE(fiber.finished());
  EXPECT_EQ(destroyed, 3);
}

int recurse(int frames_left) {
  volatile char frame[4096];  // a known amount of stack per call
  frame[0] = static_cast<char>(frames_left);
  frame[sizeof frame - 1] = frame[0];
  if (frames_left == 0) return 0;
  return recurse(frames_left - 1) + (frame[sizeof frame - 1] == frame[0] ? 1 : 0);
}

// About 4.2 KiB per frame (somewhat more with sanitizers): 180 frames fill 70-80% of 1 MiB.
TEST(FiberTest, DeepRecursionNearTheStackSizeWorks) {
  int depth = 0;
  Fiber fiber([&] { depth = recurse(180); }, 1 << 20);
  fiber.resume();
  EXPECT_TRUE(fiber.finished());
  EXPECT_EQ(depth, 180);
}

TEST(FiberTest, AThousandSuspendedFibersAndTheirStacksAreReused) {
  constexpr int kFibers = 1000;
  std::vector<int> progress(kFibers, 0);
  for (int round = 0; round < 2; ++round) {  // the second round takes the first round's stacks
    std::vector<std::unique_ptr<Fiber>> fibers;
    for (int i = 0; i < kFibers; ++i) {
      fibers.push_back(std::make_unique<Fiber>([&progress, i] {
        for (int step = 0; step < 3; ++step) {
          ++progress[i];
          Fiber::suspend();
        }
      }, 64 << 10));
    }
    for (int step = 0; step < 4; ++step) {
      for (auto& fiber : fibers) fiber->resume();
    }
    for (auto& fiber : fibers) EXPECT_TRUE(fiber->finished());
  }
  for (int count : progress) EXPECT_EQ(count, 6);
}

TEST(FiberTest, FibersOnSeveralThreadsAtOnce) {
  std::vector<std::thread> threads;
  std::vector<int> sums(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&sums, t] {
      std::vector<std::unique_ptr<Fiber>> fibers;
      for (int i = 0; i < 20; ++i) {
        fibers.push_back(std::make_unique<Fiber>([&sums, t] {
          for (int k = 0; k < 50; ++k) {
            ++sums[t];
            Fiber::suspend();
          }
        }, 64 << 10));
      }
      for (int k = 0; k <= 50; ++k) {
        for (auto& fiber : fibers) fiber->resume();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int sum : sums) EXPECT_EQ(sum, 20 * 50);
}

}  // namespace
}  // namespace tune::detail
