// The snapshot scanner is an optimisation, never a second definition of the format: on every
// snapshot it takes, it gives what TrialRecord::from_json gives on the parsed JSON; on anything
// it does not read exactly so, it declines and the careful reader answers.
#include "analysis/snapshot_scan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "analysis/experiment_state.h"
#include "support/temp_dir.h"
#include "tune/error.h"

namespace tune::detail {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;
namespace fs = std::filesystem;

void write(const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::binary) << text; }

Json trial(const std::string& id) {
  return Json{{"trial_id", id},
              {"name", "train_" + id},
              {"status", "TERMINATED"},
              {"config", {{"lr", 0.1}, {"layers", 3}}},
              {"last_result", {{"loss", 0.5}, {"training_iteration", 10}, {"config", {{"lr", 0.1}}}}},
              {"logdir", "train_" + id},
              {"error", ""},
              {"metric_stats", {{"loss", {{"last", 0.5}, {"min", 0.5}, {"max", 2}, {"sum", 9}, {"count", 10}}}}}};
}

Json snapshot(Json trials, Json live = Json::array()) {
  return Json{{"version", kStateVersion}, {"name", "exp"},       {"metric", "loss"},  {"mode", "min"},
              {"journal_bytes", 0},        {"completed", true},  {"trials", trials}, {"live", live},
              {"searcher", {{"kind", "tpe"}, {"n", 3}}}};
}

// Every field the records expose, as JSON (to_json covers config, result, paths and stats).
Json records_json(const std::vector<TrialRecord>& records, const fs::path& dir) {
  Json out = Json::array();
  for (const TrialRecord& record : records) {
    Json one = record.to_json(dir);
    one["absolute_logdir"] = record.logdir().string();
    one["last_result_with_config"] = record.last_result();
    out.push_back(std::move(one));
  }
  return out;
}

TEST(SnapshotScanTest, GivesWhatTheRecordDecoderGivesOnEveryKindOfValue) {
  TempDir dir;
  Json trials = Json::array();
  trials.push_back(trial("a"));
  Json odd = trial("b");
  odd["config"] = {{"nested", {{"deep", {{"list", {1, -2, 3.25, "x", true, false, nullptr, Json::object()}}}}}},
                   {"unicode", "h\u00e9llo \\\"q\\\" \n tab\t"},
                   {"big", 18446744073709551615ULL},
                   {"negative", -9223372036854775807LL - 1},
                   {"tiny", 1e-300},
                   {"not_a_float", 0.1},
                   {"exact_float", 0.5},
                   {"empty", ""},
                   {"long_key_" + std::string(300, 'k'), std::string(70000, 'v')}};
  odd["status"] = "ERROR";
  odd["error"] = "Failure # 1 boom";
  odd["name"] = nullptr;  // the trial id stands in
  odd["logdir"] = dir.str() + "/abs_dir";
  odd["metric_stats"]["loss"]["last"] = nullptr;  // NaN as JSON writes it
  odd["metric_stats"]["loss"]["last_values"] = Json::array();
  for (int i = 0; i < 14; ++i) odd["metric_stats"]["loss"]["last_values"].push_back(i);
  odd["extra_field"] = {{"ignored", {1, 2}}};
  trials.push_back(odd);
  Json bare = {{"trial_id", "c"}, {"status", "PENDING"}};  // every optional field left out
  trials.push_back(bare);
  Json nulls = {{"trial_id", "d"},  {"status", "RUNNING"}, {"config", nullptr},      {"last_result", nullptr},
                {"logdir", nullptr}, {"error", nullptr},   {"metric_stats", nullptr}, {"name", ""}};
  trials.push_back(nulls);
  Json live = Json::array({{{"index", 7}, {"trial_id", "e"}, {"status", "RUNNING"}, {"logdir", "train_e"},
                            {"checkpoints", Json::array({{{"dir", "checkpoint_1"}, {"iteration", 1}}})}}});
  const fs::path file = dir.path() / kSnapshotFile;
  write(file, snapshot(trials, live).dump(2));

  const std::optional<ScannedSnapshot> scanned = scan_snapshot(file, dir.path(), UnsafePaths::kRefuse);
  ASSERT_TRUE(scanned);
  std::vector<TrialRecord> expected;
  for (const Json& t : trials) expected.push_back(TrialRecord::from_json(t, dir.path()));
  EXPECT_EQ(records_json(scanned->finished, dir.path()).dump(), records_json(expected, dir.path()).dump());
  // NaN does not compare equal in JSON form: checked on its own.
  EXPECT_TRUE(std::isnan(scanned->finished[1].metric_stats.at("loss").last));
  EXPECT_EQ(scanned->finished[1].metric_stats.at("loss").last_values.size(), 10U);
  EXPECT_EQ(scanned->finished[1].metric_stats.at("loss").last_values.front(), 4);
  ASSERT_EQ(scanned->unfinished.size(), 1U);
  EXPECT_EQ(scanned->unfinished[0], live[0]);
  EXPECT_EQ(scanned->header.value("name", ""), "exp");
  EXPECT_EQ(scanned->header["searcher"], Json({{"kind", "tpe"}, {"n", 3}}));
  EXPECT_FALSE(scanned->header.contains("trials"));
  EXPECT_TRUE(scanned->warnings.empty());

  // And read_stored_experiment, which takes the scanner's answer, agrees with the records.
  const StoredExperiment stored = read_stored_experiment(dir.path(), UnsafePaths::kRefuse);
  EXPECT_EQ(records_json(stored.finished, dir.path()).dump(), records_json(expected, dir.path()).dump());
  EXPECT_EQ(stored.searcher_state, Json({{"kind", "tpe"}, {"n", 3}}));
}

