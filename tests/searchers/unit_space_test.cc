#include "searchers/unit_space.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "tune/error.h"

namespace tune::detail {
namespace {

Space mixed_space() {
  return Space{
      {"lr", loguniform(1e-4, 1e-1)},
      {"momentum", uniform(0.5, 0.99)},
      {"units", qrandint(16, 256, 16)},
      {"layers", randint(1, 5)},
      {"batch", lograndint(1, 1000)},
      {"act", choice({"relu", "tanh", "gelu"})},
      {"noise", randn(2, 0.5)},
      {"model", {{"width", quniform(0, 1, 0.25)}, {"name", "mlp"}}},
  };
}

TEST(UnitSpaceTest, DimensionsFollowTheSortedPathsOfTheSpace) {
  const UnitSpace space(mixed_space(), "test");
  ASSERT_EQ(space.size(), 8U);
  std::vector<std::string> paths;
  for (const auto& d : space.dimensions()) paths.push_back(d.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"act", "batch", "layers", "lr", "model/width", "momentum", "noise",
                                             "units"}));
  EXPECT_EQ(space.dimensions()[0].kind, Dimension::Kind::kCategorical);
  EXPECT_EQ(space.dimensions()[0].num_choices, 3U);
  EXPECT_EQ(space.dimensions()[1].kind, Dimension::Kind::kInteger);
  EXPECT_TRUE(space.dimensions()[1].log);
  EXPECT_EQ(space.dimensions()[2].num_choices, 4U);   // 1..4
  EXPECT_EQ(space.dimensions()[7].num_choices, 16U);  // 16, 32, ..., 256
  EXPECT_EQ(space.dimensions()[3].kind, Dimension::Kind::kContinuous);
  EXPECT_TRUE(space.dimensions()[3].log);
}

TEST(UnitSpaceTest, DecodeKeepsPlainValuesAndStaysInsideEveryDomain) {
  const UnitSpace space(mixed_space(), "test");
  for (double u : {0.0, 1e-9, 0.25, 0.5, 0.75, 1.0 - 1e-12, 1.0}) {
    const Config c = space.decode(std::vector<double>(space.size(), u));
    EXPECT_EQ(c["model"]["name"], "mlp");
    EXPECT_GE(c["lr"].get<double>(), 1e-4);
    EXPECT_LE(c["lr"].get<double>(), 1e-1);
    EXPECT_TRUE(c["units"].is_number_integer());
    EXPECT_EQ(c["units"].get<int64_t>() % 16, 0);
    EXPECT_GE(c["units"].get<int64_t>(), 16);
    EXPECT_LE(c["units"].get<int64_t>(), 256);
    EXPECT_GE(c["layers"].get<int64_t>(), 1);
    EXPECT_LE(c["layers"].get<int64_t>(), 4);
    EXPECT_GE(c["batch"].get<int64_t>(), 1);
    EXPECT_LE(c["batch"].get<int64_t>(), 999);
    const double w = c["model"]["width"].get<double>();
    EXPECT_DOUBLE_EQ(std::round(w / 0.25) * 0.25, w);
    EXPECT_TRUE(std::isfinite(c["noise"].get<double>()));
  }
  const Config low = space.decode(std::vector<double>(space.size(), 0.0));
  EXPECT_NEAR(low["lr"].get<double>(), 1e-4, 1e-12);
  EXPECT_EQ(low["layers"], 1);
  EXPECT_EQ(low["act"], "relu");
  const Config high = space.decode(std::vector<double>(space.size(), 1.0));
  EXPECT_NEAR(high["lr"].get<double>(), 1e-1, 1e-12);
  EXPECT_EQ(high["layers"], 4);
  EXPECT_EQ(high["act"], "gelu");
  EXPECT_EQ(high["batch"], 999);
}

TEST(UnitSpaceTest, EncodeInvertsDecodeForEveryProducibleValue) {
  const UnitSpace space(mixed_space(), "test");
  std::set<int64_t> batches;
  for (int i = 0; i <= 2000; ++i) {
    const double u = i / 2000.0;
    const Config c = space.decode(std::vector<double>(space.size(), u));
    batches.insert(c["batch"].get<int64_t>());
    const Config again = space.decode(space.encode(c));
    EXPECT_EQ(again["act"], c["act"]);
    EXPECT_EQ(again["batch"], c["batch"]) << u;
    EXPECT_EQ(again["layers"], c["layers"]);
    EXPECT_EQ(again["units"], c["units"]);
    EXPECT_NEAR(again["lr"].get<double>(), c["lr"].get<double>(), 1e-12);
    EXPECT_NEAR(again["noise"].get<double>(), c["noise"].get<double>(), 1e-6);
  }
  // A log-integer axis reaches its small values too.
  EXPECT_TRUE(batches.count(1));
  EXPECT_TRUE(batches.count(2));
  EXPECT_TRUE(batches.count(999));
}

TEST(UnitSpaceTest, IntegerAndChoiceBinsHaveEqualWidthOnALinearAxis) {
  const UnitSpace space(Space{{"k", randint(0, 4)}, {"c", choice({1, 2})}}, "test");
  // dims: c, k
  EXPECT_EQ(space.value(1, 0.24), 0);
  EXPECT_EQ(space.value(1, 0.26), 1);
  EXPECT_EQ(space.value(1, 0.74), 2);
  EXPECT_EQ(space.value(1, 0.76), 3);
  EXPECT_DOUBLE_EQ(space.encode(1, Json(2)), 0.625);
  EXPECT_DOUBLE_EQ(space.encode(0, Json(2)), 0.75);
}

