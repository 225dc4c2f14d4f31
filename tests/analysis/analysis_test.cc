// Tests for the analysis module: loading experiments from disk and picking the best trial.
#include "tune/analysis.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "tune/error.h"

namespace tune {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A fresh directory under the system temp dir, removed afterwards.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("tune_analysis_test_" + std::to_string(::getpid()) + "_" + info->name() + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

template <typename E = TuneError, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return {};
}

// One trial as written to disk: per-iteration values of "loss" (and "score" = -loss).
struct FakeTrial {
  std::string trial_id;
  Json config;
  std::vector<double> losses;
  bool done = true;
  std::string error;  // non-empty -> error.txt

  std::string dir_name() const { return "Train_" + trial_id + "_0_lr=" + config["lr"].dump() + "_2024-01-01_00-00-00"; }

  Json result(size_t i) const {
    Json r = {{"training_iteration", i + 1},
              {"trial_id", trial_id},
              {"done", done && i + 1 == losses.size()},
              {"config", config},
              {"loss", losses[i]},
              {"score", -losses[i]},
              {"nested", {{"acc", 0.5 + i}}}};
    return r;
  }
  std::string result_lines() const {
    std::string out;
    for (size_t i = 0; i < losses.size(); ++i) out += result(i).dump() + "\n";
    return out;
  }
  std::map<std::string, MetricStats> stats() const {
    std::map<std::string, MetricStats> out;
    for (double loss : losses) {
      out["loss"].add(loss);
      out["score"].add(-loss);
    }
    return out;
  }
};

FakeTrial make_trial(std::string trial_id, Json config, std::vector<double> losses, bool done = true,
                     std::string error = "") {
  return FakeTrial{std::move(trial_id), std::move(config), std::move(losses), done, std::move(error)};
}

void write_trial_dir(const fs::path& experiment_dir, const FakeTrial& trial) {
  const fs::path dir = experiment_dir / trial.dir_name();
  write_file(dir / "params.json", trial.config.dump(2));
  write_file(dir / "result.json", trial.result_lines());
  if (!trial.error.empty()) write_file(dir / "error.txt", trial.error);
}

// Writes experiment_state.json by hand; `with_stats` decides whether metric_stats are recorded.
void write_state(const fs::path& experiment_dir, const std::vector<FakeTrial>& trials, bool with_stats,
                 const std::string& metric = "loss", const std::string& mode = "min") {
  Json state = {{"version", 1}, {"name", "exp"}, {"experiment_id", "abc"}, {"metric", metric}, {"mode", mode}};
  state["trials"] = Json::array();
  for (const FakeTrial& t : trials) {
    Json last = t.losses.empty() ? Json(nullptr) : t.result(t.losses.size() - 1);
    Json stats = Json::object();
    if (with_stats) {
      for (const auto& [name, s] : t.stats()) stats[name] = s.to_json();
    }
    state["trials"].push_back({{"trial_id", t.trial_id},
                               {"name", "Train_" + t.trial_id},
                               {"status", t.error.empty() ? "TERMINATED" : "ERROR"},
                               {"config", t.config},
                               {"last_result", last},
                               {"logdir", t.dir_name()},
                               {"error", t.error},
                               {"metric_stats", stats}});
  }
  write_file(experiment_dir / "experiment_state.json", state.dump());
}

std::vector<double> repeat(double value, size_t n) { return std::vector<double>(n, value); }
std::vector<double> concat(std::vector<double> a, const std::vector<double>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Five trials, each the best (lowest loss) under exactly one scope.
std::vector<FakeTrial> scope_trials() {
  return {
      make_trial("aaaaa_00000", {{"lr", 0.0}}, concat({-50}, repeat(100, 11))),        // all: min -50
      make_trial("aaaaa_00001", {{"lr", 0.1}}, concat(repeat(100, 11), {0})),          // last: 0
      make_trial("aaaaa_00002", {{"lr", 0.2}}, concat({-20, -20}, repeat(20, 10))),    // avg: 13.3
      make_trial("aaaaa_00003", {{"lr", 0.3}}, concat(repeat(100, 7), repeat(5, 5))),  // last-5-avg: 5
      make_trial("aaaaa_00004", {{"lr", 0.4}}, concat({1000, 1000}, repeat(10, 10))),  // last-10-avg: 10
  };
}

void expect_scope_winners(const ExperimentAnalysis& analysis) {
  const std::vector<std::pair<std::string, std::string>> expected = {{"all", "aaaaa_00000"},
                                                                     {"last", "aaaaa_00001"},
                                                                     {"avg", "aaaaa_00002"},
                                                                     {"last-5-avg", "aaaaa_00003"},
                                                                     {"last-10-avg", "aaaaa_00004"}};
  for (const auto& [scope, winner] : expected) {
    std::optional<TrialRecord> best = analysis.get_best_trial("loss", "min", scope);
    ASSERT_TRUE(best) << scope;
    EXPECT_EQ(best->trial_id(), winner) << "min, scope " << scope;
    best = analysis.get_best_trial("score", "max", scope);
    ASSERT_TRUE(best) << scope;
    EXPECT_EQ(best->trial_id(), winner) << "max, scope " << scope;
  }
  // The worst under "last" (all end at 100 except these): max of loss picks a 100-ending trial, the first of them.
  EXPECT_EQ(analysis.get_best_trial("loss", "max", "last")->trial_id(), "aaaaa_00000");
}

TEST(TrialStatusTest, RoundTripsEveryStatus) {
  for (TrialStatus s : {TrialStatus::kPending, TrialStatus::kRunning, TrialStatus::kPaused, TrialStatus::kTerminated,
                        TrialStatus::kError}) {
    EXPECT_EQ(trial_status_from_string(to_string(s)), s);
  }
  EXPECT_EQ(to_string(TrialStatus::kTerminated), "TERMINATED");
  EXPECT_EQ(to_string(TrialStatus::kError), "ERROR");
  EXPECT_EQ(trial_status_from_string("running"), TrialStatus::kRunning);
  EXPECT_EQ(trial_status_from_string("DONE"), std::nullopt);
  EXPECT_EQ(trial_status_from_string(""), std::nullopt);
}

TEST(MetricStatsTest, TracksLastMinMaxSumAndLastTen) {
  MetricStats s;
  for (int i = 1; i <= 12; ++i) s.add(i);
  EXPECT_EQ(s.last, 12);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 12);
  EXPECT_EQ(s.sum, 78);
  EXPECT_EQ(s.count, 12);
  EXPECT_DOUBLE_EQ(s.avg(), 6.5);
  EXPECT_THAT(s.last_values, ElementsAre(3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
  EXPECT_DOUBLE_EQ(s.last_n_avg(5), 10);
  EXPECT_DOUBLE_EQ(s.last_n_avg(10), 7.5);
  EXPECT_DOUBLE_EQ(s.last_n_avg(50), 7.5);  // only what is kept
}

TEST(MetricStatsTest, NonFiniteValuesOnlySetLast) {
  MetricStats s;
  s.add(-2);
  s.add(kNaN);
  EXPECT_TRUE(std::isnan(s.last));
  s.add(kInf);
  s.add(-kInf);
  EXPECT_EQ(s.last, -kInf);
  EXPECT_EQ(s.count, 1);
  EXPECT_EQ(s.min, -2);
  EXPECT_EQ(s.max, -2);
  EXPECT_EQ(s.sum, -2);
  EXPECT_THAT(s.last_values, ElementsAre(-2));
  EXPECT_DOUBLE_EQ(s.last_n_avg(5), -2);
  EXPECT_EQ(MetricStats{}.last_n_avg(5), 0);
}

TEST(MetricStatsTest, JsonRoundTripKeepsNaNLast) {
  MetricStats s;
  s.add(1.5);
  s.add(2.5);
  s.add(kNaN);
  // Through text, as experiment_state.json stores it: NaN becomes null and back.
  MetricStats back = MetricStats::from_json(Json::parse(s.to_json().dump()));
  EXPECT_TRUE(std::isnan(back.last));
  EXPECT_EQ(back.min, 1.5);
  EXPECT_EQ(back.max, 2.5);
  EXPECT_EQ(back.sum, 4);
  EXPECT_EQ(back.count, 2);
  EXPECT_THAT(back.last_values, ElementsAre(1.5, 2.5));
  EXPECT_THAT(error_of([] { MetricStats::from_json({{"count", "x"}}); }), HasSubstr("count"));
}

TEST(TrialRecordTest, StoresResultWithoutConfigAndRestoresIt) {
  const Json config = {{"lr", 0.1}, {"model", {{"layers", 3}}}};
  const Json result = {{"loss", 0.5}, {"training_iteration", 4}, {"config", config}};
  TrialRecord record("x_00001", "T_x_00001", TrialStatus::kRunning, config, result, "/exp/T_x_00001", "");
  EXPECT_EQ(record.config(), config);
  EXPECT_EQ(record.last_result(), result);
  EXPECT_FALSE(record.to_json("/exp")["last_result"].contains("config"));

  TrialRecord empty("x_00002", "T", TrialStatus::kPending, Json::object(), nullptr, {}, "");
  EXPECT_TRUE(empty.last_result().is_null());
}

TEST(TrialRecordTest, JsonRoundTrip) {
  const Json config = {{"lr", 0.01}, {"opt", "adam"}};
  TrialRecord record("ab12c_00003", "Train_ab12c_00003", TrialStatus::kError, config,
                     {{"loss", 1.25}, {"config", config}, {"trial_id", "ab12c_00003"}}, "/tmp/exp/Train_ab12c_00003_x",
                     "boom");
  record.metric_stats["loss"].add(2);
  record.metric_stats["loss"].add(1.25);

  const Json json = record.to_json("/tmp/exp");
  EXPECT_EQ(json["logdir"], "Train_ab12c_00003_x");
  EXPECT_EQ(json["status"], "ERROR");
  EXPECT_EQ(json["metric_stats"]["loss"]["count"], 2);

  const TrialRecord back = TrialRecord::from_json(Json::parse(json.dump()), "/elsewhere");
  EXPECT_EQ(back.trial_id(), "ab12c_00003");
  EXPECT_EQ(back.name(), "Train_ab12c_00003");
  EXPECT_EQ(back.status(), TrialStatus::kError);
  EXPECT_EQ(back.error(), "boom");
  EXPECT_EQ(back.logdir(), fs::path("/elsewhere/Train_ab12c_00003_x"));
  EXPECT_EQ(back.config(), config);
  EXPECT_EQ(back.last_result(), record.last_result());
  ASSERT_TRUE(back.metric_stats.contains("loss"));
  EXPECT_EQ(back.metric_stats.at("loss").min, 1.25);
  EXPECT_THAT(back.metric_stats.at("loss").last_values, ElementsAre(2, 1.25));

  // A logdir outside the experiment dir stays absolute; an empty one stays empty.
  EXPECT_EQ(record.to_json("/other")["logdir"], "/tmp/exp/Train_ab12c_00003_x");
  TrialRecord no_dir("i", "n", TrialStatus::kPending, nullptr, nullptr, {}, "");
  EXPECT_EQ(no_dir.to_json("/tmp/exp")["logdir"], "");
  EXPECT_TRUE(TrialRecord::from_json(no_dir.to_json("/tmp/exp"), "/tmp/exp").logdir().empty());
}

TEST(TrialRecordTest, FromJsonRejectsBadFields) {
  EXPECT_THAT(error_of([] { TrialRecord::from_json({{"status", "RUNNING"}}); }), HasSubstr("trial_id"));
  EXPECT_THAT(error_of([] {
                TrialRecord::from_json({{"trial_id", "a"}, {"status", "DONE"}});
              }),
              HasSubstr("status 'DONE'"));
  EXPECT_THAT(error_of([] {
                TrialRecord::from_json({{"trial_id", "a"}, {"status", "ERROR"}, {"config", 3}});
              }),
              HasSubstr("'config'"));
}

TEST(TrialRecordTest, HundredThousandRecordsBuild) {
  std::vector<TrialRecord> records;
  records.reserve(100000);
  Json config = {{"lr", 0.0}, {"layers", 0}};
  Json result = {{"loss", 0.0}, {"training_iteration", 10}, {"config", config}};
  for (int i = 0; i < 100000; ++i) {
    config["lr"] = i * 1e-6;
    config["layers"] = i % 7;
    result["loss"] = 1.0 / (i + 1);
    TrialRecord record("abcde_" + std::to_string(i), "Train_abcde_" + std::to_string(i), TrialStatus::kTerminated,
                       config, result, {}, "");
    record.metric_stats["loss"].add(1.0 / (i + 1));
    records.push_back(std::move(record));
  }
  ExperimentAnalysis analysis("/nonexistent", std::move(records), "loss", "min");
  ASSERT_EQ(analysis.trials().size(), 100000u);
  EXPECT_EQ(analysis.get_best_trial()->trial_id(), "abcde_99999");
  EXPECT_EQ(analysis.get_best_config(), Json({{"lr", 99999 * 1e-6}, {"layers", 99999 % 7}}));
}

TEST(ExperimentAnalysisTest, LoadsFromStateFile) {
  TempDir tmp;
  const std::vector<FakeTrial> trials = scope_trials();
  for (const FakeTrial& t : trials) write_trial_dir(tmp.path(), t);
  write_state(tmp.path(), trials, /*with_stats=*/true);

  const ExperimentAnalysis analysis = ExperimentAnalysis::load(tmp.path());
  ASSERT_EQ(analysis.trials().size(), 5u);
  const TrialRecord& first = analysis.trials()[0];
  EXPECT_EQ(first.trial_id(), "aaaaa_00000");
  EXPECT_EQ(first.name(), "Train_aaaaa_00000");
  EXPECT_EQ(first.status(), TrialStatus::kTerminated);
  EXPECT_EQ(first.logdir(), tmp.path() / trials[0].dir_name());
  EXPECT_EQ(first.config(), trials[0].config);
  EXPECT_EQ(first.last_result()["loss"], 100);
  EXPECT_EQ(first.last_result()["config"], trials[0].config);
  // Defaults come from the state file.
  EXPECT_EQ(analysis.get_best_trial()->trial_id(), "aaaaa_00001");
  EXPECT_EQ(analysis.get_best_config(), Json({{"lr", 0.1}}));
  EXPECT_EQ(analysis.get_best_logdir(), tmp.path() / trials[1].dir_name());
  // Explicit defaults override the file's.
  EXPECT_EQ(ExperimentAnalysis::load(tmp.path(), "score", "max").get_best_trial()->trial_id(), "aaaaa_00001");
  EXPECT_EQ(ExperimentAnalysis::load(tmp.path(), "", "max").get_best_trial()->trial_id(), "aaaaa_00000");
}

TEST(ExperimentAnalysisTest, StateFileObjectsOutsideTrialsAreNotTrials) {
  TempDir tmp;
  // Objects two levels deep under other keys, and nested ones inside trials, must not become records.
  write_file(tmp.path() / "experiment_state.json", R"({
    "searcher": {"state": {"x": 1}}, "version": 1, "metric": "m", "mode": "max",
    "trials": [{"trial_id": "t0", "status": "RUNNING", "config": {"a": {"b": [{"c": 1}]}},
                "last_result": {"m": 2, "deep": {"er": {}}}, "metric_stats": {"m": {"last": 2, "count": 1}}},
               {"trial_id": "t1", "status": "PAUSED", "last_result": {"m": 3}}],
    "after": {"obj": {}}})");
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(tmp.path());
  ASSERT_EQ(analysis.trials().size(), 2u);
  EXPECT_EQ(analysis.trials()[0].config(), Json::parse(R"({"a": {"b": [{"c": 1}]}})"));
  EXPECT_EQ(analysis.trials()[0].name(), "t0");  // a missing name falls back to the id
  EXPECT_TRUE(analysis.trials()[1].logdir().empty());
  EXPECT_EQ(analysis.get_best_trial()->trial_id(), "t1");
  EXPECT_EQ(analysis.status_counts().at(TrialStatus::kPaused), 1);
}

TEST(ExperimentAnalysisTest, ScopesFromRecordedStats) {
  TempDir tmp;
  const std::vector<FakeTrial> trials = scope_trials();
  for (const FakeTrial& t : trials) write_trial_dir(tmp.path(), t);
  write_state(tmp.path(), trials, /*with_stats=*/true);
  // Prove the recorded stats are used: remove the result files.
  for (const FakeTrial& t : trials) fs::remove(tmp.path() / t.dir_name() / "result.json");
  expect_scope_winners(ExperimentAnalysis::load(tmp.path()));
}

TEST(ExperimentAnalysisTest, ScopesComputedFromResultFiles) {
  TempDir tmp;
  const std::vector<FakeTrial> trials = scope_trials();
  for (const FakeTrial& t : trials) write_trial_dir(tmp.path(), t);
  write_state(tmp.path(), trials, /*with_stats=*/false);
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(tmp.path());
  EXPECT_TRUE(analysis.trials()[0].metric_stats.empty());
  expect_scope_winners(analysis);
}

TEST(ExperimentAnalysisTest, ScopesFromTrialDirsWithoutStateFile) {
  TempDir tmp;
  const std::vector<FakeTrial> trials = scope_trials();
  for (const FakeTrial& t : trials) write_trial_dir(tmp.path(), t);
  expect_scope_winners(ExperimentAnalysis::load(tmp.path()));
}

TEST(ExperimentAnalysisTest, LoadsFromTrialDirsWithTornLine) {
  TempDir tmp;
  const FakeTrial done = make_trial("bbbbb_00000", {{"lr", 0.5}}, {3, 2, 1});
  const FakeTrial running = make_trial("bbbbb_00001", {{"lr", 0.6}}, {4, 0.5}, /*done=*/false);
  const FakeTrial failed =
      make_trial("bbbbb_00002", {{"lr", 0.7}}, {9}, false,
                 "Failure # 1 (occurred at 2024-01-01)\nfirst\n\nFailure # 2 (occurred at 2024-01-02)\nsecond\n");
  for (const FakeTrial* t : {&failed, &done, &running}) write_trial_dir(tmp.path(), *t);
  // The running trial was cut mid-write: the torn line must be skipped, not fatal.
  {
    std::ofstream out(tmp.path() / running.dir_name() / "result.json", std::ios::app);
    out << R"({"training_iteration": 3, "trial_id": "bbbbb_00001", "loss": 0.)";
  }
  // A directory without params.json is not a trial; one whose results lack trial_id uses the dir name.
  write_file(tmp.path() / "not_a_trial" / "result.json", "{}\n");
  write_file(tmp.path() / "zz_dir" / "params.json", R"({"lr": 0.9})");

  const ExperimentAnalysis analysis = ExperimentAnalysis::load(tmp.path(), "loss", "min");
  ASSERT_EQ(analysis.trials().size(), 4u);
  const TrialRecord& t0 = analysis.trials()[0];
  const TrialRecord& t1 = analysis.trials()[1];
  const TrialRecord& t2 = analysis.trials()[2];
  const TrialRecord& t3 = analysis.trials()[3];
  EXPECT_EQ(t0.trial_id(), "bbbbb_00000");
  EXPECT_EQ(t0.name(), "Train_bbbbb_00000");
  EXPECT_EQ(t0.status(), TrialStatus::kTerminated);
  EXPECT_EQ(t0.config(), done.config);
  EXPECT_EQ(t0.last_result()["loss"], 1);
  EXPECT_EQ(t0.metric_stats.at("loss").count, 3);
  EXPECT_EQ(t0.metric_stats.at("nested/acc").last, 2.5);
  EXPECT_FALSE(t0.metric_stats.contains("config/lr"));

  EXPECT_EQ(t1.trial_id(), "bbbbb_00001");
  EXPECT_EQ(t1.status(), TrialStatus::kRunning);
  EXPECT_EQ(t1.last_result()["training_iteration"], 2);
  EXPECT_EQ(t1.metric_stats.at("loss").count, 2);

  EXPECT_EQ(t2.status(), TrialStatus::kError);
  EXPECT_EQ(t2.error(), "Failure # 2 (occurred at 2024-01-02)\nsecond");

  EXPECT_EQ(t3.trial_id(), "zz_dir");
  EXPECT_EQ(t3.name(), "zz_dir");
  EXPECT_EQ(t3.status(), TrialStatus::kRunning);
  EXPECT_TRUE(t3.last_result().is_null());

  EXPECT_EQ(analysis.get_best_trial()->trial_id(), "bbbbb_00001");
  EXPECT_EQ(analysis.get_best_trial("loss", "min", "all")->trial_id(), "bbbbb_00001");
  EXPECT_EQ(analysis.get_best_trial("loss", "max", "avg")->trial_id(), "bbbbb_00002");

  const std::map<TrialStatus, int64_t> counts = analysis.status_counts();
  EXPECT_EQ(counts.at(TrialStatus::kTerminated), 1);
  EXPECT_EQ(counts.at(TrialStatus::kRunning), 2);
  EXPECT_EQ(counts.at(TrialStatus::kError), 1);
  EXPECT_FALSE(counts.contains(TrialStatus::kPending));
}

TEST(ExperimentAnalysisTest, NonFiniteValuesAreNeverBest) {
  TempDir tmp;
  // Python writes NaN/Infinity tokens; the C++ runner writes null. Both mean "not finite".
  write_file(tmp.path() / "a" / "params.json", R"({"id": "a"})");
  write_file(tmp.path() / "a" / "result.json",
             "{\"trial_id\": \"t0\", \"loss\": 5}\n{\"trial_id\": \"t0\", \"loss\": NaN}\n");
  write_file(tmp.path() / "b" / "params.json", R"({"id": "b"})");
  write_file(tmp.path() / "b" / "result.json", "{\"trial_id\": \"t1\", \"loss\": -Infinity}\n");
  write_file(tmp.path() / "c" / "params.json", R"({"id": "c"})");
  write_file(tmp.path() / "c" / "result.json",
             "{\"trial_id\": \"t2\", \"loss\": 7}\n{\"trial_id\": \"t2\", \"loss\": null}\n");
  write_file(tmp.path() / "d" / "params.json", R"({"id": "d"})");
  write_file(tmp.path() / "d" / "result.json", "{\"trial_id\": \"t3\", \"loss\": 9}\n");
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(tmp.path());
  EXPECT_EQ(analysis.get_best_config("loss", "min"), Json({{"id", "d"}}));
  EXPECT_EQ(analysis.get_best_config("loss", "max"), Json({{"id", "d"}}));
  // Over all results the finite values still count.
  EXPECT_EQ(analysis.get_best_config("loss", "min", "all"), Json({{"id", "a"}}));
  EXPECT_EQ(analysis.get_best_config("loss", "max", "avg"), Json({{"id", "d"}}));

  // Records built in memory, with and without stats: NaN/inf never win.
  std::vector<TrialRecord> records;
  records.emplace_back("n", "n", TrialStatus::kTerminated, Json::object(), Json{{"m", kNaN}}, fs::path(), "");
  records.emplace_back("i", "i", TrialStatus::kTerminated, Json::object(), Json{{"m", -kInf}}, fs::path(), "");
  records.emplace_back("s", "s", TrialStatus::kTerminated, Json::object(), Json{{"m", 0}}, fs::path(), "");
  records.back().metric_stats["m"].add(kInf);
  const ExperimentAnalysis only_bad("/x", std::move(records), "m", "min");
  EXPECT_EQ(only_bad.get_best_trial(), std::nullopt);
  EXPECT_THAT(error_of([&] { only_bad.get_best_config(); }),
              HasSubstr("no trial reported a finite value of metric 'm'"));
  EXPECT_THAT(error_of([&] { only_bad.get_best_logdir(); }), HasSubstr("finite value"));
}

TEST(ExperimentAnalysisTest, LastScopeUsesNestedPathAndFirstTieWins) {
  std::vector<TrialRecord> records;
  for (const char* id : {"t0", "t1", "t2"}) {
    const double acc = std::string(id) == "t0" ? 0.5 : 0.9;
    records.emplace_back(id, id, TrialStatus::kTerminated, Json{{"id", id}}, Json{{"eval", {{"acc", acc}}}}, fs::path(),
                         "");
  }
  const ExperimentAnalysis analysis("/x", std::move(records));
  EXPECT_EQ(analysis.get_best_trial("eval/acc", "max")->trial_id(), "t1");
  EXPECT_EQ(analysis.get_best_trial("eval/acc", "min")->trial_id(), "t0");
  // Without stats or result files the other scopes have nothing to go on.
  EXPECT_EQ(analysis.get_best_trial("eval/acc", "max", "avg"), std::nullopt);
}

TEST(ExperimentAnalysisTest, RejectsBadMetricModeAndScope) {
  std::vector<TrialRecord> records;
  records.emplace_back("t", "t", TrialStatus::kTerminated, Json::object(), Json{{"loss", 1}}, fs::path(), "");
  const ExperimentAnalysis no_defaults("/x", records);
  EXPECT_THAT(error_of([&] { no_defaults.get_best_trial(); }),
              HasSubstr("get_best_trial: no metric given and the run had none"));
  EXPECT_THAT(error_of([&] { no_defaults.get_best_trial("loss"); }), HasSubstr("no mode given"));
  const std::string mode_error = error_of([&] { no_defaults.get_best_trial("loss", "best"); });
  EXPECT_THAT(mode_error, HasSubstr("'best'"));
  EXPECT_THAT(mode_error, HasSubstr("min, max"));
  const std::string scope_error = error_of([&] { no_defaults.get_best_trial("loss", "min", "last-3-avg"); });
  EXPECT_THAT(scope_error, HasSubstr("'last-3-avg'"));
  EXPECT_THAT(scope_error, HasSubstr("last, avg, last-5-avg, last-10-avg, all"));
  // An unknown metric is not misuse: no trial has it.
  EXPECT_EQ(no_defaults.get_best_trial("accuracy", "max"), std::nullopt);
  EXPECT_THAT(error_of([&] { no_defaults.get_best_config("accuracy", "max"); }), HasSubstr("'accuracy'"));
  EXPECT_THAT(error_of([&] { ExperimentAnalysis("/x", records, "loss", "maximum"); }), HasSubstr("'maximum'"));
}

TEST(ExperimentAnalysisTest, LoadRejectsMissingOrEmptyDirs) {
  TempDir tmp;
  const fs::path missing = tmp.path() / "nope";
  EXPECT_THAT(error_of([&] { ExperimentAnalysis::load(missing); }), HasSubstr(missing.string()));
  EXPECT_THAT(error_of([&] { ExperimentAnalysis::load(tmp.path()); }), HasSubstr(tmp.path().string()));
  write_file(tmp.path() / "experiment_state.json", R"({"version": 3, "trials": []})");
  EXPECT_THAT(error_of([&] { ExperimentAnalysis::load(tmp.path()); }), HasSubstr("'version' must be 1 or 2"));
  write_file(tmp.path() / "experiment_state.json", R"({"version": 1, "trials": [{"trial_id": 3}]})");
  EXPECT_THAT(error_of([&] { ExperimentAnalysis::load(tmp.path()); }), HasSubstr("trial_id"));
  write_file(tmp.path() / "experiment_state.json", R"({"version": 1, "trials": {"t": {"trial_id": "t"}}})");
  EXPECT_THAT(error_of([&] { ExperimentAnalysis::load(tmp.path()); }), HasSubstr("'trials' must be an array"));
  write_file(tmp.path() / "experiment_state.json", R"({"version": 1, "trials": [)");
  EXPECT_THAT(error_of([&] { ExperimentAnalysis::load(tmp.path()); }), HasSubstr("not a JSON object"));
}

TEST(ExperimentAnalysisTest, DataframeColumnsAndCsv) {
  std::vector<TrialRecord> records;
  records.emplace_back("t0", "Train_t0", TrialStatus::kTerminated, Json{{"lr", 0.1}, {"opt", {{"name", "a,b"}}}},
                       Json{{"loss", 1.5}, {"trial_id", "t0"}, {"info", {{"note", "say \"hi\""}}}}, "/e/t0", "");
  records.emplace_back("t1", "Train_t1", TrialStatus::kError, Json{{"lr", 0.2}, {"seed", 7}},
                       Json{{"acc", 0.9}, {"done", true}, {"config", {{"lr", 0.2}}}}, fs::path(), "oops");
  records.emplace_back("t2", "Train_t2", TrialStatus::kPending, Json::object(), nullptr, fs::path(), "");
  const ExperimentAnalysis analysis("/e", std::move(records));

  const Table table = analysis.dataframe();
  EXPECT_THAT(table.columns, ElementsAre("trial_id", "name", "status", "logdir", "acc", "done", "info/note", "loss",
                                         "config/lr", "config/opt/name", "config/seed"));
  ASSERT_EQ(table.rows.size(), 3u);
  EXPECT_EQ(table.column("loss"), 7u);
  EXPECT_EQ(table.column("missing"), std::nullopt);
  EXPECT_EQ(table.rows[0][*table.column("loss")], 1.5);
  EXPECT_TRUE(table.rows[0][*table.column("acc")].is_null());
  EXPECT_EQ(table.rows[1][*table.column("config/seed")], 7);
  EXPECT_EQ(table.rows[1][*table.column("status")], "ERROR");
  EXPECT_TRUE(table.rows[2][*table.column("config/lr")].is_null());

  EXPECT_EQ(table.to_csv(),
            "trial_id,name,status,logdir,acc,done,info/note,loss,config/lr,config/opt/name,config/seed\n"
            "t0,Train_t0,TERMINATED,/e/t0,,,\"say \"\"hi\"\"\",1.5,0.1,\"a,b\",\n"
            "t1,Train_t1,ERROR,,0.9,true,,,0.2,,7\n"
            "t2,Train_t2,PENDING,,,,,,,,\n");

  Table small{{"a", "b\nc"}, {{Json("x\ny"), Json(kNaN)}, {Json::array({1, 2}), Json(false)}}};
  EXPECT_EQ(small.to_csv(), "a,\"b\nc\"\n\"x\ny\",nan\n\"[1,2]\",false\n");
}

TEST(ExperimentAnalysisTest, TrialDataframeReadsResults) {
  TempDir tmp;
  const FakeTrial trial = make_trial("ccccc_00000", {{"lr", 0.3}}, {3, 2});
  write_trial_dir(tmp.path(), trial);
  {
    std::ofstream out(tmp.path() / trial.dir_name() / "result.json", std::ios::app);
    out << R"({"training_iteration": 3, "extra": "new", "loss)";  // torn
  }
  const FakeTrial csv_only = make_trial("ccccc_00001", {{"lr", 0.4}}, {});
  write_file(tmp.path() / csv_only.dir_name() / "params.json", csv_only.config.dump());
  write_file(tmp.path() / csv_only.dir_name() / "progress.csv", "loss,note,done\n1.5,\"a,b\",false\n0.5,,true\n");
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(tmp.path());

  const Table table = analysis.trial_dataframe("ccccc_00000");
  EXPECT_THAT(table.columns, ElementsAre("done", "loss", "nested/acc", "score", "training_iteration", "trial_id"));
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0][1], 3);
  EXPECT_EQ(table.rows[1][1], 2);
  EXPECT_EQ(table.rows[1][0], true);
  EXPECT_EQ(table.rows[1][4], 2);

  // Without result.json the trial id falls back to the directory name.
  const Table from_csv = analysis.trial_dataframe(csv_only.dir_name());
  EXPECT_THAT(from_csv.columns, ElementsAre("loss", "note", "done"));
  ASSERT_EQ(from_csv.rows.size(), 2u);
  EXPECT_EQ(from_csv.rows[0][0], 1.5);
  EXPECT_EQ(from_csv.rows[0][1], "a,b");
  EXPECT_EQ(from_csv.rows[1][2], true);
  EXPECT_TRUE(from_csv.rows[1][1].is_null());

  EXPECT_THAT(error_of([&] { analysis.trial_dataframe("zzzzz_00009"); }), HasSubstr("'zzzzz_00009'"));
}

}  // namespace
}  // namespace tune
