// Tests of the child-process plumbing (common/subprocess.h): spawning with stdio, environment,
// working directory and process group as asked; descriptors that do not leak; argv templates and
// the words for a wait status.
#include "common/subprocess.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "support/processes.h"
#include "support/temp_dir.h"
#include "tune/error.h"

namespace tune {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Runs `options` with stdout on a pipe; returns what it printed and sets `status`.
std::string run_capturing(detail::SpawnOptions options, int& status) {
  detail::FdPair pipe = detail::make_pipe();
  options.dup(pipe.second.get(), 1);
  const detail::Spawned spawned = detail::spawn_process(options);
  pipe.second.reset();
  EXPECT_TRUE(spawned) << std::strerror(spawned.error);
  std::string out;
  char chunk[256];
  ssize_t n;
  while ((n = ::read(pipe.first.get(), chunk, sizeof chunk)) > 0) out.append(chunk, static_cast<size_t>(n));
  status = spawned ? detail::wait_for_exit(spawned.pid) : -1;
  return out;
}

// Both ways of starting a child: posix_spawn, and fork + execve (die_with_parent).
class SpawnPathTest : public ::testing::TestWithParam<bool> {};

TEST_P(SpawnPathTest, GivesTheChildItsArgvEnvironmentAndDirectory) {
  testing::TempDir dir;
  detail::SpawnOptions options;
  options.die_with_parent = GetParam();
  options.argv = {"sh", "-c", "printf '%s|%s|%s' \"$1\" \"$TUNE_X\" \"$(pwd)\"", "sh", "a b; $(no shell)"};
  options.env = {"TUNE_X=42", "PATH=/usr/bin:/bin"};
  options.inherit_env = false;
  options.cwd = dir.path();
  int status = 0;
  const std::string out = run_capturing(options, status);
  EXPECT_EQ(out, "a b; $(no shell)|42|" + std::filesystem::canonical(dir.path()).string());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_P(SpawnPathTest, ANewProcessGroupIsLedByTheChild) {
  for (const bool own_group : {true, false}) {
    detail::SpawnOptions options;
    options.die_with_parent = GetParam();
    options.argv = {"sh", "-c", "cut -d' ' -f5 /proc/$$/stat"};
    options.new_process_group = own_group;
    int status = 0;
    const std::string out = run_capturing(options, status);
    const long pgid = std::stol(out);
    if (own_group) {
      EXPECT_NE(pgid, static_cast<long>(::getpgrp()));
    } else {
      EXPECT_EQ(pgid, static_cast<long>(::getpgrp()));
    }
  }
}

TEST(SpawnProcessTest, AKillOfTheGroupReachesWhatTheChildStarted) {
  detail::SpawnOptions options;
  options.argv = {"sh", "-c", "sleep 30 & sleep 30; echo survived"};
  options.new_process_group = true;
  options.reset_signals = true;
  detail::FdPair pipe = detail::make_pipe();
  options.dup(pipe.second.get(), 1);
  const detail::Spawned spawned = detail::spawn_process(options);
  ASSERT_TRUE(spawned);
  pipe.second.reset();
  ::usleep(100000);
  ASSERT_EQ(::kill(-spawned.pid, SIGKILL), 0);
  const int status = detail::wait_for_exit(spawned.pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  // The background sleep held the pipe too: end-of-file means it is gone as well.
  char c;
  EXPECT_EQ(::read(pipe.first.get(), &c, 1), 0);
}

TEST_P(SpawnPathTest, DevNullAndCloseFromKeepTheDriversDescriptorsOut) {
  const int leaked = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(leaked, 0);
  detail::SpawnOptions options;
  options.die_with_parent = GetParam();
  options.argv = {"sh", "-c", "read x; echo \"[$x]\"; test -e /proc/self/fd/" + std::to_string(leaked) + " && echo leak"};
  options.dev_null(0, O_RDONLY);
  options.close_from = 3;
  int status = 0;
  EXPECT_EQ(run_capturing(options, status), "[]\n");
  ::close(leaked);
}

TEST_P(SpawnPathTest, AMissingProgramIsAnErrorNumberNotAnException) {
  detail::SpawnOptions options;
  options.die_with_parent = GetParam();
  for (const char* program : {"/nonexistent/tune-no-such-program", "tune-no-such-program-in-path"}) {
    options.argv = {program};
    const detail::Spawned spawned = detail::spawn_process(options);
    EXPECT_FALSE(spawned) << program;
    EXPECT_EQ(spawned.error, ENOENT) << program;
    EXPECT_EQ(spawned.pid, -1) << program;
  }
  options.argv = {"/dev/null"};  // there, but not executable
  EXPECT_EQ(detail::spawn_process(options).error, EACCES);
  options.argv = {"sh", "-c", "exit 0"};
  options.cwd = "/nonexistent/tune-no-such-directory";  // the child's chdir fails
  EXPECT_EQ(detail::spawn_process(options).error, ENOENT);
  EXPECT_EQ(detail::spawn_process(detail::SpawnOptions{}).error, EINVAL);
}

std::string spawn_path_name(const ::testing::TestParamInfo<bool>& path) { return path.param ? "ForkExec" : "PosixSpawn"; }

INSTANTIATE_TEST_SUITE_P(BothPaths, SpawnPathTest, ::testing::Bool(), spawn_path_name);

// PR_SET_PDEATHSIG: a child started with die_with_parent is SIGKILLed when the process that
// started it dies, even by SIGKILL, even while the child ignores every signal it can.
TEST(SpawnProcessTest, AChildThatDiesWithItsParentGoesWhenTheParentIsSigkilled) {
  detail::FdPair pipe = detail::make_pipe();
  const pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {  // the stand-in driver: starts the child, says its pid, waits to be killed
    detail::SpawnOptions options;
    options.argv = {"sh", "-c", "trap '' TERM INT HUP PIPE; exec sleep 60"};
    options.new_process_group = true;
    options.die_with_parent = true;
    const detail::Spawned spawned = detail::spawn_process(options);
    const pid_t pid = spawned ? spawned.pid : -1;
    [[maybe_unused]] const ssize_t n = ::write(pipe.second.get(), &pid, sizeof pid);
    while (true) ::pause();
  }
  pipe.second.reset();
  pid_t child = -1;
  ASSERT_EQ(::read(pipe.first.get(), &child, sizeof child), static_cast<ssize_t>(sizeof child));
  ASSERT_GT(child, 0);
  ::kill(parent, SIGKILL);
  detail::wait_for_exit(parent);
  EXPECT_TRUE(testing::gone_within(child, std::chrono::seconds(2))) << "pid " << child << " outlived its parent";
  ::kill(child, SIGKILL);  // not to leave it behind when the test fails
}

TEST(FdTest, LiftedDescriptorsAreAboveTheFloorAndCloseOnExec) {
  detail::FdPair pipe = detail::make_pipe();
  const detail::UniqueFd lifted = detail::lift_fd(std::move(pipe.first));
  EXPECT_GE(lifted.get(), detail::kFdFloor);
  EXPECT_TRUE(::fcntl(lifted.get(), F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(::fcntl(pipe.second.get(), F_GETFD) & FD_CLOEXEC);
  const int raw = pipe.second.get();
  { detail::UniqueFd moved = std::move(pipe.second); }
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);  // closed with its owner
}

TEST(SubstituteArgvTest, ReplacesConfigValuesWithoutAnyShell) {
  const Config config = {{"lr", 0.01}, {"name", "a b"}, {"opt", {{"kind", "sgd"}}}, {"n", 3}, {"flag", true}};
  EXPECT_THAT(detail::substitute_argv({"prog", "--lr={lr}", "{name}", "--kind={opt/kind}", "-n{n}", "{flag}"}, config),
              ElementsAre("prog", "--lr=0.01", "a b", "--kind=sgd", "-n3", "true"));
}

TEST(SubstituteArgvTest, BracesEscapeAndNonPlaceholdersStayLiteral) {
  const Config config = {{"x", 1}};
  EXPECT_THAT(detail::substitute_argv({"p", "{{x}}", "{\"json\": 1}", "{}", "a{x}b{x}"}, config),
              ElementsAre("p", "{x}", "{\"json\": 1}", "{}", "a1b1"));
}

TEST(SubstituteArgvTest, ValuesAreNotSubstitutedAgain) {
  const Config config = {{"x", "{y}"}, {"y", "never"}};
  EXPECT_THAT(detail::substitute_argv({"p", "{x}"}, config), ElementsAre("p", "{y}"));
}

TEST(SubstituteArgvTest, UnknownKeyNamesTheArgumentAndTheKeys) {
  try {
    detail::substitute_argv({"p", "--lr={learning_rate}"}, Config{{"lr", 1}});
    FAIL() << "expected TuneError";
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("argv[1]"));
    EXPECT_THAT(e.what(), HasSubstr("{learning_rate}"));
    EXPECT_THAT(e.what(), HasSubstr("lr"));
  }
}

TEST(DescribeWaitStatusTest, NamesCodesAndSignals) {
  EXPECT_EQ(detail::describe_wait_status(3 << 8, false), "exited with code 3");
  EXPECT_EQ(detail::describe_wait_status(SIGSEGV, false), "exited with signal SIGSEGV (Segmentation fault)");
  EXPECT_THAT(detail::describe_wait_status(SIGKILL, false), HasSubstr("SIGKILL (possibly out of memory"));
  EXPECT_THAT(detail::describe_wait_status(SIGKILL, true), Not(HasSubstr("out of memory")));
}

}  // namespace
}  // namespace tune
