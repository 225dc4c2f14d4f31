// Tests of the leftover-process scan (common/process_tree.h): processes are found by the
// TUNE_TRIAL_TOKEN they inherited, setsid() grandchildren included, a token matches exactly or
// as an experiment's prefix, and every holder is killed and, when it is ours, reaped.
#include "common/process_tree.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "common/subprocess.h"
#include "support/processes.h"

namespace tune {
namespace {

using ::testing::Contains;
using ::testing::IsEmpty;

// An experiment id no other test (or engineer) on this machine uses.
std::string unique_experiment() { return "test" + std::to_string(::getpid()) + "x" + std::to_string(std::random_device{}()); }

// `sh` holding `token`, which starts a setsid() sleep (its own session) and says its pid.
struct Holder {
  pid_t sh = -1;
  pid_t grandchild = -1;
};

// `then`: what sh does once it has said the grandchild's pid (by default, live on).
Holder start_holder(const std::string& token, const std::string& then = "exec sleep 60") {
  detail::FdPair pipe = detail::make_pipe();
  detail::SpawnOptions options;
  options.argv = {"sh", "-c", "setsid sleep 60 </dev/null >/dev/null 2>&1 & echo $!; " + then};
  options.env = {std::string(detail::kTrialTokenVar) + "=" + token, "PATH=/usr/bin:/bin"};
  options.inherit_env = false;
  options.new_process_group = true;
  options.dup(pipe.second.get(), 1);
  const detail::Spawned spawned = detail::spawn_process(options);
  pipe.second.reset();
  EXPECT_TRUE(spawned);
  Holder holder{spawned.pid, -1};
  std::string out;
  char c;
  while (::read(pipe.first.get(), &c, 1) == 1 && c != '\n') out += c;
  if (!out.empty()) holder.grandchild = static_cast<pid_t>(std::stol(out));
  return holder;
}

// Waits until the grandchild's setsid() has run (it is then in a session other than ours).
bool left_our_session(pid_t grandchild) {
  for (int i = 0; i < 500; ++i) {
    if (::getsid(grandchild) != ::getsid(0)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(ProcessTreeTest, FindsEveryHolderOfATokenAndKillsThemSetsidGrandchildrenIncluded) {
  const std::string experiment = unique_experiment();
  const Holder holder = start_holder(detail::trial_token(experiment, "t1"));
  ASSERT_GT(holder.grandchild, 0);
  // The grandchild is in another session (once its setsid ran): no kill of the trial's process
  // group reaches it.
  for (int i = 0; i < 200 && ::getsid(holder.grandchild) == ::getsid(holder.sh); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(::getsid(holder.grandchild), ::getsid(holder.sh));
  const std::vector<pid_t> found = detail::find_token_holders(detail::trial_token(experiment, "t1"), false);
  EXPECT_THAT(found, Contains(holder.sh));
  EXPECT_THAT(found, Contains(holder.grandchild));
  EXPECT_EQ(detail::kill_token_holders(detail::experiment_token_prefix(experiment), true, std::chrono::seconds(5)),
            2u);
  EXPECT_TRUE(testing::gone_within(holder.sh, std::chrono::seconds(2)));
  EXPECT_TRUE(testing::gone_within(holder.grandchild, std::chrono::seconds(2)));
  EXPECT_THAT(detail::find_token_holders(detail::experiment_token_prefix(experiment), true), IsEmpty());
}

TEST(ProcessTreeTest, ATrialTokenMatchesExactlyAndAnExperimentsPrefixMatchesAllItsTrials) {
  const std::string experiment = unique_experiment();
  const Holder holder = start_holder(detail::trial_token(experiment, "t10"));
  EXPECT_THAT(detail::find_token_holders(detail::trial_token(experiment, "t1"), false), IsEmpty());
  EXPECT_THAT(detail::find_token_holders(detail::trial_token(experiment + "y", "t10"), false), IsEmpty());
  EXPECT_THAT(detail::find_token_holders(detail::experiment_token_prefix(experiment), true), Contains(holder.sh));
  EXPECT_THAT(detail::find_token_holders("", true), IsEmpty());  // no token: nothing, never everything
  detail::kill_token_holders(detail::experiment_token_prefix(experiment), true, std::chrono::seconds(5));
  EXPECT_TRUE(testing::gone_within(holder.grandchild, std::chrono::seconds(2)));
}

TEST(ProcessTreeTest, AProcessCaughtInTheMiddleOfAnExecIsStillFound) {
  // For a moment inside execve() the kernel shows an empty environment: a scan that happens to
  // look then must ask again rather than pass the process over. This one execs itself in a
  // loop, so many of the scans below land inside an exec.
  const std::string experiment = unique_experiment();
  const std::filesystem::path script = std::filesystem::temp_directory_path() / (experiment + ".sh");
  {
    std::ofstream(script) << "exec sh \"$0\"\n";
  }
  detail::SpawnOptions options;
  options.argv = {"sh", script.string()};
  options.env = {std::string(detail::kTrialTokenVar) + "=" + detail::trial_token(experiment, "t1"),
                 "PATH=/usr/bin:/bin"};
  options.inherit_env = false;
  options.new_process_group = true;
  const detail::Spawned spawned = detail::spawn_process(options);
  ASSERT_TRUE(spawned);
  int missed = 0;
  for (int scan = 0; scan < 300; ++scan) {
    const std::vector<pid_t> found = detail::find_token_holders(detail::experiment_token_prefix(experiment), true);
    if (std::find(found.begin(), found.end(), spawned.pid) == found.end()) ++missed;
  }
  EXPECT_EQ(missed, 0) << "scans that missed the exec-looping process, of 300";
  EXPECT_EQ(detail::kill_token_holders(detail::experiment_token_prefix(experiment), true, std::chrono::seconds(5)),
            1u);
  EXPECT_TRUE(testing::gone_within(spawned.pid, std::chrono::seconds(2)));
  std::filesystem::remove(script);
}

TEST(ProcessTreeTest, AnOrphanAdoptedAsSubreaperIsKilledByTokenAndReaped) {
  detail::become_child_subreaper();
  const std::string experiment = unique_experiment();
  const std::string token = detail::trial_token(experiment, "t1");
  // The trial (sh) ends at once; its setsid() grandchild is orphaned and adopted by us.
  const Holder holder = start_holder(token, "exit 0");
  ASSERT_GT(holder.grandchild, 0);
  // Killed before its setsid() ran, it would be a zombie of our own session, which a sweep
  // rightly leaves alone (it could be anyone's): wait for the state the test is about.
  ASSERT_TRUE(left_our_session(holder.grandchild));
  detail::wait_for_exit(holder.sh);
  const pid_t orphan = holder.grandchild;
  EXPECT_EQ(detail::end_adopted_orphans(token, {holder.sh}, {}), 1u);
  // Dead now, and reaped by a later sweep (as the executor's next one): in another session.
  bool reaped = false;
  for (int i = 0; i < 200 && !reaped; ++i) {
    detail::end_adopted_orphans("", {}, {});
    reaped = !std::filesystem::exists("/proc/" + std::to_string(orphan));
    if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(reaped) << "pid " << orphan << " was not reaped";
}

}  // namespace
}  // namespace tune
