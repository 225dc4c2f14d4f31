// TPESearcher: Optuna's Tree-structured Parzen Estimator on the unit cube of searchers/unit_space.h.
//
// Cost of one model suggestion: O(d (n_below + n_above) log n) to fit (sorting per dimension for
// the univariate bandwidths) plus O(n_ei_candidates d (n_below + n_above)) kernel evaluations;
// n_above is capped by max_above, so it stops growing with the history.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <tuple>

#include "searchers/searcher_util.h"
#include "searchers/unit_space.h"
#include "tune/error.h"
#include "tune/searchers.h"

namespace tune {
namespace {

using detail::category_of;
using detail::Dimension;
using detail::sample_truncated;

constexpr double kHalfLog2Pi = 0.91893853320467274178;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int default_gamma(int n) { return std::min(static_cast<int>(std::ceil(0.1 * n)), 25); }

std::vector<double> default_weights(int n) {
  if (n <= 0) return {};
  if (n < 25) return std::vector<double>(static_cast<size_t>(n), 1.0);
  std::vector<double> w(static_cast<size_t>(n), 1.0);
  const int ramp = n - 25;  // numpy.linspace(1 / n, 1.0, num=n - 25)
  for (int i = 0; i < ramp; ++i) {
    w[static_cast<size_t>(i)] = ramp == 1 ? 1.0 / n : 1.0 / n + (1.0 - 1.0 / n) * i / (ramp - 1);
  }
  return w;
}

double log_sum_exp(const double* v, size_t n) {
  double m = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < n; ++i) m = std::max(m, v[i]);
  if (!std::isfinite(m)) return m;
  // Terms 40 below the largest add < 1e-17 relative: skipping them also keeps exp() off its
  // slow underflow path, which most kernels of a long history would take.
  double s = 0;
  for (size_t i = 0; i < n; ++i) {
    const double x = v[i] - m;
    if (x > -40) s += std::exp(x);
  }
  return m + std::log(s);
}


size_t pick(const std::vector<double>& cumulative, std::mt19937_64& rng) {
  const double r = std::uniform_real_distribution<double>(0.0, cumulative.back())(rng);
  const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), r);
  return std::min(static_cast<size_t>(it - cumulative.begin()), cumulative.size() - 1);
}


// One group's Parzen estimator ("below" or "above"), fitted on rows of u (NaN = absent).
class Estimator {
 public:
  // `bandwidth_factor`: the multivariate Scott factor (0: Optuna's fixed bandwidth).
  Estimator(const std::vector<const std::vector<double>*>& rows, const std::vector<double>& weights,
            const std::vector<Dimension>& dims, const TPESearcher::Options& o, double bandwidth_factor)
      : dims_(dims),
        multivariate_(o.multivariate),
        prior_(o.consider_prior || rows.empty()),
        scale_free_(o.scale_free_kernels) {
    const size_t d = dims.size();
    const size_t n = rows.size();
    const size_t k = n + (prior_ ? 1 : 0);
    k_ = k;
    weight_.resize(k);
    for (size_t i = 0; i < n; ++i) weight_[i] = weights[i];
    if (prior_) weight_[n] = o.prior_weight;
    mu_.assign(k * d, kNaN);
    sigma_.assign(k * d, 1.0);
    lconst_.assign(k * d, 0.0);
    for (size_t i = 0; i < n; ++i) {
      for (size_t j = 0; j < d; ++j) mu_[i * d + j] = (*rows[i])[j];
    }
    if (prior_) {
      for (size_t j = 0; j < d; ++j) mu_[n * d + j] = 0.5;
    }
    per_dim_.resize(d);
    for (size_t j = 0; j < d; ++j) fit_dimension(j, n, o, bandwidth_factor);
    if (multivariate_) {
      // Joint components: each row's weight, normalised over all components.
      const double total = std::accumulate(weight_.begin(), weight_.end(), 0.0);
      log_weight_.resize(k);
      cumulative_.resize(k);
      double c = 0;
      for (size_t i = 0; i < k; ++i) {
        log_weight_[i] = std::log(weight_[i] / total);
        c += weight_[i];
        cumulative_[i] = c;
      }
    }
  }

  // Univariate: one dimension's log density at u.
  double log_density(size_t j, double u, std::vector<double>& buffer) const {
    const PerDim& p = per_dim_[j];
    if (p.categorical) return p.log_p[category_of(u, p.log_p.size())];
    buffer.resize(p.members.size());
    const size_t d = dims_.size();
    for (size_t m = 0; m < p.members.size(); ++m) {
      const size_t i = p.members[m];
      const double z = (u - mu_[i * d + j]) / sigma_[i * d + j];
      buffer[m] = p.log_w[m] + lconst_[i * d + j] - 0.5 * z * z;
    }
    return log_sum_exp(buffer.data(), buffer.size());
  }

