// Tests for the built-in stoppers and StopSpec: scripted result sequences, validation, a fake clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "tune/error.h"
#include "tune/stopper.h"

namespace tune {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Runs `fn` and returns the TuneError message (fails the test if nothing is thrown).
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const TuneError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a TuneError";
  return "";
}

// Feeds `values` of `metric` to `stopper` for `trial`; returns each decision.
std::vector<bool> feed(Stopper& stopper, const std::string& trial, const std::string& metric,
                       const std::vector<double>& values) {
  std::vector<bool> decisions;
  for (double v : values) decisions.push_back(stopper(trial, Json{{metric, v}}));
  return decisions;
}

// ----- DictStopper ----------------------------------------------------------------------------

TEST(DictStopperTest, StopsWhenAnyKeyReachesItsThreshold) {
  DictStopper stopper({{"training_iteration", 10}, {"mean_accuracy", 0.98}});
  EXPECT_FALSE(stopper("t1", Json{{"training_iteration", 1}, {"mean_accuracy", 0.5}}));
  EXPECT_FALSE(stopper("t1", Json{{"training_iteration", 9}, {"mean_accuracy", 0.979}}));
  EXPECT_TRUE(stopper("t1", Json{{"training_iteration", 9}, {"mean_accuracy", 0.98}}));  // equal counts
  EXPECT_TRUE(stopper("t1", Json{{"training_iteration", 10}, {"mean_accuracy", 0.1}}));
  EXPECT_TRUE(stopper("t1", Json{{"training_iteration", 11}, {"mean_accuracy", 0.1}}));
}

TEST(DictStopperTest, DoneStopsEvenBelowThresholds) {
  DictStopper stopper({{"training_iteration", 10}});
  EXPECT_TRUE(stopper("t1", Json{{"training_iteration", 1}, {"done", true}}));
  EXPECT_FALSE(stopper("t1", Json{{"training_iteration", 1}, {"done", false}}));
}

TEST(DictStopperTest, DoneStopsEvenWhenCriteriaKeysAreMissing) {
  DictStopper stopper({{"mean_accuracy", 0.9}});
  EXPECT_TRUE(stopper("t1", Json{{"done", true}}));
}

TEST(DictStopperTest, EmptyCriteriaStopsOnlyOnDone) {
  DictStopper stopper(Json::object());
  EXPECT_FALSE(stopper("t1", Json{{"x", 1e9}}));
  EXPECT_TRUE(stopper("t1", Json{{"done", true}}));
}

TEST(DictStopperTest, NestedCriteriaAreFlattenedAtConstruction) {
  DictStopper stopper(Json{{"info", {{"loss", 5}, {"steps", 100}}}, {"it", 3}});
  EXPECT_EQ(stopper.criteria(), (Json{{"info/loss", 5}, {"info/steps", 100}, {"it", 3}}));
}

TEST(DictStopperTest, SlashKeyFindsNestedAndLiteralResultKeys) {
  DictStopper stopper({{"info/loss", 5}});
  EXPECT_FALSE(stopper("t1", Json{{"info", {{"loss", 4}}}}));
  EXPECT_TRUE(stopper("t1", Json{{"info", {{"loss", 5}}}}));
  EXPECT_FALSE(stopper("t1", Json{{"info/loss", 4.5}}));
  EXPECT_TRUE(stopper("t1", Json{{"info/loss", 6}}));
}

TEST(DictStopperTest, NestedCriteriaMatchNestedResults) {
  DictStopper stopper(Json{{"info", {{"loss", 5}}}});
  EXPECT_FALSE(stopper("t1", Json{{"info", {{"loss", 1}}}}));
  EXPECT_TRUE(stopper("t1", Json{{"info", {{"loss", 7}}}}));
}

TEST(DictStopperTest, BoolThresholdAndValueCountAsZeroOne) {
  DictStopper stopper({{"converged", true}});
  EXPECT_FALSE(stopper("t1", Json{{"converged", false}}));
  EXPECT_TRUE(stopper("t1", Json{{"converged", true}}));
}

