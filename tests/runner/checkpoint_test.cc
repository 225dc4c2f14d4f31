// Checkpointing, failure recovery and resume through tune::run (in-process trials; the
// process executor's side is in tests/executors/ and tests/runner/crash_test.cc).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include "analysis/experiment_state.h"
#include "support/files.h"
#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using testing::quiet_options;
using testing::results_of;
using testing::TempDir;
namespace fs = std::filesystem;



std::vector<std::string> checkpoint_dirs(const fs::path& logdir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(logdir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.starts_with("checkpoint")) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A counter whose state must survive restores: "value" is the number of steps it has
// taken in its whole life, "loss" has its best (lowest) value at iteration 4.
class Steps : public Trainable {
 public:
  void setup(const Config& config) override { fail_at_ = config.is_object() ? config.value("fail_at", -1) : -1; }
  Result step() override {
    ++value_;
    if (value_ == fail_at_ && !failed_once_.exchange(true)) throw std::runtime_error("boom at " + std::to_string(value_));
    Result r = {{"value", value_}, {"loss", (value_ - 4) * (value_ - 4)}};
    if (value_ == 5) r["should_checkpoint"] = true;
    return r;
  }
  void save_checkpoint(const fs::path& dir) override { std::ofstream(dir / "value") << value_; }
  void load_checkpoint(const fs::path& dir) override {
    std::ifstream(dir / "value") >> value_;
    ++restores;
  }
  int value_ = 0;
  int fail_at_ = -1;
  static std::atomic<bool> failed_once_;
  static std::atomic<int> restores;
};
std::atomic<bool> Steps::failed_once_{false};
std::atomic<int> Steps::restores{0};

TEST(CheckpointTest, PeriodicManualAndAtEndCheckpointsWithMetadata) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.stop = {{"training_iteration", 10}};
  options.checkpoint_freq = 3;
  options.checkpoint_at_end = true;
  const ExperimentAnalysis analysis = run<Steps>(std::move(options));
  const fs::path logdir = analysis.trials().at(0).logdir();
  // 3, 6, 9 periodic; 5 manual (should_checkpoint); 10 at the end.
  EXPECT_THAT(checkpoint_dirs(logdir), ::testing::ElementsAre("checkpoint_10", "checkpoint_3", "checkpoint_5",
                                                              "checkpoint_6", "checkpoint_9"));
  EXPECT_EQ(read_text(logdir / "checkpoint_6" / "value"), "6");
  const Json meta = Json::parse(read_text(logdir / "checkpoint_6" / ".tune_metadata"));
  EXPECT_EQ(meta["iteration"], 6);
  EXPECT_EQ(meta["result"]["value"], 6);
  EXPECT_TRUE(meta["time_total_s"].is_number());
}

TEST(CheckpointTest, KeepCheckpointsNumKeepsTheBestAndTheNewest) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.stop = {{"training_iteration", 9}};
  options.checkpoint_freq = 1;
  options.keep_checkpoints_num = 2;
  options.checkpoint_score_attr = "min-loss";  // loss is lowest at 4, then 3 and 5
  const ExperimentAnalysis analysis = run<Steps>(std::move(options));
  // Best two by loss: 4 (0) and 3 or 5 (1: the earlier stays on a tie); 9 is the newest.
  EXPECT_THAT(checkpoint_dirs(analysis.trials().at(0).logdir()),
              ::testing::ElementsAre("checkpoint_3", "checkpoint_4", "checkpoint_9"));
}

