// The function API through tune::run, once per way function trials run
// (RunOptions::function_execution: a thread per trial, or fibers on the runner thread):
// results and ends, stops that unwind the function, failures, retries, self-checkpointing,
// PAUSE, many concurrent trials; then what only fibers have (deep recursion near the stack
// size, a thousand at once, the thread they run on); the options' validation is in run_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "support/files.h"
#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using testing::read_text;
using testing::results_of;
using testing::TempDir;
namespace fs = std::filesystem;

class FunctionApiTest : public ::testing::TestWithParam<FunctionExecution> {
 protected:
  RunOptions options_in(const TempDir& dir, std::string name = "exp") const {
    RunOptions options = testing::quiet_options(dir, std::move(name));
    options.function_execution = GetParam();
    return options;
  }
};

INSTANTIATE_TEST_SUITE_P(Execution, FunctionApiTest,
                         ::testing::Values(FunctionExecution::kThread, FunctionExecution::kFiber),
                         [](const ::testing::TestParamInfo<FunctionExecution>& param) {
                           return std::string(to_string(param.param));
                         });

TEST_P(FunctionApiTest, PrintMeEndsWhenTheFunctionReturns) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.config = {{"print_me", "hello-world"}};
  std::atomic<int> seen{0};
  auto analysis = run(
      [&](const Config& config, Reporter& reporter) {
        EXPECT_EQ(config.at("print_me"), "hello-world");
        for (int i = 0; i < 20; ++i) reporter.report({{"accuracy", 0.5}, {"f1", 0.1}});
        seen = 1;
      },
      std::move(options));
  EXPECT_EQ(seen.load(), 1);
  ASSERT_EQ(analysis.trials().size(), 1u);
  EXPECT_EQ(analysis.trials()[0].status(), TrialStatus::kTerminated);
  EXPECT_EQ(analysis.trials()[0].last_result()["training_iteration"], 20);
  EXPECT_EQ(analysis.trials()[0].last_result()["done"], true);
}

TEST_P(FunctionApiTest, StopUnwindsTheFunctionCleanly) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.stop = {{"training_iteration", 3}};
  options.num_samples = 4;
  std::atomic<int> destroyed{0};
  std::atomic<int> reports_after_stop{0};
  struct Guard {
    std::atomic<int>* counter;
    ~Guard() { ++*counter; }
  };
  run(
      [&](const Config&, Reporter& reporter) {
        Guard guard{&destroyed};
        for (int i = 0; i < 1000; ++i) {
          Guard inner{&destroyed};  // a frame deeper than the function's own
          reporter.report({{"i", i}});
        }
        ++reports_after_stop;  // never reached: report() throws TrialStopped
      },
      std::move(options));
  EXPECT_EQ(destroyed.load(), 4 * (3 + 1));  // 3 inner guards (2 ended normally, 1 unwound) + the outer, per trial
  EXPECT_EQ(reports_after_stop.load(), 0);
}

TEST_P(FunctionApiTest, StopFunctionAndNestedKeys) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.stop = [](const std::string&, const Result& result) { return result["training_iteration"] >= 4; };
  auto analysis = run([](const Config&, Reporter& r) {
    for (int i = 0;; ++i) r.report({{"i", i}});
  }, options);
  EXPECT_EQ(analysis.trials()[0].last_result()["training_iteration"], 4);

  options.name = "nested";
  options.stop = {{"eval/acc", 0.5}};
  analysis = run([](const Config&, Reporter& r) {
    for (int i = 0;; ++i) r.report({{"eval", {{"acc", i * 0.1}}}});
  }, options);
  EXPECT_EQ(analysis.trials()[0].last_result()["training_iteration"], 6);  // i = 5: acc 0.5 >= 0.5
}

// The guide's CustomStopper: stops everything once any trial reports foo > 10.
class CustomStopper : public Stopper {
 public:
  bool operator()(const std::string&, const Result& result) override {
    if (!should_stop_ && result["foo"] > 10) should_stop_ = true;
    return should_stop_;
  }
  bool stop_all() override { return should_stop_; }

 private:
  bool should_stop_ = false;
};

