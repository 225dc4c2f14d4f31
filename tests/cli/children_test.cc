// End-to-end: a real `tune run` whose trials are child processes never leaves one behind
// (issue 17 item 3). A SIGKILLed driver takes a trial that ignores its pipe and every signal
// along within ~2 s (PR_SET_PDEATHSIG); a setsid() grandchild that survives the kill is ended
// by `tune resume` before the trial restarts, so no two copies of a trial ever run at once;
// and of two `tune run` of one spec started together, exactly one runs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

#include "support/files.h"
#include "support/processes.h"
#include "support/temp_dir.h"
#include "support/tune_cli.h"
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using testing::read_text;
using testing::shell_quote;
using testing::TempDir;
namespace fs = std::filesystem;

const std::string kTune = testing::tune_command();
const auto shell = testing::run_shell;

// Starts `tune run spec.yaml` in `dir`, waits until <dir>/<ready> exists, SIGKILLs the driver
// (only it: its children are left to die with it, or not) and reaps it.
void run_and_sigkill(const TempDir& dir, const std::string& ready) {
  const std::string script = "cd " + shell_quote(dir.str()) + " || exit 99; " + kTune +
                             " run spec.yaml >out.txt 2>err.txt & p=$!; i=0; until [ -e " + shell_quote(ready) +
                             " ] || [ $i -ge 1500 ]; do sleep 0.02; i=$((i + 1)); done; kill -KILL $p; wait $p";
  EXPECT_EQ(shell(script), 128 + 9) << read_text(dir.path() / "err.txt");
}

TEST(CliChildrenTest, ASigkilledDriverTakesATrialThatIgnoresItsPipeAndSignalsAlong) {
  TempDir dir;
  std::ofstream(dir.path() / "spec.yaml") << R"SPEC(name: deaf
trainable:
  command: [sh, -c, "trap '' TERM INT HUP PIPE; echo $$ > \"$0/pid.tmp\"; mv \"$0/pid.tmp\" \"$0/pid\"; exec sleep 300", )SPEC"
                                          << dir.str() << R"SPEC(]
  protocol: plain
config: {x: 1}
local_dir: results
verbose: 0
)SPEC";
  run_and_sigkill(dir, "pid");
  const pid_t trial = testing::read_pid_file((dir.path() / "pid").string(), std::chrono::seconds(1));
  ASSERT_GT(trial, 0) << read_text(dir.path() / "err.txt");
  EXPECT_TRUE(testing::gone_within(trial, std::chrono::seconds(2))) << "pid " << trial << " outlived its driver";
  ::kill(trial, SIGKILL);
}

// The trial starts a setsid() grandchild (pid in <dir>/gc.N for its Nth start), then at its
// first start runs for long, at a later one reports and ends. Each start notes in <dir>/overlap
// whether an earlier start's processes still ran.
constexpr const char* kGrandchildSpec = R"SPEC(name: gc
trainable:
  command:
    - sh
    - -c
    - |
      d="$0"; n=$(ls "$d" | grep -c '^gc\.')
      for f in "$d"/gc.* "$d"/trial.*; do
        [ -e "$f" ] || continue; p=$(cat "$f")
        if [ -e /proc/$p ] && ! grep -q '^State:[[:space:]]*Z' /proc/$p/status; then echo "$f $p" >> "$d/overlap"; fi
      done
      echo $$ > "$d/trial.$n"
      setsid sleep 300 </dev/null >/dev/null 2>&1 &
      echo $! > "$d/tmp.gc"; mv "$d/tmp.gc" "$d/gc.$n"
      if [ $n -eq 0 ]; then sleep 300; fi
      echo '{"v": 1}'
    - DIR
  protocol: plain
config: {x: 1}
stop: {training_iteration: 1}
local_dir: results
verbose: 0
)SPEC";

TEST(CliChildrenTest, ResumeEndsASetsidGrandchildOfTheKilledDriverBeforeTheTrialRunsAgain) {
  TempDir dir;
  std::string spec = kGrandchildSpec;
  spec.replace(spec.find("DIR"), 3, dir.str());
  std::ofstream(dir.path() / "spec.yaml") << spec;
  run_and_sigkill(dir, "gc.0");
  const pid_t first = testing::read_pid_file((dir.path() / "gc.0").string(), std::chrono::seconds(1));
  ASSERT_GT(first, 0) << read_text(dir.path() / "err.txt");
  EXPECT_FALSE(testing::process_gone(first)) << "the setsid() grandchild is meant to survive the driver's SIGKILL";
  // Resumed at once, while the killed driver's trial may still be dying.
  EXPECT_EQ(shell("cd " + shell_quote(dir.str()) + " && " + kTune + " resume results/gc >resume.txt 2>&1"), 0)
      << read_text(dir.path() / "resume.txt");
  EXPECT_TRUE(testing::process_gone(first)) << "resume left the old grandchild running";
  EXPECT_FALSE(fs::exists(dir.path() / "overlap")) << read_text(dir.path() / "overlap");
  const pid_t second = testing::read_pid_file((dir.path() / "gc.1").string(), std::chrono::seconds(1));
  ASSERT_GT(second, 0) << "the trial did not run again";
  EXPECT_FALSE(fs::exists(dir.path() / "gc.2")) << "the trial ran more than once more";
  EXPECT_TRUE(testing::gone_within(second, std::chrono::seconds(2))) << "the resumed run left its grandchild";
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(dir.path() / "results" / "gc");
  ASSERT_EQ(analysis.trials().size(), 1u);
  EXPECT_EQ(analysis.trials()[0].status(), TrialStatus::kTerminated);
  for (const pid_t pid : {first, second}) ::kill(pid, SIGKILL);
}

TEST(CliChildrenTest, OfTwoRunsOfOneSpecStartedTogetherExactlyOneRunsAndTheOtherNamesIt) {
  TempDir dir;
  std::ofstream(dir.path() / "spec.yaml") << R"SPEC(name: twice
trainable:
  command: [sh, -c, "sleep 2; echo '{\"v\": 1}'"]
  protocol: plain
config: {x: {grid_search: [1, 2]}}
stop: {training_iteration: 1}
local_dir: results
verbose: 0
)SPEC";
  const std::string script = "cd " + shell_quote(dir.str()) + " || exit 99; " + kTune + " run spec.yaml >a.out 2>a.err & a=$!; " +
                             kTune + " run spec.yaml >b.out 2>b.err & b=$!; wait $a; echo $? > a.code; wait $b; "
                                     "echo $? > b.code";
  ASSERT_EQ(shell(script), 0);
  const int a = std::stoi(read_text(dir.path() / "a.code"));
  const int b = std::stoi(read_text(dir.path() / "b.code"));
  EXPECT_EQ(std::min(a, b), 0) << read_text(dir.path() / "a.err") << read_text(dir.path() / "b.err");
  EXPECT_EQ(std::max(a, b), 2) << read_text(dir.path() / "a.err") << read_text(dir.path() / "b.err");
  const std::string refused = read_text(dir.path() / (a == 2 ? "a.err" : "b.err"));
  EXPECT_THAT(refused, HasSubstr("pid "));
  EXPECT_THAT(refused, HasSubstr(" on "));
  // The state is whole: both trials ended, each result logged once.
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(dir.path() / "results" / "twice");
  ASSERT_EQ(analysis.trials().size(), 2u);
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated) << trial.name();
    EXPECT_EQ(testing::results_of(trial.logdir()).size(), 1u) << trial.name();
  }
}

}  // namespace
}  // namespace tune
