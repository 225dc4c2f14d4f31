// RunOptions::interrupt: a flag set mid-run stops the experiment gracefully (running trials
// stop at their next result with checkpoint_at_end honoured, nothing new starts), run()
// returns an analysis that says so, and a resume finishes the experiment with every
// iteration logged exactly once. (Signals and the CLI: tests/cli/signal_test.cc.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <thread>

#include "support/files.h"
#include "support/temp_dir.h"
#include "tune/tune.h"

namespace tune {
namespace {

using testing::results_of;
using testing::TempDir;
namespace fs = std::filesystem;

// Counts from its checkpoint; the first trial raises the flag in its third step.
std::atomic<std::atomic<int>*> g_flag{nullptr};

class Counter : public Trainable {
 public:
  void setup(const Config& config) override { x_ = config.at("x").get<int>(); }
  Result step() override {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the trials overlap
    ++count_;
    if (x_ == 1 && count_ == 3) {
      if (std::atomic<int>* flag = g_flag.load()) flag->store(1);
    }
    return {{"count", count_}, {"x", x_}};
  }
  void save_checkpoint(const fs::path& dir) override { std::ofstream(dir / "count") << count_; }
  void load_checkpoint(const fs::path& dir) override { std::ifstream(dir / "count") >> count_; }

 private:
  int x_ = 0;
  int count_ = 0;
};

RunOptions counter_options(const TempDir& dir) {
  RunOptions options;
  options.name = "exp";
  options.local_dir = dir.str();
  options.verbose = 0;
  options.config = {{"x", grid_search({1, 2, 3})}};
  options.stop = {{"training_iteration", 8}};
  options.num_cpus = 2;  // two run, the third waits
  options.checkpoint_at_end = true;
  return options;
}

TEST(InterruptTest, FlagSetMidRunStopsGracefullyAndResumeFinishesEveryIterationOnce) {
  TempDir dir;
  auto flag = std::make_shared<std::atomic<int>>(0);
  g_flag = flag.get();
  RunOptions options = counter_options(dir);
  options.interrupt = flag;
  const ExperimentAnalysis first = run<Counter>(options);  // returns, does not throw
  g_flag = nullptr;
  EXPECT_TRUE(first.interrupted());
  EXPECT_EQ(first.interrupt_signal().value_or(-1), 0);
  ASSERT_EQ(first.trials().size(), 3u) << "the waiting trial is in the analysis too";
  int stopped_midway = 0;
  for (const TrialRecord& trial : first.trials()) {
    EXPECT_NE(trial.status(), TrialStatus::kTerminated) << trial.name();
    const Result last = trial.last_result();
    if (last.is_null()) continue;  // the third never started
    ++stopped_midway;
    const int64_t iteration = last.at("training_iteration").get<int64_t>();
    EXPECT_LT(iteration, 8);
    // checkpoint_at_end: the stop took a checkpoint where the trial stood.
    EXPECT_TRUE(fs::exists(trial.logdir() / ("checkpoint_" + std::to_string(iteration)) / "count")) << trial.name();
  }
  EXPECT_EQ(stopped_midway, 2);
  // No "done" record: the journal says the experiment is not finished.
  std::ifstream journal(dir.path() / "exp" / "experiment_state.jsonl");
  const std::string text((std::istreambuf_iterator<char>(journal)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("\"e\":\"done\""), std::string::npos);

  RunOptions again = counter_options(dir);
  again.resume = true;
  const ExperimentAnalysis second = run<Counter>(again);
  EXPECT_FALSE(second.interrupted());
  ASSERT_EQ(second.trials().size(), 3u);
  for (const TrialRecord& trial : second.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
    const std::vector<Json> results = results_of(trial.logdir());
    ASSERT_EQ(results.size(), 8u) << trial.logdir();
    for (size_t i = 0; i < results.size(); ++i) {
      EXPECT_EQ(results[i]["training_iteration"], static_cast<int64_t>(i + 1)) << trial.logdir();
      EXPECT_EQ(results[i]["count"], static_cast<int64_t>(i + 1)) << "not continued from its checkpoint";
    }
  }
}

TEST(InterruptTest, FlagSetBeforeTheRunStartsNothingAndRaisesNothing) {
  TempDir dir;
  RunOptions options = counter_options(dir);
  options.interrupt = std::make_shared<std::atomic<int>>(2);
  const ExperimentAnalysis analysis = run<Counter>(options);
  EXPECT_TRUE(analysis.interrupted());
  for (const TrialRecord& trial : analysis.trials()) EXPECT_TRUE(trial.last_result().is_null()) << trial.name();
}

// handle_signals: a signal reaches the flag, the analysis names it, and the handler that was
// installed before run() is back afterwards.
TEST(InterruptTest, HandleSignalsTurnsSigtermIntoAGracefulStopAndRestoresTheHandler) {
  static std::atomic<int> previous_calls{0};
  struct sigaction mine {};
  mine.sa_handler = [](int) { previous_calls.fetch_add(1); };
  sigemptyset(&mine.sa_mask);
  struct sigaction saved {};
  ASSERT_EQ(::sigaction(SIGTERM, &mine, &saved), 0);
  TempDir dir;
  RunOptions options = counter_options(dir);
  options.handle_signals = true;
  const ExperimentAnalysis analysis =
      run(make_trainable("raiser", [](const Config&, Reporter& reporter) {
            for (int i = 1; i <= 50; ++i) {
              if (i == 2 && reporter.trial_info().trial_id.ends_with("0")) std::raise(SIGTERM);
              reporter.report({{"i", i}});
            }
          }),
          [&] {
            RunOptions o = options;
            o.config = {{"x", grid_search({0, 1})}};
            o.checkpoint_at_end = false;
            o.stop = {{"training_iteration", 50}};
            return o;
          }());
  EXPECT_TRUE(analysis.interrupted());
  EXPECT_EQ(analysis.interrupt_signal().value_or(-1), SIGTERM);
  EXPECT_EQ(previous_calls.load(), 0) << "run()'s handler was not the one called";
  std::raise(SIGTERM);
  EXPECT_EQ(previous_calls.load(), 1) << "the previous handler is not back";
  ::sigaction(SIGTERM, &saved, nullptr);
}

}  // namespace
}  // namespace tune
