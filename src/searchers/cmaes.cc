// CMAESSearcher: (mu/mu_w, lambda)-CMA-ES as in Hansen, "The CMA Evolution Strategy: A
// Tutorial" (2016), section B, on the unit cube of searchers/unit_space.h.
//
// Cost: O(d^2) per sample and O(lambda d^2 + d^3) per generation (the eigendecomposition).
#include <fmt/format.h>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <tuple>

#include "common/strings.h"
#include "searchers/searcher_util.h"
#include "searchers/unit_space.h"
#include "tune/error.h"
#include "tune/searchers.h"

namespace tune {
namespace {

using detail::Dimension;
using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<Matrix>;
using ConstMatrixMap = Eigen::Map<const Matrix>;
using VectorMap = Eigen::Map<Eigen::VectorXd>;
using ConstVectorMap = Eigen::Map<const Eigen::VectorXd>;

constexpr int kResamples = 10;          // draws of a sample before it is clipped into the cube
constexpr double kTolSigma = 1e-12;     // restart when sigma * max sd falls below
constexpr double kTolFlat = 1e-12;      // ... or the recent best values span less
constexpr double kMaxCondition = 1e14;  // ... or C's condition number exceeds

// The strategy parameters of a population size (Hansen's table 1).
struct Parameters {
  Parameters(size_t n, int lambda) {
    const double dn = static_cast<double>(n);
    mu = lambda / 2;
    weights.resize(static_cast<size_t>(mu));
    for (int i = 0; i < mu; ++i) weights[static_cast<size_t>(i)] = std::log((lambda + 1) / 2.0) - std::log(i + 1.0);
    const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
    double sq = 0;
    for (double& w : weights) {
      w /= sum;
      sq += w * w;
    }
    mueff = 1 / sq;
    cs = (mueff + 2) / (dn + mueff + 5);
    ds = 1 + 2 * std::max(0.0, std::sqrt((mueff - 1) / (dn + 1)) - 1) + cs;
    cc = (4 + mueff / dn) / (dn + 4 + 2 * mueff / dn);
    c1 = 2 / ((dn + 1.3) * (dn + 1.3) + mueff);
    cmu = std::min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((dn + 2) * (dn + 2) + mueff));
    chi = std::sqrt(dn) * (1 - 1 / (4 * dn) + 1 / (21 * dn * dn));
  }
  int mu;
  std::vector<double> weights;
  double mueff, cs, ds, cc, c1, cmu, chi;
};

}  // namespace

CMAESSearcher::CMAESSearcher() : CMAESSearcher(Options{}) {}

CMAESSearcher::CMAESSearcher(Options options) : options_(std::move(options)) {
  if (!(options_.sigma0 > 0) || !std::isfinite(options_.sigma0)) throw TuneError("sigma0: must be > 0");
  if (options_.popsize < 0 || options_.popsize == 1) throw TuneError("popsize: must be 0 (automatic) or >= 2");
  if (options_.restarts != "ipop" && options_.restarts != "none") {
    throw TuneError(fmt::format("restarts: must be 'ipop' or 'none', got '{}'{}", options_.restarts,
                                did_you_mean(options_.restarts, {"ipop", "none"})));
  }
  seed_ = options_.seed ? *options_.seed : detail::random_seed();
}

CMAESSearcher::~CMAESSearcher() = default;

void CMAESSearcher::set_search_properties(const std::string& metric, const std::string& mode, const Space& space) {
  detail::require_metric_mode("cmaes", metric, mode);
  metric_ = metric;
  maximize_ = mode == "max";
  space_ = std::make_unique<detail::UnitSpace>(space, "search_alg cmaes");
  for (const Dimension& dim : space_->dimensions()) {
    if (dim.kind == Dimension::Kind::kCategorical) {
      throw TuneError(fmt::format("search_alg cmaes: config/{}: a choice cannot be searched by CMA-ES (it needs "
                                  "ordered values); use uniform/randint, or search_alg tpe or gp",
                                  dim.path));
    }
  }
  detail::check_points(*space_, options_.points_to_evaluate);
  n_ = space_->size();
  lambda_ = options_.popsize > 0 ? options_.popsize : 4 + static_cast<int>(std::floor(3 * std::log(std::max<double>(static_cast<double>(n_), 1))));
  start(false);
  if (!options_.points_to_evaluate.empty()) {
    mean_ = space_->encode_partial(options_.points_to_evaluate.front());
    for (double& m : mean_) {
      if (std::isnan(m)) m = 0.5;
    }
  }
  new_generation();
}

