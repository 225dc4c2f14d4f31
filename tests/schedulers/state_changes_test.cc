// Incremental journaling of scheduler states: after every callback, the changes a scheduler
// reports, applied to the state saved before, give exactly its save() now — for every
// built-in scheduler, driven through random sequences of adds, results, ends, errors and
// choices. A fresh scheduler restored from the replayed state saves the same state again.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <random>

#include "schedulers/scheduler_util.h"
#include "support/scheduler_trials.h"
#include "tune/error.h"
#include "tune/scheduler.h"

namespace tune {
namespace {

using testing::Trials;

struct Case {
  std::string name;
  std::function<std::unique_ptr<TrialScheduler>()> make;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  out.push_back({"fifo", [] { return std::make_unique<FIFOScheduler>(); }});
  out.push_back({"asha", [] {
                   AsyncHyperBandScheduler::Options o;
                   o.metric = "acc";
                   o.mode = "max";
                   o.max_t = 27;
                   o.grace_period = 1;
                   o.reduction_factor = 3;
                   o.brackets = 2;  // the rng picks brackets: its state changes too
                   o.seed = 3;
                   return std::make_unique<AsyncHyperBandScheduler>(o);
                 }});
  for (const bool bohb : {false, true}) {
    out.push_back({bohb ? "hb_bohb" : "hyperband", [bohb]() -> std::unique_ptr<TrialScheduler> {
                     HyperBandScheduler::Options o;
                     o.metric = "acc";
                     o.mode = "max";
                     o.max_t = 9;
                     o.reduction_factor = 3;
                     if (bohb) return std::make_unique<HyperBandForBOHB>(o);
                     return std::make_unique<HyperBandScheduler>(o);
                   }});
  }
  for (const bool hard : {true, false}) {
    out.push_back({hard ? "median" : "median_soft", [hard] {
                     MedianStoppingRule::Options o;
                     o.metric = "acc";
                     o.mode = "max";
                     o.time_attr = "training_iteration";
                     o.grace_period = 2;
                     o.min_samples_required = 2;
                     o.hard_stop = hard;
                     return std::make_unique<MedianStoppingRule>(o);
                   }});
  }
  out.push_back({"pbt", [] {
                   PopulationBasedTraining::Options o;
                   o.metric = "acc";
                   o.mode = "max";
                   o.time_attr = "training_iteration";
                   o.perturbation_interval = 2;
                   o.quantile_fraction = 0.5;
                   o.hyperparam_mutations["lr"].values = {0.001, 0.01, 0.1};
                   o.log_config = false;
                   o.seed = 5;
                   return std::make_unique<PopulationBasedTraining>(o);
                 }});
  return out;
}

class StateChangesTest : public ::testing::TestWithParam<size_t> {};

TEST_P(StateChangesTest, ChangesReplayedOntoTheLastStateGiveTheStateNow) {
  const Case c = cases()[GetParam()];
  for (uint64_t seed = 0; seed < 8; ++seed) {
    SCOPED_TRACE(c.name + " seed " + std::to_string(seed));
    std::unique_ptr<TrialScheduler> scheduler = c.make();
    ASSERT_TRUE(scheduler->tracks_state_changes());
    scheduler->take_state_changes();
    Json mirror = scheduler->save();
    auto check = [&](const char* after) {
      // Through the journal's form, as resume reads it.
      const Json record = state_changes_to_json(scheduler->take_state_changes());
      apply_state_changes(mirror, state_changes_from_json(record));
      ASSERT_EQ(mirror, scheduler->save()) << "after " << after;
    };
    Trials trials;
    std::mt19937_64 rng(seed);
    std::map<std::string, int64_t> time;
    std::set<std::string> ended;
    int added = 0;
    for (int step = 0; step < 300; ++step) {
      const auto ids = trials.ids();
      std::vector<std::string> live;
      for (const auto& id : ids) {
        if (!ended.count(id)) live.push_back(id);
      }
      const int what = std::uniform_int_distribution<int>(0, 9)(rng);
      if (live.empty() || (what == 0 && added < 16)) {
        const std::string id = "t" + std::to_string(added++);
        trials.add(*scheduler, id, Json{{"lr", 0.01}});
        check("add");
        continue;
      }
      const std::string id = live[std::uniform_int_distribution<size_t>(0, live.size() - 1)(rng)];
      detail::Trial& trial = trials.at(id);
      if (what == 1) {  // ends by itself
        scheduler->on_trial_complete(trials.view(id), trial.last_result ? *trial.last_result : Result());
        trial.status = TrialStatus::kTerminated;
        ended.insert(id);
        check("complete");
      } else if (what == 2) {
        scheduler->on_trial_error(trials.view(id));
        trial.status = TrialStatus::kError;
        ended.insert(id);
        check("error");
      } else if (what <= 4) {  // the runner picks what runs next
        std::vector<TrialView> candidates;
        for (const auto& other : live) {
          const TrialStatus status = trials.at(other).status;
          if (status == TrialStatus::kPending || status == TrialStatus::kPaused) candidates.push_back(trials.view(other));
        }
        if (auto chosen = scheduler->choose_trial_to_run(candidates)) {
          trials.at(candidates[*chosen].trial_id()).status = TrialStatus::kRunning;
        }
        check("choose");
      } else if (trial.status == TrialStatus::kRunning || trial.status == TrialStatus::kPending) {
        const double value = std::uniform_real_distribution<double>(0, 1)(rng);
        if (trials.report(*scheduler, id, ++time[id], value) == Decision::kStop) ended.insert(id);
        check("result");
      }
      for (const SchedulerAction& action : scheduler->take_actions()) {
        if (action.kind != SchedulerAction::Kind::kStop) continue;
        trials.at(action.trial_id).status = TrialStatus::kTerminated;
        ended.insert(action.trial_id);
      }
      check("actions");
    }
    // The replayed state restores a scheduler that saves the same state.
    std::unique_ptr<TrialScheduler> again = c.make();
    again->restore(mirror);
    EXPECT_EQ(again->save(), scheduler->save());
  }
}

INSTANTIATE_TEST_SUITE_P(Schedulers, StateChangesTest, ::testing::Range<size_t>(0, cases().size()),
                         [](const ::testing::TestParamInfo<size_t>& param) { return cases()[param.param].name; });

TEST(StateChangesTest, OpsApplyAndMalformedChangesAreNamed) {
  Json state = {{"a", {{"b", 1}}}, {"list", {1}}, {"set", {"a", "c"}}};
  apply_state_changes(state, {{StateChange::Op::kSet, Json::array({"a", "c", "d"}), 2},
                              {StateChange::Op::kErase, Json::array({"a", "b"}), nullptr},
                              {StateChange::Op::kAppend, Json::array({"list"}), 2},
                              {StateChange::Op::kAppend, Json::array({"new"}), "x"},
                              {StateChange::Op::kInsert, Json::array({"set"}), "b"},
                              {StateChange::Op::kInsert, Json::array({"set"}), "a"},
                              {StateChange::Op::kRemove, Json::array({"set"}), "c"},
                              {StateChange::Op::kSet, Json::array({"list", 0}), 5}});
  EXPECT_EQ(state, (Json{{"a", {{"c", {{"d", 2}}}}}, {"list", {5, 2}}, {"new", {"x"}}, {"set", {"a", "b"}}}));
  EXPECT_THROW(apply_state_changes(state, {{StateChange::Op::kSet, Json::array({"list", 7}), 1}}), TuneError);
  EXPECT_THROW(apply_state_changes(state, {{StateChange::Op::kAppend, Json::array({"a"}), 1}}), TuneError);
  EXPECT_THROW(state_changes_from_json(Json::array({Json::array({"grow", Json::array()})})), TuneError);
  EXPECT_THROW(state_changes_from_json(Json(3)), TuneError);
}

// The runner journals a searcher's state as the diff of its save()s: applied to the state
// before, the diff gives the state after, and a history that grew costs its new entries only.
TEST(StateChangesTest, DiffOfTwoStatesReplaysToTheSecond) {
  const Json before = {{"seed", 7}, {"suggested", 3}, {"observations", {{{"u", {0.1}}, {"loss", 1.0}}}},
                       {"pending", {{"t1", {0.5}}}}, {"gone", true}, {"nested", {{"a", {1, 2}}, {"b", "x"}}}};
  const Json after = {{"seed", 7}, {"suggested", 4},
                      {"observations", {{{"u", {0.1}}, {"loss", 1.0}}, {{"u", {0.7}}, {"loss", 0.5}}}},
                      {"pending", Json::object()}, {"nested", {{"a", {2}}, {"b", "x"}, {"c", nullptr}}}};
  const std::vector<StateChange> changes = detail::diff_states(before, after);
  Json replayed = before;
  apply_state_changes(replayed, state_changes_from_json(state_changes_to_json(changes)));
  EXPECT_EQ(replayed, after);
  // What is unchanged is not in it; the grown history is one append of its new entry.
  const std::string journaled = state_changes_to_json(changes).dump();
  EXPECT_EQ(journaled.find("\"seed\""), std::string::npos) << journaled;
  EXPECT_EQ(journaled.find("0.1"), std::string::npos) << journaled;
  EXPECT_NE(journaled.find(R"(["append",["observations"])"), std::string::npos) << journaled;
  EXPECT_TRUE(detail::diff_states(after, after).empty());
  // Not objects on both sides: set whole.
  EXPECT_EQ(state_changes_to_json(detail::diff_states(Json(1), Json::array({1}))),
            Json::parse(R"([["set",[],[1]]])"));
}

}  // namespace
}  // namespace tune
