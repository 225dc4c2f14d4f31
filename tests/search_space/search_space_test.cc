// Tests for the search space: domain validation and sampling, the Space tree and its JSON form.
#include "tune/search_space.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <set>
#include <string>

#include "tune/error.h"

namespace tune {
namespace {

// Runs fn and expects a TuneError whose message contains `needle`.
void expect_error(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no TuneError; expected one containing: " << needle;
  } catch (const TuneError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what();
  }
}

bool is_multiple(double value, double q) { return std::abs(value / q - std::round(value / q)) < 1e-9; }

// 2,000 draws, half from an mt19937_64 and half from sample_seeded.
std::vector<Json> draws(const Domain& domain) {
  std::vector<Json> out;
  std::mt19937_64 rng(42);
  for (int i = 0; i < 1000; ++i) out.push_back(domain.sample(rng));
  for (uint64_t i = 0; i < 1000; ++i) out.push_back(domain.sample_seeded(i));
  return out;
}

// ---- validation ----

TEST(DomainValidation, UniformBoundsOrder) {
  expect_error([] { uniform(5, 1); }, "uniform: lower (5) must be less than upper (1)");
  expect_error([] { uniform(1, 1); }, "uniform: lower (1) must be less than upper (1)");
  expect_error([] { quniform(2, 1, 0.5); }, "quniform: lower (2) must be less than upper (1)");
}

TEST(DomainValidation, NonFiniteBounds) {
  expect_error([] { uniform(NAN, 1); }, "uniform: lower must be finite");
  expect_error([] { uniform(0, INFINITY); }, "uniform: upper must be finite");
  expect_error([] { loguniform(1e-3, INFINITY); }, "loguniform: upper must be finite");
  expect_error([] { randn(NAN, 1); }, "randn: mean must be finite");
  expect_error([] { quniform(0, 1, NAN); }, "quniform: q must be finite");
}

TEST(DomainValidation, LogBoundsMustBePositive) {
  expect_error([] { loguniform(0, 1); }, "loguniform: lower bound must be > 0 (got 0)");
  expect_error([] { loguniform(-1, 1); }, "loguniform: lower bound must be > 0 (got -1)");
  expect_error([] { qloguniform(0, 1, 0.1); }, "qloguniform: lower bound must be > 0");
  expect_error([] { lograndint(0, 10); }, "lograndint: lower bound must be > 0");
  expect_error([] { qlograndint(0, 10, 2); }, "qlograndint: lower bound must be > 0");
  expect_error([] { loguniform(10, 1); }, "loguniform: lower (10) must be less than upper (1)");
}

TEST(DomainValidation, QuantumMustBePositive) {
  expect_error([] { quniform(0, 1, 0); }, "quniform: q must be > 0 (got 0)");
  expect_error([] { qloguniform(1, 10, -1); }, "qloguniform: q must be > 0");
  expect_error([] { qrandn(0, 1, 0); }, "qrandn: q must be > 0");
  expect_error([] { qrandint(0, 10, 0); }, "qrandint: q must be > 0");
  expect_error([] { qlograndint(1, 10, -2); }, "qlograndint: q must be > 0");
}

TEST(DomainValidation, IntegerQuantumNeedsAMultipleInRange) {
  expect_error([] { qrandint(1, 4, 5); }, "qrandint: no multiple of q (5) lies in [1, 4]");
  expect_error([] { qlograndint(1, 4, 5); }, "qlograndint: no multiple of q (5)");
}

TEST(DomainValidation, StandardDeviationMustBePositive) {
  expect_error([] { randn(0, 0); }, "randn: sd must be > 0 (got 0)");
  expect_error([] { randn(0, -1); }, "randn: sd must be > 0 (got -1)");
  expect_error([] { qrandn(0, 0, 1); }, "qrandn: sd must be > 0");
}

TEST(DomainValidation, EmptyLists) {
  expect_error([] { grid_search({}); }, "grid_search: the list of values must not be empty");
  expect_error([] { choice({}); }, "choice: the list of values must not be empty");
}

TEST(DomainValidation, IntegerBoundsOrder) {
  expect_error([] { randint(5, 5); }, "randint: lower (5) must be less than upper (5)");
  expect_error([] { randint(6, 5); }, "randint: lower (6) must be less than upper (5)");
  expect_error([] { qrandint(10, 0, 1); }, "qrandint: lower (10) must be less than upper (0)");
  expect_error([] { lograndint(10, 10); }, "lograndint: lower (10) must be less than upper (10)");
  expect_error([] { randint(0, int64_t{1} << 60); }, "randint: upper must be within +-2^53");
}

TEST(DomainValidation, Base) {
  expect_error([] { loguniform(1, 10, 1); }, "loguniform: base must be > 0 and != 1 (got 1)");
  expect_error([] { loguniform(1, 10, 0); }, "loguniform: base must be > 0 and != 1 (got 0)");
  expect_error([] { qloguniform(1, 10, 1, -2); }, "qloguniform: base must be > 0 and != 1");
  expect_error([] { lograndint(1, 10, 1); }, "lograndint: base must be > 0 and != 1");
  expect_error([] { qlograndint(1, 10, 1, 0); }, "qlograndint: base must be > 0 and != 1");
}

TEST(DomainValidation, EmptySampleFrom) {
  expect_error([] { sample_from(SampleFn()); }, "sample_from: the function must not be empty");
}

// ---- sampling ----

TEST(DomainSampling, Uniform) {
  double sum = 0;
  for (const Json& v : draws(uniform(-2, 3))) {
    ASSERT_TRUE(v.is_number_float());
    ASSERT_GE(v.get<double>(), -2);
    ASSERT_LT(v.get<double>(), 3);
    sum += v.get<double>();
  }
  EXPECT_NEAR(sum / 2000, 0.5, 0.15);  // the mean of U(-2, 3); sd of the mean is ~0.03
}

TEST(DomainSampling, QUniformIsQuantisedWithInclusiveUpper) {
  std::set<double> seen;
  for (const Json& v : draws(quniform(0, 1, 0.25))) {
    ASSERT_TRUE(v.is_number_float());
    const double x = v.get<double>();
    ASSERT_GE(x, 0);
    ASSERT_LE(x, 1);
    ASSERT_TRUE(is_multiple(x, 0.25)) << x;
    seen.insert(x);
  }
  EXPECT_EQ(seen, (std::set<double>{0, 0.25, 0.5, 0.75, 1.0}));
}

TEST(DomainSampling, QUniformClipsFloatNoiseIntoBounds) {
  for (const Json& v : draws(quniform(0, 0.3, 0.1))) {
    ASSERT_LE(v.get<double>(), 0.3);
    ASSERT_GE(v.get<double>(), 0.0);
    ASSERT_TRUE(is_multiple(v.get<double>(), 0.1));
  }
}

TEST(DomainSampling, LogUniformIsUniformInLogSpace) {
  int below = 0;
  for (const Json& v : draws(loguniform(1e-4, 1))) {
    ASSERT_TRUE(v.is_number_float());
    ASSERT_GE(v.get<double>(), 1e-4);
    ASSERT_LE(v.get<double>(), 1);
    below += v.get<double>() < 1e-2 ? 1 : 0;
  }
  EXPECT_NEAR(below / 2000.0, 0.5, 0.06);  // half of the decades lie below 1e-2
  for (const Json& v : draws(loguniform(1, 1024, 2))) {
    ASSERT_GE(v.get<double>(), 1);
    ASSERT_LE(v.get<double>(), 1024);
  }
}

TEST(DomainSampling, QLogUniform) {
  for (const Json& v : draws(qloguniform(1, 1000, 5))) {
    ASSERT_TRUE(v.is_number_float());
    ASSERT_GE(v.get<double>(), 1);
    ASSERT_LE(v.get<double>(), 1000);
    if (v.get<double>() > 1) {  // 1 is the clipped lower end
      ASSERT_TRUE(is_multiple(v.get<double>(), 5)) << v;
    }
  }
}

TEST(DomainSampling, Randn) {
  double sum = 0;
  double sum_sq = 0;
  for (const Json& v : draws(randn(10, 2))) {
    ASSERT_TRUE(v.is_number_float());
    sum += v.get<double>();
    sum_sq += v.get<double>() * v.get<double>();
  }
  const double mean = sum / 2000;
  EXPECT_NEAR(mean, 10, 0.3);
  EXPECT_NEAR(std::sqrt(sum_sq / 2000 - mean * mean), 2, 0.3);
}

TEST(DomainSampling, QRandn) {
  for (const Json& v : draws(qrandn(0, 3, 0.5))) {
    ASSERT_TRUE(v.is_number_float());
    ASSERT_TRUE(is_multiple(v.get<double>(), 0.5));
  }
}

TEST(DomainSampling, RandintIsIntegerWithExclusiveUpper) {
  std::set<int64_t> seen;
  for (const Json& v : draws(randint(-2, 3))) {
    ASSERT_TRUE(v.is_number_integer()) << v;
    seen.insert(v.get<int64_t>());
  }
  EXPECT_EQ(seen, (std::set<int64_t>{-2, -1, 0, 1, 2}));
}

TEST(DomainSampling, QRandintIsQuantisedWithInclusiveUpper) {
  std::set<int64_t> seen;
  for (const Json& v : draws(qrandint(0, 20, 5))) {
    ASSERT_TRUE(v.is_number_integer()) << v;
    seen.insert(v.get<int64_t>());
  }
  EXPECT_EQ(seen, (std::set<int64_t>{0, 5, 10, 15, 20}));
  seen.clear();
  for (const Json& v : draws(qrandint(-7, 7, 3))) seen.insert(v.get<int64_t>());
  EXPECT_EQ(seen, (std::set<int64_t>{-6, -3, 0, 3, 6}));
}

TEST(DomainSampling, LogRandint) {
  std::set<int64_t> seen;
  for (const Json& v : draws(lograndint(1, 10))) {
    ASSERT_TRUE(v.is_number_integer()) << v;
    seen.insert(v.get<int64_t>());
  }
  EXPECT_EQ(*seen.begin(), 1);
  EXPECT_EQ(*seen.rbegin(), 9);  // upper exclusive
  int small = 0;
  for (const Json& v : draws(lograndint(1, 10000))) {
    ASSERT_GE(v.get<int64_t>(), 1);
    ASSERT_LT(v.get<int64_t>(), 10000);
    small += v.get<int64_t>() < 100 ? 1 : 0;
  }
  EXPECT_NEAR(small / 2000.0, 0.5, 0.06);
}

TEST(DomainSampling, QLogRandint) {
  std::set<int64_t> seen;
  for (const Json& v : draws(qlograndint(2, 64, 2, 2))) {
    ASSERT_TRUE(v.is_number_integer()) << v;
    ASSERT_GE(v.get<int64_t>(), 2);
    ASSERT_LE(v.get<int64_t>(), 64);
    ASSERT_EQ(v.get<int64_t>() % 2, 0);
    seen.insert(v.get<int64_t>());
  }
  EXPECT_TRUE(seen.count(64));  // quantisation makes the upper bound reachable
}

TEST(DomainSampling, Choice) {
  std::map<std::string, int> counts;
  for (const Json& v : draws(choice({"a", "b", "c"}))) counts[v.get<std::string>()]++;
  ASSERT_EQ(counts.size(), 3u);
  for (const auto& [value, count] : counts) EXPECT_NEAR(count, 667, 120) << value;
  const Json object = {{"x", 2}};
  for (const Json& v : draws(choice({1, object}))) EXPECT_TRUE(v == Json(1) || v == object);
}

TEST(DomainSampling, SeededSamplingIsDeterministic) {
  const Domain domain = uniform(0, 1);
  EXPECT_EQ(domain.sample_seeded(7), domain.sample_seeded(7));
  EXPECT_NE(domain.sample_seeded(7), domain.sample_seeded(8));
  std::mt19937_64 a(3);
  std::mt19937_64 b(3);
  EXPECT_EQ(domain.sample(a), domain.sample(b));
}

TEST(DomainSampling, GridAndSampleFromAreNotDistributions) {
  std::mt19937_64 rng(1);
  expect_error([&] { grid_search({1, 2}).sample(rng); }, "grid_search is not a distribution");
  expect_error([&] { sample_from([](Spec&) { return Json(1); }).sample_seeded(1); }, "sample_from is not");
}

TEST(DomainProperties, IntegerAndLog) {
  EXPECT_TRUE(randint(0, 2).is_integer());
  EXPECT_TRUE(qlograndint(1, 10, 1).is_integer());
  EXPECT_FALSE(uniform(0, 1).is_integer());
  EXPECT_TRUE(loguniform(1, 2).is_log());
  EXPECT_TRUE(lograndint(1, 5).is_log());
  EXPECT_FALSE(quniform(0, 1, 0.5).is_log());
  EXPECT_TRUE(grid_search({1}).is_grid());
}

TEST(DomainJson, ToJsonOfEveryForm) {
  EXPECT_EQ(uniform(0, 1).to_json(), (Json{{"uniform", {0.0, 1.0}}}));
  EXPECT_EQ(quniform(0, 1, 0.5).to_json(), (Json{{"quniform", {0.0, 1.0, 0.5}}}));
  EXPECT_EQ(loguniform(1e-4, 0.1).to_json(), (Json{{"loguniform", {1e-4, 0.1}}}));
  EXPECT_EQ(loguniform(1, 8, 2).to_json(), (Json{{"loguniform", {1.0, 8.0, 2.0}}}));
  EXPECT_EQ(qloguniform(1, 8, 1).to_json(), (Json{{"qloguniform", {1.0, 8.0, 1.0}}}));
  EXPECT_EQ(randn().to_json(), (Json{{"randn", {0.0, 1.0}}}));
  EXPECT_EQ(qrandn(1, 2, 0.5).to_json(), (Json{{"qrandn", {1.0, 2.0, 0.5}}}));
  const Json randint_json = randint(1, 5).to_json();
  EXPECT_EQ(randint_json, (Json{{"randint", {1, 5}}}));
  EXPECT_TRUE(randint_json["randint"][0].is_number_integer());
  EXPECT_EQ(qrandint(0, 10, 2).to_json(), (Json{{"qrandint", {0, 10, 2}}}));
  EXPECT_EQ(lograndint(1, 100).to_json(), (Json{{"lograndint", {1, 100}}}));
  EXPECT_EQ(qlograndint(2, 64, 2, 2).to_json(), (Json{{"qlograndint", {2, 64, 2, 2.0}}}));
  EXPECT_EQ(choice({"a", 1}).to_json(), (Json{{"choice", {"a", 1}}}));
  EXPECT_EQ(grid_search({1, 2}).to_json(), (Json{{"grid_search", {1, 2}}}));
  EXPECT_EQ(sample_from([](Spec&) { return Json(1); }).to_json(), (Json{{"sample_from", "<function>"}}));
}

TEST(DomainJson, TypeNames) {
  EXPECT_EQ(to_string(Domain::Type::kQLogRandint), "qlograndint");
  EXPECT_EQ(domain_type_from_string("grid_search"), Domain::Type::kGridSearch);
  EXPECT_EQ(domain_type_from_string("nope"), std::nullopt);
}

// ---- Space ----

TEST(Space, InitializerListOfPairsIsAnObject) {
  const Space space = {{"a", 1}, {"b", grid_search({1, 2})}, {"c", {{"d", "x"}}}};
  ASSERT_TRUE(space.is_object());
  EXPECT_EQ(space.as_object().size(), 3u);
  EXPECT_TRUE(space.find("a")->is_value());
  EXPECT_EQ(space.find("a")->as_value(), 1);
  EXPECT_TRUE(space.find("b")->is_domain());
  EXPECT_EQ(space.find("c/d")->as_value(), "x");
  EXPECT_EQ(space.to_json(), (Json{{"a", 1}, {"b", {{"grid_search", {1, 2}}}}, {"c", {{"d", "x"}}}}));
}

TEST(Space, OtherListsAreArrays) {
  const Space numbers = {1, 2, 3};
  EXPECT_TRUE(numbers.is_array());
  const Space mixed = {{"a", 1}, 5};  // not all [string, x] pairs
  ASSERT_TRUE(mixed.is_array());
  EXPECT_TRUE(mixed.as_array()[0].is_array());
  const Space pair_of_numbers = {{1, 2}, {3, 4}};
  EXPECT_TRUE(pair_of_numbers.is_array());
  const Space layers = {{"nn_layers", {grid_search({16, 64}), grid_search({16, 64})}}};
  ASSERT_TRUE(layers.find("nn_layers")->is_array());
  EXPECT_TRUE(layers.find("nn_layers/1")->is_domain());
  EXPECT_EQ(layers.find("nn_layers/2"), nullptr);
  EXPECT_EQ(layers.find("nn_layers/x"), nullptr);
}

TEST(Space, DuplicateKeysAreAnError) {
  expect_error([] { Space space = {{"a", 1}, {"a", 2}}; }, "duplicate key 'a'");
}

TEST(Space, ObjectArraySetFind) {
  Space space;
  EXPECT_TRUE(space.empty());
  space.set("lr", loguniform(1e-4, 1e-1)).set("model", Space::object({{"width", choice({8, 16})}}));
  space.set("list", Space::array({1, uniform(0, 1)}));
  EXPECT_FALSE(space.empty());
  EXPECT_TRUE(space.find("model/width")->is_domain());
  EXPECT_EQ(space.find("list/1")->as_domain().type, Domain::Type::kUniform);
  EXPECT_EQ(space.find(""), &space);
  EXPECT_EQ(space.find("missing"), nullptr);
  EXPECT_EQ(space.find("lr/deeper"), nullptr);
  space.set("lr", 0.1);  // replaces
  EXPECT_TRUE(space.find("lr")->is_value());
  Space number = 3;
  expect_error([&] { number.set("a", 1); }, "Space::set('a'): the space is not an object");
  EXPECT_TRUE(Space::object({}).empty());
  EXPECT_TRUE(Space::array({}).empty());
}

TEST(Space, JsonValuesBecomeTrees) {
  const Space space = Json{{"a", {{"b", 1}}}, {"c", {1, 2}}};
  EXPECT_TRUE(space.is_object());
  EXPECT_EQ(space.find("a/b")->as_value(), 1);
  EXPECT_EQ(space.find("c/1")->as_value(), 2);
  EXPECT_FALSE(space.find("c")->is_domain());  // no JSON-form parsing without from_json
}

// ---- the JSON form ----

TEST(SpaceJson, EveryFormParses) {
  const Json json = {
      {"grid", {{"grid_search", {1, 2, 3}}}},
      {"u", {{"uniform", {0, 1}}}},
      {"qu", {{"quniform", {0, 1, 0.1}}}},
      {"lu", {{"loguniform", {1e-4, 1e-1}}}},
      {"lu2", {{"loguniform", {1, 1024, 2}}}},
      {"qlu", {{"qloguniform", {1, 100, 5}}}},
      {"rn", {{"randn", {0, 2}}}},
      {"qrn", {{"qrandn", {0, 2, 0.5}}}},
      {"ri", {{"randint", {0, 10}}}},
      {"qri", {{"qrandint", {0, 10, 2}}}},
      {"lri", {{"lograndint", {1, 100}}}},
      {"qlri", {{"qlograndint", {1, 100, 5, 10}}}},
      {"ch", {{"choice", {"relu", "tanh"}}}},
      {"plain", {{"x", 1}, {"uniform", 2}}},  // two keys: a plain object
      {"nested", {{"list", {5, {{"grid_search", {"a", "b"}}}}}}},
  };
  const Space space = Space::from_json(json);
  const auto type = [&](const char* path) { return space.find(path)->as_domain().type; };
  EXPECT_EQ(type("grid"), Domain::Type::kGridSearch);
  EXPECT_EQ(space.find("grid")->as_domain().values.size(), 3u);
  EXPECT_EQ(type("u"), Domain::Type::kUniform);
  EXPECT_EQ(type("qu"), Domain::Type::kQUniform);
  EXPECT_DOUBLE_EQ(space.find("qu")->as_domain().q, 0.1);
  EXPECT_EQ(type("lu"), Domain::Type::kLogUniform);
  EXPECT_DOUBLE_EQ(space.find("lu")->as_domain().base, 10);
  EXPECT_DOUBLE_EQ(space.find("lu2")->as_domain().base, 2);
  EXPECT_EQ(type("qlu"), Domain::Type::kQLogUniform);
  EXPECT_EQ(type("rn"), Domain::Type::kRandn);
  EXPECT_DOUBLE_EQ(space.find("rn")->as_domain().sd, 2);
  EXPECT_EQ(type("qrn"), Domain::Type::kQRandn);
  EXPECT_EQ(type("ri"), Domain::Type::kRandint);
  EXPECT_EQ(type("qri"), Domain::Type::kQRandint);
  EXPECT_EQ(type("lri"), Domain::Type::kLogRandint);
  EXPECT_EQ(type("qlri"), Domain::Type::kQLogRandint);
  EXPECT_EQ(type("ch"), Domain::Type::kChoice);
  EXPECT_TRUE(space.find("plain")->is_object());
  EXPECT_EQ(space.find("plain/uniform")->as_value(), 2);
  EXPECT_EQ(type("nested/list/1"), Domain::Type::kGridSearch);
  EXPECT_EQ(space.find("nested/list/0")->as_value(), 5);
  // The JSON form round-trips (lu2's base and qlri's explicit base 10 aside, which to_json omits).
  Json expected = json;
  expected["qlri"] = {{"qlograndint", {1, 100, 5}}};
  EXPECT_EQ(Space::from_json(space.to_json()).to_json(), space.to_json());
  EXPECT_EQ(space.to_json()["qlri"], expected["qlri"]);
  EXPECT_EQ(space.to_json()["grid"], json["grid"]);
}

TEST(SpaceJson, GridSearchInsideTopLevelList) {
  const Space space = Space::from_json(Json::array({{{"grid_search", {1, 2}}}, 3}));
  ASSERT_TRUE(space.is_array());
  EXPECT_TRUE(space.as_array()[0].is_domain());
}

TEST(SpaceJson, ErrorsNameThePath) {
  expect_error([] { Space::from_json({{"lr", {{"loguniform", {0, 1}}}}}); },
               "config/lr: loguniform: lower bound must be > 0");
  expect_error([] { Space::from_json({{"model", {{"lr", {{"uniform", {5, 1}}}}}}}); },
               "config/model/lr: uniform: lower (5) must be less than upper (1)");
  expect_error([] { Space::from_json({{"layers", {1, {{"choice", Json::array()}}}}}); },
               "config/layers/1: choice: the list of values must not be empty");
  expect_error([] { Space::from_json({{"g", {{"grid_search", Json::array()}}}}, "spec"); },
               "spec/g: grid_search: the list of values must not be empty");
}

TEST(SpaceJson, WrongArgumentCountNamesTheForm) {
  expect_error([] { Space::from_json({{"lr", {{"loguniform", {1}}}}}); },
               "config/lr: loguniform expects [lower, upper] or [lower, upper, base], got 1 argument(s)");
  expect_error([] { Space::from_json({{"x", {{"quniform", {0, 1}}}}}); },
               "config/x: quniform expects [lower, upper, q], got 2 argument(s)");
  expect_error([] { Space::from_json({{"x", {{"randn", {0, 1, 2}}}}}); }, "config/x: randn expects [mean, sd]");
}

TEST(SpaceJson, NonListArgumentIsAnError) {
  expect_error([] { Space::from_json({{"x", {{"uniform", 3}}}}); }, "config/x: uniform expects a list [lower, upper]");
  expect_error([] { Space::from_json({{"x", {{"grid_search", "abc"}}}}); }, "config/x: grid_search expects a list");
}

TEST(SpaceJson, ArgumentTypes) {
  expect_error([] { Space::from_json({{"x", {{"uniform", {"a", 1}}}}}); },
               "config/x: uniform argument 1 must be a number (got \"a\")");
  expect_error([] { Space::from_json({{"x", {{"randint", {0, 2.5}}}}}); },
               "config/x: randint argument 2 must be an integer");
  // Integral floats are accepted for integer forms, and the log base may be fractional.
  const Space space = Space::from_json({{"x", {{"randint", {0.0, 3.0}}}}, {"y", {{"lograndint", {1, 100, 2.5}}}}});
  EXPECT_EQ(space.find("x")->as_domain().upper, 3);
  EXPECT_DOUBLE_EQ(space.find("y")->as_domain().base, 2.5);
}

TEST(SpaceJson, SampleFromCannotComeFromJson) {
  expect_error([] { Space::from_json({{"f", {{"sample_from", "<function>"}}}}); },
               "config/f: sample_from cannot be read from JSON");
}

// ---- Spec helpers ----

class FixedSpec : public Spec {
 public:
  const Json& config(std::string_view) override { return value_; }
  std::mt19937_64& random() override { return rng_; }

 private:
  Json value_;
  std::mt19937_64 rng_{5};
};

TEST(Spec, UniformAndNormalUseTheEngine) {
  FixedSpec spec;
  for (int i = 0; i < 500; ++i) {
    const double u = spec.uniform(3, 4);
    ASSERT_GE(u, 3);
    ASSERT_LT(u, 4);
    ASSERT_TRUE(std::isfinite(spec.normal(1, 2)));
  }
  FixedSpec a;
  FixedSpec b;
  EXPECT_EQ(a.normal(), b.normal());
}

}  // namespace
}  // namespace tune
