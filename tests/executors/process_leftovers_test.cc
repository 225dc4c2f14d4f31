// Children never outlive the driver's run (issue 17 item 3): whatever way tune::run ends — the
// trials finishing, fail_fast, an exception out of a callback — no trial process is left,
// not even a grandchild that left the trial's process group with setsid().
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "support/processes.h"
#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "tune/tune.h"

namespace tune {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

// A plain program that starts a setsid() sleep (writing its pid to <dir>/gc_<x>), then prints
// results: one and ends (x = 1), or one a second for a minute (x = 2), or fails (x = 3).
ProcessSpec leaving_grandchildren(const TempDir& dir) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c",
               "setsid sleep 120 </dev/null >/dev/null 2>&1 & echo $! > \"$0/gc_$1.tmp\" && mv \"$0/gc_$1.tmp\" "
               "\"$0/gc_$1\"; case $1 in 1) echo '{\"v\": 1}';; 2) i=0; while [ $i -lt 60 ]; do echo "
               "\"{\\\"v\\\": $i}\"; i=$((i+1)); sleep 1; done;; 3) sleep 0.3; exit 3;; esac",
               dir.str(), "{x}"};
  spec.protocol = ProcessSpec::Protocol::kPlain;
  spec.stop_grace_s = 0.5;
  return spec;
}

pid_t grandchild(const TempDir& dir, int x) {
  return testing::read_pid_file((dir.path() / ("gc_" + std::to_string(x))).string(), std::chrono::seconds(10));
}

TEST(ProcessLeftoversTest, SetsidGrandchildrenAreGoneWhenTheRunEnds) {
  TempDir dir;
  RunOptions options = testing::quiet_options(dir);
  options.config = {{"x", 1}};
  options.stop = {{"training_iteration", 1}};
  const ExperimentAnalysis analysis = run(process_trainable("leaver", leaving_grandchildren(dir)), std::move(options));
  ASSERT_EQ(analysis.trials().size(), 1u);
  EXPECT_EQ(analysis.trials()[0].status(), TrialStatus::kTerminated);
  const pid_t pid = grandchild(dir, 1);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(testing::gone_within(pid, std::chrono::seconds(2))) << "the setsid() grandchild outlived its trial";
}

TEST(ProcessLeftoversTest, FailFastEndsTheOtherTrialsAndTheirGrandchildren) {
  TempDir dir;
  RunOptions options = testing::quiet_options(dir);
  options.config = {{"x", grid_search({2, 3})}};
  options.fail_fast = true;
  options.num_cpus = 2;
  const auto started = std::chrono::steady_clock::now();
  run(process_trainable("leaver", leaving_grandchildren(dir)), std::move(options));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30)) << "the long trial was not stopped";
  for (int x : {2, 3}) {
    const pid_t pid = grandchild(dir, x);
    ASSERT_GT(pid, 0) << x;
    EXPECT_TRUE(testing::gone_within(pid, std::chrono::seconds(2))) << "x=" << x;
  }
}

// A callback that throws once the long trial has reported: the exception leaves tune::run.
class ThrowOnResult : public Callback {
 public:
  void on_trial_result(const TrialView&, const Result&) override { throw std::runtime_error("callback failed"); }
};

TEST(ProcessLeftoversTest, AnExceptionOutOfTheRunEndsTheTrialsAndTheirGrandchildren) {
  TempDir dir;
  RunOptions options = testing::quiet_options(dir);
  options.config = {{"x", 2}};
  options.callbacks.push_back(std::make_shared<ThrowOnResult>());
  EXPECT_ANY_THROW(run(process_trainable("leaver", leaving_grandchildren(dir)), std::move(options)));
  const pid_t pid = grandchild(dir, 2);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(testing::gone_within(pid, std::chrono::seconds(2)));
}

}  // namespace
}  // namespace tune
