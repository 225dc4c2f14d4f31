// Every scheduler driven by scripted result sequences: each decision is asserted
// (ray-tune-semantics.md §5). End-to-end runs are in scheduler_run_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "support/scheduler_trials.h"
#include "tune/error.h"
#include "tune/scheduler.h"

namespace tune {
namespace {

using ::testing::HasSubstr;

using testing::Trials;

std::vector<std::string> stopped_by(TrialScheduler& scheduler) {
  std::vector<std::string> out;
  for (const SchedulerAction& a : scheduler.take_actions()) {
    if (a.kind == SchedulerAction::Kind::kStop) out.push_back(a.trial_id);
  }
  return out;
}

constexpr Decision kC = Decision::kContinue;
constexpr Decision kP = Decision::kPause;
constexpr Decision kS = Decision::kStop;

// ---- ASHA ----

AsyncHyperBandScheduler::Options asha_options(double max_t, double grace, double rf, int brackets = 1) {
  AsyncHyperBandScheduler::Options o;
  o.metric = "acc";
  o.mode = "max";
  o.max_t = max_t;
  o.grace_period = grace;
  o.reduction_factor = rf;
  o.brackets = brackets;
  return o;
}

TEST(AshaTest, RungsAreGraceTimesPowersOfTheReductionFactorHighestFirst) {
  AsyncHyperBandScheduler asha(asha_options(100, 1, 4, 2));
  ASSERT_EQ(asha.brackets().size(), 2u);
  std::vector<double> milestones;
  for (const auto& rung : asha.brackets()[0]) milestones.push_back(rung.milestone);
  EXPECT_EQ(milestones, (std::vector<double>{64, 16, 4, 1}));
  milestones.clear();
  for (const auto& rung : asha.brackets()[1]) milestones.push_back(rung.milestone);
  EXPECT_EQ(milestones, (std::vector<double>{64, 16, 4}));  // s = 1 starts one rung up
}

TEST(AshaTest, StopsBelowTheRungCutoffAndAtMaxT) {
  AsyncHyperBandScheduler asha(asha_options(8, 1, 2));  // rungs 8, 4, 2, 1; cutoff = 50th percentile
  Trials t;
  for (const char* id : {"a", "b", "c", "d"}) t.add(asha, id);
  EXPECT_EQ(t.report(asha, "a", 1, 1.0), kC);  // first at rung 1: nothing to compare with
  EXPECT_EQ(t.report(asha, "b", 1, 0.5), kS);  // cutoff = 50th percentile of {1} = 1
  EXPECT_EQ(t.report(asha, "c", 1, 2.0), kC);  // cutoff of {1, 0.5} = 0.75
  EXPECT_EQ(t.report(asha, "d", 1, 0.8), kS);  // cutoff of {1, 0.5, 2} = 1
  EXPECT_EQ(t.report(asha, "a", 2, 1.0), kC);  // rung 2 is empty
  EXPECT_EQ(t.report(asha, "a", 3, 0.0), kC);  // between rungs: nothing to check
  EXPECT_EQ(t.report(asha, "c", 2, 0.9), kS);  // below a's 1.0 at rung 2
  EXPECT_EQ(t.report(asha, "a", 8, 1.0), kS);  // max_t
  EXPECT_THAT(asha.debug_string(), HasSubstr("Using AsyncHyperBand: num_stopped="));
  EXPECT_THAT(asha.debug_string(), HasSubstr("Iter 1: 4 trials"));
}

TEST(AshaTest, MinModeNegatesAndTheCutoffInterpolates) {
  AsyncHyperBandScheduler::Options o = asha_options(100, 1, 4);
  o.mode = "min";
  o.metric = "loss";
  AsyncHyperBandScheduler asha(o);
  Trials t;
  for (const char* id : {"a", "b", "c", "d", "e"}) t.add(asha, id);
  // Values recorded: -1, -2, -3, -4 (op * loss). 75th percentile of them = -1.75.
  EXPECT_EQ(t.report(asha, "a", 1, 1, "loss"), kC);
  EXPECT_EQ(t.report(asha, "b", 1, 2, "loss"), kS);   // -2 < -1
  EXPECT_EQ(t.report(asha, "c", 1, 3, "loss"), kS);   // cutoff of {-1,-2} = -1.25
  EXPECT_EQ(t.report(asha, "d", 1, 1.5, "loss"), kC);  // cutoff of {-1,-2,-3} = -1.5: not strictly below
}

TEST(AshaTest, StateSurvivesSaveAndRestore) {
  AsyncHyperBandScheduler first(asha_options(100, 1, 4));
  Trials t;
  t.add(first, "a");
  t.add(first, "b");
  EXPECT_EQ(t.report(first, "a", 1, 5.0), kC);
  const Json state = first.save();
  AsyncHyperBandScheduler second(asha_options(100, 1, 4));
  second.restore(state);
  EXPECT_EQ(second.save(), state);
  t.add(second, "b");  // re-added on resume: keeps its bracket
  EXPECT_EQ(t.report(second, "b", 1, 4.0), kS);  // a's 5.0 survived the restore
  EXPECT_THAT(second.debug_string(), HasSubstr("num_stopped=1"));
}

TEST(AshaTest, MisuseNamesTheField) {
  EXPECT_THAT([] { AsyncHyperBandScheduler s(asha_options(100, 0, 4)); }, ::testing::Throws<TuneError>());
  try {
    AsyncHyperBandScheduler s(asha_options(100, 1, 1));
    FAIL();
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("reduction_factor: must be > 1"));
  }
  try {
    AsyncHyperBandScheduler s(asha_options(10, 20, 4));
    FAIL();
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("grace_period: must be <= max_t"));
  }
  AsyncHyperBandScheduler::Options o;
  AsyncHyperBandScheduler no_metric(o);
  EXPECT_THROW(no_metric.set_search_properties("", ""), TuneError);
  EXPECT_NO_THROW(no_metric.set_search_properties("acc", "max"));
}

