// The auto-filled result fields (ray-tune-semantics.md §2), field by field.
#include "trial/auto_fill.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tune/error.h"

namespace tune::detail {
namespace {

AutoFiller make_filler(const Config& config = {{"lr", 0.1}}) {
  TrialInfo info;
  info.trial_id = "abcde_00001";
  info.experiment_id = "0123456789abcdef0123456789abcdef";
  return AutoFiller(info, config);
}

TEST(AutoFillTest, FillsEveryField) {
  AutoFiller filler = make_filler();
  Result result = {{"loss", 0.5}};
  filler.fill(result, 0.25);
  const HostInfo& host = HostInfo::get();
  EXPECT_EQ(result["loss"], 0.5);
  EXPECT_EQ(result["training_iteration"], 1);
  EXPECT_EQ(result["time_this_iter_s"], 0.25);
  EXPECT_EQ(result["time_total_s"], 0.25);
  EXPECT_EQ(result["time_since_restore"], 0.25);
  EXPECT_EQ(result["iterations_since_restore"], 1);
  EXPECT_EQ(result["done"], false);
  EXPECT_EQ(result["trial_id"], "abcde_00001");
  EXPECT_EQ(result["experiment_id"], "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(result["hostname"], host.hostname);
  EXPECT_EQ(result["node_ip"], host.node_ip);
  EXPECT_EQ(result["pid"], host.pid);
  EXPECT_EQ(result["config"], (Json{{"lr", 0.1}}));
  EXPECT_TRUE(result["timestamp"].is_number_integer());
  EXPECT_EQ(result["date"].get<std::string>().size(), std::string("2024-01-01_00-00-00").size());
  for (const char* absent : {"timesteps_total", "timesteps_since_restore", "episodes_total", "neg_mean_loss"}) {
    EXPECT_FALSE(result.contains(absent)) << absent;
  }
  EXPECT_EQ(result.size(), 15u);

  Result second = {{"loss", 0.25}};
  filler.fill(second, 0.5);
  EXPECT_EQ(second["training_iteration"], 2);
  EXPECT_EQ(second["time_total_s"], 0.75);
  EXPECT_EQ(second["iterations_since_restore"], 2);
}

TEST(AutoFillTest, ReportedValuesWinWhereTheGuideSaysSo) {
  AutoFiller filler = make_filler();
  // done and training_iteration are defaults; time_this_iter_s is used when a number; the
  // ids, host, timing totals and config are always tune's.
  Result result = {{"done", true},       {"training_iteration", 7}, {"time_this_iter_s", 2.0},
                   {"config", "theirs"}, {"trial_id", "theirs"},   {"time_total_s", 100.0},
                   {"mean_loss", 3.0},   {"neg_mean_loss", 9.0}};
  filler.fill(result, 0.25);
  EXPECT_EQ(result["done"], true);
  EXPECT_EQ(result["training_iteration"], 7);
  EXPECT_EQ(result["time_this_iter_s"], 2.0);
  EXPECT_EQ(result["time_total_s"], 2.0);
  EXPECT_EQ(result["config"], (Json{{"lr", 0.1}}));
  EXPECT_EQ(result["trial_id"], "abcde_00001");
  EXPECT_EQ(result["neg_mean_loss"], 9.0);

  Result text_time = {{"time_this_iter_s", "slow"}, {"mean_loss", 3.0}};
  filler.fill(text_time, 0.5);
  EXPECT_EQ(text_time["time_this_iter_s"], 0.5);  // not a number: measured
  EXPECT_EQ(text_time["time_total_s"], 2.5);
  EXPECT_EQ(text_time["neg_mean_loss"], -3.0);
}

TEST(AutoFillTest, TimestepsAndEpisodesSumOnceReported) {
  AutoFiller filler = make_filler();
  Result first = {{"timesteps_this_iter", 10}, {"episodes_this_iter", 2}};
  filler.fill(first, 0.1);
  EXPECT_EQ(first["timesteps_total"], 10);
  EXPECT_EQ(first["timesteps_since_restore"], 10);
  EXPECT_EQ(first["episodes_total"], 2);
  Result second = Json::object();  // not reported this time: the totals stay
  filler.fill(second, 0.1);
  EXPECT_EQ(second["timesteps_total"], 10);
  EXPECT_EQ(second["episodes_total"], 2);
  Result third = {{"timesteps_this_iter", 5.5}, {"timesteps_total", 1000}};
  filler.fill(third, 0.1);
  EXPECT_EQ(third["timesteps_total"], 1000);  // reported: kept
  EXPECT_EQ(third["timesteps_since_restore"], 15);
  filler.restore(40, 12.0, 300, 30);
  Result restored = {{"timesteps_this_iter", 1}};
  filler.fill(restored, 1.0);
  EXPECT_EQ(restored["training_iteration"], 41);
  EXPECT_EQ(restored["time_total_s"], 13.0);
  EXPECT_EQ(restored["iterations_since_restore"], 1);
  EXPECT_EQ(restored["time_since_restore"], 1.0);
  EXPECT_EQ(restored["timesteps_total"], 301);
  EXPECT_EQ(restored["timesteps_since_restore"], 1);
  EXPECT_EQ(restored["episodes_total"], 30);
}

TEST(AutoFillTest, NullBecomesAnObjectAndOtherTypesAreRefused) {
  AutoFiller filler = make_filler();
  Result null_result;
  filler.fill(null_result, 0.1);
  EXPECT_EQ(null_result["training_iteration"], 1);
  Result number = 3;
  EXPECT_THROW(filler.fill(number, 0.1), TuneError);
}

TEST(AutoFillTest, ReservedFieldsOfTheWrongTypeAreRefusedBeforeAnyCounterMoves) {
  AutoFiller filler = make_filler();
  for (const Json& bad : {Json{{"done", "yes"}}, Json{{"done", nullptr}}, Json{{"should_checkpoint", Json::array()}},
                          Json{{"training_iteration", "3"}}, Json{{"training_iteration", -1}},
                          Json{{"training_iteration", 2.5}}, Json{{"training_iteration", 1e300}}}) {
    Result result = bad;
    try {
      filler.fill(result, 0.5);
      ADD_FAILURE() << "accepted " << bad.dump();
    } catch (const TuneError& e) {
      EXPECT_NE(std::string(e.what()).find("result: \"" + bad.begin().key() + "\" must be"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(filler.iteration(), 0);
  EXPECT_EQ(filler.time_total_s(), 0.0);
}

TEST(AutoFillTest, NumbersForFlagsAreReadAsRayReadsThemAndWrittenAsBooleans) {
  AutoFiller filler = make_filler();
  Result result = {{"done", 7}, {"should_checkpoint", 0.0}, {"training_iteration", 4.0}};
  filler.fill(result, 0.5);
  EXPECT_EQ(result["done"], true);
  EXPECT_EQ(result["should_checkpoint"], false);
  EXPECT_EQ(result["training_iteration"], 4);
  EXPECT_TRUE(result["training_iteration"].is_number_integer());
  Result nan = {{"done", std::nan("")}, {"timesteps_this_iter", 1e300}, {"episodes_this_iter", std::nan("")}};
  filler.fill(nan, 0.5);
  EXPECT_EQ(nan["done"], true) << "bool(float('nan')) is True";
  EXPECT_GT(nan["timesteps_total"].get<int64_t>(), int64_t{9'000'000'000'000'000'000}) << "saturated, not undefined";
  EXPECT_EQ(nan["episodes_total"], 0);
  Result more = {{"timesteps_this_iter", std::numeric_limits<int64_t>::max()}};
  filler.fill(more, 0.5);
  EXPECT_EQ(more["timesteps_total"], std::numeric_limits<int64_t>::max()) << "the total saturates too";
}

TEST(AutoFillTest, ResultFlagNeverThrows) {
  EXPECT_TRUE(result_flag({{"done", true}}, "done"));
  EXPECT_TRUE(result_flag({{"done", -2}}, "done"));
  EXPECT_FALSE(result_flag({{"done", 0}}, "done"));
  EXPECT_FALSE(result_flag({{"done", "yes"}}, "done"));
  EXPECT_FALSE(result_flag({{"done", nullptr}}, "done"));
  EXPECT_FALSE(result_flag(Json::array({1, 2}), "done"));
  EXPECT_FALSE(result_flag({{"other", true}}, "done"));
}

}  // namespace
}  // namespace tune::detail
