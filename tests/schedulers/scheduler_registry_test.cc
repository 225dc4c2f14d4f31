// The scheduler registry (make_scheduler.cc): every registered name builds with its own
// defaults written out, a key of another type is refused naming the closest one, and the
// defaults are those of the Options structs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tune/error.h"
#include "tune/scheduler.h"

namespace tune {
namespace {

using ::testing::HasSubstr;

std::string error_of(const Json& spec) {
  try {
    make_scheduler(spec);
  } catch (const TuneError& e) {
    return e.what();
  }
  return "no error";
}

TEST(SchedulerRegistryTest, EveryTypeBuildsWithItsDefaultsWrittenOut) {
  for (const std::string& name : scheduler_names()) {
    if (name == "pbt_replay") continue;  // needs a policy file
    Json spec = scheduler_defaults(name);
    spec["type"] = name;
    if (name == "pbt") spec["hyperparam_mutations"] = Json{{"lr", Json::array({0.1, 0.01})}};
    EXPECT_NE(make_scheduler(spec), nullptr) << spec.dump();
    const Json defaults = scheduler_defaults(name);
    for (const auto& [key, value] : defaults.items()) {
      const auto keys = scheduler_keys(name);
      EXPECT_NE(std::find(keys.begin(), keys.end(), key), keys.end()) << name << " default of an unknown key " << key;
    }
  }
}

TEST(SchedulerRegistryTest, DefaultsAreThoseOfTheOptionsStructs) {
  const AsyncHyperBandScheduler::Options asha;
  EXPECT_EQ(scheduler_defaults("asha")["max_t"], asha.max_t);
  EXPECT_EQ(scheduler_defaults("async_hyperband")["grace_period"], asha.grace_period);
  EXPECT_EQ(scheduler_defaults("hyperband")["max_t"], HyperBandScheduler::Options().max_t);
  EXPECT_EQ(scheduler_defaults("median_stopping_rule")["time_attr"], MedianStoppingRule::Options().time_attr);
  EXPECT_EQ(scheduler_defaults("pbt")["quantile_fraction"], PopulationBasedTraining::Options().quantile_fraction);
  EXPECT_FALSE(scheduler_defaults("pbt").contains("metric"));  // the run's
  EXPECT_TRUE(scheduler_keys("fifo").empty());
  EXPECT_EQ(scheduler_keys("pbt_replay"), std::vector<std::string>{"policy_file"});
}

TEST(SchedulerRegistryTest, UnknownTypesAndKeysAreRefusedNamingTheClosest) {
  EXPECT_THAT(error_of(Json{{"type", "ashaa"}}), HasSubstr("scheduler/type: not supported: 'ashaa' (did you mean"));
  EXPECT_THAT(error_of(Json{{"type", "hyperband"}, {"grace_period", 1}}), HasSubstr("scheduler/grace_period: unknown key"));
  EXPECT_THAT(error_of(Json{{"type", "asha"}, {"max_tt", 1}}), HasSubstr("did you mean 'max_t'"));
  EXPECT_THAT(error_of(Json{{"type", "asha"}, {"max_t", "x"}}), HasSubstr("scheduler/max_t: must be a number"));
  EXPECT_THAT(error_of(Json{{"type", "pbt"}}), HasSubstr("scheduler/hyperparam_mutations: pbt needs it"));
  EXPECT_THROW(scheduler_keys("pb2"), TuneError);
  const auto refused = unsupported_scheduler_names();
  EXPECT_NE(std::find(refused.begin(), refused.end(), "pb2"), refused.end());
}

}  // namespace
}  // namespace tune
