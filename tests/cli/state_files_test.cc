// State files are untrusted (issue 17, item 4) and plain programs label their own checkpoints
// (item 7), end to end through the `tune` binary: a tampered journal or snapshot is refused by
// resume (exit 2, naming the record) and skipped by the readers; a damaged result line is moved
// aside at resume with the rows after it kept; a deleted trial directory is recreated; a fast
// plain program killed and resumed continues from exactly the state its checkpoint names.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "support/temp_dir.h"
#include "support/tune_cli.h"
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::Outcome;
using testing::quote;
using testing::read_text;
using testing::write_text;
using testing::TempDir;
using testing::tune_cli;
namespace fs = std::filesystem;

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) names.insert(entry.path().lexically_relative(dir));
  return names;
}

// A plain program that names each checkpoint it writes (docs/protocol.md): it counts `i` from
// its checkpoint, and until `results/resumed` exists it stops at `block_at` (waits, then fails)
// so that a test can kill the driver at a known point.
std::string spec(const std::string& name, int iterations, int block_at, const std::string& extra = "") {
  return "name: " + name + R"(
trainable:
  command:
    - sh
    - -c
    - |
      i=0
      if [ -n "${TUNE_RESTORE_FROM:-}" ]; then i=$(cat "$TUNE_RESTORE_FROM/i"); fi
      while [ $i -lt )" + std::to_string(iterations) + R"( ]; do
        i=$((i + 1))
        mkdir -p "$TUNE_CHECKPOINT_DIR/c$i" && echo $i > "$TUNE_CHECKPOINT_DIR/c$i/i"
        echo "{\"i\": $i, \"x\": {x}, \"checkpoint\": \"c$i\"}"
        if [ $i -eq )" + std::to_string(block_at) + R"( ] && [ ! -e "$TUNE_TRIAL_DIR/../../resumed" ]; then sleep 5; exit 1; fi
      done
  protocol: plain
config:
  x: {grid_search: [1, 2]}
keep_checkpoints_num: 2
resources_per_trial: {cpu: 0.5}
local_dir: results
verbose: 0
)" + extra;
}

// Runs the spec and kills the driver (SIGKILL) once `count` checkpoint records at `iteration`
// or later (the regular expression `iteration_re`) are journaled.
void run_and_kill(const fs::path& dir, const std::string& name, const std::string& iteration_re, int count) {
  const std::string command =
      "cd " + quote(dir.string()) + " || exit 9; " + quote(TUNE_CLI_PATH) + " run spec.yaml >/dev/null 2>&1 & p=$!; " +
      "j=results/" + name + "/experiment_state.jsonl; i=0; until [ \"$(grep -oE '\"iteration\":" + iteration_re +
      ",' $j 2>/dev/null | wc -l)\" -ge " + std::to_string(count) +
      " ] || [ $i -ge 3000 ]; do sleep 0.02; i=$((i + 1)); done; kill -9 $p; wait $p";
  EXPECT_NE(std::system(command.c_str()), 0);
}

// Each row of the trial's result.json: {training_iteration, i}.
std::vector<std::pair<int64_t, int64_t>> rows_of(const fs::path& logdir) {
  std::vector<std::pair<int64_t, int64_t>> rows;
  for (const Json& result : testing::results_of(logdir)) {
    rows.emplace_back(result["training_iteration"].get<int64_t>(), result["i"].get<int64_t>());
  }
  return rows;
}

class TamperedStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_text(dir_.path() / "spec.yaml", spec("st", 3, 0));
    const Outcome run = tune_cli({"run", "spec.yaml"}, dir_.path());
    ASSERT_EQ(run.code, 0) << run.err;
    const ExperimentAnalysis analysis = ExperimentAnalysis::load(exp_);
    ASSERT_EQ(analysis.trials().size(), 2u);
    victim_ = analysis.trials()[0].logdir().filename().string();
    // What a tampered path would lead to: a directory beside the results, with a result that
    // must never be shown.
    fs::create_directories(outside_);
    write_text(outside_ / "result.json", R"({"i": 123456, "training_iteration": 1})" "\n");
    write_text(outside_ / "params.json", "{}");
  }

  // Resume is refused with exit 2 naming `what`, nothing outside changes, and ls, analyze and
  // ExperimentAnalysis show the other trial only, with a warning.
  void expect_refused_and_skipped(const std::vector<std::string>& what) {
    const std::set<std::string> before = names_in(dir_.path() / "outside");
    const Outcome resumed = tune_cli({"resume", "results/st"}, dir_.path());
    EXPECT_EQ(resumed.code, 2) << resumed.err;
    for (const std::string& part : what) EXPECT_THAT(resumed.err, HasSubstr(part));
    EXPECT_EQ(names_in(dir_.path() / "outside"), before);
    EXPECT_EQ(read_text(outside_ / "result.json"), R"({"i": 123456, "training_iteration": 1})" "\n");

    const Outcome ls = tune_cli({"ls", exp_.string(), "-o", "json"});
    EXPECT_EQ(ls.code, 0) << ls.err;
    EXPECT_THAT(ls.err, HasSubstr("left out"));
    EXPECT_THAT(ls.out, Not(HasSubstr("123456")));
    EXPECT_EQ(Json::parse(ls.out).size(), 1u) << ls.out;
    const Outcome analyze = tune_cli({"analyze", exp_.string(), "-o", "json"});
    EXPECT_THAT(analyze.out + analyze.err, Not(HasSubstr("123456")));
    EXPECT_THAT(analyze.out, Not(HasSubstr("outside")));
    ::testing::internal::CaptureStderr();
    const ExperimentAnalysis analysis = ExperimentAnalysis::load(exp_);
    EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("left out"));
    ASSERT_EQ(analysis.trials().size(), 1u);
    EXPECT_NE(analysis.trials()[0].logdir().filename(), victim_);
  }

  void tamper(const char* file, const std::string& from, const std::string& to) {
    const std::string text = read_text(exp_ / file);
    ASSERT_NE(text.find(from), std::string::npos) << from << " not in " << text;
    write_text(exp_ / file, replace_all(text, from, to));
  }

  TempDir dir_;
  fs::path exp_ = dir_.path() / "results" / "st";
  fs::path outside_ = dir_.path() / "outside";
  std::string victim_;
};

TEST_F(TamperedStateTest, ATrialDirectoryLeadingUpAndOutIsRefusedByResumeAndNotFollowedByReaders) {
  fs::remove(exp_ / "experiment_state.json");  // the journal alone is the state
  tamper("experiment_state.jsonl", "\"" + victim_ + "\"", "\"../../outside\"");
  expect_refused_and_skipped({"experiment_state.jsonl: line ", "\"dir\" record, field 'dir': '../../outside'"});
}

TEST_F(TamperedStateTest, AnAbsoluteTrialDirectoryOutsideIsRefused) {
  fs::remove(exp_ / "experiment_state.json");
  tamper("experiment_state.jsonl", "\"" + victim_ + "\"", "\"" + outside_.string() + "\"");
  expect_refused_and_skipped({"experiment_state.jsonl: line ", "field 'dir'", "leads outside"});
}

TEST_F(TamperedStateTest, ACheckpointOutsideItsTrialDirectoryIsRefused) {
  fs::remove(exp_ / "experiment_state.json");
  tamper("experiment_state.jsonl", "\"dir\":\"checkpoint_", "\"dir\":\"../checkpoint_");
  const Outcome resumed = tune_cli({"resume", "results/st"}, dir_.path());
  EXPECT_EQ(resumed.code, 2) << resumed.err;
  EXPECT_THAT(resumed.err, HasSubstr("experiment_state.jsonl: line "));
  EXPECT_THAT(resumed.err, HasSubstr("\"ckpt\" record, field 'dir': '../checkpoint_"));
}

TEST_F(TamperedStateTest, ASnapshotNamingATrialDirectoryOutsideIsRefused) {
  tamper("experiment_state.json", "\"" + victim_ + "\"", "\"/etc\"");
  expect_refused_and_skipped({"experiment_state.json: trial 0 of 'trials': field 'logdir': '/etc' leads outside"});
}

TEST_F(TamperedStateTest, ATrialDirectoryThatIsALinkOutIsRefused) {
  fs::remove(exp_ / "experiment_state.json");
  fs::remove_all(exp_ / victim_);
  fs::create_directory_symlink(outside_, exp_ / victim_);
  expect_refused_and_skipped({"experiment_state.jsonl: line ", "through a symbolic link"});
}