TEST_P(FunctionApiTest, StopperStopAllEndsTheExperiment) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.num_cpus = 2;
  options.num_samples = 50;
  auto stopper = std::make_shared<CustomStopper>();
  options.stop = stopper;
  auto analysis = run([](const Config&, Reporter& r) {
    for (int i = 0;; ++i) r.report({{"foo", i}});
  }, std::move(options));
  EXPECT_TRUE(stopper->stop_all());
  int64_t reached = 0;
  for (const auto& t : analysis.trials()) {
    if (t.last_result().is_object()) ++reached;
  }
  EXPECT_LT(reached, 50);  // no new trial started after stop_all
}

TEST_P(FunctionApiTest, TimeBudgetStopsAnEndlessSweep) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.num_samples = -1;
  options.time_budget_s = 0.3;
  options.write_trial_files = false;
  const auto start = std::chrono::steady_clock::now();
  auto analysis = run([](const Config&, Reporter& r) {
    for (int i = 0;; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      r.report({{"i", i}});
    }
  }, std::move(options));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_GE(analysis.trials().size(), 1u);
}

TEST_P(FunctionApiTest, FailingTrialIsErrorWithErrorFileAndTheRunGoesOn) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.config = {{"fail", grid_search({false, true, false})}};
  options.stop = {{"training_iteration", 2}};
  auto analysis = run([](const Config& config, Reporter& r) {
    r.report({{"x", 1}});
    if (config["fail"].get<bool>()) throw std::runtime_error("boom: bad batch");
    r.report({{"x", 2}});
  }, std::move(options));
  auto counts = analysis.status_counts();
  EXPECT_EQ(counts[TrialStatus::kTerminated], 2);
  EXPECT_EQ(counts[TrialStatus::kError], 1);
  for (const auto& t : analysis.trials()) {
    if (t.status() != TrialStatus::kError) continue;
    const std::string text = read_text(t.logdir() / "error.txt");
    EXPECT_THAT(text, HasSubstr("boom: bad batch"));
    EXPECT_THAT(text, HasSubstr("Failure # 1"));
    EXPECT_THAT(t.error(), HasSubstr("boom"));
  }
}

// A result whose "done", "should_checkpoint" or "training_iteration" cannot be read as one
// fails its trial, naming the field; a number for a flag is read as Ray reads it.
TEST_P(FunctionApiTest, AWrongTypedReservedFieldFailsOnlyItsTrial) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.config = {{"field", grid_search({"done", "should_checkpoint", "training_iteration", "done_number"})}};
  options.stop = {{"training_iteration", 3}};
  auto analysis = run([](const Config& config, Reporter& r) {
    const std::string field = config["field"];
    r.report({{"x", 1}});
    if (field == "done_number") {
      r.report({{"x", 2}, {"done", 7}});
      r.report({{"x", 3}});
    } else {
      r.report({{"x", 2}, {field, field == "training_iteration" ? Json(-4) : Json("yes")}});
    }
  }, std::move(options));
  const auto trials = analysis.trials();
  ASSERT_EQ(trials.size(), 4u);
  std::map<std::string, TrialRecord> by_field;
  for (const auto& t : trials) by_field.emplace(t.config()["field"].get<std::string>(), t);
  for (const char* field : {"done", "should_checkpoint"}) {
    const TrialRecord& t = by_field.at(field);
    EXPECT_EQ(t.status(), TrialStatus::kError) << field;
    EXPECT_THAT(t.error(), HasSubstr(std::string("result: \"") + field + "\" must be true or false, got string \"yes\""));
    EXPECT_EQ(t.last_result()["training_iteration"], 1) << "the refused result is not counted";
  }
  EXPECT_EQ(by_field.at("training_iteration").status(), TrialStatus::kError);
  EXPECT_THAT(by_field.at("training_iteration").error(),
              HasSubstr("result: \"training_iteration\" must be a whole number >= 0, got number -4"));
  const TrialRecord& number = by_field.at("done_number");
  EXPECT_EQ(number.status(), TrialStatus::kTerminated) << number.error();
  EXPECT_EQ(number.last_result()["training_iteration"], 2) << "done: 7 ended it";
  EXPECT_EQ(number.last_result()["done"], true);
}