// A fresh search: at the centre (first start) or a random mean (restart), sigma0, C = I.
void CMAESSearcher::start(bool restart) {
  mean_.assign(n_, 0.5);
  if (restart) mean_ = detail::random_point(n_, detail::mix64(seed_ ^ detail::mix64(0xc3a5000000ULL + static_cast<uint64_t>(restarts_))));
  sigma_ = options_.sigma0;
  cov_.assign(n_ * n_, 0.0);
  for (size_t i = 0; i < n_; ++i) cov_[i * n_ + i] = 1;
  ps_.assign(n_, 0.0);
  pc_.assign(n_, 0.0);
  generation_in_run_ = 0;
  recent_best_.clear();
  decompose();
}

void CMAESSearcher::decompose() {
  const Eigen::Index n = static_cast<Eigen::Index>(n_);
  eigvec_.assign(n_ * n_, 0.0);
  eigval_.assign(n_, 1.0);
  if (n_ == 0) return;
  Matrix c = ConstMatrixMap(cov_.data(), n, n);
  c = (c + c.transpose()).eval() * 0.5;  // symmetric up to rounding
  const Eigen::SelfAdjointEigenSolver<Matrix> solver(c);
  MatrixMap(eigvec_.data(), n, n) = solver.eigenvectors();
  for (Eigen::Index i = 0; i < n; ++i) eigval_[static_cast<size_t>(i)] = std::max(solver.eigenvalues()(i), 1e-300);
}

void CMAESSearcher::new_generation() {
  members_.assign(static_cast<size_t>(lambda_), Member{});
  for (Member& m : members_) sample(m);
  member_of_.clear();
}

void CMAESSearcher::sample(Member& member) {
  const Eigen::Index n = static_cast<Eigen::Index>(n_);
  std::mt19937_64 rng(detail::mix64(seed_ ^ detail::mix64(draws_++)));
  std::normal_distribution<double> normal(0.0, 1.0);
  const ConstMatrixMap b(eigvec_.data(), n, n);
  Eigen::VectorXd d(n), z(n), y(n), x(n);
  for (Eigen::Index i = 0; i < n; ++i) d(i) = std::sqrt(eigval_[static_cast<size_t>(i)]);
  const ConstVectorMap mean(mean_.data(), n);
  bool inside = false;
  for (int attempt = 0; attempt < kResamples && !inside; ++attempt) {
    for (Eigen::Index i = 0; i < n; ++i) z(i) = normal(rng);
    y = b * d.cwiseProduct(z);
    x = mean + sigma_ * y;
    inside = (x.array() >= 0).all() && (x.array() <= 1).all();
  }
  if (!inside) {  // repair: the clipped point, and the step that leads there
    x = x.cwiseMax(0.0).cwiseMin(1.0);
    y = (x - mean) / sigma_;
  }
  member.y.assign(y.data(), y.data() + n);
  member.x.assign(x.data(), x.data() + n);
  member.trial_id.clear();
  member.loss.reset();
}