// ---- MedianStoppingRule ----

MedianStoppingRule::Options median_options(double grace, int min_samples, bool hard_stop = true) {
  MedianStoppingRule::Options o;
  o.time_attr = "training_iteration";
  o.metric = "acc";
  o.mode = "max";
  o.grace_period = grace;
  o.min_samples_required = min_samples;
  o.hard_stop = hard_stop;
  return o;
}

TEST(MedianStoppingRuleTest, StopsWhenTheBestIsBelowTheMedianOfRunningMeans) {
  MedianStoppingRule rule(median_options(2, 2));
  Trials t;
  for (const char* id : {"a", "b", "c"}) t.add(rule, id);
  for (const char* id : {"a", "b", "c"}) {
    std::vector<TrialView> one = {t.view(id)};
    rule.choose_trial_to_run(one);  // everyone runs: nobody waits
  }
  EXPECT_EQ(t.report(rule, "a", 1, 1.0), kC);  // within the grace period
  EXPECT_EQ(t.report(rule, "a", 2, 3.0), kC);  // too few samples, nobody waiting: runs on
  EXPECT_EQ(t.report(rule, "a", 3, 5.0), kC);  // a: means over [2, t] = 3, 4
  EXPECT_EQ(t.report(rule, "b", 1, 9.0), kC);
  EXPECT_EQ(t.report(rule, "b", 2, 1.0), kC);  // only a got to 2: one sample
  EXPECT_EQ(t.report(rule, "b", 3, 2.0), kC);
  // c at 2: a's mean over [2,2] = 3, b's = 1, median 2; c's best 2 is not strictly worse.
  EXPECT_EQ(t.report(rule, "c", 1, 0.0), kC);
  EXPECT_EQ(t.report(rule, "c", 2, 2.0), kC);
  // c at 3: means over [2,3]: a 4, b 1.5 -> median 2.75 > best 2: stop.
  EXPECT_EQ(t.report(rule, "c", 3, 1.0), kS);
  EXPECT_EQ(rule.debug_string(), "Using MedianStoppingRule: num_stopped=1.");
}

TEST(MedianStoppingRuleTest, SoftStopPausesAndTooFewSamplesYieldToWaitingTrials) {
  MedianStoppingRule rule(median_options(1, 1, /*hard_stop=*/false));
  Trials t;
  t.add(rule, "a");
  t.add(rule, "b");
  std::vector<TrialView> first = {t.view("a")};
  rule.choose_trial_to_run(first);
  EXPECT_EQ(t.report(rule, "a", 1, 1.0), kP);  // no sample yet and b waits: yield
  std::vector<TrialView> second = {t.view("a"), t.view("b")};
  ASSERT_EQ(rule.choose_trial_to_run(second), 1u);  // b (PENDING) before a (PAUSED)
  EXPECT_EQ(t.report(rule, "b", 1, 0.5), kP);  // below a's 1.0: soft stop = PAUSE
  EXPECT_EQ(t.report(rule, "b", 2, 0.1), kC);  // soft-stopped and resumed: runs FIFO from here
  // Restore keeps the stopped set and the histories.
  MedianStoppingRule again(median_options(1, 1, false));
  again.restore(rule.save());
  EXPECT_EQ(again.save(), rule.save());
  EXPECT_EQ(again.debug_string(), "Using MedianStoppingRule: num_stopped=1.");
}