  // Univariate: one draw of one dimension.
  double sample(size_t j, std::mt19937_64& rng) const {
    const PerDim& p = per_dim_[j];
    if (p.categorical) {
      const size_t c = pick(p.cumulative, rng);
      return (static_cast<double>(c) + 0.5) / static_cast<double>(p.cumulative.size());
    }
    const size_t i = p.members[pick(p.cumulative, rng)];
    const size_t d = dims_.size();
    return sample_truncated(mu_[i * d + j], sigma_[i * d + j], rng);
  }

  // Multivariate: the joint log density.
  double log_density(const std::vector<double>& u, std::vector<double>& buffer) const {
    const size_t d = dims_.size();
    buffer.resize(k_);
    for (size_t i = 0; i < k_; ++i) {
      double s = log_weight_[i];
      for (size_t j = 0; j < d; ++j) {
        const double mu = mu_[i * d + j];
        if (std::isnan(mu)) continue;  // absent: this component is uniform along j
        const PerDim& p = per_dim_[j];
        if (p.categorical) {
          const size_t c = category_of(u[j], p.num_categories);
          s += c == p.category[i] ? p.log_hit[i] : p.log_miss[i];
        } else {
          const double z = (u[j] - mu) / sigma_[i * d + j];
          s += lconst_[i * d + j] - 0.5 * z * z;
        }
      }
      buffer[i] = s;
    }
    return log_sum_exp(buffer.data(), k_);
  }

