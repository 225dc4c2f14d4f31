// Unit tests of the saturating conversions (common/saturate.h): user numbers far outside a type's
// range clamp to its ends instead of overflowing (which UBSan reports and which made
// step_timeout_s: 1e10 kill a trial at once).
#include "common/saturate.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>

namespace tune {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

TEST(SaturateTest, CastsClampToTheTypesRange) {
  EXPECT_EQ(saturate_cast<int64_t>(1e300), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(saturate_cast<int64_t>(-1e300), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(saturate_cast<int64_t>(9223372036854775807.0), std::numeric_limits<int64_t>::max());  // rounds to 2^63
  EXPECT_EQ(saturate_cast<int64_t>(kInf), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(saturate_cast<int>(3e9), std::numeric_limits<int>::max());
  EXPECT_EQ(saturate_cast<int>(-3e9), std::numeric_limits<int>::min());
  EXPECT_EQ(saturate_cast<uint64_t>(-5.0), 0u);
  EXPECT_EQ(saturate_cast<size_t>(1e20), std::numeric_limits<size_t>::max());
}

TEST(SaturateTest, CastsInRangeTruncateTowardZero) {
  EXPECT_EQ(saturate_cast<int64_t>(2.9), 2);
  EXPECT_EQ(saturate_cast<int64_t>(-2.9), -2);
  EXPECT_EQ(saturate_cast<int>(81.0), 81);
  EXPECT_EQ(saturate_cast<int64_t>(1e15), 1000000000000000);
}

TEST(SaturateTest, NanGivesTheLowerBound) {
  EXPECT_EQ(saturate_cast<int64_t>(kNan), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(saturate_cast<uint32_t>(kNan), 0u);
  EXPECT_EQ(saturate_seconds(kNan), 0.0);
  EXPECT_EQ(saturating_duration<std::chrono::nanoseconds>(kNan).count(), 0);
}

TEST(SaturateTest, SecondsClampToNeverAndZero) {
  EXPECT_EQ(saturate_seconds(1e10), kMaxSeconds);
  EXPECT_EQ(saturate_seconds(kInf), kMaxSeconds);
  EXPECT_EQ(saturate_seconds(-3), 0.0);
  EXPECT_EQ(saturate_seconds(30), 30.0);
  using std::chrono::nanoseconds;
  EXPECT_EQ(saturating_duration<nanoseconds>(1e10), std::chrono::seconds(1000000000));
  EXPECT_EQ(saturating_duration<nanoseconds>(1.5), std::chrono::milliseconds(1500));
  EXPECT_EQ(saturating_duration<std::chrono::milliseconds>(-1e300).count(), 0);
  // A deadline a saturated timeout away still fits the clock, and lies in the future.
  const auto now = std::chrono::steady_clock::now();
  const auto deadline = now + saturating_duration<std::chrono::steady_clock::duration>(1e300);
  EXPECT_GT(deadline, now + std::chrono::hours(24 * 365 * 30));
}

}  // namespace
}  // namespace tune