void CMAESSearcher::update() {
  const Eigen::Index n = static_cast<Eigen::Index>(n_);
  const Parameters p(n_, lambda_);
  std::vector<size_t> order(members_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return *members_[a].loss < *members_[b].loss; });
  ++generation_;
  ++generation_in_run_;
  if (n_ == 0) return;
  VectorMap mean(mean_.data(), n), ps(ps_.data(), n), pc(pc_.data(), n);
  MatrixMap c(cov_.data(), n, n);
  const ConstMatrixMap b(eigvec_.data(), n, n);
  Eigen::VectorXd inv_d(n);
  for (Eigen::Index i = 0; i < n; ++i) inv_d(i) = 1 / std::sqrt(eigval_[static_cast<size_t>(i)]);

  // Recombination: the weighted mean of the best mu steps.
  Eigen::VectorXd yw = Eigen::VectorXd::Zero(n);
  for (int i = 0; i < p.mu; ++i) yw += p.weights[static_cast<size_t>(i)] * ConstVectorMap(members_[order[static_cast<size_t>(i)]].y.data(), n);
  mean += sigma_ * yw;
  // Step-size path and sigma (cumulative step-size adaptation).
  const Eigen::VectorXd c_inv_sqrt_yw = b * inv_d.cwiseProduct(b.transpose() * yw);
  ps = (1 - p.cs) * ps + std::sqrt(p.cs * (2 - p.cs) * p.mueff) * c_inv_sqrt_yw;
  const double ps_norm = ps.norm();
  const double gen = static_cast<double>(generation_in_run_);
  const bool hsig = ps_norm / std::sqrt(1 - std::pow(1 - p.cs, 2 * gen)) < (1.4 + 2 / (static_cast<double>(n_) + 1)) * p.chi;
  // Covariance path and the rank-one + rank-mu update.
  pc = (1 - p.cc) * pc + (hsig ? std::sqrt(p.cc * (2 - p.cc) * p.mueff) : 0.0) * yw;
  Matrix rank_mu = Matrix::Zero(n, n);
  for (int i = 0; i < p.mu; ++i) {
    const ConstVectorMap y(members_[order[static_cast<size_t>(i)]].y.data(), n);
    rank_mu += p.weights[static_cast<size_t>(i)] * y * y.transpose();
  }
  const double delta = hsig ? 0.0 : p.cc * (2 - p.cc);
  c = (1 - p.c1 - p.cmu) * c + p.c1 * (pc * pc.transpose() + delta * c) + p.cmu * rank_mu;
  sigma_ *= std::exp(std::min(1.0, (p.cs / p.ds) * (ps_norm / p.chi - 1)));
  decompose();

  // Convergence: restart (IPOP) or go on.
  recent_best_.push_back(*members_[order.front()].loss);
  const size_t history = 10 + static_cast<size_t>(std::ceil(30.0 * static_cast<double>(n_) / lambda_));
  if (recent_best_.size() > history) recent_best_.erase(recent_best_.begin());
  const double worst = *members_[order.back()].loss;
  const double hi = std::max(*std::max_element(recent_best_.begin(), recent_best_.end()), worst);
  const double lo = std::min(*std::min_element(recent_best_.begin(), recent_best_.end()), *members_[order.front()].loss);
  const double max_sd = std::sqrt(*std::max_element(eigval_.begin(), eigval_.end()));
  const double min_ev = *std::min_element(eigval_.begin(), eigval_.end());
  const bool converged = sigma_ * max_sd < kTolSigma ||
                         (recent_best_.size() >= history && hi - lo < kTolFlat * (1 + std::abs(lo))) ||
                         max_sd * max_sd / min_ev > kMaxCondition || !std::isfinite(sigma_);
  if (converged && options_.restarts == "ipop") {
    ++restarts_;
    lambda_ *= 2;
    start(true);
  } else if (!std::isfinite(sigma_)) {
    start(true);
  }
}