TEST(SnapshotScanTest, DeclinesWhatOnlyTheCarefulReaderMayWord) {
  TempDir dir;
  const fs::path file = dir.path() / kSnapshotFile;
  const std::string good = snapshot(Json::array({trial("a")})).dump();
  ASSERT_TRUE(scan_snapshot((write(file, good), file), dir.path(), UnsafePaths::kRefuse));

  auto declines = [&](const std::string& text) {
    write(file, text);
    return !scan_snapshot(file, dir.path(), UnsafePaths::kRefuse).has_value();
  };
  auto with_trial = [&](const std::function<void(Json&)>& change) {
    Json t = trial("a");
    change(t);
    return snapshot(Json::array({t})).dump();
  };
  EXPECT_TRUE(declines(good.substr(0, good.size() / 2)));  // torn
  EXPECT_TRUE(declines(good + " {}"));                     // trailing text
  EXPECT_TRUE(declines("[1, 2]"));
  EXPECT_TRUE(declines(""));
  std::string overflow = with_trial([](Json& t) { t["config"]["x"] = 1.5; });
  overflow.replace(overflow.find("1.5"), 3, "1e309");
  EXPECT_TRUE(declines(overflow));  // a number outside double range
  std::string huge_int = with_trial([](Json& t) { t["config"]["x"] = 7; });
  huge_int.replace(huge_int.find(":7"), 2, ":123456789012345678901234567890");
  EXPECT_TRUE(declines(huge_int));  // beyond 64 bits: the tree reader makes it a double
  EXPECT_TRUE(declines(with_trial([](Json& t) { t["status"] = "DONE"; })));
  EXPECT_TRUE(declines(with_trial([](Json& t) { t["status"] = 3; })));
  EXPECT_TRUE(declines(with_trial([](Json& t) { t.erase("trial_id"); })));
  EXPECT_TRUE(declines(with_trial([](Json& t) { t["config"] = "lr=0.1"; })));
  EXPECT_TRUE(declines(with_trial([](Json& t) { t["metric_stats"]["loss"]["count"] = -1; })));
  EXPECT_TRUE(declines(with_trial([](Json& t) { t["metric_stats"]["loss"]["min"] = "low"; })));
  EXPECT_TRUE(declines(with_trial([](Json& t) { t["logdir"] = "../outside"; })));  // kRefuse: resume's words
  EXPECT_TRUE(declines(with_trial([](Json& t) {
    Json deep = 1;
    for (int i = 0; i < 100; ++i) deep = Json::array({deep});
    t["config"]["deep"] = deep;
  })));
  std::string invalid_utf8 = with_trial([](Json& t) { t["name"] = "abc"; });
  invalid_utf8.replace(invalid_utf8.find("abc"), 3, "a\xff" "c");
  EXPECT_TRUE(declines(invalid_utf8));
  EXPECT_TRUE(declines(R"({"version":2,"spec":)" + std::string(5000, '[') + std::string(5000, ']') + "}"));
  std::string skipped_config = with_trial([](Json& t) { t["last_result"]["config"] = {{"x", 1.5}}; });
  skipped_config.replace(skipped_config.find("1.5"), 3, "1e999");
  EXPECT_TRUE(declines(skipped_config));  // the result's config copy is left out, but still checked
  std::string two_versions = good;
  two_versions.insert(1, "\"version\":99,");
  EXPECT_TRUE(declines(two_versions));
}

