// GPSearcher: Gaussian-process Bayesian optimisation on the unit cube of searchers/unit_space.h.
//
// Cost of one model suggestion with n observations (at most max_points), p running trials and
// d dimensions: each marginal-likelihood evaluation of the fit is O((n^3) + n^2 d) and a fit
// takes a few dozen per start; the acquisition costs O(m (n + p)^2) for the m candidates plus
// O(n_local * iterations * (n + p)^2) for the refinement.
#include <fmt/format.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <tuple>
#include <utility>

#include "common/strings.h"
#include "searchers/gp_model.h"
#include "searchers/lbfgs.h"
#include "searchers/searcher_util.h"
#include "searchers/unit_space.h"
#include "tune/error.h"
#include "tune/searchers.h"

namespace tune {
namespace {

using detail::category_of;
using detail::Dimension;


// Snaps integer and choice dimensions to the centre of their bin, so the GP sees the point
// that is evaluated.
void snap(const detail::UnitSpace& space, std::vector<double>& u) {
  const auto& dims = space.dimensions();
  for (size_t j = 0; j < u.size(); ++j) {
    if (std::isnan(u[j])) continue;  // an inactive conditional dimension
    if (dims[j].kind == Dimension::Kind::kInteger) {
      u[j] = space.encode(j, space.value(j, u[j]));
    } else if (dims[j].kind == Dimension::Kind::kCategorical) {
      u[j] = (static_cast<double>(category_of(u[j], dims[j].num_choices)) + 0.5) /
             static_cast<double>(dims[j].num_choices);
    }
  }
}

// The GP's input of a point: u, with a choice dimension as its category's index. An inactive
// conditional dimension (NaN) is the centre of its axis, or a category of its own.
void to_input(const std::vector<Dimension>& dims, const std::vector<double>& u, double* out) {
  for (size_t j = 0; j < dims.size(); ++j) {
    const bool categorical = dims[j].kind == Dimension::Kind::kCategorical;
    if (std::isnan(u[j])) {
      out[j] = categorical ? static_cast<double>(dims[j].num_choices) : 0.5;
    } else {
      out[j] = categorical ? static_cast<double>(category_of(u[j], dims[j].num_choices)) : u[j];
    }
  }
}

const std::vector<std::string> kOutputTransforms = {"standardize", "log", "copula"};

// The targets the GP models, before standardisation (see Options::output_transform).
void transform_outputs(const std::string& transform, Eigen::VectorXd& y) {
  const Eigen::Index n = y.size();
  if (transform == "log") {
    // log(y - best + shift), the shift a small part of the spread so the best is not -infinity.
    const double lo = y.minCoeff();
    std::vector<double> sorted(y.data(), y.data() + n);
    std::sort(sorted.begin(), sorted.end());
    const double spread = sorted[static_cast<size_t>(n) / 2] - lo;
    const double shift = spread > 0 ? 1e-3 * spread : 1e-12 + 1e-6 * std::abs(lo);
    y = (y.array() - lo + shift).log();
  } else if (transform == "copula") {
    // Normal scores of the ranks (ties share their mean rank).
    std::vector<Eigen::Index> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) { return y(a) < y(b); });
    Eigen::VectorXd scores(n);
    for (size_t i = 0; i < order.size();) {
      size_t j = i;
      while (j + 1 < order.size() && y(order[j + 1]) == y(order[i])) ++j;
      const double rank = 0.5 * static_cast<double>(i + j) + 0.5;  // mean of ranks i..j, 1-based minus 1/2
      for (size_t k = i; k <= j; ++k) scores(order[k]) = detail::normal_quantile(rank / static_cast<double>(n));
      i = j + 1;
    }
    y = scores;
  }
}

// Divides y by its standard deviation after subtracting its mean (a constant y becomes 0).
void standardize(Eigen::VectorXd& y) {
  const double mean = y.mean();
  const double sd = std::sqrt((y.array() - mean).square().mean());
  y = (y.array() - mean) / (sd > 1e-12 ? sd : 1.0);
}

