// Tests for the one reader of an experiment directory (src/analysis/experiment_reader.h): a
// journal without a snapshot (a live or killed run), a snapshot whose copy of a live trial's
// result is older than its result.json, the run's metric and mode, and get_best_* without a mode.
#include "analysis/experiment_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "analysis/trial_score.h"
#include "support/files.h"
#include "support/temp_dir.h"
#include "tune/analysis.h"
#include "tune/error.h"

namespace tune {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::TempDir;
using testing::write_text;

std::string lines(const std::vector<Json>& records) {
  std::string text;
  for (const Json& record : records) text += record.dump() + "\n";
  return text;
}

Json head(const std::string& metric = "loss", const std::string& mode = "min") {
  return {{"e", "head"}, {"version", 2}, {"name", "exp"}, {"metric", metric}, {"mode", mode}};
}

Json add(int index, const std::string& id, double x) {
  return {{"e", "add"}, {"i", index}, {"id", id}, {"name", "T_" + id}, {"config", {{"x", x}}}};
}

Json dir_record(int index, const std::string& dir) { return {{"e", "dir"}, {"i", index}, {"dir", dir}}; }

void write_results(const fs::path& logdir, const std::vector<double>& losses) {
  std::string text;
  for (size_t i = 0; i < losses.size(); ++i) {
    text += Json{{"loss", losses[i]}, {"training_iteration", i + 1}}.dump() + "\n";
  }
  write_text(logdir / "result.json", text);
}

// Two trials started, one pending; the run was killed (no "done"), its last line torn.
void write_killed_run(const fs::path& dir) {
  write_text(dir / "experiment_state.jsonl",
             lines({head(), add(0, "a", 1), add(1, "b", 2), add(2, "c", 3), dir_record(0, "T_a"), dir_record(1, "T_b")}) +
                 R"({"e":"dir","i":2,"di)");
  write_results(dir / "T_a", {3.0, 2.0});
  write_results(dir / "T_b", {2.5, 1.5, 0.5});
}

TEST(ExperimentReaderTest, AJournalWithoutSnapshotGivesTheRunsMetricAndRunningTrialsWithTheirResults) {
  TempDir dir;
  write_killed_run(dir.path());
  const detail::ExperimentOnDisk experiment = detail::read_experiment(dir.path());
  EXPECT_TRUE(experiment.has_state);
  EXPECT_FALSE(experiment.completed);
  EXPECT_EQ(experiment.metric, "loss");
  EXPECT_EQ(experiment.mode, "min");
  EXPECT_TRUE(experiment.last_update.has_value());
  ASSERT_EQ(experiment.trials.size(), 3u);
  const TrialRecord& a = experiment.trials[0];
  EXPECT_EQ(a.status(), TrialStatus::kRunning);
  EXPECT_EQ(a.last_result()["loss"], 2.0);
  EXPECT_EQ(a.last_result()["config"], Json::parse(R"({"x": 1.0})"));
  ASSERT_TRUE(a.metric_stats.contains("loss"));
  EXPECT_EQ(a.metric_stats.at("loss").count, 2);
  EXPECT_EQ(a.metric_stats.at("loss").min, 2.0);
  EXPECT_EQ(experiment.trials[1].last_result()["loss"], 0.5);
  // The torn "dir" record of the third trial is not applied: it has no directory yet.
  EXPECT_EQ(experiment.trials[2].status(), TrialStatus::kPending);
  EXPECT_TRUE(experiment.trials[2].last_result().is_null());
}

TEST(ExperimentReaderTest, AnalysisOfAKilledRunPicksTheBestRunningTrialWithTheRunsMetricAndMode) {
  TempDir dir;
  write_killed_run(dir.path());
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(dir.path());
  const std::optional<TrialRecord> best = analysis.get_best_trial();  // the run's loss, min
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->trial_id(), "b");
  EXPECT_EQ(detail::trial_score(*best, "loss", "min", "last"), 0.5);
  EXPECT_EQ(detail::trial_score(*best, "loss", "min", "avg"), 1.5);
  EXPECT_EQ(detail::trial_score(*best, "loss", "max", "all"), 2.5);
  EXPECT_EQ(detail::trial_score(analysis.trials()[2], "loss", "min", "last"), std::nullopt);  // nothing reported yet
  EXPECT_EQ(analysis.get_best_trial("loss", "", "avg")->trial_id(), "b");  // avg: a 2.5, b 1.5
  // The metric given, the mode not: the run's mode (min) is used, not an error.
  EXPECT_EQ(analysis.get_best_config("training_iteration")["x"], 1.0);  // lowest iteration: a (2) vs b (3)
  EXPECT_EQ(analysis.get_best_logdir("loss"), dir.path() / "T_b");
  const Table table = analysis.dataframe();
  const size_t loss = *table.column("loss");
  EXPECT_EQ(table.rows[0][loss], 2.0);
  EXPECT_EQ(table.rows[1][loss], 0.5);
  EXPECT_TRUE(table.rows[2][loss].is_null());
}