TEST(DictStopperTest, NaNNeverTriggers) {
  DictStopper stopper({{"loss", -1e300}});
  EXPECT_FALSE(stopper("t1", Json{{"loss", kNaN}}));
  EXPECT_FALSE(stopper("t1", Json{{"loss", nullptr}}));  // NaN written to JSON reads back as null
  EXPECT_TRUE(stopper("t1", Json{{"loss", 0}}));
}

TEST(DictStopperTest, MissingKeyNamesItAndListsTheResultKeys) {
  DictStopper stopper({{"mean_acc", 0.9}});
  const std::string msg =
      error_of([&] { stopper("t1", Json{{"mean_accuracy", 0.5}, {"info", {{"steps", 3}}}}); });
  EXPECT_THAT(msg, AllOf(HasSubstr("stop: the result has no key 'mean_acc'"), HasSubstr("it has:"),
                         HasSubstr("mean_accuracy"), HasSubstr("info/steps")));
}

TEST(DictStopperTest, NonNumericResultValueIsAnError) {
  DictStopper stopper({{"status", 1}});
  EXPECT_THAT(error_of([&] { stopper("t1", Json{{"status", "ok"}}); }), HasSubstr("'status'"));
}

TEST(DictStopperTest, NonObjectCriteriaIsAnError) {
  EXPECT_THAT(error_of([] { DictStopper stopper(Json(5)); }), HasSubstr("criteria must be an object"));
  EXPECT_THAT(error_of([] { DictStopper stopper(Json::array({1, 2})); }), HasSubstr("criteria must be an object"));
}

TEST(DictStopperTest, NonNumericThresholdNamesTheKey) {
  EXPECT_THAT(error_of([] { DictStopper stopper({{"x", "ten"}}); }), HasSubstr("stop: criterion 'x' must be a number"));
  EXPECT_THAT(error_of([] { DictStopper stopper(Json{{"a", {{"b", nullptr}}}}); }),
              HasSubstr("stop: criterion 'a/b' must be a number"));
  EXPECT_THAT(error_of([] { DictStopper stopper(Json{{"a", Json::array({1})}}); }),
              HasSubstr("stop: criterion 'a' must be a number"));
}

// ----- FunctionStopper ------------------------------------------------------------------------

TEST(FunctionStopperTest, CallsTheFunctionWithTrialIdAndResult) {
  std::vector<std::string> seen;
  FunctionStopper stopper([&](const std::string& trial_id, const Result& result) {
    seen.push_back(trial_id);
    return result["mean_accuracy"].get<double>() / result["training_iteration"].get<double>() > 5;
  });
  EXPECT_FALSE(stopper("a", Json{{"mean_accuracy", 5.0}, {"training_iteration", 1}}));
  EXPECT_TRUE(stopper("b", Json{{"mean_accuracy", 5.1}, {"training_iteration", 1}}));
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(stopper.stop_all());
}

TEST(FunctionStopperTest, EmptyFunctionIsAnError) {
  EXPECT_THAT(error_of([] { FunctionStopper stopper{StopFunction{}}; }), HasSubstr("stop function is empty"));
}

TEST(NoopStopperTest, NeverStops) {
  NoopStopper stopper;
  EXPECT_FALSE(stopper("t1", Json{{"done", true}}));
  EXPECT_FALSE(stopper.stop_all());
}

// ----- MaximumIterationStopper ----------------------------------------------------------------

TEST(MaximumIterationStopperTest, CountsCallsPerTrial) {
  MaximumIterationStopper stopper(3);
  const Result r = Json::object();
  EXPECT_FALSE(stopper("a", r));
  EXPECT_FALSE(stopper("a", r));
  EXPECT_FALSE(stopper("b", r));
  EXPECT_TRUE(stopper("a", r));
  EXPECT_TRUE(stopper("a", r));  // stays true past max_iter
  EXPECT_FALSE(stopper("b", r));
  EXPECT_TRUE(stopper("b", r));
  EXPECT_FALSE(stopper.stop_all());
}