TEST(MedianStoppingRuleTest, ATrialRestoredFromACheckpointReplacesWhatItReportedPastIt) {
  MedianStoppingRule rule(median_options(1, 5));
  Trials t;
  t.add(rule, "a");
  std::vector<TrialView> one = {t.view("a")};
  rule.choose_trial_to_run(one);
  for (int it = 1; it <= 4; ++it) t.report(rule, "a", it, 1.0 * it);
  // Failed after 4, restored from its checkpoint at 2: it reports 3 and 4 again, differently.
  t.report(rule, "a", 3, 10.0);
  t.report(rule, "a", 4, 20.0);
  const Json points = rule.save()["results"]["a"];
  ASSERT_EQ(points.size(), 4u) << points.dump();
  EXPECT_EQ(points[2], Json::array({3.0, 10.0}));
  EXPECT_EQ(points[3], Json::array({4.0, 20.0}));
  // And the change journaled for the replay is the state itself.
  MedianStoppingRule replayed(median_options(1, 5));
  replayed.restore(Json{{"type", "median_stopping_rule"}, {"results", Json::object()}});
  Json state = replayed.save();
  apply_state_changes(state, rule.take_state_changes());
  EXPECT_EQ(state["results"], rule.save()["results"]);
}

// ---- HyperBand ----

HyperBandScheduler::Options hb_options(double max_t, double rf) {
  HyperBandScheduler::Options o;
  o.metric = "acc";
  o.mode = "max";
  o.max_t = max_t;
  o.reduction_factor = rf;
  return o;
}

TEST(HyperBandTest, FirstBracketRunsToMaxTThenEverythingInItStops) {
  HyperBandScheduler hb(hb_options(9, 3));  // s_max+1 = 3; bracket s=0: n0 = 3, r0 = 9
  Trials t;
  for (const char* id : {"a", "b", "c"}) t.add(hb, id);
  ASSERT_EQ(hb.bands().at(0).size(), 1u);
  EXPECT_EQ(hb.bands()[0][0].n0, 3);
  EXPECT_EQ(hb.bands()[0][0].r0, 9);
  EXPECT_EQ(t.report(hb, "a", 8, 1), kC);
  EXPECT_EQ(t.report(hb, "a", 9, 1), kP);  // at the milestone, others not yet
  EXPECT_EQ(t.report(hb, "b", 9, 2), kP);
  EXPECT_EQ(t.report(hb, "c", 9, 3), kS);  // the last one: the bracket is finished
  EXPECT_EQ(stopped_by(hb), (std::vector<std::string>{"a", "b"}));
}

TEST(HyperBandTest, SuccessiveHalvingKeepsTheTopAndStopsPausedLosers) {
  HyperBandScheduler hb(hb_options(9, 3));
  Trials t;
  for (const char* id : {"x1", "x2", "x3"}) t.add(hb, id);  // fill bracket s=0
  for (const char* id : {"a", "b", "c", "d", "e"}) t.add(hb, id);  // bracket s=1: n0 = 5, r0 = 3
  const auto& bracket = hb.bands()[0][1];
  EXPECT_EQ(bracket.n0, 5);
  EXPECT_EQ(bracket.r0, 3);
  // Brackets least complete first: the new bracket and the first are both at 0%.
  EXPECT_EQ(t.report(hb, "a", 3, 5), kP);
  EXPECT_EQ(t.report(hb, "b", 3, 1), kP);
  EXPECT_EQ(t.report(hb, "c", 3, 4), kP);
  EXPECT_EQ(t.report(hb, "d", 3, 2), kP);
  // e completes the rung: n = ceil(5/3) = 2 keep, r = min(9, 9-3) = 6. e (3) loses to a, c.
  EXPECT_EQ(t.report(hb, "e", 3, 3), kS);
  EXPECT_EQ(stopped_by(hb), (std::vector<std::string>{"d", "b"}));
  EXPECT_EQ(hb.bands()[0][1].cumul_r, 6);
  // The winners a and c are PAUSED; choose_trial_to_run now resumes them (not the losers).
  for (const char* id : {"a", "c"}) t.at(id).status = TrialStatus::kPaused;
  std::vector<TrialView> candidates = {t.view("a"), t.view("c")};
  const auto chosen = hb.choose_trial_to_run(candidates);
  ASSERT_TRUE(chosen.has_value());
  EXPECT_EQ(candidates[*chosen].trial_id(), "a");
  EXPECT_EQ(t.report(hb, "a", 6, 5), kP);
  // c finishes the last rung (s = 0): the bracket is finished and stops a too.
  EXPECT_EQ(t.report(hb, "c", 6, 4), kS);
  EXPECT_EQ(stopped_by(hb), (std::vector<std::string>{"a"}));
  EXPECT_THAT(hb.debug_string(), HasSubstr("Using HyperBand: num_stopped=3 total_brackets=2"));
}