// The observations the GP is fitted to: all of them, or, beyond `cap` (0: no cap), the best
// quarter of the cap plus an even sample of the rest in completion order.
std::vector<size_t> points_used(const std::vector<detail::Observation>& observations, size_t cap) {
  std::vector<size_t> used(observations.size());
  std::iota(used.begin(), used.end(), 0);
  if (cap == 0 || used.size() <= cap) return used;
  std::vector<size_t> by_loss = used;
  std::stable_sort(by_loss.begin(), by_loss.end(),
                   [&](size_t a, size_t b) { return observations[a].loss < observations[b].loss; });
  const size_t best = cap / 4;
  std::vector<size_t> rest(by_loss.begin() + static_cast<std::ptrdiff_t>(best), by_loss.end());
  std::sort(rest.begin(), rest.end());  // completion order
  used.assign(by_loss.begin(), by_loss.begin() + static_cast<std::ptrdiff_t>(best));
  const size_t more = cap - best;
  for (size_t i = 0; i < more; ++i) used.push_back(rest[i * rest.size() / more]);
  return used;
}

// Where the hyperparameter fit starts: the previous fit (or the GP's neutral start) and
// `restarts` random points.
std::vector<Eigen::VectorXd> fit_starts(const detail::GaussianProcess& gp, const std::vector<double>& previous,
                                        int restarts, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const size_t d = gp.dims();
  std::vector<Eigen::VectorXd> starts;
  if (previous.size() == gp.num_hyperparameters()) {
    starts.push_back(Eigen::Map<const Eigen::VectorXd>(previous.data(), static_cast<Eigen::Index>(previous.size())));
  } else {
    starts.push_back(gp.default_theta());
  }
  for (int r = 0; r < restarts; ++r) {
    Eigen::VectorXd theta(static_cast<Eigen::Index>(gp.num_hyperparameters()));
    for (size_t j = 0; j < d; ++j) theta(static_cast<Eigen::Index>(j)) = std::log(0.05) + unit(rng) * std::log(40.0);
    theta(static_cast<Eigen::Index>(d)) = std::log(0.3) + unit(rng) * std::log(10.0);
    theta(static_cast<Eigen::Index>(d + 1)) = std::log(1e-6) + unit(rng) * std::log(1e5);
    starts.push_back(theta);
  }
  return starts;
}

// Kriging believer: the running trials are observed at the model's mean, so the GP is as sure
// about them as about a measured point and the next suggestion goes elsewhere.
void believe_pending(const std::vector<Dimension>& dims, const std::map<std::string, std::vector<double>>& pending,
                     const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const Eigen::VectorXd& theta,
                     detail::GaussianProcess& gp) {
  if (pending.empty()) return;
  Eigen::MatrixXd xp(x.rows(), static_cast<Eigen::Index>(pending.size()));
  Eigen::Index i = 0;
  for (const auto& [id, u] : pending) to_input(dims, u, xp.col(i++).data());
  Eigen::VectorXd mp, vp;
  gp.predict(xp, mp, vp);
  Eigen::MatrixXd xa(x.rows(), x.cols() + xp.cols());
  xa << x, xp;
  Eigen::VectorXd ya(y.size() + xp.cols());
  ya << y, mp;
  gp.condition(xa, ya, theta);
}

// The acquisition on standardised targets, higher is better: log EI over `best`, or minus the
// lower confidence bound.
struct AcquisitionScore {
  bool ei;
  double xi, kappa, best;

  double score(double mean, double variance) const { return score_at_sd(mean, std::sqrt(variance)); }
  // -score at (mean, sd), with its derivatives by the mean and by the sd.
  double loss(double mean, double s, double& d_mean, double& d_s) const {
    if (ei) {
      double cdf_ratio = 0, pdf_ratio = 0;
      detail::h_ratios((best - mean - xi) / s, cdf_ratio, pdf_ratio);
      d_mean = cdf_ratio / s;
      d_s = -pdf_ratio / s;
    } else {
      d_mean = 1;
      d_s = -kappa;
    }
    return -score_at_sd(mean, s);
  }

 private:
  double score_at_sd(double mean, double s) const {
    return ei ? std::log(s) + detail::log_h((best - mean - xi) / s) : -(mean - kappa * s);
  }
};