TEST(MaximumIterationStopperTest, OneStopsAtTheFirstResult) {
  MaximumIterationStopper stopper(1);
  EXPECT_TRUE(stopper("a", Json::object()));
}

TEST(MaximumIterationStopperTest, MaxIterBelowOneIsAnError) {
  EXPECT_THAT(error_of([] { MaximumIterationStopper stopper(0); }), HasSubstr("max_iter must be >= 1"));
  EXPECT_THAT(error_of([] { MaximumIterationStopper stopper(-5); }), HasSubstr("max_iter"));
}

// ----- TrialPlateauStopper --------------------------------------------------------------------

TEST(TrialPlateauStopperTest, StopsWhenTheWindowIsFlat) {
  TrialPlateauStopper stopper("loss", /*std=*/0.01, /*num_results=*/3, /*grace_period=*/3);
  // Window [5,4,3] (std .82), [4,3,3] (.47), [3,3,3.001] (.0005 < .01).
  EXPECT_EQ(feed(stopper, "t", "loss", {5, 4, 3, 3, 3.001}),
            (std::vector<bool>{false, false, false, false, true}));
}

TEST(TrialPlateauStopperTest, GracePeriodHoldsOffAFlatWindow) {
  TrialPlateauStopper stopper("loss", 0.01, /*num_results=*/2, /*grace_period=*/4);
  EXPECT_EQ(feed(stopper, "t", "loss", {1, 1, 1, 1}), (std::vector<bool>{false, false, false, true}));
}

TEST(TrialPlateauStopperTest, WindowMustBeFullEvenAfterGrace) {
  TrialPlateauStopper stopper("loss", 0.01, /*num_results=*/4, /*grace_period=*/0);
  EXPECT_EQ(feed(stopper, "t", "loss", {2, 2, 2, 2}), (std::vector<bool>{false, false, false, true}));
}

TEST(TrialPlateauStopperTest, StdMustBeStrictlyBelow) {
  // Window [0, 1]: population std is exactly 0.5.
  TrialPlateauStopper at("loss", 0.5, 2, 0);
  EXPECT_EQ(feed(at, "t", "loss", {0, 1}), (std::vector<bool>{false, false}));
  TrialPlateauStopper above("loss", 0.5000001, 2, 0);
  EXPECT_EQ(feed(above, "t", "loss", {0, 1}), (std::vector<bool>{false, true}));
}

TEST(TrialPlateauStopperTest, TrialsAreTrackedSeparately) {
  TrialPlateauStopper stopper("loss", 0.01, 2, 2);
  EXPECT_FALSE(stopper("a", Json{{"loss", 1}}));
  EXPECT_FALSE(stopper("b", Json{{"loss", 1}}));
  EXPECT_FALSE(stopper("b", Json{{"loss", 9}}));
  EXPECT_TRUE(stopper("a", Json{{"loss", 1}}));
  EXPECT_FALSE(stopper("b", Json{{"loss", 1}}));
}

TEST(TrialPlateauStopperTest, MinThresholdGatesByCurrentValue) {
  TrialPlateauStopper stopper("loss", 0.01, 2, 0, /*metric_threshold=*/1.0, "min");
  // Flat at 2 (above the threshold: keep going), then flat at 1 (at it: stop).
  EXPECT_EQ(feed(stopper, "t", "loss", {2, 2, 2, 1, 1}), (std::vector<bool>{false, false, false, false, true}));
}

TEST(TrialPlateauStopperTest, MaxThresholdGatesByCurrentValue) {
  TrialPlateauStopper stopper("acc", 0.01, 2, 0, /*metric_threshold=*/0.9, "max");
  EXPECT_EQ(feed(stopper, "t", "acc", {0.5, 0.5, 0.95, 0.95}), (std::vector<bool>{false, false, false, true}));
}