TEST_P(FunctionApiTest, MaxFailuresRetriesThenSucceeds) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.max_failures = 2;
  std::atomic<int> attempts{0};
  auto analysis = run([&](const Config&, Reporter& r) {
    if (++attempts < 3) throw std::runtime_error("flaky");
    r.report({{"ok", 1}});
  }, std::move(options));
  EXPECT_EQ(attempts.load(), 3);
  EXPECT_EQ(analysis.trials()[0].status(), TrialStatus::kTerminated);
  const std::string errors = read_text(analysis.trials()[0].logdir() / "error.txt");
  EXPECT_THAT(errors, HasSubstr("Failure # 2"));
  EXPECT_THAT(errors, ::testing::Not(HasSubstr("Failure # 3")));
}

TEST_P(FunctionApiTest, TrialCheckpointsItselfAndIsRestored) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.max_failures = 1;
  std::atomic<int> restored_from{-1};
  std::atomic<bool> failed{false};
  auto train = [&](const Config&, Reporter& reporter) {
    int start = 0;
    if (!reporter.restore_path().empty()) {
      std::ifstream(reporter.restore_path() / "step") >> start;
      restored_from = start;
    }
    for (int i = start + 1; i <= 6; ++i) {
      if (i == 5 && !failed.exchange(true)) throw std::runtime_error("crash at 5");
      fs::create_directories(reporter.checkpoint_dir());
      std::ofstream(reporter.checkpoint_dir() / "step") << i;
      reporter.report({{"i", i}, {"should_checkpoint", i % 2 == 0}});
    }
  };
  const ExperimentAnalysis analysis = run(train, std::move(options));
  const TrialRecord& trial = analysis.trials().at(0);
  EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
  EXPECT_EQ(restored_from, 4);
  const std::vector<Json> results = results_of(trial.logdir());
  ASSERT_EQ(results.size(), 6u);
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i]["training_iteration"], static_cast<int>(i + 1));
    EXPECT_EQ(results[i]["i"], static_cast<int>(i + 1));
  }
  EXPECT_TRUE(fs::exists(trial.logdir() / "checkpoint_4" / "step"));
}

TEST_P(FunctionApiTest, PauseWithoutCheckpointSupportFailsClearly) {
  class Pauser : public TrialScheduler {
   public:
    Decision on_trial_result(const TrialView&, const Result&) override { return Decision::kPause; }
    std::string debug_string() const override { return "pauser"; }
  };
  TempDir dir;
  RunOptions options = options_in(dir);
  options.scheduler = std::make_shared<Pauser>();
  std::atomic<int> destroyed{0};
  struct Guard {
    std::atomic<int>* counter;
    ~Guard() { ++*counter; }
  };
  const ExperimentAnalysis analysis = run([&](const Config&, Reporter& r) {
    Guard guard{&destroyed};
    r.report({});
    r.report({});
  }, std::move(options));
  EXPECT_EQ(analysis.trials().at(0).status(), TrialStatus::kError);
  EXPECT_THAT(analysis.trials().at(0).error(), HasSubstr("checkpoint_dir"));
  EXPECT_EQ(destroyed.load(), 1);  // the function waiting in report() was unwound
}

// Many function trials reporting as fast as they can: thread mode wakes their threads as a
// tree after each batch of decisions, fiber mode resumes them in batches; none may be lost or
// resumed twice into a step.
TEST_P(FunctionApiTest, ManyConcurrentTrialsEachGetEveryDecision) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.num_samples = 24;
  options.num_cpus = 24;
  options.stop = {{"training_iteration", 150}};
  options.write_trial_files = false;
  std::atomic<int64_t> reports{0};
  auto analysis = run([&](const Config&, Reporter& r) {
    for (int64_t i = 1;; ++i) {
      r.report({{"i", i}});
      reports.fetch_add(1);
    }
  }, std::move(options));
  ASSERT_EQ(analysis.trials().size(), 24u);
  for (const auto& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
    EXPECT_EQ(trial.last_result()["i"], 150);
    EXPECT_EQ(trial.last_result()["training_iteration"], 150);
  }
  EXPECT_EQ(reports.load(), 24 * 149);  // the 150th report() of each is answered with a stop
}

// A function may report from inside a catch block; other trials throw and catch meanwhile.
// (Fibers keep the C++ runtime's exception state per fiber, so the rethrow finds its own.)
TEST_P(FunctionApiTest, ReportInsideACatchBlockKeepsItsException) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.num_samples = 3;
  options.num_cpus = 3;
  options.stop = {{"training_iteration", 6}};
  auto analysis = run([](const Config&, Reporter& r) {
    for (int i = 0;; ++i) {
      try {
        throw std::runtime_error("own " + std::to_string(i));
      } catch (const std::exception&) {
        r.report({{"i", i}});
        try {
          throw;
        } catch (const std::runtime_error& again) {
          if (std::string(again.what()) != "own " + std::to_string(i)) throw std::logic_error("lost the exception");
        }
      }
    }
  }, std::move(options));
  for (const auto& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated) << trial.error();
    EXPECT_EQ(trial.last_result()["training_iteration"], 6);
  }
}