// The acquisition's candidates, snapped and with inactive dimensions cleared: `n_random`
// uniform points, then a quarter as many perturbations of the five best observations.
std::vector<std::vector<double>> acquisition_candidates(const detail::UnitSpace& space,
                                                        const std::vector<detail::Observation>& observations,
                                                        size_t n_random, std::mt19937_64& rng) {
  const auto& dims = space.dimensions();
  const size_t d = dims.size();
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const size_t n_near = std::max<size_t>(n_random / 4, 1);
  std::vector<size_t> best_obs(observations.size());
  std::iota(best_obs.begin(), best_obs.end(), 0);
  const size_t top = std::min<size_t>(5, best_obs.size());
  std::partial_sort(best_obs.begin(), best_obs.begin() + static_cast<std::ptrdiff_t>(top), best_obs.end(),
                    [&](size_t a, size_t b) { return observations[a].loss < observations[b].loss; });
  std::vector<std::vector<double>> candidates;
  candidates.reserve(n_random + n_near);
  for (size_t c = 0; c < n_random; ++c) {
    std::vector<double> u(d);
    for (double& v : u) v = unit(rng);
    candidates.push_back(std::move(u));
  }
  std::normal_distribution<double> normal(0.0, 1.0);
  for (size_t c = 0; c < n_near; ++c) {
    std::vector<double> u = observations[best_obs[c % top]].u;
    const double width = c % 2 ? 0.01 : 0.05;
    for (size_t j = 0; j < d; ++j) {
      if (std::isnan(u[j])) {
        u[j] = unit(rng);  // inactive there; a flipped choice may need it
      } else if (dims[j].kind == Dimension::Kind::kCategorical) {
        if (unit(rng) < 0.2) u[j] = unit(rng);
      } else {
        u[j] = std::clamp(u[j] + width * normal(rng), 0.0, 1.0);
      }
    }
    candidates.push_back(std::move(u));
  }
  for (std::vector<double>& u : candidates) {
    snap(space, u);
    space.deactivate(u);
  }
  return candidates;
}

// Refines the numeric coordinates of `start` by L-BFGS on the acquisition, u = (1 + sin z) / 2
// keeping them in [0, 1]. Returns the snapped point and its score.
std::pair<std::vector<double>, double> refine(const detail::UnitSpace& space, const detail::GaussianProcess& gp,
                                              const AcquisitionScore& acquisition, const std::vector<double>& start) {
  const auto& dims = space.dimensions();
  const size_t d = dims.size();
  std::vector<size_t> free;  // the numeric coordinates this candidate uses
  for (size_t j = 0; j < d; ++j) {
    if (dims[j].kind != Dimension::Kind::kCategorical && !std::isnan(start[j])) free.push_back(j);
  }
  if (free.empty()) return {start, -std::numeric_limits<double>::infinity()};
  Eigen::VectorXd input(static_cast<Eigen::Index>(d));
  to_input(dims, start, input.data());
  const auto at = [&](const Eigen::VectorXd& z, size_t f) { return std::sin(z(static_cast<Eigen::Index>(f))); };
  const detail::LbfgsObjective objective = [&](const Eigen::VectorXd& z, Eigen::VectorXd& grad) {
    for (size_t f = 0; f < free.size(); ++f) input(static_cast<Eigen::Index>(free[f])) = 0.5 * (1 + at(z, f));
    double mu = 0, var = 0;
    Eigen::VectorXd dmu, dvar;
    gp.predict(input, mu, var, dmu, dvar);
    const double s = std::sqrt(var);
    double d_mu = 0, d_s = 0;
    const double value = acquisition.loss(mu, s, d_mu, d_s);
    grad.resize(z.size());
    for (size_t f = 0; f < free.size(); ++f) {
      const Eigen::Index j = static_cast<Eigen::Index>(free[f]);
      const double dx = d_mu * dmu(j) + d_s * dvar(j) / (2 * s);
      grad(static_cast<Eigen::Index>(f)) = dx * 0.5 * std::cos(z(static_cast<Eigen::Index>(f)));
    }
    return value;
  };
  Eigen::VectorXd z0(static_cast<Eigen::Index>(free.size()));
  for (size_t f = 0; f < free.size(); ++f) {
    z0(static_cast<Eigen::Index>(f)) = std::asin(std::clamp(2 * start[free[f]] - 1, -1.0, 1.0));
  }
  detail::LbfgsOptions lbfgs;
  lbfgs.max_iterations = 30;
  lbfgs.gradient_tolerance = 1e-7;
  const detail::LbfgsResult result = detail::minimise_lbfgs(objective, z0, lbfgs);
  std::vector<double> u = start;
  for (size_t f = 0; f < free.size(); ++f) u[free[f]] = std::clamp(0.5 * (1 + at(result.x, f)), 0.0, 1.0);
  snap(space, u);
  to_input(dims, u, input.data());
  Eigen::VectorXd mu, var;
  gp.predict(Eigen::MatrixXd(input), mu, var);
  return {std::move(u), acquisition.score(mu(0), var(0))};
}

}  // namespace

