// Tests of the zygote that forks registered C++ trainables (tune/process.h, Launch::kZygote):
// which trials it forks and which are exec'd, a zygote that dies mid-trial, a binary that cannot
// serve as one, and a killed driver that must leave neither the zygote nor its trials behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "executors/process_test_support.h"
#include "support/files.h"
#include "support/processes.h"
#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "tune/process.h"
#include "tune/tune.h"

extern "C" char** environ;  // NOLINT: POSIX

namespace tune {
namespace {

using ::testing::HasSubstr;
using testing::by_id;
using testing::kWorker;
using testing::quiet_options;
using testing::TempDir;
using testing::worker_spec;

TEST(ProcessZygoteTest, TrialsWhoseArgvDiffersAreExecdTheOthersForked) {
  TempDir dir;
  ProcessSpec spec = worker_spec();
  spec.launch = ProcessSpec::Launch::kZygote;
  spec.argv = {kWorker, "--x={x}"};
  RunOptions options = quiet_options(dir, "placeholder");
  options.config = {{"x", grid_search({1, 2})}};
  options.stop = {{"training_iteration", 1}};
  for (const auto& trial : by_id(run(isolated("EnvReporter", spec), std::move(options)))) {
    ASSERT_EQ(trial.status(), TrialStatus::kTerminated) << trial.error();
    EXPECT_EQ(trial.last_result()["parent_pid"], getpid());
  }
  spec.argv = {kWorker, "--x=fixed"};
  options = quiet_options(dir, "fixed");
  options.num_samples = 2;
  options.stop = {{"training_iteration", 1}};
  std::set<int64_t> parents;
  for (const auto& trial : by_id(run(isolated("EnvReporter", spec), std::move(options)))) {
    ASSERT_EQ(trial.status(), TrialStatus::kTerminated) << trial.error();
    parents.insert(trial.last_result()["parent_pid"].get<int64_t>());
  }
  ASSERT_EQ(parents.size(), 1u);  // one zygote forked both
  EXPECT_NE(*parents.begin(), getpid());
}

TEST(ProcessZygoteTest, ZygoteThatDiesFailsItsRunningTrialAndIsStartedAgain) {
  TempDir dir;
  ProcessSpec spec = worker_spec();
  spec.launch = ProcessSpec::Launch::kZygote;
  RunOptions options = quiet_options(dir);
  options.num_cpus = 1;  // one at a time: the second trial kills the zygote of all three
  options.config = {{"crash", grid_search({"none", "kill_parent", "none"})}, {"driver_pid", getpid()}};
  options.stop = {{"training_iteration", 3}};
  const auto trials = by_id(run(isolated("Crasher", spec), std::move(options)));
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[0].status(), TrialStatus::kTerminated) << trials[0].error();
  EXPECT_EQ(trials[1].status(), TrialStatus::kError);
  const std::string error_txt = testing::read_text(trials[1].logdir() / "error.txt");
  EXPECT_THAT(error_txt, HasSubstr("was lost before replying to 'step': zygote"));
  EXPECT_THAT(error_txt, HasSubstr("was killed by SIGKILL"));
  EXPECT_THAT(error_txt, HasSubstr("crasher: about to kill_parent"));
  EXPECT_EQ(trials[1].last_result()["training_iteration"], 1);
  ASSERT_EQ(trials[2].status(), TrialStatus::kTerminated) << trials[2].error();
  EXPECT_EQ(trials[2].last_result()["training_iteration"], 3);
  // A new zygote forked the third trial.
  EXPECT_NE(trials[2].last_result()["parent_pid"], trials[0].last_result()["parent_pid"]);
  EXPECT_NE(trials[2].last_result()["parent_pid"], getpid());
}

TEST(ProcessZygoteTest, BinaryThatCannotServeAsAZygoteIsExecdInstead) {
  if (testing::kPython.empty()) GTEST_SKIP() << "no Python 3 interpreter found at configure time";
  // raw_worker.py takes the zygote's hello for a bad setup and exits, as a worker of an older
  // tune would: every trial is then exec'd.
  TempDir dir;
  ProcessSpec spec;
  spec.argv = {testing::kPython, "-S", testing::kWorkers + "/raw_worker.py", "ok"};
  spec.launch = ProcessSpec::Launch::kZygote;
  spec.env["TUNE_WORKER"] = "raw";
  spec.stop_grace_s = 1;
  RunOptions options = quiet_options(dir);
  options.num_samples = 2;
  const auto trials = by_id(run(process_trainable("raw", spec), std::move(options)));
  ASSERT_EQ(trials.size(), 2u);
  for (const auto& trial : trials) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated) << trial.error();
    EXPECT_EQ(trial.last_result()["score"], 7);
  }
}

TEST(ProcessZygoteTest, KilledDriverLeavesNoZygoteAndNoTrialBehind) {
  TempDir dir;
  const std::string local_dir = (dir.path() / "results").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv = {const_cast<char*>(kWorker.c_str()), const_cast<char*>("orphan_drive"),
                             const_cast<char*>(local_dir.c_str()), nullptr};
  pid_t driver = -1;
  ASSERT_EQ(::posix_spawn(&driver, kWorker.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);

  // Both trials are in their (100 s) first step once they wrote their pids.
  std::vector<Json> pids;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (pids.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    pids.clear();
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(local_dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().filename() == "pids.json") pids.push_back(Json::parse(testing::read_text(it->path())));
    }
  }
  ASSERT_EQ(pids.size(), 2u) << "the trials never started";
  const pid_t zygote = pids[0]["parent_pid"].get<pid_t>();
  EXPECT_EQ(pids[1]["parent_pid"], zygote);
  EXPECT_NE(zygote, driver);
  std::vector<pid_t> left_behind = {zygote, pids[0]["pid"].get<pid_t>(), pids[1]["pid"].get<pid_t>()};

  ASSERT_EQ(::kill(driver, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(driver, &status, 0), driver);
  // The zygote reads end of file on its control socket, gives the trials stop_grace_s = 1 s,
  // kills what is left and exits. (A zombie waiting for an init that never reaps counts as gone.)
  for (const pid_t pid : left_behind) {
    EXPECT_TRUE(testing::gone_within(pid, std::chrono::seconds(20))) << "pid " << pid << " (zygote " << zygote << ") is still running";
  }
}

}  // namespace
}  // namespace tune
