// BOHBSearcher: the configuration generator of BOHB (Falkner, Klein & Hutter, "BOHB: Robust and
// Efficient Hyperparameter Optimization at Scale", ICML 2018; the rules of its reference
// implementation, hpbandster's bohb.py), on the unit cube of searchers/unit_space.h.
//
// Cost of one model suggestion: O(T log T) to find the budget over T trials, then
// O(num_samples * n * d) kernel evaluations for the n observations at that budget.
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


// A product-kernel density over rows (each a point: numeric u, or a category index), as
// statsmodels' KDEMultivariate with normal_reference bandwidths: 1.06 sd n^(-1/(4 + d)) per
// dimension, at least min_bandwidth (a choice's bandwidth is its Aitchison-Aitken lambda,
// at most (k - 1) / k).
class Kde {
 public:
  Kde(std::vector<std::vector<double>> rows, const std::vector<Dimension>& dims, double min_bandwidth)
      : rows_(std::move(rows)), dims_(dims) {
    const size_t d = dims.size();
    const double n = static_cast<double>(rows_.size());
    bandwidth_.resize(d);
    for (size_t j = 0; j < d; ++j) {
      double mean = 0, sq = 0;
      for (const auto& r : rows_) mean += r[j];
      mean /= n;
      for (const auto& r : rows_) sq += (r[j] - mean) * (r[j] - mean);
      double bw = 1.06 * std::sqrt(sq / n) * std::pow(n, -1.0 / (4.0 + static_cast<double>(d)));
      bw = std::max(bw, min_bandwidth);
      if (dims[j].kind == Dimension::Kind::kCategorical) {
        const double k = static_cast<double>(dims[j].num_choices);
        bw = std::min(bw, (k - 1) / k);
      }
      bandwidth_[j] = bw;
    }
  }

  double pdf(const std::vector<double>& x) const {
    constexpr double kInvSqrt2Pi = 0.39894228040143267794;
    double total = 0;
    for (const auto& r : rows_) {
      double p = 1;
      for (size_t j = 0; j < dims_.size() && p > 0; ++j) {
        const double bw = bandwidth_[j];
        if (dims_[j].kind == Dimension::Kind::kCategorical) {
          const double k = static_cast<double>(dims_[j].num_choices);
          p *= x[j] == r[j] ? 1 - bw : bw / std::max(k - 1, 1.0);
        } else {
          const double z = (x[j] - r[j]) / bw;
          p *= kInvSqrt2Pi / bw * std::exp(-0.5 * z * z);
        }
      }
      total += p;
    }
    return total / static_cast<double>(rows_.size());
  }

  const std::vector<std::vector<double>>& rows() const { return rows_; }
  double bandwidth(size_t j) const { return bandwidth_[j]; }

 private:
  std::vector<std::vector<double>> rows_;
  const std::vector<Dimension>& dims_;
  std::vector<double> bandwidth_;
};

// A numeric point's input to the KDE: u; a choice's: its category index. An inactive
// conditional dimension (NaN) is imputed with a random value, as hpbandster does.
std::vector<double> kde_row(const std::vector<Dimension>& dims, const std::vector<double>& u, std::mt19937_64& rng) {
  std::vector<double> row(u);
  for (size_t j = 0; j < dims.size(); ++j) {
    if (std::isnan(row[j])) row[j] = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    if (dims[j].kind == Dimension::Kind::kCategorical) row[j] = static_cast<double>(category_of(row[j], dims[j].num_choices));
  }
  return row;
}


}  // namespace

BOHBSearcher::BOHBSearcher() : BOHBSearcher(Options{}) {}

BOHBSearcher::BOHBSearcher(Options options) : options_(std::move(options)) {
  if (options_.time_attr.empty()) throw TuneError("time_attr: must name a result key");
  if (options_.min_points_in_model < 0) throw TuneError("min_points_in_model: must be >= 0 (0 = d + 1)");
  if (!(options_.top_n_percent > 0 && options_.top_n_percent < 100)) {
    throw TuneError("top_n_percent: must be > 0 and < 100");
  }
  if (options_.num_samples < 1) throw TuneError("num_samples: must be >= 1");
  if (!(options_.random_fraction >= 0 && options_.random_fraction <= 1)) {
    throw TuneError("random_fraction: must be in [0, 1]");
  }
  if (!(options_.bandwidth_factor > 0) || !std::isfinite(options_.bandwidth_factor)) {
    throw TuneError("bandwidth_factor: must be > 0");
  }
  if (!(options_.min_bandwidth > 0) || !std::isfinite(options_.min_bandwidth)) {
    throw TuneError("min_bandwidth: must be > 0");
  }
  seed_ = options_.seed ? *options_.seed : detail::random_seed();
}