GPSearcher::GPSearcher() : GPSearcher(Options{}) {}

GPSearcher::GPSearcher(Options options) : options_(std::move(options)) {
  if (options_.n_initial_points < 0) throw TuneError("n_initial_points: must be >= 0");
  if (options_.n_candidates < 1) throw TuneError("n_candidates: must be >= 1");
  if (options_.n_local < 0) throw TuneError("n_local: must be >= 0");
  if (options_.n_restarts < 0) throw TuneError("n_restarts: must be >= 0");
  if (options_.max_points < 0 || options_.max_points == 1) {
    throw TuneError("max_points: must be 0 (all observations) or >= 2");
  }
  if (!std::isfinite(options_.xi)) throw TuneError("xi: must be a finite number");
  if (!(options_.kappa >= 0) || !std::isfinite(options_.kappa)) throw TuneError("kappa: must be >= 0");
  if (std::find(kOutputTransforms.begin(), kOutputTransforms.end(), options_.output_transform) == kOutputTransforms.end()) {
    throw TuneError(fmt::format("output_transform: '{}' is not one of {}{}", options_.output_transform,
                                join(kOutputTransforms, ", "), did_you_mean(options_.output_transform, kOutputTransforms)));
  }
  seed_ = options_.seed ? *options_.seed : detail::random_seed();
}

GPSearcher::~GPSearcher() = default;

std::string GPSearcher::acquisition_name(Acquisition acquisition) {
  return acquisition == Acquisition::kExpectedImprovement ? "ei" : "ucb";
}

GPSearcher::Acquisition GPSearcher::acquisition_from_name(const std::string& name) {
  if (name == "ei") return Acquisition::kExpectedImprovement;
  if (name == "ucb") return Acquisition::kUpperConfidenceBound;
  throw TuneError(fmt::format("acquisition: '{}' is not an acquisition function{}; known: ei, ucb", name,
                              did_you_mean(name, {"ei", "ucb"})));
}

void GPSearcher::set_search_properties(const std::string& metric, const std::string& mode, const Space& space) {
  detail::require_metric_mode("gp", metric, mode);
  metric_ = metric;
  maximize_ = mode == "max";
  space_ = std::make_unique<detail::UnitSpace>(space, "search_alg gp");
  detail::check_points(*space_, options_.points_to_evaluate);
}