// resume: REMOTE pulls the state from the upload directory, which anyone with access to the
// bucket may have changed: a trial directory there leading out is refused the same way, before
// anything is written outside.
TEST(StateFilesTest, ATamperedUploadPulledByResumeRemoteIsRefusedNamingTheRecord) {
  TempDir dir;
  const std::string sync = "sync_config:\n  upload_dir: cloud\n  sync_to_cloud: cp -r {source}/. {target}\n";
  write_text(dir.path() / "spec.yaml", spec("up", 2, 0, sync));
  const Outcome run = tune_cli({"run", "spec.yaml"}, dir.path());
  ASSERT_EQ(run.code, 0) << run.err;
  const fs::path uploaded = dir.path() / "cloud" / "up";
  ASSERT_TRUE(fs::exists(uploaded / "experiment_state.jsonl")) << run.err;
  const std::string victim =
      ExperimentAnalysis::load(dir.path() / "results" / "up").trials()[0].logdir().filename().string();
  fs::remove(uploaded / "experiment_state.json");  // the journal alone is the state
  const std::string journal = read_text(uploaded / "experiment_state.jsonl");
  ASSERT_NE(journal.find("\"" + victim + "\""), std::string::npos);
  write_text(uploaded / "experiment_state.jsonl", replace_all(journal, "\"" + victim + "\"", "\"../../outside\""));
  fs::remove_all(dir.path() / "results");

  const Outcome resumed = tune_cli({"run", "spec.yaml", "--set", "resume=REMOTE"}, dir.path());
  EXPECT_EQ(resumed.code, 2) << resumed.err;
  EXPECT_THAT(resumed.err, HasSubstr("experiment_state.jsonl: line "));
  EXPECT_THAT(resumed.err, HasSubstr("field 'dir': '../../outside'"));
  EXPECT_FALSE(fs::exists(dir.path() / "outside"));
}

TEST(StateFilesTest, ResumeMovesADamagedResultLineAsideAndRecreatesADeletedTrialDirectory) {
  TempDir dir;
  write_text(dir.path() / "spec.yaml", spec("dm", 8, 4));
  run_and_kill(dir.path(), "dm", "[4-9]", 2);
  const fs::path exp = dir.path() / "results" / "dm";
  std::vector<fs::path> logdirs;
  const ExperimentAnalysis killed = ExperimentAnalysis::load(exp);
  for (const TrialRecord& trial : killed.trials()) logdirs.push_back(trial.logdir());
  ASSERT_EQ(logdirs.size(), 2u);
  // Trial 0: its second result line damaged; trial 1: its directory deleted.
  std::string text = read_text(logdirs[0] / "result.json");
  const size_t second = text.find('\n') + 1;
  const std::string damaged = "{\"i\": 2, \"training_iteration\": tw";
  text.replace(second, text.find('\n', second) - second, damaged);
  write_text(logdirs[0] / "result.json", text);
  fs::remove_all(logdirs[1]);
  write_text(dir.path() / "results" / "resumed", "");

  const Outcome resumed = tune_cli({"resume", "results/dm"}, dir.path());
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_THAT(resumed.err, HasSubstr("1 damaged line(s) moved to result.json.damaged-1"));
  EXPECT_THAT(resumed.err, HasSubstr("was missing; recreated, the trial restarts from the start"));
  EXPECT_EQ(read_text(logdirs[0] / "result.json.damaged-1"), damaged + "\n");
  const std::vector<std::pair<int64_t, int64_t>> first = rows_of(logdirs[0]);
  ASSERT_EQ(first.size(), 7u);  // 1, 3..8: the rows after the damaged one stayed
  EXPECT_EQ(first[0], std::make_pair(int64_t{1}, int64_t{1}));
  for (size_t k = 1; k < first.size(); ++k) EXPECT_EQ(first[k], std::make_pair(int64_t(k + 2), int64_t(k + 2)));
  const std::vector<std::pair<int64_t, int64_t>> second_trial = rows_of(logdirs[1]);
  ASSERT_EQ(second_trial.size(), 8u);
  for (size_t k = 0; k < 8; ++k) EXPECT_EQ(second_trial[k], std::make_pair(int64_t(k + 1), int64_t(k + 1)));
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(exp);
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated) << trial.logdir();
  }
}