BOHBSearcher::~BOHBSearcher() = default;

void BOHBSearcher::set_search_properties(const std::string& metric, const std::string& mode, const Space& space) {
  detail::require_metric_mode("bohb", metric, mode);
  metric_ = metric;
  maximize_ = mode == "max";
  space_ = std::make_unique<detail::UnitSpace>(space, "search_alg bohb");
  detail::check_points(*space_, options_.points_to_evaluate);
  min_points_ = std::max(options_.min_points_in_model, static_cast<int>(space_->size()) + 1);
}

// How many trials must have reached a budget for a model there: l(x) gets
// max(min_points, top_n_percent of n) of them and g(x) needs more than d of the rest.
std::optional<size_t> BOHBSearcher::model_size() const {
  const size_t d = space_->size();
  const size_t mp = static_cast<size_t>(min_points_);
  for (size_t n = mp; n <= traces_.size(); ++n) {
    const size_t good = std::max(mp, static_cast<size_t>(options_.top_n_percent * static_cast<double>(n) / 100));
    if (n >= good + d + 1) return n;
  }
  return std::nullopt;
}

std::optional<double> BOHBSearcher::model_budget() const {
  if (!space_) return std::nullopt;
  const auto need = model_size();
  if (!need) return std::nullopt;
  std::vector<double> reached;
  for (const Trace& t : traces_) {
    if (!t.t.empty()) reached.push_back(t.t.back());
  }
  if (reached.size() < *need) return std::nullopt;
  std::nth_element(reached.begin(), reached.begin() + static_cast<std::ptrdiff_t>(*need - 1), reached.end(),
                   std::greater<>());
  return reached[*need - 1];
}

