// Unit tests of resource accounting: fractional GPU packing, whole GPUs, custom amounts.
#include "runner/resource_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tune/error.h"

namespace tune::detail {
namespace {

ResourcePool pool(double cpu, double gpu) {
  ResourcePool p;
  p.cpu = cpu;
  p.gpu = gpu;
  return p;
}

TEST(ResourceManagerTest, HalfGpusPackTwoPerGpuNeverThree) {
  ResourceManager m(pool(8, 1));
  const Resources half{.cpu = 1, .gpu = 0.5};
  ASSERT_TRUE(m.fits(half));
  EXPECT_EQ(m.commit(half), std::vector<int>{0});
  ASSERT_TRUE(m.fits(half));
  EXPECT_EQ(m.commit(half), std::vector<int>{0});
  EXPECT_FALSE(m.fits(half));
  m.release(half, {0});
  EXPECT_TRUE(m.fits(half));
}

TEST(ResourceManagerTest, ThirdsRoundToHundredthsAndPackThree) {
  ResourceManager m(pool(8, 1));
  const Resources third{.cpu = 0, .gpu = 0.33};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(m.fits(third));
    m.commit(third);
  }
  EXPECT_FALSE(m.fits(third));
}

TEST(ResourceManagerTest, FractionsGoToTheFullestGpuSoWholeOnesStayFree) {
  ResourceManager m(pool(8, 2));
  const Resources quarter{.cpu = 0, .gpu = 0.25};
  EXPECT_EQ(m.commit(quarter), std::vector<int>{0});
  EXPECT_EQ(m.commit(quarter), std::vector<int>{0});
  const Resources whole{.cpu = 0, .gpu = 1};
  ASSERT_TRUE(m.fits(whole));
  EXPECT_EQ(m.commit(whole), std::vector<int>{1});
  EXPECT_FALSE(m.fits(whole));
}

TEST(ResourceManagerTest, MultiGpuRequestsTakeWholeDistinctGpus) {
  ResourceManager m(pool(8, 4));
  const Resources two{.cpu = 1, .gpu = 2};
  EXPECT_EQ(m.commit(two), (std::vector<int>{0, 1}));
  EXPECT_EQ(m.commit(two), (std::vector<int>{2, 3}));
  EXPECT_FALSE(m.fits(Resources{.cpu = 0, .gpu = 0.1}));
  m.release(two, {0, 1});
  EXPECT_TRUE(m.fits(two));
}

TEST(ResourceManagerTest, ExtraAmountsAreCounted) {
  ResourceManager m(pool(4, 0));
  const Resources r{.cpu = 1, .extra_cpu = 2};
  ASSERT_TRUE(m.fits(r));
  m.commit(r);
  EXPECT_FALSE(m.fits(Resources{.cpu = 2}));
  EXPECT_TRUE(m.fits(Resources{.cpu = 1}));
  EXPECT_THAT(m.usage_string(), ::testing::HasSubstr("3/4 CPUs"));
}

TEST(ResourceManagerTest, InfeasibleRequestsNameRequestAndPool) {
  ResourceManager m(pool(2, 0));
  try {
    m.check_feasible(Resources{.cpu = 1, .gpu = 1}, "resources_per_trial");
    FAIL();
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("resources_per_trial"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("GPUs"));
  }
  Resources custom;
  custom.custom["tpu"] = 1;
  EXPECT_THROW(m.check_feasible(custom, "resources_per_trial"), TuneError);
}

TEST(ResourcesTest, JsonFormRoundTripsAndValidates) {
  const Json j = {{"cpu", 2}, {"gpu", 0.5}, {"extra_gpu", 0.5}, {"custom_resources", {{"tpu", 1}}}};
  const Resources r = Resources::from_json(j);
  EXPECT_EQ(r.cpu, 2);
  EXPECT_EQ(r.total_gpu(), 1.0);
  EXPECT_EQ(r.custom.at("tpu"), 1);
  EXPECT_EQ(Resources::from_json(r.to_json()).to_json(), r.to_json());
  EXPECT_THROW(Resources::from_json(Json{{"gpu", 1.5}}), TuneError);
  EXPECT_THROW(Resources::from_json(Json{{"cpu", "two"}}), TuneError);
  EXPECT_THROW(Resources::from_json(Json{{"memory", -1}}), TuneError);
  EXPECT_THROW(Resources::from_json(Json::array()), TuneError);
}

}  // namespace
}  // namespace tune::detail