// A plain program that writes results much faster than the driver reads them: each checkpoint
// names its directory in its own line, so its label is the state it holds, and a resume after
// a kill continues from exactly there (no iteration repeated or skipped).
TEST(StateFilesTest, AFastPlainProgramResumedAfterAKillContinuesFromTheLabelledState) {
  TempDir dir;
  write_text(dir.path() / "spec.yaml", spec("fast", 300, 200));
  run_and_kill(dir.path(), "fast", "1[0-9][0-9]", 1);
  write_text(dir.path() / "results" / "resumed", "");
  const Outcome resumed = tune_cli({"resume", "results/fast"}, dir.path());
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(dir.path() / "results" / "fast");
  ASSERT_EQ(analysis.trials().size(), 2u);
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
    const std::vector<std::pair<int64_t, int64_t>> rows = rows_of(trial.logdir());
    ASSERT_EQ(rows.size(), 300u) << trial.logdir();
    for (size_t k = 0; k < rows.size(); ++k) {
      ASSERT_EQ(rows[k], std::make_pair(int64_t(k + 1), int64_t(k + 1))) << trial.logdir() << " row " << k;
    }
  }
}

// tune_client.py run as a plain program follows the contract by itself: checkpoint_dir() is a
// fresh directory per result and report(should_checkpoint=True) names it, so each committed
// checkpoint holds the state of the iteration it is labelled with.
TEST(StateFilesTest, ThePythonClientAsAPlainProgramNamesEachCheckpoint) {
  TempDir dir;
  write_text(dir.path() / "train.py", R"(import os
import tune_client as tune
i = 0
if tune.restore_path():
    i = int(open(os.path.join(tune.restore_path(), "i")).read())
while i < 40:
    i += 1
    with open(os.path.join(tune.checkpoint_dir(), "i"), "w") as f:
        f.write(str(i))
    tune.report(i=i, should_checkpoint=True)
)");
  write_text(dir.path() / "spec.yaml", R"(name: py
trainable:
  command: [python3, train.py]
  working_dir: )" + dir.str() + R"(
  env: {PYTHONPATH: )" + std::string(TUNE_SOURCE_DIR) + R"(/clients/python}
  protocol: plain
local_dir: results
verbose: 0
)");
  const Outcome run = tune_cli({"run", "spec.yaml"}, dir.path());
  ASSERT_EQ(run.code, 0) << run.err;
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(dir.path() / "results" / "py");
  ASSERT_EQ(analysis.trials().size(), 1u);
  const fs::path logdir = analysis.trials()[0].logdir();
  const std::vector<std::pair<int64_t, int64_t>> rows = rows_of(logdir);
  ASSERT_EQ(rows.size(), 40u);
  EXPECT_EQ(testing::results_of(logdir).at(0)["checkpoint"], "step_1");
  int committed = 0;
  for (const auto& entry : fs::directory_iterator(logdir)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("checkpoint_")) continue;
    ++committed;
    EXPECT_EQ(read_text(entry.path() / "i"), name.substr(std::string("checkpoint_").size())) << name;
  }
  EXPECT_GT(committed, 0);
}

// A plain program's "checkpoint" that names no directory inside $TUNE_CHECKPOINT_DIR fails its
// trial with the reason; nothing outside is moved.
TEST(StateFilesTest, APlainCheckpointNamingAPathOutsideFailsTheTrial) {
  TempDir dir;
  fs::create_directories(dir.path() / "elsewhere");
  write_text(dir.path() / "spec.yaml", R"(name: bad
trainable:
  command: [sh, -c, 'mkdir -p "$TUNE_CHECKPOINT_DIR"; echo "{\"x\": 1, \"checkpoint\": \"{name}\"}"']
  protocol: plain
config:
  name: {grid_search: ["../../../elsewhere", "missing"]}
local_dir: results
verbose: 0
)");
  const Outcome run = tune_cli({"run", "spec.yaml"}, dir.path());
  EXPECT_EQ(run.code, 1) << run.err;
  EXPECT_TRUE(fs::exists(dir.path() / "elsewhere"));
  std::string errors;
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(dir.path() / "results" / "bad");
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kError);
    errors += trial.error() + "\n";
  }
  EXPECT_THAT(errors, HasSubstr("\"checkpoint\": '../../../elsewhere' must be one directory name"));
  EXPECT_THAT(errors, HasSubstr("is not a directory (write the checkpoint there before printing the line)"));
}

}  // namespace
}  // namespace tune