  // Multivariate: one joint draw (one component, every dimension from it).
  std::vector<double> sample(std::mt19937_64& rng) const {
    const size_t d = dims_.size();
    const size_t i = pick(cumulative_, rng);
    std::vector<double> u(d);
    for (size_t j = 0; j < d; ++j) {
      const double mu = mu_[i * d + j];
      const PerDim& p = per_dim_[j];
      if (std::isnan(mu)) {
        u[j] = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
      } else if (p.categorical) {
        // The component's categorical: hit its category with probability exp(log_hit).
        const double r = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
        size_t c = p.category[i];
        if (c == kNone) {
          c = std::uniform_int_distribution<size_t>(0, p.num_categories - 1)(rng);
        } else if (r >= std::exp(p.log_hit[i]) && p.num_categories > 1) {
          // A miss: one of the other categories, each equally likely.
          size_t other = std::uniform_int_distribution<size_t>(0, p.num_categories - 2)(rng);
          c = other >= c ? other + 1 : other;
        }
        u[j] = (static_cast<double>(c) + 0.5) / static_cast<double>(p.num_categories);
      } else {
        u[j] = sample_truncated(mu, sigma_[i * d + j], rng);
      }
    }
    return u;
  }

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);
  struct PerDim {
    bool categorical = false;
    std::vector<size_t> members;     // components present along this dimension
    std::vector<double> log_w;       // their normalised log weights (univariate)
    std::vector<double> cumulative;  // for sampling: components (numeric) or categories
    std::vector<double> log_p;       // univariate categorical: the mixture's log probabilities
    size_t num_categories = 0;
    std::vector<size_t> category;    // multivariate categorical: per component (kNone = prior)
    std::vector<double> log_hit, log_miss;
  };

  void fit_dimension(size_t j, size_t n, const TPESearcher::Options& o, double bandwidth_factor) {
    const size_t d = dims_.size();
    PerDim& p = per_dim_[j];
    for (size_t i = 0; i < k_; ++i) {
      if (!std::isnan(mu_[i * d + j])) p.members.push_back(i);
    }
    double total = 0;
    for (size_t i : p.members) total += weight_[i];
    if (dims_[j].kind == Dimension::Kind::kCategorical) {
      p.categorical = true;
      const size_t kc = dims_[j].num_choices;
      p.num_categories = kc;
      // Optuna: every component row starts at prior_weight / #components, its category gets +1.
      const double a = o.prior_weight / static_cast<double>(std::max<size_t>(p.members.size(), 1));
      p.category.assign(k_, kNone);
      p.log_hit.assign(k_, 0.0);
      p.log_miss.assign(k_, 0.0);
      std::vector<double> prob(kc, 0.0);
      for (size_t i : p.members) {
        const bool is_prior = prior_ && i == n;
        const double row = a * static_cast<double>(kc) + (is_prior ? 0.0 : 1.0);
        const size_t c = is_prior ? kNone : category_of(mu_[i * d + j], kc);
        p.category[i] = c;
        p.log_hit[i] = std::log((a + 1.0) / row);
        p.log_miss[i] = std::log(a / row);
        if (is_prior) p.log_hit[i] = p.log_miss[i] = -std::log(static_cast<double>(kc));
        const double w = weight_[i] / total;
        for (size_t c2 = 0; c2 < kc; ++c2) prob[c2] += w * (is_prior ? 1.0 / static_cast<double>(kc) : (c2 == c ? (a + 1.0) / row : a / row));
      }
      if (p.members.empty()) std::fill(prob.begin(), prob.end(), 1.0 / static_cast<double>(kc));
      p.log_p.resize(kc);
      p.cumulative.resize(kc);
      double c = 0;
      for (size_t c2 = 0; c2 < kc; ++c2) {
        p.log_p[c2] = std::log(prob[c2]);
        c += prob[c2];
        p.cumulative[c2] = c;
      }
      return;
    }
    const size_t m = p.members.size();
    // Bandwidths.
    std::vector<double> sigma(m);
    if (multivariate_) {
      std::fill(sigma.begin(), sigma.end(), multivariate_bandwidth(j, n, bandwidth_factor));
    } else {
      std::vector<std::pair<double, size_t>> sorted(m);  // (centre, member)
      for (size_t r = 0; r < m; ++r) sorted[r] = {mu_[p.members[r] * d + j], r};
      std::sort(sorted.begin(), sorted.end());
      for (size_t r = 0; r < m; ++r) {
        const double x = sorted[r].first;
        const double left = r == 0 ? 0.0 : sorted[r - 1].first;
        const double right = r + 1 == m ? 1.0 : sorted[r + 1].first;
        sigma[sorted[r].second] = std::max(x - left, right - x);
      }
      if (!o.consider_endpoints && m >= 2) {
        sigma[sorted[0].second] = sorted[1].first - sorted[0].first;
        sigma[sorted[m - 1].second] = sorted[m - 1].first - sorted[m - 2].first;
      }
    }
    const double max_sigma = 1.0;
    const double min_sigma = o.consider_magic_clip ? 1.0 / std::min(100.0, 1.0 + static_cast<double>(m)) : 1e-12;
    p.log_w.resize(m);
    p.cumulative.resize(m);
    double c = 0;
    for (size_t r = 0; r < m; ++r) {
      const size_t i = p.members[r];
      double s = std::clamp(sigma[r], min_sigma, max_sigma);
      if (prior_ && i == n) s = 1.0;  // the prior: centre 0.5, width the whole range
      sigma_[i * d + j] = s;
      const double mu = mu_[i * d + j];
      const double z = detail::normal_cdf((1 - mu) / s) - detail::normal_cdf(-mu / s);
      lconst_[i * d + j] = (scale_free_ ? 0.0 : -std::log(s)) - kHalfLog2Pi - std::log(std::max(z, 1e-300));
      p.log_w[r] = std::log(weight_[i] / total);
      c += weight_[i];
      p.cumulative[r] = c;
    }
  }

  // One bandwidth for every kernel along j. Optuna's (factor 0): 0.2 n^(-1/(d+4)) of the
  // range. Scott's rule (factor > 0): factor x the weighted standard deviation of the
  // observations along j x m^(-1/(d+4)) (m: those that have j), so l(x) narrows as the good
  // observations gather, where Optuna's never does; Optuna's when m < 2 or they do not spread.
  double multivariate_bandwidth(size_t j, size_t n, double factor) const {
    const size_t d = dims_.size();
    const double exponent = -1.0 / (static_cast<double>(d) + 4.0);
    const double optuna = 0.2 * std::pow(static_cast<double>(std::max<size_t>(n, 1)), exponent);
    if (factor <= 0) return optuna;
    double sw = 0, mean = 0, count = 0;
    for (size_t i : per_dim_[j].members) {
      if (prior_ && i == n) continue;
      sw += weight_[i];
      mean += weight_[i] * mu_[i * d + j];
      ++count;
    }
    if (count < 2 || !(sw > 0)) return optuna;
    mean /= sw;
    double var = 0;
    for (size_t i : per_dim_[j].members) {
      if (prior_ && i == n) continue;
      const double e = mu_[i * d + j] - mean;
      var += weight_[i] * e * e;
    }
    const double sd = std::sqrt(var / sw);
    return sd > 0 ? factor * sd * std::pow(count, exponent) : optuna;
  }

  const std::vector<Dimension>& dims_;
  bool multivariate_;
  bool prior_;
  bool scale_free_;
  size_t k_ = 0;
  std::vector<double> weight_;
  std::vector<double> mu_, sigma_, lconst_;  // k x d, row-major
  std::vector<double> log_weight_, cumulative_;
  std::vector<PerDim> per_dim_;
};

}  // namespace