// ---- fiber mode only ----

int recurse(int depth, int frames_left) {
  volatile char frame[4096];  // a known amount of stack per call
  frame[0] = static_cast<char>(depth);
  frame[sizeof frame - 1] = frame[0];
  if (frames_left == 0) return frame[sizeof frame - 1];
  return recurse(depth + 1, frames_left - 1) + (frame[0] != 0 ? 0 : 1);
}

// About 4.2 KiB per frame (more under sanitizers): 150 frames fill 60-70% of 1 MiB, and a
// stack eight times bigger takes eight times deeper recursion.
TEST(FiberExecutionTest, DeepRecursionUpToTheStackSizeWorks) {
  TempDir dir;
  for (const auto& [stack_size, frames] : {std::pair<size_t, int>{1 << 20, 150}, {8 << 20, 1200}}) {
    RunOptions options = testing::quiet_options(dir, "stack_" + std::to_string(stack_size));
    options.function_execution = FunctionExecution::kFiber;
    options.fiber_stack_size = stack_size;
    options.stop = {{"training_iteration", 2}};
    const int depth = frames;
    auto analysis = run([depth](const Config&, Reporter& r) {
      for (;;) r.report({{"x", recurse(0, depth)}});
    }, std::move(options));
    EXPECT_EQ(analysis.trials().at(0).status(), TrialStatus::kTerminated) << analysis.trials().at(0).error();
  }
}

TEST(FiberExecutionTest, AThousandConcurrentFibersRunOnTheRunnerThread) {
  TempDir dir;
  RunOptions options = testing::quiet_options(dir);
  options.function_execution = FunctionExecution::kFiber;
  options.fiber_stack_size = 128 << 10;
  options.num_samples = 1000;
  options.num_cpus = 1000;
  options.stop = {{"training_iteration", 5}};
  options.write_trial_files = false;
  options.write_experiment_state = false;
  const auto caller = std::this_thread::get_id();
  std::atomic<int> off_thread{0};
  std::atomic<int> unwound{0};
  std::atomic<int> live{0};
  std::atomic<int> peak{0};
  struct Live {
    std::atomic<int>& n;
    explicit Live(std::atomic<int>& count, std::atomic<int>& max) : n(count) {
      const int now = ++n;
      for (int seen = max.load(); now > seen && !max.compare_exchange_weak(seen, now);) {
      }
    }
    ~Live() { --n; }
  };
  thread_local int thread_marker = 0;
  auto analysis = run([&](const Config&, Reporter& r) {
    Live alive(live, peak);
    try {
      for (;;) {
        if (std::this_thread::get_id() != caller) ++off_thread;
        ++thread_marker;
        r.report({{"x", 1}});
      }
    } catch (const TrialStopped&) {
      ++unwound;
      throw;
    }
  }, std::move(options));
  EXPECT_EQ(analysis.trials().size(), 1000u);
  for (const auto& trial : analysis.trials()) EXPECT_EQ(trial.last_result()["training_iteration"], 5);
  EXPECT_EQ(off_thread.load(), 0);
  EXPECT_EQ(unwound.load(), 1000);
  EXPECT_EQ(live.load(), 0);
  EXPECT_GT(peak.load(), 500);  // they were suspended side by side, not run one after another
  EXPECT_EQ(thread_marker, 5 * 1000);  // the runner thread's own thread-local
}

TEST(FiberExecutionTest, ExecutionNamesRoundTrip) {
  EXPECT_STREQ(to_string(FunctionExecution::kFiber), "fiber");
  EXPECT_STREQ(to_string(FunctionExecution::kThread), "thread");
  EXPECT_EQ(function_execution_from_string("thread"), FunctionExecution::kThread);
  EXPECT_EQ(function_execution_from_string("fiber"), FunctionExecution::kFiber);
  EXPECT_EQ(function_execution_from_string("fibre"), std::nullopt);
}

}  // namespace
}  // namespace tune