TEST(UnitSpaceTest, PartialEncodingMarksMissingValuesAndBadValuesAreNamed) {
  const UnitSpace space(Space{{"a", uniform(0, 1)}, {"b", choice({"x", "y"})}}, "test");
  const auto u = space.encode_partial(Json{{"a", 0.5}});
  EXPECT_DOUBLE_EQ(u[0], 0.5);
  EXPECT_TRUE(std::isnan(u[1]));
  EXPECT_THROW(space.encode(Json{{"a", 0.5}}), TuneError);
  try {
    space.encode(Json{{"a", 0.5}, {"b", "z"}});
    FAIL();
  } catch (const TuneError& e) {
    EXPECT_NE(std::string(e.what()).find("config/b"), std::string::npos) << e.what();
  }
}

TEST(UnitSpaceTest, GridSearchAndSampleFromAreRefusedNamingThePathAndTheSearcher) {
  try {
    UnitSpace space(Space{{"model", {{"depth", grid_search({1, 2})}}}}, "tpe");
    FAIL();
  } catch (const TuneError& e) {
    EXPECT_NE(std::string(e.what()).find("tpe: config/model/depth: grid_search"), std::string::npos) << e.what();
  }
  EXPECT_THROW(UnitSpace(Space{{"x", sample_from([](Spec&) { return Json(1); })}}, "gp"), TuneError);
}

TEST(UnitSpaceTest, DomainsInsideArraysAreDimensionsToo) {
  const UnitSpace space(Space{{"layers", Space::array({Space(randint(1, 3)), Space(8)})}}, "test");
  ASSERT_EQ(space.size(), 1U);
  EXPECT_EQ(space.dimensions()[0].path, "layers/0");
  const Config c = space.decode({0.9});
  EXPECT_EQ(c["layers"][0], 2);
  EXPECT_EQ(c["layers"][1], 8);
  EXPECT_DOUBLE_EQ(space.encode(c)[0], 0.75);
}

Space conditional_space() {
  return Space::from_json(Json::parse(R"({"lr": {"loguniform": [1e-4, 1]}, "model": {"choice": [
      {"type": "mlp", "width": {"randint": [16, 256]}, "act": {"choice": ["relu", "tanh"]}},
      {"type": "linear", "l2": {"loguniform": [1e-6, 1e-2]}},
      "none"]}})"));
}

TEST(UnitSpaceTest, ChoicesOfSubSpacesAreConditionalDimensions) {
  const UnitSpace space(conditional_space(), "test");
  ASSERT_EQ(space.size(), 5U);
  ASSERT_TRUE(space.conditional());
  std::vector<std::string> paths;
  for (const auto& d : space.dimensions()) paths.push_back(d.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"lr", "model", "model/act", "model/width", "model/l2"}));
  EXPECT_EQ(space.dimensions()[2].parent, 1);
  EXPECT_EQ(space.dimensions()[2].option, 0U);
  EXPECT_EQ(space.dimensions()[4].option, 1U);

  const Config mlp = space.decode({0.5, 0.1, 0.9, 0.5, 0.3});
  EXPECT_EQ(mlp["model"]["type"], "mlp");
  EXPECT_EQ(mlp["model"]["act"], "tanh");
  ASSERT_TRUE(mlp["model"]["width"].is_number_integer());
  EXPECT_FALSE(mlp["model"].contains("l2"));
  const Config linear = space.decode({0.5, 0.5, 0.9, 0.5, 0.3});
  EXPECT_EQ(linear["model"]["type"], "linear");
  EXPECT_EQ(linear["model"].size(), 2U);
  EXPECT_GE(linear["model"]["l2"].get<double>(), 1e-6);
  EXPECT_EQ(space.decode({0.5, 0.9, 0.9, 0.5, 0.3})["model"], "none");

  // encode: the dimensions of the values not chosen are NaN, and decode(encode(c)) == c.
  const std::vector<double> u = space.encode(mlp);
  EXPECT_TRUE(std::isnan(u[4]));
  EXPECT_FALSE(std::isnan(u[3]));
  EXPECT_EQ(space.decode(u), mlp);
  const std::vector<double> v = space.encode(linear);
  EXPECT_TRUE(std::isnan(v[2]) && std::isnan(v[3]));
  EXPECT_EQ(space.decode(v)["model"]["type"], "linear");
  EXPECT_NEAR(space.decode(v)["model"]["l2"].get<double>(), linear["model"]["l2"].get<double>(), 1e-15);
  std::vector<double> w = {0.5, 0.9, 0.9, 0.5, 0.3};
  space.deactivate(w);
  EXPECT_TRUE(std::isnan(w[2]) && std::isnan(w[3]) && std::isnan(w[4]));
  EXPECT_THROW(space.encode(Json{{"lr", 0.1}, {"model", {{"type", "cnn"}}}}), TuneError);
  // A malformed distribution inside a value is an error naming its place, not a plain value.
  try {
    UnitSpace bad(Space::from_json(Json::parse(R"({"m": {"choice": [{"w": {"uniform": [5, 1]}}]}})")), "tpe");
    FAIL();
  } catch (const TuneError& e) {
    EXPECT_NE(std::string(e.what()).find("tpe: config/m/0/w"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tune::detail
