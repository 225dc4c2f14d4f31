// End-to-end: signals to a real `tune run` with process trials. The first SIGINT/SIGTERM/
// SIGHUP stops the experiment gracefully (message, state, final table, "Resume with", exit
// 128+signal), `tune resume` then finishes it with every iteration logged exactly once; a
// second SIGINT forces the stop of trials that would not reach their next result for long.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>

#include "support/files.h"
#include "support/temp_dir.h"
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using testing::read_text;
using testing::shell_quote;
using testing::TempDir;
namespace fs = std::filesystem;

// Each trial counts to 8 from its checkpoint (one written with every result); once the first
// result is out, a step takes as many seconds as <dir>/step says (the test changes it).
std::string counting_spec(const TempDir& dir, const std::string& step_seconds) {
  std::ofstream(dir.path() / "step") << step_seconds;
  const std::string step_file = shell_quote((dir.path() / "step").string());
  return R"SPEC(name: ck
trainable:
  command:
    - sh
    - -c
    - |
      i=0
      if [ -n "${TUNE_RESTORE_FROM:-}" ]; then i=$(cat "$TUNE_RESTORE_FROM/i"); fi
      while [ $i -lt 8 ]; do
        i=$((i + 1))
        if [ $i -gt 1 ]; then sleep "$(cat )SPEC" +
         step_file + R"SPEC()"; fi
        mkdir -p "$TUNE_CHECKPOINT_DIR"; echo $i > "$TUNE_CHECKPOINT_DIR/i"
        echo "{\"i\": $i, \"x\": {x}, \"should_checkpoint\": true}"
      done
  protocol: plain
config:
  x: {grid_search: [1, 2]}
stop: {training_iteration: 8}
local_dir: results
verbose: 1
)SPEC";
}

struct Interrupted {
  int code = -1;
  std::string out;
  std::string err;
  double seconds = 0;
};

// Starts `tune run spec.yaml` in `dir`, waits until a checkpoint is journaled (not a fixed
// delay: a sanitizer build may be slow to start), then sends each of `signals` 0.2 s apart.
Interrupted run_and_signal(const TempDir& dir, const std::vector<std::string>& signals) {
#ifndef TUNE_CLI_PATH
  ADD_FAILURE() << "TUNE_CLI_PATH is not defined (tests/CMakeLists.txt)";
  return {};
#else
  std::string script = "cd " + shell_quote(dir.str()) + " || exit 99; " + shell_quote(TUNE_CLI_PATH) +
                       " run spec.yaml >out.txt 2>err.txt & p=$!; i=0; until grep -q '\"e\":\"ckpt\"' "
                       "results/ck/experiment_state.jsonl 2>/dev/null || [ $i -ge 1500 ]; do sleep 0.02; "
                       "i=$((i + 1)); done; ";
  for (const std::string& signal : signals) script += "kill -" + signal + " $p; sleep 0.2; ";
  script += "wait $p";
  const auto start = std::chrono::steady_clock::now();
  const int status = std::system(script.c_str());
  Interrupted outcome;
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  outcome.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  outcome.out = read_text(dir.path() / "out.txt");
  outcome.err = read_text(dir.path() / "err.txt");
  return outcome;
#endif
}

// `tune resume results/ck` from another directory (the filesystem root); its exit code.
int resume_from_elsewhere(const TempDir& dir) {
#ifndef TUNE_CLI_PATH
  return -1;
#else
  const std::string script = "cd / && " + shell_quote(TUNE_CLI_PATH) + " resume " +
                             shell_quote((dir.path() / "results" / "ck").string()) + " >" +
                             shell_quote((dir.path() / "resume.txt").string()) + " 2>&1";
  const int status = std::system(script.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
#endif
}

// Both trials TERMINATED, each with iterations 1..8 in result.json once, in order, and each
// continued from its checkpoint (the program's own count matches).
void expect_every_iteration_once(const fs::path& experiment) {
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(experiment);
  ASSERT_EQ(analysis.trials().size(), 2u);
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated) << trial.name();
    std::ifstream in(trial.logdir() / "result.json");
    int expected = 1;
    for (std::string line; std::getline(in, line); ++expected) {
      const Json result = Json::parse(line);
      EXPECT_EQ(result["training_iteration"], expected) << trial.logdir();
      EXPECT_EQ(result["i"], expected) << "not continued from its checkpoint: " << line;
    }
    EXPECT_EQ(expected, 9) << trial.logdir();
  }
}

TEST(CliSignalTest, SigintStopsGracefullyAndResumeFromAnotherDirectoryFinishesIt) {
  TempDir dir;
  std::ofstream(dir.path() / "spec.yaml") << counting_spec(dir, "0.3");
  const Interrupted stopped = run_and_signal(dir, {"INT"});
  EXPECT_EQ(stopped.code, 130) << stopped.err;
  EXPECT_THAT(stopped.err, HasSubstr("Stopping experiment (press Ctrl-C again to force)"));
  EXPECT_THAT(stopped.err, HasSubstr("Resume with: tune resume " + (dir.path() / "results" / "ck").string()));
  EXPECT_THAT(stopped.out, HasSubstr("== Summary =="));  // the final table and summary
  EXPECT_THAT(stopped.out, HasSubstr("Number of trials: 2"));
  const std::string journal = read_text(dir.path() / "results" / "ck" / "experiment_state.jsonl");
  EXPECT_EQ(journal.find("\"e\":\"done\""), std::string::npos) << "an interrupted experiment is not done";
  EXPECT_EQ(journal.find("\"e\":\"end\""), std::string::npos) << "a trial was ended instead of stopped";
  EXPECT_EQ(resume_from_elsewhere(dir), 0) << read_text(dir.path() / "resume.txt");
  expect_every_iteration_once(dir.path() / "results" / "ck");
}

TEST(CliSignalTest, SigtermAndSighupExitWithTheirShellCodes) {
  for (const auto& [signal, code] : std::vector<std::pair<std::string, int>>{{"TERM", 143}, {"HUP", 129}}) {
    TempDir dir;
    std::ofstream(dir.path() / "spec.yaml") << counting_spec(dir, "0.3");
    const Interrupted stopped = run_and_signal(dir, {signal});
    EXPECT_EQ(stopped.code, code) << signal << ": " << stopped.err;
    EXPECT_THAT(stopped.err, HasSubstr("Resume with: tune resume")) << signal;
    EXPECT_EQ(resume_from_elsewhere(dir), 0) << read_text(dir.path() / "resume.txt");
    expect_every_iteration_once(dir.path() / "results" / "ck");
  }
}

// Steps of 60 s: a graceful stop would wait for them; the second SIGINT ends the trials now.
TEST(CliSignalTest, SecondSigintForcesTheStopAndTheStateStillResumes) {
  TempDir dir;
  std::ofstream(dir.path() / "spec.yaml") << counting_spec(dir, "60");
  const Interrupted stopped = run_and_signal(dir, {"INT", "INT"});
  EXPECT_EQ(stopped.code, 130) << stopped.err;
  EXPECT_LT(stopped.seconds, 30) << "the second SIGINT did not force the stop";
  EXPECT_THAT(stopped.err, HasSubstr("Forcing the stop"));
  EXPECT_THAT(stopped.err, HasSubstr("Resume with: tune resume"));
  // Resumed with short steps: the trials continue from their latest checkpoints.
  std::ofstream(dir.path() / "step") << "0.05";
  EXPECT_EQ(resume_from_elsewhere(dir), 0) << read_text(dir.path() / "resume.txt");
  expect_every_iteration_once(dir.path() / "results" / "ck");
}

}  // namespace
}  // namespace tune