TEST(TrialPlateauStopperTest, NaNInWindowNeverStops) {
  TrialPlateauStopper stopper("loss", 0.01, 2, 0);
  EXPECT_EQ(feed(stopper, "t", "loss", {kNaN, 1, 1}), (std::vector<bool>{false, false, true}));
}

TEST(TrialPlateauStopperTest, FindsNestedMetric) {
  TrialPlateauStopper stopper("info/loss", 0.01, 1, 0);
  EXPECT_TRUE(stopper("t", Json{{"info", {{"loss", 3}}}}));
}

TEST(TrialPlateauStopperTest, MissingMetricNamesIt) {
  TrialPlateauStopper stopper("loss");
  EXPECT_THAT(error_of([&] { stopper("t", Json{{"acc", 1}}); }), AllOf(HasSubstr("'loss'"), HasSubstr("acc")));
  EXPECT_THAT(error_of([&] { stopper("t", Json{{"loss", "x"}}); }), HasSubstr("'loss' must be a number"));
}

TEST(TrialPlateauStopperTest, ValidationNamesTheField) {
  EXPECT_THAT(error_of([] { TrialPlateauStopper s("loss", 0.01, 0); }), HasSubstr("num_results must be >= 1"));
  EXPECT_THAT(error_of([] { TrialPlateauStopper s("loss", 0.01, 4, -1); }), HasSubstr("grace_period must be >= 0"));
  EXPECT_THAT(error_of([] { TrialPlateauStopper s("loss", -0.1); }), HasSubstr("std must be >= 0"));
  EXPECT_THAT(error_of([] { TrialPlateauStopper s("loss", kNaN); }), HasSubstr("std must be >= 0"));
  EXPECT_THAT(error_of([] { TrialPlateauStopper s("loss", 0.01, 4, 4, std::nullopt, "best"); }),
              HasSubstr("mode must be 'min' or 'max', got 'best'"));
  EXPECT_THAT(error_of([] { TrialPlateauStopper s(""); }), HasSubstr("metric must not be empty"));
}

// ----- ExperimentPlateauStopper ---------------------------------------------------------------

TEST(ExperimentPlateauStopperTest, StopsAtTheFirstPlateauWithZeroPatience) {
  ExperimentPlateauStopper stopper("loss", /*std=*/0.001, /*top=*/3, "min", /*patience=*/0);
  // Top 3 (smallest): [5], [4,5], [3,4,5] (std .82), [1,3,4], [1,1,3], [1,1,1] (std 0).
  EXPECT_EQ(feed(stopper, "t", "loss", {5, 4, 3, 1, 1, 1}),
            (std::vector<bool>{false, false, false, false, false, true}));
  EXPECT_TRUE(stopper.stop_all());
}

TEST(ExperimentPlateauStopperTest, WorseValuesDoNotEnterTheTop) {
  ExperimentPlateauStopper stopper("loss", 0.001, 2, "min", 0);
  // [1], [1,1] plateau at once; a later worse value does not break it.
  EXPECT_EQ(feed(stopper, "t", "loss", {1, 1, 50}), (std::vector<bool>{false, true, true}));
}

TEST(ExperimentPlateauStopperTest, MaxModeKeepsTheLargest) {
  ExperimentPlateauStopper stopper("acc", 0.001, 2, "max", 0);
  // [0.1], [0.9,0.1], [0.9,0.9] plateau; a smaller value does not enter.
  EXPECT_EQ(feed(stopper, "t", "acc", {0.1, 0.9, 0.9, 0.2}), (std::vector<bool>{false, false, true, true}));
}

TEST(ExperimentPlateauStopperTest, PatienceCountsConsecutivePlateauResults) {
  ExperimentPlateauStopper stopper("loss", 0.001, 2, "min", /*patience=*/2);
  // Plateau at results 2,3 (iterations 1,2), broken at 4 by a better value (reset), then
  // plateau again at 5,6,7: iterations 1,2,3 and 3 > 2 stops.
  EXPECT_EQ(feed(stopper, "t", "loss", {1, 1, 1, 0, 0, 0, 0}),
            (std::vector<bool>{false, false, false, false, false, false, true}));
}