Suggestion CMAESSearcher::suggest(const std::string& trial_id) {
  if (!space_) throw TuneError("search_alg cmaes: set_search_properties must be called before suggest");
  Config config;
  if (static_cast<size_t>(num_suggested_) < options_.points_to_evaluate.size()) {
    const uint64_t stream = detail::mix64(seed_ ^ detail::mix64(static_cast<uint64_t>(num_suggested_)));
    std::tie(std::ignore, config) = detail::point_to_evaluate(
        *space_, options_.points_to_evaluate[static_cast<size_t>(num_suggested_)], detail::random_point(n_, stream));
    points_out_.insert(trial_id);
  } else {
    const auto free = std::find_if(members_.begin(), members_.end(), [](const Member& m) { return m.trial_id.empty(); });
    if (free == members_.end()) return Suggestion::not_now();  // the whole generation is running
    free->trial_id = trial_id;
    member_of_[trial_id] = static_cast<size_t>(free - members_.begin());
    config = space_->decode(free->x);
  }
  ++num_suggested_;
  return detail::suggestion_of(num_suggested_, space_->space(), std::move(config));
}

void CMAESSearcher::on_trial_complete(const std::string& trial_id, const Result& result, bool error) {
  if (points_out_.erase(trial_id)) return;  // points_to_evaluate are not generation members
  const auto it = member_of_.find(trial_id);
  if (it == member_of_.end()) return;  // not ours (or already told)
  Member& member = members_[it->second];
  member_of_.erase(it);
  const auto loss = error ? std::nullopt : detail::loss_of(result, metric_, maximize_);
  if (!loss) {
    sample(member);  // a failed member is replaced by a new sample
    return;
  }
  member.loss = *loss;
  if (std::all_of(members_.begin(), members_.end(), [](const Member& m) { return m.loss.has_value(); })) {
    update();
    new_generation();
  }
}

Json CMAESSearcher::save() const {
  Json members = Json::array();
  for (const Member& m : members_) {
    members.push_back(Json{{"y", detail::to_json(m.y)},
                           {"x", detail::to_json(m.x)},
                           {"trial_id", m.trial_id},
                           {"loss", m.loss ? Json(*m.loss) : Json(nullptr)}});
  }
  return Json{{"type", "cmaes"},
              {"seed", seed_},
              {"suggested", num_suggested_},
              {"draws", draws_},
              {"lambda", lambda_},
              {"mean", detail::to_json(mean_)},
              {"sigma", sigma_},
              {"cov", detail::to_json(cov_)},
              {"ps", detail::to_json(ps_)},
              {"pc", detail::to_json(pc_)},
              {"generation", generation_},
              {"generation_in_run", generation_in_run_},
              {"restarts", restarts_},
              {"recent_best", detail::to_json(recent_best_)},
              {"members", std::move(members)},
              {"points_out", Json(points_out_)}};
}

void CMAESSearcher::restore(const Json& state) {
  detail::check_state(state, "cmaes");
  seed_ = state.at("seed").get<uint64_t>();
  num_suggested_ = state.at("suggested").get<int64_t>();
  draws_ = state.at("draws").get<uint64_t>();
  lambda_ = state.at("lambda").get<int>();
  mean_ = detail::from_json(state.at("mean"));
  sigma_ = state.at("sigma").get<double>();
  cov_ = detail::from_json(state.at("cov"));
  ps_ = detail::from_json(state.at("ps"));
  pc_ = detail::from_json(state.at("pc"));
  generation_ = state.at("generation").get<int64_t>();
  generation_in_run_ = state.at("generation_in_run").get<int64_t>();
  restarts_ = state.at("restarts").get<int>();
  recent_best_ = detail::from_json(state.at("recent_best"));
  if (mean_.size() != n_ || cov_.size() != n_ * n_) {
    throw TuneError("search_alg cmaes: restore: the state belongs to a space of another dimension");
  }
  members_.clear();
  member_of_.clear();
  for (const Json& m : state.at("members")) {
    Member member;
    member.y = detail::from_json(m.at("y"));
    member.x = detail::from_json(m.at("x"));
    member.trial_id = m.at("trial_id").get<std::string>();
    if (m.at("loss").is_number()) member.loss = m.at("loss").get<double>();
    if (!member.trial_id.empty() && !member.loss) member_of_[member.trial_id] = members_.size();
    members_.push_back(std::move(member));
  }
  points_out_ = state.at("points_out").get<std::set<std::string>>();
  decompose();
}

}  // namespace tune
