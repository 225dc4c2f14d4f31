// Tests of GPSearcher and its Gaussian process: the likelihood's gradient, interpolation,
// the stable EI pieces, L-BFGS, determinism, domains, running trials, save/restore, misuse,
// and that it beats random search.
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cmath>
#include <random>
#include <set>

#include "searchers/gp_model.h"
#include "searchers/lbfgs.h"
#include "support/searcher_loop.h"
#include "tune/error.h"
#include "tune/searchers.h"

namespace tune {
namespace {

using testing::best_of;
using testing::expect_error;
using testing::median;
using testing::optimise;

GPSearcher::Options seeded(uint64_t seed, int initial = 5) {
  GPSearcher::Options o;
  o.seed = seed;
  o.n_initial_points = initial;
  o.n_candidates = 300;
  return o;
}

Space quadratic_space() { return {{"x", uniform(-5, 5)}, {"y", uniform(-5, 5)}, {"const", 7}}; }

double quadratic(const Config& c) {
  const double x = c["x"].get<double>(), y = c["y"].get<double>();
  return (x - 1.3) * (x - 1.3) + (y + 2.1) * (y + 2.1);
}

double branin(const Config& c) {
  const double x = c["x"].get<double>(), y = c["y"].get<double>();
  const double b = 5.1 / (4 * M_PI * M_PI), cc = 5 / M_PI, t = 1 / (8 * M_PI);
  const double u = y - b * x * x + cc * x - 6;
  return u * u + 10 * (1 - t) * std::cos(x) + 10;
}

Space branin_space() { return {{"x", uniform(-5, 10)}, {"y", uniform(0, 15)}}; }

TEST(GaussianProcessTest, GradientOfTheLogPosteriorMatchesFiniteDifferences) {
  for (bool fit_noise : {true, false}) {
    detail::GaussianProcess gp({false, true, false}, fit_noise);
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> unit(0, 1);
    Eigen::MatrixXd x(3, 12);
    Eigen::VectorXd y(12);
    for (int i = 0; i < 12; ++i) {
      x(0, i) = unit(rng);
      x(1, i) = i % 3;  // a category index
      x(2, i) = unit(rng);
      y(i) = std::sin(6 * x(0, i)) + 0.5 * x(1, i) - x(2, i);
    }
    y = (y.array() - y.mean()) / std::sqrt((y.array() - y.mean()).square().mean());
    Eigen::VectorXd theta(5);
    theta << std::log(0.4), std::log(0.7), std::log(1.3), std::log(0.8), fit_noise ? std::log(0.01) : std::log(1e-6);
    Eigen::VectorXd gradient;
    const double value = gp.neg_log_posterior(x, y, theta, &gradient);
    ASSERT_TRUE(std::isfinite(value));
    for (int k = 0; k < 5; ++k) {
      if (!fit_noise && k == 4) continue;
      Eigen::VectorXd up = theta, down = theta;
      up(k) += 1e-5;
      down(k) -= 1e-5;
      const double numeric = (gp.neg_log_posterior(x, y, up, nullptr) - gp.neg_log_posterior(x, y, down, nullptr)) / 2e-5;
      EXPECT_NEAR(gradient(k), numeric, 1e-4 * std::max(1.0, std::abs(numeric))) << "theta " << k;
    }
  }
}

TEST(GaussianProcessTest, InterpolatesAndIsUnsureAwayFromTheData) {
  detail::GaussianProcess gp({false}, true);
  Eigen::MatrixXd x(1, 8);
  Eigen::VectorXd y(8);
  for (int i = 0; i < 8; ++i) {
    x(0, i) = i / 14.0;  // data on [0, 0.5] only
    y(i) = std::sin(8 * x(0, i));
  }
  const Eigen::VectorXd theta = gp.fit(x, y, {gp.default_theta()}, 50);
  gp.condition(x, y, theta);
  Eigen::VectorXd mean, variance;
  gp.predict(x, mean, variance);
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(mean(i), y(i), 0.05);
  Eigen::MatrixXd far(1, 1);
  far << 0.95;
  Eigen::VectorXd far_mean, far_variance;
  gp.predict(far, far_mean, far_variance);
  EXPECT_GT(far_variance(0), 20 * variance.maxCoeff());
  // The single-point form agrees with the batch form, and its gradients with finite differences.
  Eigen::VectorXd p(1), dmean, dvariance;
  p << 0.6;
  double m = 0, v = 0;
  gp.predict(p, m, v, dmean, dvariance);
  Eigen::VectorXd bm, bv;
  gp.predict(Eigen::MatrixXd(p), bm, bv);
  EXPECT_NEAR(m, bm(0), 1e-10);
  EXPECT_NEAR(v, bv(0), 1e-10);
  Eigen::VectorXd q = p;
  q(0) += 1e-6;
  double m2 = 0, v2 = 0;
  Eigen::VectorXd unused1, unused2;
  gp.predict(q, m2, v2, unused1, unused2);
  EXPECT_NEAR(dmean(0), (m2 - m) / 1e-6, 1e-3 * std::max(1.0, std::abs(dmean(0))));
  EXPECT_NEAR(dvariance(0), (v2 - v) / 1e-6, 1e-3 * std::max(1.0, std::abs(dvariance(0))));
}

TEST(GaussianProcessTest, ExpectedImprovementPiecesAreStableInTheTail) {
  // log h is continuous where its two forms meet and matches the direct form above it.
  EXPECT_NEAR(detail::log_h(-8 + 1e-9), detail::log_h(-8 - 1e-9), 1e-4);
  const double z = -2.5;
  const double direct = z * 0.5 * std::erfc(-z / std::sqrt(2.0)) + std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI);
  EXPECT_NEAR(detail::log_h(z), std::log(direct), 1e-12);
  EXPECT_TRUE(std::isfinite(detail::log_h(-40)));
  double cdf_ratio = 0, pdf_ratio = 0;
  detail::h_ratios(-30, cdf_ratio, pdf_ratio);
  EXPECT_NEAR(cdf_ratio, 30, 0.5);  // Phi/h ~ |z| and phi/h ~ z^2 far in the tail
  EXPECT_NEAR(pdf_ratio, 900, 10);
}

TEST(LbfgsTest, MinimisesRosenbrock) {
  const detail::LbfgsObjective f = [](const Eigen::VectorXd& x, Eigen::VectorXd& g) {
    g.resize(2);
    g(0) = -400 * x(0) * (x(1) - x(0) * x(0)) - 2 * (1 - x(0));
    g(1) = 200 * (x(1) - x(0) * x(0));
    return 100 * std::pow(x(1) - x(0) * x(0), 2) + std::pow(1 - x(0), 2);
  };
  detail::LbfgsOptions o;
  o.max_iterations = 200;
  o.value_tolerance = 0;
  const auto result = detail::minimise_lbfgs(f, Eigen::Vector2d(-1.2, 1), o);
  EXPECT_NEAR(result.x(0), 1, 1e-4);
  EXPECT_NEAR(result.x(1), 1, 1e-4);
}

TEST(GPTest, SameSeedSameSuggestionsAndConstantsPassThrough) {
  GPSearcher a(seeded(3)), b(seeded(3)), c(seeded(4));
  for (GPSearcher* s : {&a, &b, &c}) s->set_search_properties("loss", "min", quadratic_space());
  const auto ca = optimise(a, quadratic, 15), cb = optimise(b, quadratic, 15), cc = optimise(c, quadratic, 15);
  EXPECT_EQ(ca, cb);
  EXPECT_NE(ca, cc);
  for (const auto& config : ca) EXPECT_EQ(config["const"], 7);
  EXPECT_EQ(a.num_observations(), 15u);
}

TEST(GPTest, EveryDomainStaysInItsDomainAndLogAxesAreLearned) {
  const Space space = {{"lr", loguniform(1e-5, 1e-1)}, {"ql", qloguniform(1e-3, 1, 1e-3)},
                       {"n", randint(2, 9)},           {"qn", qrandint(10, 100, 10)},
                       {"q", quniform(0, 1, 0.25)},    {"opt", choice({"sgd", "adam", 3})},
                       {"z", randn(5, 2)}};
  GPSearcher gp(seeded(11, 8));
  gp.set_search_properties("score", "max", space);
  // Best at lr = 1e-3 (a log axis), opt = adam, n as large as possible.
  const auto f = [](const Config& c) {
    return -std::abs(std::log10(c["lr"].get<double>()) + 3) + (c["opt"] == "adam" ? 1 : 0) + c["n"].get<double>() / 10;
  };
  const auto configs = optimise(gp, f, 30, "score");
  for (const Config& c : configs) {
    const double lr = c["lr"].get<double>();
    EXPECT_TRUE(lr >= 1e-5 && lr <= 1e-1) << lr;
    const double ql = c["ql"].get<double>();
    EXPECT_NEAR(std::round(ql / 1e-3) * 1e-3, ql, 1e-9);
    ASSERT_TRUE(c["n"].is_number_integer());
    EXPECT_GE(c["n"].get<int>(), 2);
    EXPECT_LT(c["n"].get<int>(), 9);
    ASSERT_TRUE(c["qn"].is_number_integer());
    EXPECT_EQ(c["qn"].get<int>() % 10, 0);
    const double q = c["q"].get<double>();
    EXPECT_DOUBLE_EQ(std::round(q * 4) / 4, q);
    EXPECT_TRUE(c["opt"] == "sgd" || c["opt"] == "adam" || c["opt"] == 3) << c["opt"];
    EXPECT_TRUE(std::isfinite(c["z"].get<double>()));
  }
  double best = -INFINITY;
  Config incumbent;
  for (const Config& c : configs) {
    if (f(c) > best) {
      best = f(c);
      incumbent = c;
    }
  }
  EXPECT_EQ(incumbent["opt"], "adam");
  EXPECT_NEAR(std::log10(incumbent["lr"].get<double>()), -3, 0.5);
}

TEST(GPTest, ConcurrentSuggestionsSpreadOut) {
  for (const auto acquisition : {GPSearcher::Acquisition::kExpectedImprovement, GPSearcher::Acquisition::kUpperConfidenceBound}) {
    GPSearcher::Options o = seeded(5);
    o.acquisition = acquisition;
    GPSearcher gp(o);
    gp.set_search_properties("loss", "min", quadratic_space());
    optimise(gp, quadratic, 12);
    std::vector<std::pair<double, double>> seen;
    for (int i = 0; i < 6; ++i) {  // 6 running at once, none completed
      const Config c = gp.suggest("p" + std::to_string(i)).config;
      seen.emplace_back(c["x"].get<double>(), c["y"].get<double>());
    }
    for (size_t i = 0; i < seen.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        EXPECT_GT(std::hypot(seen[i].first - seen[j].first, seen[i].second - seen[j].second), 1e-3)
            << "suggestions " << i << " and " << j << " coincide";
      }
    }
  }
}