TEST(ExperimentReaderTest, ALiveTrialsResultComesFromItsResultFileNotTheOlderSnapshot) {
  TempDir dir;
  // The snapshot covers the journal up to its length and holds the trial's result of then.
  const std::string journal = lines({head("score", "max"), add(0, "a", 1), dir_record(0, "T_a")});
  write_text(dir.path() / "experiment_state.jsonl", journal);
  const Json live = {{"index", 0},         {"trial_id", "a"},   {"name", "T_a"},
                     {"tag", ""},          {"config", {{"x", 1}}}, {"status", "RUNNING"},
                     {"logdir", "T_a"},    {"num_failures", 0}, {"error", ""},
                     {"checkpoints", Json::array()}, {"last_result", {{"score", 1.0}}}};
  write_text(dir.path() / "experiment_state.json",
             Json{{"version", 2},
                  {"name", "exp"},
                  {"metric", "score"},
                  {"mode", "max"},
                  {"journal_bytes", journal.size()},
                  {"completed", false},
                  {"trials", Json::array()},
                  {"live", Json::array({live})}}
                 .dump());
  write_text(dir.path() / "T_a" / "result.json", R"({"score": 1.0})"
                                                 "\n"
                                                 R"({"score": 4.0})"
                                                 "\n");
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(dir.path());
  ASSERT_EQ(analysis.trials().size(), 1u);
  EXPECT_EQ(analysis.trials()[0].last_result()["score"], 4.0);
  EXPECT_EQ(detail::trial_score(analysis.trials()[0], "score", "max", "last"), 4.0);
  EXPECT_EQ(detail::trial_score(analysis.trials()[0], "score", "max", "avg"), 2.5);
}

TEST(ExperimentReaderTest, ARunWithoutItsOwnMetricUsesItsSchedulersFromTheStoredSpec) {
  TempDir dir;
  Json first = head("", "");
  first["source"] = {{"spec", {{"scheduler", {{"type", "asha"}, {"metric", "acc"}, {"mode", "max"}}}}}};
  write_text(dir.path() / "experiment_state.jsonl", lines({first}));
  EXPECT_EQ(detail::run_metric_and_mode(first), std::make_pair(std::string("acc"), std::string("max")));
  write_text(dir.path() / "T_a" / "result.json", R"({"acc": 0.9, "loss": 0.3})"
                                                 "\n");
  write_text(dir.path() / "T_b" / "result.json", R"({"acc": 0.8, "loss": 0.1})"
                                                 "\n");
  write_text(dir.path() / "experiment_state.jsonl",
             lines({first, add(0, "a", 1), add(1, "b", 2), dir_record(0, "T_a"), dir_record(1, "T_b")}));
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(dir.path());
  EXPECT_EQ(analysis.get_best_trial()->trial_id(), "a");            // acc, max
  EXPECT_EQ(analysis.get_best_trial("loss")->trial_id(), "a");      // the run's mode (max)
  EXPECT_EQ(analysis.get_best_trial("loss", "min")->trial_id(), "b");
  // Arguments of load() win over the stored ones.
  EXPECT_EQ(ExperimentAnalysis::load(dir.path(), "loss", "min").get_best_trial()->trial_id(), "b");
}

TEST(ExperimentReaderTest, TrialDirectoriesAloneAndNothingAtAll) {
  TempDir dir;
  write_text(dir.path() / "T_a" / "params.json", R"({"x": 1})");
  write_text(dir.path() / "T_a" / "result.json", R"({"loss": 1.0, "done": true, "trial_id": "a"})"
                                                 "\n");
  EXPECT_TRUE(detail::is_experiment_dir(dir.path()));
  const detail::ExperimentOnDisk experiment = detail::read_experiment(dir.path());
  EXPECT_FALSE(experiment.has_state);
  EXPECT_TRUE(experiment.completed);  // every trial is done
  ASSERT_EQ(experiment.trials.size(), 1u);
  EXPECT_EQ(experiment.trials[0].status(), TrialStatus::kTerminated);

  TempDir empty;
  EXPECT_FALSE(detail::is_experiment_dir(empty.path()));
  try {
    detail::read_experiment(empty.path());
    ADD_FAILURE() << "expected TuneError";
  } catch (const TuneError& error) {
    EXPECT_THAT(error.what(), HasSubstr("holds neither"));
  }
  try {
    detail::read_experiment(empty.path() / "missing");
    ADD_FAILURE() << "expected TuneError";
  } catch (const TuneError& error) {
    EXPECT_THAT(error.what(), HasSubstr("is not an existing directory"));
  }
}

}  // namespace
}  // namespace tune
