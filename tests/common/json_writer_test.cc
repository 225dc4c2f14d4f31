// The fast JSON writer must write exactly what nlohmann's dump(-1, ' ', false, replace) does:
// result.json lines written before and after it stay byte-compatible.
#include "common/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

namespace tune::detail {
namespace {

std::string reference(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string written(const Json& value) {
  std::string out = "prefix";
  append_json(out, value);
  return out.substr(6);
}

TEST(JsonWriterTest, ScalarsMatchDump) {
  const double inf = std::numeric_limits<double>::infinity();
  for (const Json& value :
       {Json(nullptr), Json(true), Json(false), Json(0), Json(-1), Json(std::numeric_limits<int64_t>::min()),
        Json(std::numeric_limits<int64_t>::max()), Json(std::numeric_limits<uint64_t>::max()), Json(0.0), Json(-0.0),
        Json(1.0), Json(0.1), Json(1e-5), Json(1e21), Json(1.5e300), Json(5e-324), Json(-2.5), Json(100.0),
        Json(std::nan("")), Json(inf), Json(-inf), Json(123456789.125)}) {
    EXPECT_EQ(written(value), reference(value)) << reference(value);
  }
}

TEST(JsonWriterTest, RandomDoublesMatchDump) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0, 1);
  std::uniform_int_distribution<int> exponent(-300, 300);
  for (int i = 0; i < 20000; ++i) {
    const double d = (unit(rng) - 0.5) * std::pow(10.0, exponent(rng) / 10);
    EXPECT_EQ(written(Json(d)), reference(Json(d)));
  }
}

TEST(JsonWriterTest, StringsMatchDump) {
  for (const std::string& text :
       {std::string(), std::string("plain"), std::string("quote\" back\\slash"), std::string("tab\tnew\nline\r"),
        std::string("\x01\x1f\x7f"), std::string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
        std::string("bad \xC3 utf8 \xFF\xFE end"), std::string("nul\0byte", 8), std::string(1000, 'x')}) {
    EXPECT_EQ(written(Json(text)), reference(Json(text))) << text;
  }
}

TEST(JsonWriterTest, TreesMatchDump) {
  const Json tree = {{"a", 1},
                     {"b", {{"c", {1, 2.5, "x", nullptr, Json::array(), Json::object()}}, {"d\"", false}}},
                     {"empty", Json::object()},
                     {"list", Json::array()},
                     {"config", {{"lr", 0.01}, {"layers", {64, 64}}}},
                     {"\xC3\xA9", "\xFF"}};
  EXPECT_EQ(written(tree), reference(tree));
  EXPECT_EQ(written(Json::array()), "[]");
  EXPECT_EQ(written(Json::object()), "{}");
}

TEST(JsonWriterTest, SameJsonComparesTypesAndBits) {
  EXPECT_TRUE(same_json(Json{{"a", 1}, {"b", {1.5, "x"}}}, Json{{"a", 1}, {"b", {1.5, "x"}}}));
  EXPECT_FALSE(same_json(Json(1), Json(1.0)));  // == says equal; the text differs
  EXPECT_FALSE(same_json(Json(1), Json(1u)));
  EXPECT_FALSE(same_json(Json(0.0), Json(-0.0)));
  EXPECT_TRUE(same_json(Json(std::nan("")), Json(std::nan(""))));
  EXPECT_FALSE(same_json(Json{{"a", 1}}, Json{{"a", 1}, {"b", 2}}));
  EXPECT_FALSE(same_json(Json{{"a", 1}}, Json{{"b", 1}}));
  EXPECT_FALSE(same_json(Json::array({1, 2}), Json::array({1, 3})));
}

}  // namespace
}  // namespace tune::detail
