// Tests of CMAESSearcher: determinism, domains (choices refused), generations and running
// trials, failed members, save/restore, IPOP restarts, misuse, and convergence.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "support/searcher_loop.h"
#include "tune/error.h"
#include "tune/searchers.h"

namespace tune {
namespace {

using testing::best_of;
using testing::expect_error;
using testing::optimise;

CMAESSearcher::Options seeded(uint64_t seed) {
  CMAESSearcher::Options o;
  o.seed = seed;
  return o;
}

Space quadratic_space() { return {{"x", uniform(-5, 5)}, {"y", uniform(-5, 5)}, {"const", 7}}; }

double quadratic(const Config& c) {
  const double x = c["x"].get<double>(), y = c["y"].get<double>();
  return (x - 1.3) * (x - 1.3) + (y + 2.1) * (y + 2.1);
}

TEST(CMAESTest, SameSeedSameSuggestionsAndConstantsPassThrough) {
  CMAESSearcher a(seeded(3)), b(seeded(3)), c(seeded(4));
  for (CMAESSearcher* s : {&a, &b, &c}) s->set_search_properties("loss", "min", quadratic_space());
  const auto ca = optimise(a, quadratic, 40), cb = optimise(b, quadratic, 40), cc = optimise(c, quadratic, 40);
  EXPECT_EQ(ca, cb);
  EXPECT_NE(ca, cc);
  for (const auto& config : ca) EXPECT_EQ(config["const"], 7);
  EXPECT_GE(a.generation(), 6);  // lambda = 6 in 2-D
}

TEST(CMAESTest, ConvergesOnAQuadraticAndShrinksItsStep) {
  CMAESSearcher cma(seeded(1));
  cma.set_search_properties("loss", "min", quadratic_space());
  const double sigma0 = cma.sigma();
  const auto configs = optimise(cma, quadratic, 240);
  EXPECT_LT(best_of(configs, quadratic), 1e-4);
  EXPECT_LT(cma.sigma(), sigma0 / 10);
}

TEST(CMAESTest, NumericDomainsStayInTheirDomainsAndChoicesAreRefused) {
  const Space space = {{"lr", loguniform(1e-5, 1e-1)}, {"n", randint(2, 9)}, {"q", quniform(0, 1, 0.25)},
                       {"qn", qrandint(10, 100, 10)}};
  CMAESSearcher cma(seeded(2));
  cma.set_search_properties("loss", "min", space);
  const auto f = [](const Config& c) { return std::abs(std::log10(c["lr"].get<double>()) + 3) + c["n"].get<double>(); };
  const auto configs = optimise(cma, f, 60);
  for (const Config& c : configs) {
    const double lr = c["lr"].get<double>();
    EXPECT_TRUE(lr >= 1e-5 && lr <= 1e-1) << lr;
    ASSERT_TRUE(c["n"].is_number_integer());
    EXPECT_GE(c["n"].get<int>(), 2);
    EXPECT_LT(c["n"].get<int>(), 9);
    EXPECT_DOUBLE_EQ(std::round(c["q"].get<double>() * 4) / 4, c["q"].get<double>());
    EXPECT_EQ(c["qn"].get<int>() % 10, 0);
  }
  EXPECT_LT(best_of(configs, f), 2.5);  // near lr = 1e-3, n = 2
  expect_error([] { CMAESSearcher(seeded(1)).set_search_properties("loss", "min", {{"opt", choice({"a", "b"})}}); },
               "search_alg cmaes: config/opt: a choice cannot be searched by CMA-ES");
}

TEST(CMAESTest, RunningTrialsAreMembersOfTheGenerationAndTheRestWaits) {
  CMAESSearcher cma(seeded(5));
  cma.set_search_properties("loss", "min", quadratic_space());
  const int lambda = cma.popsize();
  ASSERT_EQ(lambda, 6);
  std::set<std::pair<double, double>> seen;
  std::vector<Config> configs;
  for (int i = 0; i < lambda; ++i) {
    const Suggestion s = cma.suggest("p" + std::to_string(i));
    ASSERT_EQ(s.kind, Suggestion::Kind::kConfig);
    seen.insert({s.config["x"].get<double>(), s.config["y"].get<double>()});
    configs.push_back(s.config);
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(lambda));
  EXPECT_EQ(cma.suggest("extra").kind, Suggestion::Kind::kNotNow);
  cma.on_trial_complete("p0", Json{{"loss", quadratic(configs[0])}}, false);
  EXPECT_EQ(cma.suggest("extra").kind, Suggestion::Kind::kNotNow);  // p0 is done, the others still run
  // A failed member is replaced by a new sample.
  cma.on_trial_complete("p1", Json{{"loss", 1.0}}, true);
  const Suggestion again = cma.suggest("p1b");
  ASSERT_EQ(again.kind, Suggestion::Kind::kConfig);
  EXPECT_NE(again.config, configs[1]);
  EXPECT_EQ(cma.generation(), 0);
  for (int i = 2; i < lambda; ++i) cma.on_trial_complete("p" + std::to_string(i), Json{{"loss", quadratic(configs[static_cast<size_t>(i)])}}, false);
  cma.on_trial_complete("p1b", Json{{"loss", quadratic(again.config)}}, false);
  EXPECT_EQ(cma.generation(), 1);
  EXPECT_EQ(cma.suggest("next").kind, Suggestion::Kind::kConfig);
}

TEST(CMAESTest, RestoredSearcherContinuesExactlyLikeTheOriginal) {
  CMAESSearcher original(seeded(9));
  original.set_search_properties("loss", "min", quadratic_space());
  optimise(original, quadratic, 15);  // mid-generation
  original.suggest("running");
  const Json state = Json::parse(original.save().dump());
  CMAESSearcher restored(seeded(777));
  restored.set_search_properties("loss", "min", quadratic_space());
  restored.restore(state);
  EXPECT_EQ(restored.seed(), 9u);
  EXPECT_EQ(restored.generation(), original.generation());
  original.on_trial_complete("running", Json{{"loss", 2.0}}, false);
  restored.on_trial_complete("running", Json{{"loss", 2.0}}, false);
  EXPECT_EQ(optimise(original, quadratic, 20), optimise(restored, quadratic, 20));
  EXPECT_DOUBLE_EQ(original.sigma(), restored.sigma());
}

TEST(CMAESTest, AConvergedSearchRestartsWithADoubledPopulation) {
  CMAESSearcher cma(seeded(3));
  cma.set_search_properties("loss", "min", quadratic_space());
  optimise(cma, [](const Config&) { return 1.0; }, 150);  // flat: nothing to learn
  EXPECT_GE(cma.restarts(), 1);
  EXPECT_GE(cma.popsize(), 12);
  CMAESSearcher::Options o = seeded(3);
  o.restarts = "none";
  CMAESSearcher plain(o);
  plain.set_search_properties("loss", "min", quadratic_space());
  optimise(plain, [](const Config&) { return 1.0; }, 150);
  EXPECT_EQ(plain.restarts(), 0);
  EXPECT_EQ(plain.popsize(), 6);
}

TEST(CMAESTest, PointsToEvaluateComeFirstAndCentreTheSearch) {
  CMAESSearcher::Options o = seeded(2);
  o.points_to_evaluate = {Json{{"x", 4.0}, {"y", -4.0}}};
  CMAESSearcher cma(o);
  cma.set_search_properties("loss", "min", quadratic_space());
  const auto configs = optimise(cma, quadratic, 7);
  EXPECT_EQ(configs[0]["x"], 4.0);
  EXPECT_EQ(configs[0]["y"], -4.0);
  double mx = 0;
  for (size_t i = 1; i < configs.size(); ++i) mx += configs[i]["x"].get<double>() / 6;
  EXPECT_GT(mx, 1.5);  // the first generation is spread around x = 4 (sigma0 = 10/6)
}

TEST(CMAESTest, MisuseIsNamed) {
  expect_error([] { CMAESSearcher(seeded(1)).set_search_properties("", "", quadratic_space()); }, "metric");
  expect_error([] { CMAESSearcher(seeded(1)).suggest("x"); }, "set_search_properties");
  CMAESSearcher::Options o;
  o.sigma0 = 0;
  expect_error([&] { CMAESSearcher{o}; }, "sigma0: must be > 0");
  o = {};
  o.popsize = 1;
  expect_error([&] { CMAESSearcher{o}; }, "popsize");
  o = {};
  o.restarts = "ipopp";
  expect_error([&] { CMAESSearcher{o}; }, "restarts: must be 'ipop' or 'none', got 'ipopp' (did you mean 'ipop'?)");
}

}  // namespace
}  // namespace tune