std::vector<double> GPSearcher::model_point(uint64_t stream) {
  const auto& dims = space_->dimensions();
  const size_t d = dims.size();
  if (d == 0) return {};
  std::mt19937_64 rng(stream);

  const std::vector<size_t> used = points_used(observations_, static_cast<size_t>(options_.max_points));
  const Eigen::Index n = static_cast<Eigen::Index>(used.size());
  Eigen::MatrixXd x(static_cast<Eigen::Index>(d), n);
  Eigen::VectorXd y(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const Observation& o = observations_[used[static_cast<size_t>(i)]];
    to_input(dims, o.u, x.col(i).data());
    y(i) = o.loss;
  }
  transform_outputs(options_.output_transform, y);
  standardize(y);

  std::vector<bool> categorical(d);
  for (size_t j = 0; j < d; ++j) categorical[j] = dims[j].kind == Dimension::Kind::kCategorical;
  detail::GaussianProcess gp(categorical, options_.fit_noise);
  const Eigen::VectorXd theta = gp.fit(x, y, fit_starts(gp, theta_, options_.n_restarts, rng), 50);
  theta_.assign(theta.data(), theta.data() + theta.size());
  gp.condition(x, y, theta);
  const AcquisitionScore acquisition{options_.acquisition == Acquisition::kExpectedImprovement, options_.xi,
                                     options_.kappa, y.minCoeff()};
  believe_pending(dims, pending_, x, y, theta, gp);

  std::vector<std::vector<double>> candidates =
      acquisition_candidates(*space_, observations_, static_cast<size_t>(options_.n_candidates), rng);
  const Eigen::Index m = static_cast<Eigen::Index>(candidates.size());
  Eigen::MatrixXd xc(static_cast<Eigen::Index>(d), m);
  for (Eigen::Index c = 0; c < m; ++c) to_input(dims, candidates[static_cast<size_t>(c)], xc.col(c).data());
  Eigen::VectorXd mc, vc;
  gp.predict(xc, mc, vc);
  std::vector<double> scores(static_cast<size_t>(m));
  for (Eigen::Index c = 0; c < m; ++c) scores[static_cast<size_t>(c)] = acquisition.score(mc(c), vc(c));
  std::vector<size_t> order(static_cast<size_t>(m));
  std::iota(order.begin(), order.end(), 0);
  const size_t n_local = std::min(static_cast<size_t>(options_.n_local), order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(std::max<size_t>(n_local, 1)),
                    order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  std::vector<double> winner = candidates[order[0]];
  double winner_score = scores[order[0]];
  for (size_t k = 0; k < n_local; ++k) {
    auto [u, refined] = refine(*space_, gp, acquisition, candidates[order[k]]);
    if (refined > winner_score) {
      winner_score = refined;
      winner = std::move(u);
    }
  }
  return winner;
}

Suggestion GPSearcher::suggest(const std::string& trial_id) {
  if (!space_) throw TuneError("search_alg gp: set_search_properties must be called before suggest");
  const uint64_t stream = detail::mix64(seed_ ^ detail::mix64(static_cast<uint64_t>(num_suggested_)));
  const size_t d = space_->size();
  const size_t n_points = options_.points_to_evaluate.size();
  const size_t n_initial = static_cast<size_t>(options_.n_initial_points);
  const size_t index = static_cast<size_t>(num_suggested_);
  Config config;
  if (index < n_points) {
    std::tie(std::ignore, config) =
        detail::point_to_evaluate(*space_, options_.points_to_evaluate[index], detail::random_point(d, stream));
  } else if (observations_.empty() || observations_.size() < n_initial) {
    std::vector<double> u = detail::random_point(d, stream);
    if (index - n_points < n_initial) {
      // Latin hypercube: along each dimension, every initial point has its own stratum.
      const size_t k = index - n_points;
      for (size_t j = 0; j < d; ++j) {
        std::vector<size_t> strata(n_initial);
        std::iota(strata.begin(), strata.end(), 0);
        std::mt19937_64 rng(detail::mix64(seed_ ^ detail::mix64(0x1a7e0000 + j)));
        std::shuffle(strata.begin(), strata.end(), rng);
        u[j] = (static_cast<double>(strata[k]) + u[j]) / static_cast<double>(n_initial);
      }
    }
    config = space_->decode(u);
  } else {
    config = space_->decode(model_point(stream));
  }
  ++num_suggested_;
  pending_[trial_id] = space_->encode(config);  // the point that is evaluated
  return detail::suggestion_of(num_suggested_, space_->space(), std::move(config));
}

void GPSearcher::on_trial_complete(const std::string& trial_id, const Result& result, bool error) {
  const auto it = pending_.find(trial_id);
  if (it == pending_.end()) return;  // not ours (or already told)
  std::vector<double> u = std::move(it->second);
  pending_.erase(it);
  if (error) return;
  if (const auto loss = detail::loss_of(result, metric_, maximize_)) observations_.push_back({std::move(u), *loss});
}

void GPSearcher::add_evaluated_point(const Config& config, const Result& result, bool error) {
  if (!space_) throw TuneError("search_alg gp: set_search_properties must be called before add_evaluated_point");
  if (error) return;
  if (const auto loss = detail::loss_of(result, metric_, maximize_)) observations_.push_back({space_->encode(config), *loss});
}

Json GPSearcher::save() const {
  return Json{{"type", "gp"},
              {"seed", seed_},
              {"suggested", num_suggested_},
              {"observations", detail::to_json(observations_)},
              {"pending", detail::to_json(pending_)},
              {"theta", detail::to_json(theta_)}};
}

void GPSearcher::restore(const Json& state) {
  detail::check_state(state, "gp");
  seed_ = state.at("seed").get<uint64_t>();
  num_suggested_ = state.at("suggested").get<int64_t>();
  observations_ = detail::observations_from_json(state.at("observations"));
  pending_ = detail::points_from_json(state.at("pending"));
  theta_ = detail::from_json(state.at("theta"));
}

}  // namespace tune