std::vector<double> BOHBSearcher::model_point(uint64_t stream) const {
  const auto& dims = space_->dimensions();
  const size_t d = dims.size();
  std::mt19937_64 rng(stream);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto budget = model_budget();
  if (!budget || unit(rng) < options_.random_fraction) return detail::random_point(d, rng());

  // Each trial that reached the budget, at the last value it reported by then.
  std::vector<std::pair<double, size_t>> observed;  // (loss, trace)
  for (size_t i = 0; i < traces_.size(); ++i) {
    const Trace& t = traces_[i];
    if (t.t.empty() || t.t.back() < *budget) continue;
    const auto after = std::upper_bound(t.t.begin(), t.t.end(), *budget);
    const size_t k = after == t.t.begin() ? 0 : static_cast<size_t>(after - t.t.begin()) - 1;
    observed.emplace_back(t.loss[k], i);
  }
  std::stable_sort(observed.begin(), observed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  const size_t n = observed.size();
  const size_t mp = static_cast<size_t>(min_points_);
  const size_t n_good = std::max(mp, static_cast<size_t>(options_.top_n_percent * static_cast<double>(n) / 100));
  const size_t n_bad = std::max(mp, static_cast<size_t>((100 - options_.top_n_percent) * static_cast<double>(n) / 100));
  std::vector<std::vector<double>> good, bad;
  for (size_t r = 0; r < n; ++r) {
    std::vector<double> row = kde_row(dims, traces_[observed[r].second].u, rng);
    if (r < n_good) {
      good.push_back(std::move(row));
    } else if (r < n_good + n_bad) {
      bad.push_back(std::move(row));
    }
  }
  const Kde l(std::move(good), dims, options_.min_bandwidth);
  const Kde g(std::move(bad), dims, options_.min_bandwidth);

  // Candidates around the good points, with wider bandwidths; the smallest g/l wins.
  std::vector<double> best_row;
  double best = std::numeric_limits<double>::infinity();
  for (int c = 0; c < options_.num_samples; ++c) {
    const auto& datum = l.rows()[std::uniform_int_distribution<size_t>(0, l.rows().size() - 1)(rng)];
    std::vector<double> row(d);
    for (size_t j = 0; j < d; ++j) {
      const double bw = l.bandwidth(j);
      if (dims[j].kind == Dimension::Kind::kCategorical) {
        row[j] = unit(rng) < 1 - bw ? datum[j]
                                    : static_cast<double>(std::uniform_int_distribution<size_t>(0, dims[j].num_choices - 1)(rng));
      } else {
        row[j] = sample_truncated(datum[j], options_.bandwidth_factor * bw, rng);
        if (dims[j].kind == Dimension::Kind::kInteger) row[j] = space_->encode(j, space_->value(j, row[j]));
      }
    }
    const double ratio = std::max(1e-32, g.pdf(row)) / std::max(1e-32, l.pdf(row));
    if (ratio < best) {
      best = ratio;
      best_row = std::move(row);
    }
  }
  std::vector<double> u = best_row;
  for (size_t j = 0; j < d; ++j) {
    if (dims[j].kind == Dimension::Kind::kCategorical) {
      u[j] = (best_row[j] + 0.5) / static_cast<double>(dims[j].num_choices);
    }
  }
  space_->deactivate(u);
  return u;
}

Suggestion BOHBSearcher::suggest(const std::string& trial_id) {
  if (!space_) throw TuneError("search_alg bohb: set_search_properties must be called before suggest");
  const uint64_t stream = detail::mix64(seed_ ^ detail::mix64(static_cast<uint64_t>(num_suggested_)));
  Config config;
  if (static_cast<size_t>(num_suggested_) < options_.points_to_evaluate.size()) {
    std::tie(std::ignore, config) =
        detail::point_to_evaluate(*space_, options_.points_to_evaluate[static_cast<size_t>(num_suggested_)],
                                  detail::random_point(space_->size(), stream));
  } else {
    config = space_->decode(model_point(stream));
  }
  ++num_suggested_;
  trace_of_[trial_id] = traces_.size();
  traces_.push_back({trial_id, space_->encode(config), {}, {}});
  return detail::suggestion_of(num_suggested_, space_->space(), std::move(config));
}

void BOHBSearcher::record(const std::string& trial_id, const Result& result) {
  const auto it = trace_of_.find(trial_id);
  if (it == trace_of_.end() || result.is_null()) return;  // not ours
  const auto t = detail::metric_of(result, options_.time_attr);
  if (!t) {
    throw TuneError(fmt::format("search_alg bohb: time_attr: a result of trial {} has no number '{}' (the budget "
                                "axis; set time_attr to a result key such as training_iteration)",
                                trial_id, options_.time_attr));
  }
  const auto loss = detail::loss_of(result, metric_, maximize_);
  if (!loss) return;
  Trace& trace = traces_[it->second];
  // A trial restored from a checkpoint reports the same budgets again: the newer values win.
  while (!trace.t.empty() && trace.t.back() >= *t) {
    trace.t.pop_back();
    trace.loss.pop_back();
  }
  trace.t.push_back(*t);
  trace.loss.push_back(*loss);
}

void BOHBSearcher::on_trial_result(const std::string& trial_id, const Result& result) { record(trial_id, result); }

void BOHBSearcher::on_trial_complete(const std::string& trial_id, const Result& result, bool error) {
  if (!error) record(trial_id, result);
}

Json BOHBSearcher::save() const {
  Json traces = Json::array();
  for (const Trace& t : traces_) {
    traces.push_back(Json{{"id", t.trial_id}, {"u", detail::to_json(t.u)}, {"t", detail::to_json(t.t)},
                          {"loss", detail::to_json(t.loss)}});
  }
  return Json{{"type", "bohb"}, {"seed", seed_}, {"suggested", num_suggested_}, {"trials", std::move(traces)}};
}

void BOHBSearcher::restore(const Json& state) {
  detail::check_state(state, "bohb");
  seed_ = state.at("seed").get<uint64_t>();
  num_suggested_ = state.at("suggested").get<int64_t>();
  traces_.clear();
  trace_of_.clear();
  for (const Json& t : state.at("trials")) {
    trace_of_[t.at("id").get<std::string>()] = traces_.size();
    traces_.push_back({t.at("id").get<std::string>(), detail::from_json(t.at("u")), detail::from_json(t.at("t")),
                       detail::from_json(t.at("loss"))});
  }
}

}  // namespace tune
