// The trial table's config filter: each clause form over numeric and categorical columns, and
// untrusted clauses refused with 400 naming what is wrong.
#include "dashboard/config_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "dashboard/dashboard_api.h"

namespace tune::dashboard {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

ParamColumn numbers() { return {true, {0.001, 0.01, 0.1, 0.5, kNaN}, {}}; }
// Categories adam, sgd, adamw; the fourth trial lacks the key.
ParamColumn optimizers() { return {false, {0, 1, 2, kNaN, 0}, {"adam", "sgd", "adamw"}}; }

std::vector<char> keep(const std::string& clause, const ParamColumn& column) {
  return ConfigFilter::parse(clause).apply(column);
}

std::string error_of(const std::string& clause, const ParamColumn& column = numbers()) {
  try {
    keep(clause, column);
  } catch (const ApiError& error) {
    EXPECT_EQ(error.status(), 400);
    return error.what();
  }
  return "no error";
}

TEST(ConfigFilterTest, NumericBoundsAndRangesKeepWhatLiesInsideAndNeverAMissingValue) {
  EXPECT_THAT(keep("lr>0.01", numbers()), ElementsAre(0, 0, 1, 1, 0));
  EXPECT_THAT(keep("lr>=0.01", numbers()), ElementsAre(0, 1, 1, 1, 0));
  EXPECT_THAT(keep("lr<0.1", numbers()), ElementsAre(1, 1, 0, 0, 0));
  EXPECT_THAT(keep("lr<=0.1", numbers()), ElementsAre(1, 1, 1, 0, 0));
  EXPECT_THAT(keep("0.01<=lr<=0.1", numbers()), ElementsAre(0, 1, 1, 0, 0));
  EXPECT_THAT(keep("0.01<lr<=0.5", numbers()), ElementsAre(0, 0, 1, 1, 0));
  EXPECT_EQ(ConfigFilter::parse("0.1<=model/lr<0.5").key(), "model/lr");
  EXPECT_THAT(keep("lr=0.1", numbers()), ElementsAre(0, 0, 1, 0, 0));
  EXPECT_THAT(keep("lr=1e-1", numbers()), ElementsAre(0, 0, 1, 0, 0));  // as typed, not only as printed
  EXPECT_THAT(keep("lr!=0.1", numbers()), ElementsAre(1, 1, 0, 1, 0));
}

TEST(ConfigFilterTest, TextMatchesBySubstringRegexAndExactValue) {
  EXPECT_THAT(keep("opt~adam", optimizers()), ElementsAre(1, 0, 1, 0, 1));
  EXPECT_THAT(keep("opt~/^adam$/", optimizers()), ElementsAre(1, 0, 0, 0, 1));
  EXPECT_THAT(keep("opt~/s.d|w$/", optimizers()), ElementsAre(0, 1, 1, 0, 0));
  EXPECT_THAT(keep("opt=sgd", optimizers()), ElementsAre(0, 1, 0, 0, 0));
  EXPECT_THAT(keep("opt!=sgd", optimizers()), ElementsAre(1, 0, 1, 0, 1));
  // A number's printed form can be searched too.
  EXPECT_THAT(keep("lr~0.0", numbers()), ElementsAre(1, 1, 0, 0, 0));
}

// A pattern that backtracks exponentially in a backtracking engine (std::regex took longer than
// a minute on this 31-byte value) is answered at once: the engine's time is linear in the text.
// Long values are searched too (std::regex recursed per character and overflowed its stack).
TEST(ConfigFilterTest, RegexesCostTimeLinearInTheValueWhateverThePattern) {
  const ParamColumn evil{false, {0, 1, 2}, {std::string(30, 'a') + "b", std::string(30, 'a'), std::string(1 << 20, 'a') + "b"}};
  EXPECT_THAT(keep("s~/^(a+)+$/", evil), ElementsAre(0, 1, 0));
  EXPECT_THAT(keep("s~/(a|aa)*b$/", evil), ElementsAre(1, 0, 1));
  EXPECT_THAT(error_of("opt~/(a)\\1/"), HasSubstr("not a regex")) << "back-references are refused, not run";
}

TEST(ConfigFilterTest, MalformedClausesAreRefusedNamingTheRule) {
  EXPECT_THAT(error_of("lr"), HasSubstr("must be KEY=VALUE"));
  EXPECT_THAT(error_of("=3"), HasSubstr("must be KEY=VALUE"));
  EXPECT_THAT(error_of("lr>fast"), HasSubstr("needs a number"));
  EXPECT_THAT(error_of("lr>nan"), HasSubstr("needs a number"));
  EXPECT_THAT(error_of("0.1<lr"), HasSubstr("a range is N<KEY<M"));
  EXPECT_THAT(error_of("0.1<lr<x"), HasSubstr("a range is N<KEY<M"));
  EXPECT_THAT(error_of("opt~/(unclosed/"), HasSubstr("not a regex"));
  EXPECT_THAT(error_of("opt~/" + std::string(300, 'a') + "/"), HasSubstr("at most 256 bytes"));
  EXPECT_THAT(error_of(std::string(2000, 'k') + "=1"), HasSubstr("longer than 1024 bytes"));
  EXPECT_THAT(error_of("opt>1", optimizers()), HasSubstr("'opt' is not numeric"));
}

}  // namespace
}  // namespace tune::dashboard