TEST(GPTest, RestoredSearcherContinuesExactlyLikeTheOriginal) {
  GPSearcher original(seeded(9));
  original.set_search_properties("loss", "min", quadratic_space());
  optimise(original, quadratic, 10);
  original.suggest("running");  // a pending trial is part of the state
  const Json state = Json::parse(original.save().dump());

  GPSearcher::Options other = seeded(12345);
  GPSearcher restored(other);
  restored.set_search_properties("loss", "min", quadratic_space());
  restored.restore(state);
  EXPECT_EQ(restored.num_observations(), 10u);
  EXPECT_EQ(restored.seed(), 9u);
  original.on_trial_complete("running", Json{{"loss", 1.0}}, false);
  restored.on_trial_complete("running", Json{{"loss", 1.0}}, false);
  EXPECT_EQ(optimise(original, quadratic, 4), optimise(restored, quadratic, 4));
  expect_error([&] { restored.restore(Json{{"type", "tpe"}}); }, "search_alg gp: restore");
}

TEST(GPTest, FailedAndMetricLessTrialsAreLeftOut) {
  GPSearcher gp(seeded(1));
  gp.set_search_properties("loss", "min", quadratic_space());
  testing::tell_one_good_and_many_bad(gp);
  EXPECT_EQ(gp.num_observations(), 1u);
}