TPESearcher::TPESearcher() : TPESearcher(Options{}) {}

TPESearcher::TPESearcher(Options options) : options_(std::move(options)) {
  if (options_.n_startup_trials < 0) throw TuneError("n_startup_trials: must be >= 0");
  if (options_.n_ei_candidates < 1) throw TuneError("n_ei_candidates: must be >= 1");
  if (!(options_.prior_weight > 0)) throw TuneError("prior_weight: must be > 0");
  if (options_.scott_bandwidth && !(*options_.scott_bandwidth >= 0)) {
    throw TuneError("scott_bandwidth: must be >= 0 (0 = Optuna's fixed bandwidth)");
  }
  if (options_.max_above < 0) throw TuneError("max_above: must be >= 0 (0 = no cap)");
  if (!options_.gamma) options_.gamma = default_gamma;
  if (!options_.weights) options_.weights = default_weights;
  seed_ = options_.seed ? *options_.seed : detail::random_seed();
}

TPESearcher::~TPESearcher() = default;

void TPESearcher::set_search_properties(const std::string& metric, const std::string& mode, const Space& space) {
  detail::require_metric_mode("tpe", metric, mode);
  metric_ = metric;
  maximize_ = mode == "max";
  space_ = std::make_unique<detail::UnitSpace>(space, "search_alg tpe");
  detail::check_points(*space_, options_.points_to_evaluate);
}

void TPESearcher::add_observation(std::vector<double> u, double loss) {
  for (double x : u) present_dimensions_ += std::isnan(x) ? 0 : 1;
  observations_.push_back({std::move(u), loss});
  const size_t index = observations_.size() - 1;
  // Sorted insert (stable: an equal loss goes after the older ones).
  const auto at = std::upper_bound(by_loss_.begin(), by_loss_.end(), loss,
                                   [&](double l, size_t i) { return l < observations_[i].loss; });
  by_loss_.insert(at, index);
}

size_t TPESearcher::num_observations() const { return observations_.size(); }

// 0.3 sqrt(d), d the number of dimensions a completed trial has, on average (a conditional
// space's inactive dimensions do not count). Chosen on the tuning families of
// bench/search_suite.sh --select (docs/search_benchmark.md, sixth round): the best fixed factor
// grows with the dimension there, from about 0.35 in 2-D to 1.0 in 10-D.
double TPESearcher::default_scott_factor() const {
  const double n = static_cast<double>(observations_.size());
  const double d = observations_.empty() ? 1.0 : static_cast<double>(present_dimensions_) / n;
  return 0.3 * std::sqrt(std::max(1.0, d));
}

