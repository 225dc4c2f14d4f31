// ProcessSpec::start_zygote: an embedder starts the zygote itself (the Python package forks its
// interpreter; here the test spawns the worker binary) and the executor uses it as its own.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "tune/process.h"
#include "tune/tune.h"

namespace tune {
namespace {

using testing::quiet_options;
using testing::TempDir;

// posix_spawn of the test worker with the control socket as fds 3 and 4 and exactly `env`.
pid_t spawn_worker(int control_fd, const std::vector<std::string>& env) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, control_fd, 3);
  posix_spawn_file_actions_adddup2(&actions, control_fd, 4);
  std::vector<char*> envp;
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  std::string path = TUNE_TEST_WORKER;
  char* argv[] = {path.data(), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw TuneError("spawn failed");
  return pid;
}

TEST(ZygoteEmbedderTest, AnEmbeddersZygoteForksEveryTrialAndIsAskedForOnce) {
  TempDir dir;
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto started = std::make_shared<std::atomic<pid_t>>(0);
  ProcessSpec spec;
  spec.argv = {"/nonexistent/only-for-exec"};  // never exec'd: the embedder starts the zygote
  spec.launch = ProcessSpec::Launch::kZygote;
  spec.env = {{"TUNE_WORKER", "EnvReporter"}, {"ASAN_OPTIONS", "detect_leaks=0"}};
  spec.start_zygote = [calls, started](int control_fd, const std::vector<std::string>& env) {
    ++*calls;
    EXPECT_THAT(env, ::testing::Contains("TUNE_ZYGOTE=3"));
    const pid_t pid = spawn_worker(control_fd, env);
    started->store(pid);
    return pid;
  };
  RunOptions options = quiet_options(dir);
  options.num_samples = 3;
  options.stop = {{"training_iteration", 1}};
  const ExperimentAnalysis analysis = run(process_trainable("embedded", spec), std::move(options));
  EXPECT_EQ(calls->load(), 1);
  ASSERT_EQ(analysis.trials().size(), 3u);
  std::set<int64_t> parents;
  for (const TrialRecord& trial : analysis.trials()) {
    ASSERT_EQ(trial.status(), TrialStatus::kTerminated) << trial.error();
    parents.insert(trial.last_result()["parent_pid"].get<int64_t>());
  }
  EXPECT_EQ(parents, std::set<int64_t>{started->load()});
}

TEST(ZygoteEmbedderTest, AZygoteThatCannotStartMakesItsTrialsExecd) {
  TempDir dir;
  ProcessSpec spec;
  spec.argv = {TUNE_TEST_WORKER};
  spec.launch = ProcessSpec::Launch::kZygote;
  spec.env = {{"TUNE_WORKER", "EnvReporter"}, {"ASAN_OPTIONS", "detect_leaks=0"}};
  spec.start_zygote = [](int, const std::vector<std::string>&) -> pid_t { throw TuneError("no zygote today"); };
  RunOptions options = quiet_options(dir);
  options.stop = {{"training_iteration", 1}};
  const ExperimentAnalysis analysis = run(process_trainable("embedded", spec), std::move(options));
  ASSERT_EQ(analysis.trials().size(), 1u);
  const TrialRecord& trial = analysis.trials()[0];
  ASSERT_EQ(trial.status(), TrialStatus::kTerminated) << trial.error();
  EXPECT_EQ(trial.last_result()["parent_pid"].get<int64_t>(), getpid());  // exec'd by the driver
}

}  // namespace
}  // namespace tune