TEST(GPTest, PointsToEvaluateComeFirst) {
  GPSearcher::Options o = seeded(2);
  o.points_to_evaluate = {Json{{"x", 1.0}, {"y", -2.0}}, Json{{"x", 4.0}}};
  GPSearcher gp(o);
  gp.set_search_properties("loss", "min", quadratic_space());
  const auto configs = optimise(gp, quadratic, 3);
  EXPECT_EQ(configs[0]["x"], 1.0);
  EXPECT_EQ(configs[0]["y"], -2.0);
  EXPECT_EQ(configs[1]["x"], 4.0);
  EXPECT_EQ(gp.num_observations(), 3u);
}

TEST(GPTest, MisuseIsNamed) {
  expect_error([] { GPSearcher(seeded(1)).set_search_properties("", "", quadratic_space()); }, "metric");
  expect_error([] { GPSearcher(seeded(1)).set_search_properties("loss", "best", quadratic_space()); }, "mode");
  expect_error([] { GPSearcher(seeded(1)).set_search_properties("loss", "min", {{"a", grid_search({1, 2})}}); },
               "config/a: grid_search");
  expect_error([] { GPSearcher(seeded(1)).suggest("x"); }, "set_search_properties");
  GPSearcher::Options o;
  o.n_candidates = 0;
  expect_error([&] { GPSearcher{o}; }, "n_candidates");
  o = {};
  o.max_points = 1;
  expect_error([&] { GPSearcher{o}; }, "max_points");
  expect_error([] { GPSearcher::acquisition_from_name("eii"); }, "acquisition: 'eii' is not an acquisition function (did you mean 'ei'?)");
  EXPECT_EQ(GPSearcher::acquisition_from_name("ucb"), GPSearcher::Acquisition::kUpperConfidenceBound);
}