TEST(ExperimentPlateauStopperTest, CountsResultsAcrossTrials) {
  ExperimentPlateauStopper stopper("loss", 0.001, 2, "min", 0);
  EXPECT_FALSE(stopper("a", Json{{"loss", 2}}));
  EXPECT_TRUE(stopper("b", Json{{"loss", 2}}));
}

TEST(ExperimentPlateauStopperTest, NaNIsNotRanked) {
  ExperimentPlateauStopper stopper("loss", 0.001, 2, "min", 0);
  EXPECT_EQ(feed(stopper, "t", "loss", {kNaN, 3, kNaN, 3}), (std::vector<bool>{false, false, false, true}));
}

TEST(ExperimentPlateauStopperTest, MissingMetricNamesIt) {
  ExperimentPlateauStopper stopper("loss");
  EXPECT_THAT(error_of([&] { stopper("t", Json{{"acc", 1}}); }), HasSubstr("no metric 'loss'"));
}

TEST(ExperimentPlateauStopperTest, ValidationNamesTheField) {
  EXPECT_THAT(error_of([] { ExperimentPlateauStopper s("loss", 0.001, 0); }), HasSubstr("top must be >= 1"));
  EXPECT_THAT(error_of([] { ExperimentPlateauStopper s("loss", -1.0); }), HasSubstr("std must be >= 0"));
  EXPECT_THAT(error_of([] { ExperimentPlateauStopper s("loss", 0.001, 10, "up"); }),
              HasSubstr("mode must be 'min' or 'max', got 'up'"));
  EXPECT_THAT(error_of([] { ExperimentPlateauStopper s("loss", 0.001, 10, "min", -1); }),
              HasSubstr("patience must be >= 0"));
  EXPECT_THAT(error_of([] { ExperimentPlateauStopper s(""); }), HasSubstr("metric must not be empty"));
}

// ----- TimeoutStopper -------------------------------------------------------------------------

// A clock the test moves by hand.
struct FakeClock {
  std::chrono::steady_clock::time_point now{std::chrono::seconds(1000)};
  TimeoutStopper::Clock fn() {
    return [this] { return now; };
  }
};

TEST(TimeoutStopperTest, StopsAllOnceTheTimeoutHasElapsedSinceConstruction) {
  FakeClock clock;
  TimeoutStopper stopper(std::chrono::seconds(10), clock.fn());
  EXPECT_FALSE(stopper.stop_all());
  clock.now += std::chrono::milliseconds(9999);
  EXPECT_FALSE(stopper.stop_all());
  EXPECT_FALSE(stopper("t", Json::object()));
  clock.now += std::chrono::milliseconds(1);
  EXPECT_TRUE(stopper.stop_all());
  EXPECT_TRUE(stopper("t", Json::object()));
}

TEST(TimeoutStopperTest, StartIsTakenAtConstructionNotFirstCall) {
  FakeClock clock;
  TimeoutStopper stopper(std::chrono::duration<double>(2.5), clock.fn());
  clock.now += std::chrono::seconds(3);
  EXPECT_TRUE(stopper.stop_all());  // the first call already sees 3 s elapsed
}

TEST(TimeoutStopperTest, DefaultClockDoesNotStopAnHourLongBudgetAtOnce) {
  TimeoutStopper stopper(std::chrono::hours(1));
  EXPECT_FALSE(stopper.stop_all());
}

TEST(TimeoutStopperTest, NonPositiveTimeoutIsAnError) {
  EXPECT_THAT(error_of([] { TimeoutStopper s(std::chrono::seconds(0)); }), HasSubstr("timeout must be > 0"));
  EXPECT_THAT(error_of([] { TimeoutStopper s(std::chrono::duration<double>(-1)); }), HasSubstr("timeout"));
}

// ----- CombinedStopper and the user guide's CustomStopper -------------------------------------

