// Tests of BOHBSearcher: which budget its model uses, that the model finds the good region,
// determinism, domains, running trials, save/restore, and misuse.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "support/searcher_loop.h"
#include "tune/error.h"
#include "tune/searchers.h"

namespace tune {
namespace {

using testing::expect_error;
using testing::median;

BOHBSearcher::Options seeded(uint64_t seed) {
  BOHBSearcher::Options o;
  o.seed = seed;
  return o;
}

Space space_2d() { return {{"x", uniform(0, 10)}, {"y", uniform(0, 10)}, {"const", 7}}; }

// Lower is better; a longer budget reveals the truth better.
double loss_at(const Config& c, double t) {
  const double x = c["x"].get<double>(), y = c["y"].get<double>();
  return (x - 7) * (x - 7) + (y - 2) * (y - 2) + 4.0 / t;
}

// n trials, the i-th run to budgets[i % budgets.size()], one result per unit of budget.
std::vector<Config> run_trials(BOHBSearcher& bohb, int n, const std::vector<int>& budgets, int first = 0) {
  std::vector<Config> configs;
  for (int i = first; i < first + n; ++i) {
    const std::string id = "t" + std::to_string(i);
    const Suggestion s = bohb.suggest(id);
    EXPECT_EQ(s.kind, Suggestion::Kind::kConfig);
    const int budget = budgets[static_cast<size_t>(i) % budgets.size()];
    for (int t = 1; t < budget; ++t) bohb.on_trial_result(id, Json{{"loss", loss_at(s.config, t)}, {"training_iteration", t}});
    bohb.on_trial_complete(id, Json{{"loss", loss_at(s.config, budget)}, {"training_iteration", budget}}, false);
    configs.push_back(s.config);
  }
  return configs;
}

TEST(BOHBTest, TheModelUsesTheLargestBudgetEnoughTrialsReached) {
  BOHBSearcher bohb(seeded(1));
  bohb.set_search_properties("loss", "min", space_2d());
  // d = 2: min_points_in_model = 3, and a model needs 3 good + 3 bad = 6 trials at a budget.
  run_trials(bohb, 5, {9});
  EXPECT_FALSE(bohb.model_budget().has_value());
  run_trials(bohb, 1, {1}, 5);
  EXPECT_EQ(bohb.model_budget(), 1.0);  // six trials reached budget 1, five reached 9
  run_trials(bohb, 1, {3}, 6);
  EXPECT_EQ(bohb.model_budget(), 3.0);
  run_trials(bohb, 1, {27}, 7);
  EXPECT_EQ(bohb.model_budget(), 9.0);
}

TEST(BOHBTest, SuggestionsConcentrateWhereTheModelSaysGood) {
  std::vector<double> bohb_d, random_d;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    BOHBSearcher::Options o = seeded(seed);
    o.random_fraction = 0;
    BOHBSearcher bohb(o);
    bohb.set_search_properties("loss", "min", space_2d());
    run_trials(bohb, 30, {1, 1, 3});
    BOHBSearcher::Options r = seeded(seed);
    r.random_fraction = 1;  // never the model
    BOHBSearcher random(r);
    random.set_search_properties("loss", "min", space_2d());
    run_trials(random, 30, {1, 1, 3});
    for (int i = 0; i < 10; ++i) {
      const Config b = bohb.suggest("b" + std::to_string(i)).config;
      const Config u = random.suggest("r" + std::to_string(i)).config;
      bohb_d.push_back(std::hypot(b["x"].get<double>() - 7, b["y"].get<double>() - 2));
      random_d.push_back(std::hypot(u["x"].get<double>() - 7, u["y"].get<double>() - 2));
    }
  }
  EXPECT_LT(median(bohb_d), 0.5 * median(random_d));
}

TEST(BOHBTest, SameSeedSameSuggestionsAndConcurrentOnesDiffer) {
  BOHBSearcher a(seeded(3)), b(seeded(3)), c(seeded(4));
  for (BOHBSearcher* s : {&a, &b, &c}) s->set_search_properties("loss", "min", space_2d());
  const auto ca = run_trials(a, 25, {1, 3}), cb = run_trials(b, 25, {1, 3}), cc = run_trials(c, 25, {1, 3});
  EXPECT_EQ(ca, cb);
  EXPECT_NE(ca, cc);
  for (const auto& config : ca) EXPECT_EQ(config["const"], 7);
  std::set<double> xs;
  for (int i = 0; i < 8; ++i) xs.insert(a.suggest("p" + std::to_string(i)).config["x"].get<double>());
  EXPECT_EQ(xs.size(), 8u);
}

TEST(BOHBTest, EveryDomainStaysInItsDomain) {
  const Space space = {{"lr", loguniform(1e-5, 1e-1)}, {"n", randint(2, 9)}, {"q", quniform(0, 1, 0.25)},
                       {"opt", choice({"sgd", "adam", 3})}};
  BOHBSearcher::Options o = seeded(2);
  o.random_fraction = 0;
  BOHBSearcher bohb(o);
  bohb.set_search_properties("score", "max", space);
  int adam_late = 0;
  for (int i = 0; i < 60; ++i) {
    const std::string id = "t" + std::to_string(i);
    const Config c = bohb.suggest(id).config;
    const double lr = c["lr"].get<double>();
    EXPECT_TRUE(lr >= 1e-5 && lr <= 1e-1) << lr;
    ASSERT_TRUE(c["n"].is_number_integer());
    EXPECT_GE(c["n"].get<int>(), 2);
    EXPECT_LT(c["n"].get<int>(), 9);
    EXPECT_DOUBLE_EQ(std::round(c["q"].get<double>() * 4) / 4, c["q"].get<double>());
    EXPECT_TRUE(c["opt"] == "sgd" || c["opt"] == "adam" || c["opt"] == 3) << c["opt"];
    if (i >= 40) adam_late += c["opt"] == "adam";
    const double score = -std::abs(std::log10(lr) + 3) + (c["opt"] == "adam" ? 2 : 0);
    bohb.on_trial_complete(id, Json{{"score", score}, {"training_iteration", 1}}, false);
  }
  EXPECT_GE(adam_late, 12);  // of the last 20
}

TEST(BOHBTest, RestoredSearcherContinuesExactlyLikeTheOriginal) {
  BOHBSearcher original(seeded(9));
  original.set_search_properties("loss", "min", space_2d());
  run_trials(original, 20, {1, 3, 9});
  original.suggest("running");
  original.on_trial_result("running", Json{{"loss", 5.0}, {"training_iteration", 1}});
  const Json state = Json::parse(original.save().dump());
  BOHBSearcher restored(seeded(1234));
  restored.set_search_properties("loss", "min", space_2d());
  restored.restore(state);
  EXPECT_EQ(restored.seed(), 9u);
  EXPECT_EQ(restored.model_budget(), original.model_budget());
  original.on_trial_complete("running", Json{{"loss", 4.0}, {"training_iteration", 2}}, false);
  restored.on_trial_complete("running", Json{{"loss", 4.0}, {"training_iteration", 2}}, false);
  EXPECT_EQ(run_trials(original, 10, {1, 3}, 100), run_trials(restored, 10, {1, 3}, 100));
}

TEST(BOHBTest, ARestoredTrialsRepeatedBudgetsReplaceTheOldValues) {
  BOHBSearcher bohb(seeded(1));
  bohb.set_search_properties("loss", "min", space_2d());
  bohb.suggest("a");
  for (int t = 1; t <= 3; ++t) bohb.on_trial_result("a", Json{{"loss", 10.0}, {"training_iteration", t}});
  bohb.on_trial_result("a", Json{{"loss", 1.0}, {"training_iteration", 2}});  // back from a checkpoint at 1
  const Json state = bohb.save();
  EXPECT_EQ(state["trials"][0]["t"], Json({1.0, 2.0}));
  EXPECT_EQ(state["trials"][0]["loss"], Json({10.0, 1.0}));
}

TEST(BOHBTest, MisuseIsNamed) {
  expect_error([] { BOHBSearcher(seeded(1)).set_search_properties("loss", "", space_2d()); }, "mode");
  expect_error([] { BOHBSearcher(seeded(1)).suggest("x"); }, "set_search_properties");
  BOHBSearcher::Options o;
  o.top_n_percent = 100;
  expect_error([&] { BOHBSearcher{o}; }, "top_n_percent");
  o = {};
  o.random_fraction = 1.5;
  expect_error([&] { BOHBSearcher{o}; }, "random_fraction");
  o = {};
  o.bandwidth_factor = 0;
  expect_error([&] { BOHBSearcher{o}; }, "bandwidth_factor");
  o = {};
  o.time_attr = "epoch";
  BOHBSearcher bohb(o);
  bohb.set_search_properties("loss", "min", space_2d());
  bohb.suggest("a");
  expect_error([&] { bohb.on_trial_result("a", Json{{"loss", 1.0}, {"training_iteration", 1}}); },
               "search_alg bohb: time_attr: a result of trial a has no number 'epoch'");
}

TEST(BOHBTest, ConditionalSubSpacesGiveValidConfigs) {
  BOHBSearcher searcher(seeded(3));
  testing::expect_valid_conditional_configs(searcher);
}

}  // namespace
}  // namespace tune