std::vector<double> TPESearcher::sample_model(uint64_t stream) const {
  std::mt19937_64 rng(stream);
  const auto& dims = space_->dimensions();
  const size_t d = dims.size();
  const int n = static_cast<int>(observations_.size());
  const size_t n_below = static_cast<size_t>(std::clamp(options_.gamma(n), 1, n));
  // Below: the best n_below, oldest first (the weights favour recent ones).
  std::vector<size_t> below(by_loss_.begin(), by_loss_.begin() + static_cast<std::ptrdiff_t>(n_below));
  std::sort(below.begin(), below.end());
  std::vector<size_t> above(by_loss_.begin() + static_cast<std::ptrdiff_t>(n_below), by_loss_.end());
  std::sort(above.begin(), above.end());
  std::vector<const std::vector<double>*> below_rows, above_rows;
  for (size_t i : below) below_rows.push_back(&observations_[i].u);
  for (size_t i : above) above_rows.push_back(&observations_[i].u);
  if (options_.constant_liar) {
    for (const auto& [id, u] : pending_) above_rows.push_back(&u);
  }
  std::vector<double> below_w = options_.weights(static_cast<int>(below_rows.size()));
  std::vector<double> above_w = options_.weights(static_cast<int>(above_rows.size()));
  if (below_w.size() != below_rows.size() || above_w.size() != above_rows.size()) {
    throw TuneError("weights: must return one weight per observation");
  }
  const size_t cap = static_cast<size_t>(options_.max_above);
  if (cap > 0 && above_rows.size() > cap) {
    // Systematic resampling in proportion to the weights: cap rows of equal weight.
    std::vector<const std::vector<double>*> rows;
    rows.reserve(cap);
    const double total = std::accumulate(above_w.begin(), above_w.end(), 0.0);
    const double step = total / static_cast<double>(cap);
    double next = std::uniform_real_distribution<double>(0.0, step)(rng);
    double c = 0;
    for (size_t i = 0; i < above_rows.size() && rows.size() < cap; ++i) {
      c += above_w[i];
      while (next < c && rows.size() < cap) {
        rows.push_back(above_rows[i]);
        next += step;
      }
    }
    above_rows = std::move(rows);
    above_w.assign(above_rows.size(), 1.0);
  }
  const double factor = options_.scott_bandwidth ? *options_.scott_bandwidth : default_scott_factor();
  const Estimator l(below_rows, below_w, dims, options_, factor);
  const Estimator g(above_rows, above_w, dims, options_, factor);

  const size_t nc = static_cast<size_t>(options_.n_ei_candidates);
  std::vector<double> buffer;
  const auto snap = [&](size_t j, double u) {
    return dims[j].kind == Dimension::Kind::kInteger ? space_->encode(j, space_->value(j, u)) : u;
  };
  std::vector<double> best(d);
  if (options_.multivariate) {
    double best_score = -std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < nc; ++c) {
      std::vector<double> u = l.sample(rng);
      for (size_t j = 0; j < d; ++j) u[j] = snap(j, u[j]);
      const double score = l.log_density(u, buffer) - g.log_density(u, buffer);
      if (c == 0 || score > best_score) {
        best_score = score;
        best = u;
      }
    }
    return best;
  }
  for (size_t j = 0; j < d; ++j) {
    double best_score = -std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < nc; ++c) {
      const double u = snap(j, l.sample(j, rng));
      const double score = l.log_density(j, u, buffer) - g.log_density(j, u, buffer);
      if (c == 0 || score > best_score) {
        best_score = score;
        best[j] = u;
      }
    }
  }
  return best;
}

Suggestion TPESearcher::suggest(const std::string& trial_id) {
  if (!space_) throw TuneError("search_alg tpe: set_search_properties must be called before suggest");
  const uint64_t stream = detail::mix64(seed_ ^ detail::mix64(static_cast<uint64_t>(num_suggested_)));
  std::vector<double> u;
  Config config;
  if (static_cast<size_t>(num_suggested_) < options_.points_to_evaluate.size()) {
    std::tie(u, config) = detail::point_to_evaluate(*space_, options_.points_to_evaluate[static_cast<size_t>(num_suggested_)],
                                                    detail::random_point(space_->size(), stream));
  } else {
    const bool startup = static_cast<int>(observations_.size()) < options_.n_startup_trials || observations_.empty();
    u = startup ? detail::random_point(space_->size(), stream) : sample_model(stream);
    space_->deactivate(u);  // a conditional dimension its choice did not pick is absent
    config = space_->decode(u);
  }
  ++num_suggested_;
  pending_[trial_id] = u;
  return detail::suggestion_of(num_suggested_, space_->space(), std::move(config));
}

void TPESearcher::on_trial_complete(const std::string& trial_id, const Result& result, bool error) {
  const auto it = pending_.find(trial_id);
  if (it == pending_.end()) return;  // not ours (or already told)
  std::vector<double> u = std::move(it->second);
  pending_.erase(it);
  if (error) return;
  if (const auto loss = detail::loss_of(result, metric_, maximize_)) add_observation(std::move(u), *loss);
}

void TPESearcher::add_evaluated_point(const Config& config, const Result& result, bool error) {
  if (!space_) throw TuneError("search_alg tpe: set_search_properties must be called before add_evaluated_point");
  if (error) return;
  if (const auto loss = detail::loss_of(result, metric_, maximize_)) add_observation(space_->encode_partial(config), *loss);
}

Json TPESearcher::save() const {
  return Json{{"type", "tpe"},
              {"seed", seed_},
              {"suggested", num_suggested_},
              {"observations", detail::to_json(observations_)},
              {"pending", detail::to_json(pending_)}};
}

void TPESearcher::restore(const Json& state) {
  detail::check_state(state, "tpe");
  seed_ = state.at("seed").get<uint64_t>();
  num_suggested_ = state.at("suggested").get<int64_t>();
  observations_.clear();
  present_dimensions_ = 0;
  by_loss_.clear();
  for (auto& o : detail::observations_from_json(state.at("observations"))) add_observation(std::move(o.u), o.loss);
  pending_ = detail::points_from_json(state.at("pending"));
}

}  // namespace tune