// The user guide's example: once any trial reports foo > 10, stop everything.
class CustomStopper : public Stopper {
 public:
  bool operator()(const std::string& /*trial_id*/, const Result& result) override {
    if (!should_stop_ && result["foo"].get<double>() > 10) should_stop_ = true;
    return should_stop_;
  }
  bool stop_all() override { return should_stop_; }

 private:
  bool should_stop_ = false;
};

TEST(CombinedStopperTest, AnyStopperStopsAndAllAreCalled) {
  auto max_iter = std::make_shared<MaximumIterationStopper>(3);
  auto custom = std::make_shared<CustomStopper>();
  CombinedStopper stopper({custom, max_iter});
  EXPECT_FALSE(stopper("a", Json{{"foo", 1}}));
  EXPECT_FALSE(stopper("a", Json{{"foo", 2}}));
  EXPECT_FALSE(stopper.stop_all());
  // CustomStopper fires first; MaximumIterationStopper must still count this result.
  EXPECT_TRUE(stopper("b", Json{{"foo", 11}}));
  EXPECT_TRUE(stopper.stop_all());
  EXPECT_TRUE(custom->stop_all());
  // b's result reached MaximumIterationStopper too although CustomStopper said stop first.
  EXPECT_FALSE((*max_iter)("b", Json::object()));
  EXPECT_TRUE((*max_iter)("b", Json::object()));
}

TEST(CombinedStopperTest, StateOfEveryStopperAdvances) {
  auto first = std::make_shared<MaximumIterationStopper>(1);
  auto second = std::make_shared<MaximumIterationStopper>(2);
  CombinedStopper stopper({first, second});
  EXPECT_TRUE(stopper("t", Json::object()));  // first stops; second must still count
  EXPECT_TRUE((*second)("t", Json::object()));
}

TEST(CombinedStopperTest, StopAllFromAnyStopper) {
  FakeClock clock;
  auto timeout = std::make_shared<TimeoutStopper>(std::chrono::seconds(5), clock.fn());
  CombinedStopper stopper({std::make_shared<NoopStopper>(), timeout});
  EXPECT_FALSE(stopper.stop_all());
  clock.now += std::chrono::seconds(5);
  EXPECT_TRUE(stopper.stop_all());
}

TEST(CombinedStopperTest, EmptyNeverStops) {
  CombinedStopper stopper({});
  EXPECT_FALSE(stopper("t", Json::object()));
  EXPECT_FALSE(stopper.stop_all());
}

TEST(CombinedStopperTest, NullStopperIsAnError) {
  EXPECT_THAT(error_of([] { CombinedStopper s({std::make_shared<NoopStopper>(), nullptr}); }),
              HasSubstr("stoppers[1] is null"));
}

// ----- StopSpec -------------------------------------------------------------------------------

TEST(StopSpecTest, DefaultIsEmpty) {
  StopSpec spec;
  EXPECT_TRUE(spec.empty());
  EXPECT_EQ(spec.make_stopper(), nullptr);
  EXPECT_TRUE(StopSpec(Json::object()).empty());
}

TEST(StopSpecTest, FromBracedCriteria) {
  tune::StopSpec spec = {{"training_iteration", 10}};
  EXPECT_FALSE(spec.empty());
  EXPECT_EQ(spec.criteria(), (Json{{"training_iteration", 10}}));
  auto stopper = spec.make_stopper();
  ASSERT_NE(std::dynamic_pointer_cast<DictStopper>(stopper), nullptr);
  EXPECT_FALSE((*stopper)("t", Json{{"training_iteration", 9}}));
  EXPECT_TRUE((*stopper)("t", Json{{"training_iteration", 10}}));
}

TEST(StopSpecTest, FromSeveralAndNestedBracedCriteria) {
  tune::StopSpec spec = {{"training_iteration", 10}, {"info", {{"acc", 0.9}}}};
  auto stopper = std::dynamic_pointer_cast<DictStopper>(spec.make_stopper());
  ASSERT_NE(stopper, nullptr);
  EXPECT_EQ(stopper->criteria(), (Json{{"training_iteration", 10}, {"info/acc", 0.9}}));
}

