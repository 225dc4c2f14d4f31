#include "searchers/unit_space.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "tune/error.h"

namespace tune::detail {
namespace {

constexpr double kNormalClip = 1e-6;

double clamp01(double u) { return std::isnan(u) ? 0.5 : std::clamp(u, 0.0, 1.0); }

}  // namespace

// Acklam's rational approximation of the standard normal quantile, refined by one Halley
// step: relative error far below what a search needs.
double normal_quantile(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01,  -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double low = 0.02425;
  double x;
  if (p < low) {
    const double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - low) {
    const double q = p - 0.5;
    const double r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

namespace {

// The allowed integers of an integer domain, as [first, first + count * step).
struct IntegerGrid {
  int64_t first = 0;
  int64_t step = 1;
  size_t count = 0;
};

int64_t ceil_div(int64_t a, int64_t b) { return a / b + ((a % b != 0) && ((a < 0) == (b < 0)) ? 1 : 0); }
int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

IntegerGrid integer_grid(const Domain& d) {
  const auto lower = static_cast<int64_t>(d.lower);
  const auto upper = static_cast<int64_t>(d.upper);
  switch (d.type) {
    case Domain::Type::kRandint:
    case Domain::Type::kLogRandint:
      return {lower, 1, static_cast<size_t>(upper - lower)};
    default: {  // q-variants: multiples of q in [lower, upper]
      const auto q = static_cast<int64_t>(d.q);
      const int64_t first = ceil_div(lower, q);
      const int64_t last = floor_div(upper, q);
      return {first * q, q, static_cast<size_t>(std::max<int64_t>(last - first + 1, 1))};
    }
  }
}

// An integer domain's allowed values, each owning the interval [v - step/2, v + step/2] of
// the (possibly log) transformed axis, so u in [0, 1] covers them all and every integer is
// reachable; on a log axis small integers get wider bins, as the random sampler gives them.
struct IntegerBins {
  explicit IntegerBins(const Domain& d) : grid(integer_grid(d)), log(d.is_log()) {
    const double half = 0.5 * static_cast<double>(grid.step);
    const double first = static_cast<double>(grid.first);
    b0 = log ? std::max(first - half, 0.5 * first) : first - half;
    t0 = t(b0);
    t1 = t(first + static_cast<double>(grid.count - 1) * static_cast<double>(grid.step) + half);
  }
  double t(double x) const { return log ? std::log(x) : x; }
  double from_t(double y) const { return log ? std::exp(y) : y; }
  size_t nearest(double x) const {
    const double k = std::round((x - static_cast<double>(grid.first)) / static_cast<double>(grid.step));
    return static_cast<size_t>(std::clamp(k, 0.0, static_cast<double>(grid.count - 1)));
  }
  int64_t value(size_t k) const { return grid.first + static_cast<int64_t>(k) * grid.step; }

  IntegerGrid grid;
  bool log;
  double b0 = 0;
  double t0 = 0;
  double t1 = 1;
};

double transformed(const Domain& d, double x) { return d.is_log() ? std::log(x) : x; }

double quantise(double x, double q, double lower, double upper) {
  if (q <= 0) return x;
  double v = std::round(x / q) * q;
  // Keep inside the bounds with the same rule the sampler uses: the nearest multiple inside.
  if (v < lower) v += q;
  if (v > upper) v -= q;
  return v;
}

bool has_domain(const Space& node) {
  if (node.is_domain()) return true;
  if (node.is_object()) {
    for (const auto& [key, child] : node.as_object()) {
      if (has_domain(child)) return true;
    }
  }
  if (node.is_array()) {
    for (const auto& child : node.as_array()) {
      if (has_domain(child)) return true;
    }
  }
  return false;
}

// True when a choice's value can be the one a sub-space produced: equal plain values, the same
// keys and lengths, anything where the sub-space has a distribution.
bool matches(const Json& value, const Space& option) {
  if (option.is_domain()) return true;
  if (option.is_value()) return value == option.as_value();
  if (option.is_object()) {
    if (!value.is_object() || value.size() != option.as_object().size()) return false;
    for (const auto& [key, child] : option.as_object()) {
      const auto it = value.find(key);
      if (it == value.end() || !matches(*it, child)) return false;
    }
    return true;
  }
  if (option.is_array()) {
    if (!value.is_array() || value.size() != option.as_array().size()) return false;
    for (size_t i = 0; i < value.size(); ++i) {
      if (!matches(value[i], option.as_array()[i])) return false;
    }
    return true;
  }
  return value.is_null();
}

void collect(const Space& node, std::string& path, std::vector<Dimension>& out, std::string_view searcher,
             std::deque<Space>& option_spaces) {
  const size_t mark = path.size();
  const auto descend = [&](const std::string& key, const Space& child) {
    if (mark != 0) path += '/';
    path += key;
    collect(child, path, out, searcher, option_spaces);
    path.resize(mark);
  };
  if (node.is_object()) {
    for (const auto& [key, child] : node.as_object()) descend(key, child);
    return;
  }
  if (node.is_array()) {
    for (size_t i = 0; i < node.as_array().size(); ++i) descend(std::to_string(i), node.as_array()[i]);
    return;
  }
  if (!node.is_domain()) return;
  const Domain& d = node.as_domain();
  Dimension dim;
  dim.path = path;
  dim.domain = &d;
  dim.log = d.is_log();
  switch (d.type) {
    case Domain::Type::kGridSearch:
      throw TuneError(fmt::format("{}: config/{}: grid_search cannot be used with this search algorithm (it "
                                  "suggests every value itself); use choice([...]) instead",
                                  searcher, path));
    case Domain::Type::kSampleFrom:
      throw TuneError(fmt::format("{}: config/{}: sample_from cannot be used with this search algorithm (a "
                                  "function's values cannot be modelled); use a distribution instead",
                                  searcher, path));
    case Domain::Type::kChoice: {
      dim.kind = Dimension::Kind::kCategorical;
      dim.num_choices = d.values.size();
      // Values holding distributions are sub-spaces: their dimensions follow, conditional on this one.
      const size_t self = out.size();
      out.push_back(std::move(dim));
      for (size_t k = 0; k < d.values.size(); ++k) {
        const Json& value = d.values[k];
        const Space* sub = nullptr;
        if (value.is_object() || value.is_array()) {
          Space parsed;
          try {
            parsed = Space::from_json(value, fmt::format("config/{}/{}", path, k));
          } catch (const TuneError& e) {
            throw TuneError(fmt::format("{}: {}", searcher, e.what()));
          }
          if (has_domain(parsed)) {
            option_spaces.push_back(std::move(parsed));
            sub = &option_spaces.back();
          }
        }
        out[self].option_spaces.push_back(sub);
        if (sub == nullptr) continue;
        const size_t first = out.size();
        collect(*sub, path, out, searcher, option_spaces);
        for (size_t i = first; i < out.size(); ++i) {
          if (out[i].parent < 0) {
            out[i].parent = static_cast<int>(self);
            out[i].option = k;
          }
        }
      }
      return;
    }
    case Domain::Type::kRandint:
    case Domain::Type::kQRandint:
    case Domain::Type::kLogRandint:
    case Domain::Type::kQLogRandint:
      dim.kind = Dimension::Kind::kInteger;
      dim.num_choices = integer_grid(d).count;
      break;
    default:
      dim.kind = Dimension::Kind::kContinuous;
      break;
  }
  out.push_back(std::move(dim));
}

Json* walk_create(Json& root, const std::string& path) {
  Json* node = &root;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string key = path.substr(start, end - start);
    if (node->is_array()) {
      node = &(*node)[static_cast<size_t>(std::stoul(key))];
    } else {
      node = &(*node)[key];
    }
    start = end + 1;
  }
  return node;
}

}  // namespace

UnitSpace::UnitSpace(Space space, std::string_view searcher) : space_(std::move(space)) {
  std::string path;
  collect(space_, path, dimensions_, searcher, option_spaces_);
  for (const Dimension& d : dimensions_) conditional_ = conditional_ || d.parent >= 0;
}

bool UnitSpace::active(size_t dim, const std::vector<double>& u) const {
  const Dimension& d = dimensions_.at(dim);
  if (d.parent < 0) return true;
  const size_t p = static_cast<size_t>(d.parent);
  if (std::isnan(u[p])) return false;
  const size_t k = dimensions_[p].num_choices;
  const size_t chosen = std::min(static_cast<size_t>(std::clamp(u[p], 0.0, 1.0) * static_cast<double>(k)), k - 1);
  return chosen == d.option && active(p, u);
}

void UnitSpace::deactivate(std::vector<double>& u) const {
  if (!conditional_) return;
  // Parents come before their children, so one pass settles every chain.
  for (size_t i = 0; i < u.size(); ++i) {
    if (!active(i, u)) u[i] = std::numeric_limits<double>::quiet_NaN();
  }
}

Json UnitSpace::value(size_t dim, double u) const {
  u = clamp01(u);
  const Dimension& dimension = dimensions_.at(dim);
  const Domain& d = *dimension.domain;
  switch (dimension.kind) {
    case Dimension::Kind::kCategorical: {
      const size_t k = std::min(static_cast<size_t>(u * static_cast<double>(d.values.size())), d.values.size() - 1);
      return d.values[k];
    }
    case Dimension::Kind::kInteger: {
      const IntegerBins bins(d);
      const double x = bins.from_t(bins.t0 + u * (bins.t1 - bins.t0));
      return bins.value(bins.nearest(x));
    }
    case Dimension::Kind::kContinuous:
      break;
  }
  switch (d.type) {
    case Domain::Type::kRandn:
    case Domain::Type::kQRandn: {
      const double x = d.mean + d.sd * normal_quantile(std::clamp(u, kNormalClip, 1 - kNormalClip));
      return d.type == Domain::Type::kQRandn ? std::round(x / d.q) * d.q : x;
    }
    case Domain::Type::kLogUniform:
    case Domain::Type::kQLogUniform: {
      const double lo = std::log(d.lower);
      const double hi = std::log(d.upper);
      const double x = std::clamp(std::exp(lo + u * (hi - lo)), d.lower, d.upper);
      return d.type == Domain::Type::kQLogUniform ? quantise(x, d.q, d.lower, d.upper) : x;
    }
    default: {
      const double x = d.lower + u * (d.upper - d.lower);
      return d.type == Domain::Type::kQUniform ? quantise(x, d.q, d.lower, d.upper) : x;
    }
  }
}

double UnitSpace::encode(size_t dim, const Json& value) const {
  const Dimension& dimension = dimensions_.at(dim);
  const Domain& d = *dimension.domain;
  if (dimension.kind == Dimension::Kind::kCategorical) {
    auto it = std::find(d.values.begin(), d.values.end(), value);
    for (size_t k = 0; it == d.values.end() && k < d.values.size(); ++k) {
      const Space* sub = dimension.option_spaces[k];
      if (sub != nullptr && matches(value, *sub)) it = d.values.begin() + static_cast<std::ptrdiff_t>(k);
    }
    if (it == d.values.end()) {
      throw TuneError(fmt::format("config/{}: {} is not one of the choice's values", dimension.path, value.dump()));
    }
    return (static_cast<double>(it - d.values.begin()) + 0.5) / static_cast<double>(d.values.size());
  }
  if (!value.is_number()) {
    throw TuneError(fmt::format("config/{}: expected a number, got {}", dimension.path, value.dump()));
  }
  const double x = value.get<double>();
  if (dimension.kind == Dimension::Kind::kInteger) {
    const IntegerBins bins(d);
    const double v = static_cast<double>(bins.value(bins.nearest(x)));
    const double half = 0.5 * static_cast<double>(bins.grid.step);
    const double a = (bins.t(std::max(v - half, bins.b0)) - bins.t0) / (bins.t1 - bins.t0);
    const double b = (bins.t(v + half) - bins.t0) / (bins.t1 - bins.t0);
    return std::clamp(0.5 * (a + b), 0.0, 1.0);
  }
  switch (d.type) {
    case Domain::Type::kRandn:
    case Domain::Type::kQRandn:
      return std::clamp(normal_cdf((x - d.mean) / d.sd), kNormalClip, 1 - kNormalClip);
    default: {
      const double lo = transformed(d, d.lower);
      const double hi = transformed(d, d.upper);
      return std::clamp((transformed(d, std::clamp(x, d.lower, d.upper)) - lo) / (hi - lo), 0.0, 1.0);
    }
  }
}

Config UnitSpace::decode(const std::vector<double>& u) const {
  if (u.size() != dimensions_.size()) {
    throw TuneError(fmt::format("UnitSpace::decode: {} values for {} dimensions", u.size(), dimensions_.size()));
  }
  Config config = space_.to_json();  // plain values as they are; every domain is overwritten below
  if (dimensions_.empty() && !config.is_object()) config = Json::object();
  // A chosen sub-space's value is written before its dimensions (they follow their choice).
  for (size_t i = 0; i < u.size(); ++i) {
    if (active(i, u)) *walk_create(config, dimensions_[i].path) = value(i, u[i]);
  }
  return config;
}

std::vector<double> UnitSpace::encode(const Config& config) const {
  std::vector<double> u = encode_partial(config);
  for (size_t i = 0; i < u.size(); ++i) {
    if (std::isnan(u[i]) && active(i, u)) {
      throw TuneError(fmt::format("config/{}: missing from the config", dimensions_[i].path));
    }
  }
  return u;
}

std::vector<double> UnitSpace::encode_partial(const Config& config) const {
  std::vector<double> u(dimensions_.size(), std::numeric_limits<double>::quiet_NaN());
  for (size_t i = 0; i < dimensions_.size(); ++i) {
    if (!active(i, u)) continue;  // its choice took another value (or is not set)
    if (const Json* value = find_path(config, dimensions_[i].path)) u[i] = encode(i, *value);
  }
  return u;
}

}  // namespace tune::detail