TEST(CheckpointTest, FailedTrialRestartsFromItsLatestCheckpoint) {
  TempDir dir;
  Steps::failed_once_ = false;
  Steps::restores = 0;
  RunOptions options = quiet_options(dir);
  options.config = {{"fail_at", 8}};
  options.stop = {{"training_iteration", 10}};
  options.checkpoint_freq = 3;
  options.max_failures = 1;
  const ExperimentAnalysis analysis = run<Steps>(std::move(options));
  const TrialRecord& trial = analysis.trials().at(0);
  EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
  EXPECT_EQ(Steps::restores, 1);
  // Iterations 7 (lost with the failure) and later are there once, continuing from 6.
  const std::vector<Json> results = results_of(trial.logdir());
  ASSERT_EQ(results.size(), 10u);
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i]["training_iteration"], static_cast<int>(i + 1));
    EXPECT_EQ(results[i]["value"], static_cast<int>(i + 1));  // the state came back with the checkpoint
  }
  EXPECT_EQ(results[7]["iterations_since_restore"], 2);
  EXPECT_GE(results[9]["time_total_s"].get<double>(), results[5]["time_total_s"].get<double>());
  EXPECT_THAT(read_text(trial.logdir() / "error.txt"), HasSubstr("boom at 8"));
  // progress.csv was rolled back too: 10 rows after the header.
  std::ifstream csv(trial.logdir() / "progress.csv");
  int rows = 0;
  for (std::string line; std::getline(csv, line);) ++rows;
  EXPECT_EQ(rows, 11);
}

TEST(CheckpointTest, RestoreStartsFromAGivenCheckpoint) {
  TempDir dir;
  RunOptions first = quiet_options(dir, "first");
  first.stop = {{"training_iteration", 6}};
  first.checkpoint_at_end = true;
  const fs::path checkpoint = run<Steps>(std::move(first)).trials().at(0).logdir() / "checkpoint_6";
  ASSERT_TRUE(fs::exists(checkpoint));
  RunOptions second = quiet_options(dir, "second");
  second.restore = checkpoint.string();
  second.stop = {{"training_iteration", 9}};
  const ExperimentAnalysis analysis = run<Steps>(std::move(second));
  const std::vector<Json> results = results_of(analysis.trials().at(0).logdir());
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0]["training_iteration"], 7);
  EXPECT_EQ(results[0]["value"], 7);
  EXPECT_EQ(results[2]["training_iteration"], 9);
}

TEST(CheckpointTest, MisuseIsRejectedBeforeAnythingStarts) {
  TempDir dir;
  auto expect_error = [&](RunOptions options, const std::string& field) {
    try {
      run<Steps>(std::move(options));
      ADD_FAILURE() << "no error for " << field;
    } catch (const TuneError& e) {
      EXPECT_THAT(e.what(), HasSubstr(field));
    }
  };
  RunOptions a = quiet_options(dir);
  a.checkpoint_freq = -1;
  expect_error(std::move(a), "checkpoint_freq");
  RunOptions b = quiet_options(dir);
  b.keep_checkpoints_num = -2;
  expect_error(std::move(b), "keep_checkpoints_num");
  RunOptions c = quiet_options(dir);
  c.resume = "SOMETIMES";
  expect_error(std::move(c), "resume");
  RunOptions d = quiet_options(dir);
  d.resume = "REMOTE";
  expect_error(std::move(d), "REMOTE");
  RunOptions e = quiet_options(dir);
  e.restore = (dir.path() / "nope").string();
  expect_error(std::move(e), "restore");
  RunOptions f = quiet_options(dir);
  f.checkpoint_freq = 2;
  f.write_trial_files = false;
  expect_error(std::move(f), "write_trial_files");
  RunOptions g = quiet_options(dir, "never-ran");
  g.resume = true;
  expect_error(std::move(g), "resume");
  EXPECT_FALSE(fs::exists(dir.path() / "never-ran"));
  RunOptions h = quiet_options(dir);
  h.checkpoint_freq = 2;
  try {
    run([](const Config&, Reporter& r) { r.report({}); }, std::move(h));
    ADD_FAILURE() << "a function with checkpoint_freq was accepted";
  } catch (const TuneError& err) {
    EXPECT_THAT(err.what(), HasSubstr("checkpoint_freq"));
    EXPECT_THAT(err.what(), HasSubstr("checkpoint_dir"));
  }
}

