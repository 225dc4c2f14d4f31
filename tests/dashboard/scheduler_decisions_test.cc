// The scheduler decisions the dashboard shows: ASHA's rungs and cut-offs from a real run, and PBT's
// exploits and HyperBand's brackets from the state a journal holds (also malformed).
#include "dashboard/scheduler_decisions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "analysis/state_records.h"
#include "dashboard/dashboard_api.h"
#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "tune/run.h"
#include "tune/scheduler.h"

namespace tune {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// A journal whose scheduler state is `state` (one finished trial t0, one running t1).
void write_with_scheduler_state(const fs::path& dir, const Json& state) {
  fs::create_directories(dir);
  std::ofstream journal(dir / "experiment_state.jsonl");
  journal << Json{{"e", "head"}, {"version", 2}, {"name", "s"}, {"metric", "loss"}, {"mode", "min"}}.dump() << "\n";
  journal << Json{{"e", "sched"}, {"s", state}}.dump() << "\n";
  for (int i = 0; i < 2; ++i)
    journal
        << Json{{"e", "add"}, {"i", i}, {"id", "t" + std::to_string(i)}, {"name", "T"}, {"config", {{"x", i}}}}.dump()
        << "\n";
}

TEST(SchedulerDecisionsTest, AshaShowsEachRungsCutoffAndTheTrialsStoppedThere) {
  TempDir root;
  RunOptions options = testing::quiet_options(root, "asha");
  options.config = Space{{"x", grid_search({1, 2, 3, 4, 5, 6, 7, 8})}};
  options.metric = "loss";
  options.mode = "min";
  options.local_mode = true;  // one trial at a time: the rungs fill in a fixed order
  AsyncHyperBandScheduler::Options asha;
  asha.max_t = 8;
  asha.grace_period = 1;
  asha.reduction_factor = 2;
  options.scheduler = std::make_shared<AsyncHyperBandScheduler>(asha);
  // The loss is x at every step: a larger x is worse from the first rung on.
  run(
      [](const Config& config, Reporter& reporter) {
        for (int i = 1; i <= 8; ++i) reporter.report({{"loss", config["x"].get<double>()}});
      },
      options);
  dashboard::DashboardApi api(root.path() / "asha");
  const Json decisions = api.experiment("asha")["scheduler"];
  ASSERT_EQ(decisions["type"], "asha") << decisions.dump();
  EXPECT_EQ(decisions["reduction_factor"], 2.0);
  const Json& rungs = decisions["brackets"][0]["rungs"];
  ASSERT_EQ(rungs.size(), 4u) << decisions.dump();
  for (size_t k = 0; k < 4; ++k) EXPECT_EQ(rungs[k]["milestone"], 1 << k);  // 1, 2, 4, 8: lowest first
  int64_t stopped = 0;
  for (const Json& rung : rungs) {
    stopped += rung["stopped"].get<int64_t>();
    if (rung["recorded"] == 0) continue;  // the rung at max_t: x=1 stopped there unrecorded
    ASSERT_TRUE(rung["cutoff"].is_number()) << rung.dump();
    // In the metric's units (min: a loss, x from 1 to 8), not ASHA's negated ones.
    EXPECT_GE(rung["cutoff"].get<double>(), 1.0);
    for (const Json& id : rung["stopped_trials"]) {
      const Json trial = api.trial("asha", id.get<std::string>());
      EXPECT_EQ(trial["status"], "TERMINATED") << id;
      EXPECT_EQ(trial["last_result"]["training_iteration"], rung["milestone"]) << id;
    }
  }
  // Every trial but x=1 is cut at the first rung; x=1 runs to max_t (ASHA counts that stop too).
  EXPECT_EQ(rungs[0]["stopped"], 7);
  EXPECT_EQ(stopped, 7);
  EXPECT_EQ(decisions["num_stopped"], 8);
}

TEST(SchedulerDecisionsTest, PbtListsEachExploitWithItsSourceCheckpointAndConfig) {
  TempDir root;
  const fs::path dir = root.path() / "pbt";
  write_with_scheduler_state(dir, {{"type", "pbt"}, {"num_perturbations", 2}});
  // t1 checkpoints at 2 and 4; t0 takes t1's config (and its checkpoint of 4), later t1 takes t0's.
  std::ofstream journal(dir / "experiment_state.jsonl", std::ios::app);
  for (int iteration : {2, 4})
    journal << detail::encode(detail::CheckpointRecord{1, {{"iteration", iteration}, {"dir", "c"}}, {}}).dump() << "\n";
  journal << detail::encode(detail::ConfigRecord{0, {{"x", 1.5}}, "0_x=1.5@perturbed", "t1"}).dump() << "\n";
  journal << detail::encode(detail::ConfigRecord{1, {{"x", 9}}, "1_x=9", ""}).dump() << "\n";  // no exploit
  journal << detail::encode(detail::ConfigRecord{1, {{"x", 2}}, "1_x=2@perturbed", "t0"}).dump() << "\n";
  journal.close();
  dashboard::DashboardApi api(dir);
  const Json decisions = api.experiment("pbt")["scheduler"];
  EXPECT_EQ(decisions["type"], "pbt");
  EXPECT_EQ(decisions["num_perturbations"], 2);
  ASSERT_EQ(decisions["exploits"].size(), 2u) << decisions.dump();
  const Json& first = decisions["exploits"][0];
  EXPECT_EQ(first["trial"], "t0");
  EXPECT_EQ(first["source"], "t1");
  EXPECT_EQ(first["source_iteration"], 4);
  EXPECT_EQ(first["config"], Json({{"x", 1.5}}));
  EXPECT_EQ(decisions["exploits"][1]["source"], "t0");
  EXPECT_TRUE(decisions["exploits"][1]["source_iteration"].is_null());  // t0 never checkpointed
}

TEST(SchedulerDecisionsTest, HyperBandListsItsBracketsAndAMalformedStateShowsNothing) {
  TempDir root;
  const Json bracket = {{"n", 9}, {"cumul_r", 3}, {"all", {"t0", "t1", 7}}, {"live", {{"t1", {}}}}};
  write_with_scheduler_state(root.path() / "hb", {{"type", "hyperband"}, {"num_stopped", 1}, {"bands", {{bracket}}}});
  dashboard::DashboardApi api(root.path() / "hb");
  const Json decisions = api.experiment("hb")["scheduler"];
  EXPECT_EQ(decisions["type"], "hyperband");
  const Json& b = decisions["bands"][0][0];
  EXPECT_EQ(b["size"], 9);
  EXPECT_EQ(b["milestone"], 3);
  EXPECT_EQ(b["live"], 1);
  EXPECT_EQ(b["trial_ids"], Json::parse(R"(["t0", "t1"])"));
  // Wrong types anywhere: no decisions, never an error.
  for (const Json& state :
       {Json{{"type", "asha"}, {"brackets", 3}}, Json{{"type", "asha"}, {"brackets", {{1, {{"recorded", 2}}}}}},
        Json{{"type", "hyperband"}, {"bands", {{"x"}}}}, Json{{"type", "pbt"}, {"exploits", "x"}}, Json("asha")}) {
    TempDir other;
    write_with_scheduler_state(other.path() / "bad", state);
    dashboard::DashboardApi bad(other.path() / "bad");
    const Json shown = bad.experiment("bad")["scheduler"];
    EXPECT_TRUE(shown.is_null() || shown.is_object()) << state.dump();
  }
}

}  // namespace
}  // namespace tune