TEST(SnapshotScanTest, CarefulReaderStillWordsTheErrorsTheScannerDeclines) {
  TempDir dir;
  Json t = trial("a");
  t["status"] = "DONE";
  write(dir.path() / kSnapshotFile, snapshot(Json::array({t})).dump());
  EXPECT_THROW(
      {
        try {
          read_stored_experiment(dir.path(), UnsafePaths::kSkip);
        } catch (const TuneError& error) {
          EXPECT_THAT(error.what(), HasSubstr("status 'DONE' is not one of"));
          EXPECT_THAT(error.what(), HasSubstr(kSnapshotFile));
          throw;
        }
      },
      TuneError);
}

TEST(SnapshotScanTest, LeavesOutTrialsWhosePathsLeadOutsideWithTheCarefulReadersWarning) {
  TempDir dir;
  const fs::path experiment = dir.path() / "exp";
  fs::create_directories(experiment / "real");
  fs::create_directories(dir.path() / "outside");
  fs::create_directory_symlink(dir.path() / "outside", experiment / "escape");
  Json escaping = trial("b");
  escaping["logdir"] = "escape";
  Json nested = trial("c");
  nested["logdir"] = "escape/deeper";
  Json fine = trial("d");
  fine["logdir"] = "real/nested_trial";
  Json bad_checkpoint = trial("e");
  bad_checkpoint["checkpoints"] = Json::array({{{"dir", "../x"}}});
  Json live = Json::array({{{"index", 1}, {"trial_id", "f"}, {"status", "RUNNING"}, {"logdir", "../f"}}});
  const fs::path file = experiment / kSnapshotFile;
  write(file, snapshot(Json::array({trial("a"), escaping, nested, fine, bad_checkpoint}), live).dump());

  const std::optional<ScannedSnapshot> scanned = scan_snapshot(file, experiment, UnsafePaths::kSkip);
  ASSERT_TRUE(scanned);
  ASSERT_EQ(scanned->finished.size(), 2U);
  EXPECT_EQ(scanned->finished[0].trial_id(), "a");
  EXPECT_EQ(scanned->finished[1].trial_id(), "d");
  EXPECT_EQ(scanned->finished[1].logdir(), experiment / "real" / "nested_trial");
  EXPECT_TRUE(scanned->unfinished.empty());
  // "live" comes first in the file (nlohmann writes keys in order), so its warning does too.
  EXPECT_THAT(scanned->warnings,
              ElementsAre(HasSubstr("trial 0 of 'live': field 'logdir': '../f' goes through '..'; left out"),
                          AllOf(HasSubstr("trial 1 of 'trials': field 'logdir': 'escape' leads outside"),
                                HasSubstr("through a symbolic link; left out")),
                          HasSubstr("trial 1 of 'trials': field 'logdir': 'escape/deeper' leads outside"),
                          HasSubstr("trial 2 of 'trials': checkpoints[0]: field 'dir'")));
}

}  // namespace
}  // namespace tune::detail