TEST(CheckpointTest, PausedTrialResumesFromItsCheckpoint) {
  // Pauses every trial once at iteration 2; the trial comes back from checkpoint_2.
  class PauseOnce : public TrialScheduler {
   public:
    Decision on_trial_result(const TrialView& trial, const Result& result) override {
      if (result.value("training_iteration", 0) == 2 && paused_.insert(trial.trial_id()).second) return Decision::kPause;
      return Decision::kContinue;
    }
    std::string debug_string() const override { return "pause once"; }
    std::set<std::string> paused_;
  };
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.scheduler = std::make_shared<PauseOnce>();
  options.stop = {{"training_iteration", 4}};
  options.num_samples = 3;
  const ExperimentAnalysis analysis = run<Steps>(std::move(options));
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
    const std::vector<Json> results = results_of(trial.logdir());
    ASSERT_EQ(results.size(), 4u);
    EXPECT_EQ(results[3]["value"], 4);
    EXPECT_EQ(results[2]["iterations_since_restore"], 1);
    EXPECT_TRUE(fs::exists(trial.logdir() / "checkpoint_2"));
  }
}

TEST(ResumeTest, FinishedExperimentStaysFinishedAndChangesAreIgnoredWithAWarning) {
  TempDir dir;
  RunOptions first = quiet_options(dir);
  first.config = {{"a", grid_search({1, 2, 3})}};
  first.stop = {{"training_iteration", 3}};
  run<Steps>(std::move(first));
  RunOptions again = quiet_options(dir);
  again.config = {{"a", grid_search({1, 2, 3, 4})}};
  again.stop = {{"training_iteration", 30}};
  again.num_samples = 2;
  again.resume = true;
  ::testing::internal::CaptureStderr();
  const ExperimentAnalysis analysis = run<Steps>(std::move(again));
  const std::string warnings = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(warnings, HasSubstr("num_samples"));
  EXPECT_THAT(warnings, HasSubstr("stop/training_iteration"));
  EXPECT_THAT(warnings, HasSubstr("config"));
  ASSERT_EQ(analysis.trials().size(), 3u);
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.last_result()["training_iteration"], 3);
    EXPECT_EQ(results_of(trial.logdir()).size(), 3u);
  }
}

TEST(ResumeTest, ErroredOnlyRerunsTheErroredTrialsWithTheSameConfig) {
  TempDir dir;
  const fs::path flag = dir.path() / "fail";
  std::ofstream(flag) << "1";
  auto train = [flag](const Config& config, Reporter& reporter) {
    if (config.at("a") == 2 && fs::exists(flag)) throw std::runtime_error("a=2 fails while the flag exists");
    reporter.report({{"score", config.at("a")}});
  };
  RunOptions first = quiet_options(dir);
  first.config = {{"a", grid_search({1, 2, 3})}};
  first.raise_on_failed_trial = false;
  const ExperimentAnalysis before = run(train, std::move(first));
  int errors = 0;
  for (const auto& t : before.trials()) errors += t.status() == TrialStatus::kError;
  EXPECT_EQ(errors, 1);
  fs::remove(flag);
  RunOptions again = quiet_options(dir);
  again.config = {{"a", grid_search({1, 2, 3})}};
  again.resume = "ERRORED_ONLY";
  const ExperimentAnalysis after = run(train, std::move(again));
  ASSERT_EQ(after.trials().size(), 3u);
  std::set<int> seen;
  for (const auto& t : after.trials()) {
    EXPECT_EQ(t.status(), TrialStatus::kTerminated) << t.name();
    seen.insert(t.config()["a"].get<int>());
  }
  EXPECT_EQ(seen, (std::set<int>{1, 2, 3}));
  // The analysis read from disk agrees.
  EXPECT_EQ(ExperimentAnalysis::load(dir.path() / "exp").trials().size(), 3u);
}

TEST(ResumeTest, PromptWithoutATerminalIsRefused) {
  TempDir dir;
  RunOptions first = quiet_options(dir);
  run<Steps>([&] {
    RunOptions o = quiet_options(dir);
    o.stop = {{"training_iteration", 1}};
    return o;
  }());
  first.resume = "PROMPT";
  if (isatty(STDIN_FILENO)) GTEST_SKIP() << "stdin is a terminal";
  try {
    run<Steps>(std::move(first));
    ADD_FAILURE() << "PROMPT without a terminal ran";
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("PROMPT"));
    EXPECT_THAT(e.what(), HasSubstr("terminal"));
  }
}