TEST(StopSpecTest, FromJsonCriteria) {
  const Json criteria = {{"mean_accuracy", 0.98}};
  tune::StopSpec spec = criteria;
  EXPECT_TRUE((*spec.make_stopper())("t", Json{{"mean_accuracy", 0.99}}));
}

TEST(StopSpecTest, BadCriteriaFailWhenTheStopperIsMade) {
  tune::StopSpec spec = {{"x", "ten"}};
  EXPECT_THAT(error_of([&] { spec.make_stopper(); }), HasSubstr("stop: criterion 'x' must be a number"));
}

TEST(StopSpecTest, FromLambda) {
  tune::StopSpec spec = [](const std::string& /*trial_id*/, const Result& result) {
    return result["mean_accuracy"].get<double>() / result["training_iteration"].get<double>() > 5;
  };
  EXPECT_FALSE(spec.empty());
  EXPECT_TRUE(spec.criteria().is_null());
  auto stopper = spec.make_stopper();
  ASSERT_NE(std::dynamic_pointer_cast<FunctionStopper>(stopper), nullptr);
  EXPECT_FALSE((*stopper)("t", Json{{"mean_accuracy", 5}, {"training_iteration", 1}}));
  EXPECT_TRUE((*stopper)("t", Json{{"mean_accuracy", 11}, {"training_iteration", 2}}));
}

TEST(StopSpecTest, FromSharedPtrOfSubclassKeepsStopAll) {
  auto custom = std::make_shared<CustomStopper>();
  tune::StopSpec spec = custom;
  EXPECT_EQ(spec.make_stopper(), custom);  // the same object: the caller can watch its state

  tune::StopSpec direct = std::make_shared<CustomStopper>();
  auto stopper = direct.make_stopper();
  ASSERT_NE(stopper, nullptr);
  EXPECT_FALSE((*stopper)("t", Json{{"foo", 3}}));
  EXPECT_TRUE((*stopper)("t", Json{{"foo", 30}}));
  EXPECT_TRUE(stopper->stop_all());
}

TEST(StopSpecTest, AssignableAsAnOptionsField) {
  struct Options {
    StopSpec stop;
  } options;
  options.stop = std::make_shared<MaximumIterationStopper>(2);
  EXPECT_NE(std::dynamic_pointer_cast<MaximumIterationStopper>(options.stop.make_stopper()), nullptr);
  options.stop = {{"training_iteration", 3}};
  EXPECT_NE(std::dynamic_pointer_cast<DictStopper>(options.stop.make_stopper()), nullptr);
}

TEST(StopSpecTest, FromListOfStoppersCombinesThem) {
  auto custom = std::make_shared<CustomStopper>();
  tune::StopSpec spec = std::vector<std::shared_ptr<Stopper>>{custom, std::make_shared<MaximumIterationStopper>(5)};
  auto stopper = std::dynamic_pointer_cast<CombinedStopper>(spec.make_stopper());
  ASSERT_NE(stopper, nullptr);
  EXPECT_FALSE((*stopper)("t", Json{{"foo", 1}}));
  EXPECT_TRUE((*stopper)("t", Json{{"foo", 20}}));
  EXPECT_TRUE(stopper->stop_all());
  EXPECT_TRUE(StopSpec(std::vector<std::shared_ptr<Stopper>>{}).empty());
}

// A Stopper by value would be copied into a FunctionStopper, hiding its stop_all: refused.
static_assert(!std::is_convertible_v<CustomStopper, StopSpec>);
static_assert(std::is_convertible_v<std::shared_ptr<CustomStopper>, StopSpec>);
static_assert(std::is_convertible_v<StopFunction, StopSpec>);

TEST(StopSpecTest, NullSharedPtrIsEmpty) {
  tune::StopSpec spec = std::shared_ptr<Stopper>();
  EXPECT_TRUE(spec.empty());
  EXPECT_EQ(spec.make_stopper(), nullptr);
}

}  // namespace
}  // namespace tune