TEST(GPTest, BeatsRandomSearchOnBranin) {
  std::vector<double> gp_best, random_best;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    GPSearcher gp(seeded(seed, 6));
    gp.set_search_properties("loss", "min", branin_space());
    gp_best.push_back(best_of(optimise(gp, branin, 25), branin));
    GPSearcher random(seeded(seed, 1000));  // never leaves its initial design
    random.set_search_properties("loss", "min", branin_space());
    random_best.push_back(best_of(optimise(random, branin, 25), branin));
  }
  EXPECT_LT(median(gp_best), 0.45);  // the optimum is 0.397887
  EXPECT_LT(median(gp_best), median(random_best));
}

TEST(GPTest, UpperConfidenceBoundBeatsRandomSearchOnAQuadratic) {
  std::vector<double> ucb_best, random_best;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    GPSearcher::Options o = seeded(seed, 5);
    o.acquisition = GPSearcher::Acquisition::kUpperConfidenceBound;
    GPSearcher ucb(o);
    ucb.set_search_properties("loss", "min", quadratic_space());
    ucb_best.push_back(best_of(optimise(ucb, quadratic, 20), quadratic));
    GPSearcher random(seeded(seed, 1000));
    random.set_search_properties("loss", "min", quadratic_space());
    random_best.push_back(best_of(optimise(random, quadratic, 20), quadratic));
  }
  EXPECT_LT(median(ucb_best), 0.5 * median(random_best));
}

TEST(GPTest, MaximisesWhenModeIsMax) {
  GPSearcher gp(seeded(4));
  gp.set_search_properties("score", "max", quadratic_space());
  const auto configs = optimise(gp, [](const Config& c) { return -quadratic(c); }, 20, "score");
  EXPECT_LT(best_of(configs, quadratic), 0.05);
}

TEST(GPTest, LongHistoriesUseAtMostMaxPoints) {
  GPSearcher::Options o = seeded(6);
  o.max_points = 16;
  o.n_candidates = 100;
  GPSearcher gp(o);
  Space space;
  for (int i = 0; i < 3; ++i) space.set("x" + std::to_string(i), uniform(0, 1));
  gp.set_search_properties("loss", "min", space);
  std::mt19937_64 rng(1);
  for (int i = 0; i < 50; ++i) {  // a long history
    const std::string id = "r" + std::to_string(i);
    const Config c = gp.suggest(id).config;
    double s = 0;
    for (const auto& [k, v] : c.items()) s += (v.get<double>() - 0.3) * (v.get<double>() - 0.3);
    gp.on_trial_complete(id, Json{{"loss", s}}, false);
  }
  EXPECT_EQ(gp.num_observations(), 50u);
}

TEST(GPTest, ConditionalSubSpacesGiveValidConfigs) {
  GPSearcher searcher(seeded(3, 6));
  testing::expect_valid_conditional_configs(searcher);
}

}  // namespace
}  // namespace tune