TEST(ResumeTest, JournalRecordsTrialEventsAndATornTailIsIgnored) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.config = {{"a", grid_search({1, 2})}};
  options.stop = {{"training_iteration", 4}};
  options.checkpoint_freq = 2;
  run<Steps>(std::move(options));
  const fs::path journal = dir.path() / "exp" / "experiment_state.jsonl";
  std::vector<std::string> kinds;
  {
    std::ifstream in(journal);
    for (std::string line; std::getline(in, line);) {
      const Json record = Json::parse(line);
      if (record.at("e") != "batch") kinds.push_back(record.at("e").get<std::string>());
      for (const Json& inner : record.value("r", Json::array())) kinds.push_back(inner.at("e").get<std::string>());
    }
  }
  EXPECT_EQ(kinds.front(), "head");
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "add"), 2);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "ckpt"), 4);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "end"), 2);
  EXPECT_EQ(kinds.back(), "done");
  // A crash mid-append leaves a torn line: the state reads up to it.
  fs::remove(dir.path() / "exp" / "experiment_state.json");
  std::ofstream(journal, std::ios::app) << "{\"e\":\"end\",\"i\":0,\"tri";
  const detail::StoredExperiment stored = detail::read_stored_experiment(dir.path() / "exp");
  EXPECT_EQ(stored.finished.size(), 2u);
  EXPECT_LT(stored.journal_valid_bytes, stored.journal_file_bytes);
}

// A journal that names a checkpoint missing on disk (an upload copied while the run went on,
// a directory deleted by hand): the trial goes on from the newest checkpoint that is there,
// with its results after it rolled back, not from nothing with the iteration count of the
// missing one. (Steps checkpoints at 3 and 6 by checkpoint_freq, and at 5 by itself.)
TEST(ResumeTest, ACheckpointMissingOnDiskFallsBackToTheNewestOneThere) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.stop = {{"training_iteration", 8}};
  options.checkpoint_freq = 3;
  run<Steps>(std::move(options));
  const fs::path exp = dir.path() / "exp";
  // Make it a driver that died right after journaling checkpoint_6: cut the journal there.
  std::vector<std::string> lines;
  {
    std::ifstream in(exp / "experiment_state.jsonl");
    for (std::string line; std::getline(in, line);) {
      lines.push_back(line);
      const Json record = Json::parse(line);
      if (record.at("e") == "ckpt" && record.at("c").at("dir") == "checkpoint_6") break;
    }
  }
  ASSERT_EQ(Json::parse(lines.back()).at("e"), "ckpt");  // its own event, so its own line
  {
    std::ofstream out(exp / "experiment_state.jsonl", std::ios::trunc);
    for (const auto& line : lines) out << line << "\n";
  }
  fs::remove(exp / "experiment_state.json");
  const fs::path logdir = detail::read_stored_experiment(exp).unfinished.at(0).at("logdir").get<std::string>();
  const fs::path trial_dir = logdir.is_absolute() ? logdir : exp / logdir;
  fs::remove_all(trial_dir / "checkpoint_6");

  Steps::restores = 0;
  RunOptions again = quiet_options(dir);
  again.stop = {{"training_iteration", 8}};
  again.checkpoint_freq = 3;
  again.resume = true;
  ::testing::internal::CaptureStderr();
  const ExperimentAnalysis analysis = run<Steps>(std::move(again));
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("checkpoint_6 missing or incomplete"));
  EXPECT_THAT(err, HasSubstr("it continues from checkpoint_5"));
  EXPECT_EQ(Steps::restores.load(), 1);
  ASSERT_EQ(analysis.trials().size(), 1u);
  EXPECT_EQ(analysis.trials()[0].status(), TrialStatus::kTerminated);
  const std::vector<Json> results = results_of(trial_dir);
  ASSERT_EQ(results.size(), 8u);
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i]["training_iteration"], i + 1);
    EXPECT_EQ(results[i]["value"], i + 1) << "the state did not come from checkpoint_5";
  }
}

}  // namespace
}  // namespace tune