TEST(HyperBandTest, StateSurvivesSaveAndRestore) {
  HyperBandScheduler hb(hb_options(9, 3));
  Trials t;
  for (const char* id : {"a", "b", "c", "d"}) t.add(hb, id);
  EXPECT_EQ(t.report(hb, "a", 9, 1), kP);
  HyperBandScheduler again(hb_options(9, 3));
  again.restore(hb.save());
  EXPECT_EQ(again.save(), hb.save());
  t.add(again, "b");  // re-added on resume: no new bracket
  EXPECT_EQ(again.bands()[0].size(), 2u);
  EXPECT_EQ(t.report(again, "b", 9, 2), kP);
  EXPECT_EQ(t.report(again, "c", 9, 3), kS);
  EXPECT_EQ(stopped_by(again), (std::vector<std::string>{"a", "b"}));
}

TEST(HyperBandForBohbTest, LargestBracketFirstAndAPausedBracketIsHalvedWhenNothingElseRuns) {
  HyperBandForBOHB bohb(hb_options(9, 3));  // first bracket s = 2: n0 = 9, r0 = 1
  Trials t;
  for (const char* id : {"a", "b", "c"}) t.add(bohb, id);  // the searcher gives only three
  EXPECT_EQ(bohb.bands()[0][0].s, 2);
  EXPECT_EQ(bohb.bands()[0][0].n0, 9);
  EXPECT_EQ(t.report(bohb, "a", 1, 1), kP);
  EXPECT_EQ(t.report(bohb, "b", 1, 3), kP);
  // c is last: the rung is done: n = 3 keep... all three continue to r = 3.
  EXPECT_EQ(t.report(bohb, "c", 1, 2), kC);
  std::vector<TrialView> paused = {t.view("a"), t.view("b")};
  ASSERT_TRUE(bohb.choose_trial_to_run(paused).has_value());
  EXPECT_THAT(bohb.debug_string(), HasSubstr("Using HyperBandForBOHB: num_stopped=0"));
}

// ---- PBT ----

PopulationBasedTraining::Options pbt_options() {
  PopulationBasedTraining::Options o;
  o.time_attr = "training_iteration";
  o.metric = "acc";
  o.mode = "max";
  o.perturbation_interval = 2;
  o.quantile_fraction = 0.25;
  o.resample_probability = 0;
  o.hyperparam_mutations["lr"].domain = uniform(0.0, 1.0);
  o.hyperparam_mutations["batch"].values = {Json(16), Json(32), Json(64)};
  o.log_config = false;
  return o;
}

TEST(PbtTest, BottomTrialClonesATopTrialAndExplores) {
  PopulationBasedTraining pbt(pbt_options());
  Trials t;
  for (int k = 0; k < 4; ++k) t.add(pbt, std::string(1, static_cast<char>('a' + k)), Json{{"lr", 0.5}, {"batch", 32}});
  std::vector<TrialView> all = {t.view("a"), t.view("b"), t.view("c"), t.view("d")};
  for (int k = 0; k < 4; ++k) {
    std::vector<TrialView> rest(all.begin() + k, all.end());
    pbt.choose_trial_to_run(rest);  // all four run
  }
  EXPECT_EQ(t.report(pbt, "a", 1, 1), kC);  // before the interval
  EXPECT_EQ(t.report(pbt, "a", 2, 1), kC);  // alone with a score: no quantiles
  EXPECT_TRUE(pbt.take_actions().empty());
  EXPECT_EQ(t.report(pbt, "b", 2, 2), kC);  // top of {a, b}: checkpointed
  auto actions = pbt.take_actions();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, SchedulerAction::Kind::kCheckpoint);
  EXPECT_EQ(actions[0].trial_id, "b");
  EXPECT_EQ(t.report(pbt, "c", 2, 3), kC);
  EXPECT_EQ(t.report(pbt, "d", 2, 4), kC);
  pbt.take_actions();
  // a at 4 is the bottom quarter: it clones d (the top quarter) with an explored config.
  EXPECT_EQ(t.report(pbt, "a", 4, 0.5), kP);
  actions = pbt.take_actions();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].kind, SchedulerAction::Kind::kExploit);
  EXPECT_EQ(actions[0].trial_id, "a");
  EXPECT_EQ(actions[0].source_trial_id, "d");
  const double lr = actions[0].config["lr"].get<double>();
  EXPECT_TRUE(std::abs(lr - 0.6) < 1e-9 || std::abs(lr - 0.4) < 1e-9) << lr;  // x1.2 or x0.8
  const int batch = actions[0].config["batch"].get<int>();
  EXPECT_TRUE(batch == 16 || batch == 64) << batch;  // a neighbouring list value
  EXPECT_THAT(actions[0].experiment_tag, HasSubstr("@perturbed[batch="));
  EXPECT_THAT(pbt.debug_string(), HasSubstr("1 perturbs; last: a <- d"));
  // Restore: the same state, and the restarted trial is chosen first (furthest behind).
  PopulationBasedTraining again(pbt_options());
  again.restore(pbt.save());
  EXPECT_EQ(again.save(), pbt.save());
}

TEST(PbtTest, ExploreResamplesAndKeepsIntsInts) {
  PopulationBasedTraining::Options o = pbt_options();
  o.resample_probability = 1;
  o.hyperparam_mutations["n"].sample = [](std::mt19937_64&) { return Json(7); };
  PopulationBasedTraining pbt(o);
  const Config out = pbt.explore(Json{{"lr", 2.0}, {"batch", 128}, {"n", 3}});
  EXPECT_LT(out["lr"].get<double>(), 1.0);
  EXPECT_NE(out["batch"], 128);
  EXPECT_EQ(out["n"], 7);
  PopulationBasedTraining::Options ints = pbt_options();
  ints.hyperparam_mutations.erase("batch");
  ints.hyperparam_mutations["lr"] = {};
  ints.hyperparam_mutations["lr"].sample = [](std::mt19937_64&) { return Json(1); };
  PopulationBasedTraining p2(ints);
  const Json v = p2.explore(Json{{"lr", 10}})["lr"];
  EXPECT_TRUE(v.is_number_integer());
  EXPECT_TRUE(v == 12 || v == 8) << v;
}

// ---- make_scheduler ----

TEST(MakeSchedulerTest, BuildsEachTypeAndNamesTheBadKey) {
  EXPECT_NE(dynamic_cast<FIFOScheduler*>(make_scheduler("fifo").get()), nullptr);
  EXPECT_NE(dynamic_cast<AsyncHyperBandScheduler*>(make_scheduler(Json{{"type", "asha"}, {"max_t", 27}}).get()),
            nullptr);
  EXPECT_NE(dynamic_cast<HyperBandForBOHB*>(make_scheduler(Json{{"type", "hb_bohb"}}).get()), nullptr);
  EXPECT_NE(dynamic_cast<MedianStoppingRule*>(make_scheduler(Json{{"type", "median_stopping_rule"}}).get()), nullptr);
  EXPECT_NE(dynamic_cast<PopulationBasedTraining*>(
                make_scheduler(Json{{"type", "pbt"},
                                    {"hyperparam_mutations", {{"lr", {{"uniform", {0.0, 1.0}}}}, {"b", {1, 2}}}}})
                    .get()),
            nullptr);
  auto error = [](const Json& spec) {
    try {
      make_scheduler(spec);
    } catch (const TuneError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error(Json{{"type", "asha"}, {"grace_periods", 1}}),
              HasSubstr("scheduler/grace_periods: unknown key (did you mean 'grace_period'?)"));
  EXPECT_THAT(error(Json{{"type", "asha"}, {"grace_period", 0}}), HasSubstr("scheduler/grace_period: must be > 0"));
  EXPECT_THAT(error(Json{{"type", "hyperband"}, {"max_t", "x"}}), HasSubstr("scheduler/max_t: must be a number"));
  EXPECT_THAT(error(Json{{"type", "pbt"}}), HasSubstr("scheduler/hyperparam_mutations"));
  EXPECT_THAT(error(Json{{"type", "pbt"}, {"hyperparam_mutations", {{"lr", {{"grid_search", {1, 2}}}}}}}),
              HasSubstr("scheduler/hyperparam_mutations/lr"));
}

}  // namespace
}  // namespace tune
