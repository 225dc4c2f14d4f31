#include "searchers/searcher_util.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "searchers/unit_space.h"
#include "tune/error.h"
#include "tune/searcher.h"

namespace tune::detail {

uint64_t random_seed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

void require_metric_mode(std::string_view searcher, const std::string& metric, const std::string& mode) {
  if (metric.empty()) {
    throw TuneError(fmt::format("metric: search_alg {} needs the metric to optimise (set metric and mode)", searcher));
  }
  if (mode != "min" && mode != "max") {
    throw TuneError(fmt::format("mode: search_alg {} needs mode 'min' or 'max' (got '{}')", searcher, mode));
  }
}

std::optional<double> metric_of(const Json& result, const std::string& metric) {
  if (!result.is_object()) return std::nullopt;
  const Json* value = nullptr;
  if (const auto it = result.find(metric); it != result.end()) {
    value = &*it;
  } else {
    value = find_path(result, metric);
  }
  if (!value || !value->is_number()) return std::nullopt;
  const double x = value->get<double>();
  if (!std::isfinite(x)) return std::nullopt;
  return x;
}

void check_points(const UnitSpace& space, const std::vector<Config>& points) {
  for (size_t i = 0; i < points.size(); ++i) {
    if (!points[i].is_object()) {
      throw TuneError(fmt::format("points_to_evaluate/{}: must be a mapping of config values, got {}", i,
                                  points[i].dump()));
    }
    try {
      (void)space.encode_partial(points[i]);
    } catch (const TuneError& e) {
      throw TuneError(fmt::format("points_to_evaluate/{}: {}", i, e.what()));
    }
  }
}

Config overlay(Config config, const Config& point) {
  if (!point.is_object() || !config.is_object()) return point;
  for (const auto& [key, value] : point.items()) {
    auto it = config.find(key);
    config[key] = it == config.end() ? value : overlay(*it, value);
  }
  return config;
}

std::string make_tag(int64_t n, const Space& space, const Config& config) {
  const std::string vars = format_vars(space, config);
  return vars.empty() ? std::to_string(n) : fmt::format("{}_{}", n, vars);
}

Json to_json(const std::vector<double>& values) {
  Json out = Json::array();
  for (double v : values) out.push_back(std::isnan(v) ? Json(nullptr) : Json(v));
  return out;
}

std::vector<double> from_json(const Json& values) {
  std::vector<double> out;
  out.reserve(values.size());
  for (const auto& v : values) out.push_back(v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN());
  return out;
}

Json to_json(const std::vector<Observation>& observations) {
  Json out = Json::array();
  for (const auto& o : observations) out.push_back(Json{to_json(o.u), o.loss});
  return out;
}

std::vector<Observation> observations_from_json(const Json& state) {
  std::vector<Observation> out;
  for (const auto& o : state) out.push_back({from_json(o.at(0)), o.at(1).get<double>()});
  return out;
}

Json to_json(const std::map<std::string, std::vector<double>>& points) {
  Json out = Json::object();
  for (const auto& [id, u] : points) out[id] = to_json(u);
  return out;
}

std::map<std::string, std::vector<double>> points_from_json(const Json& state) {
  std::map<std::string, std::vector<double>> out;
  for (const auto& [id, u] : state.items()) out[id] = from_json(u);
  return out;
}

void check_state(const Json& state, std::string_view type) {
  if (!state.is_object() || state.value("type", "") != type) {
    throw TuneError(fmt::format("search_alg {}: restore: the state is not a {} searcher's", type, type));
  }
}

std::vector<double> random_point(size_t d, uint64_t stream) {
  std::mt19937_64 rng(stream);
  std::vector<double> u(d);
  for (double& x : u) x = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  return u;
}

std::pair<std::vector<double>, Config> point_to_evaluate(const UnitSpace& space, const Config& point,
                                                         const std::vector<double>& fill) {
  std::vector<double> u = space.encode_partial(point);
  for (size_t j = 0; j < u.size(); ++j) {
    if (std::isnan(u[j])) u[j] = fill[j];
  }
  space.deactivate(u);
  Config config = overlay(space.decode(u), point);
  return {std::move(u), std::move(config)};
}

Suggestion suggestion_of(int64_t n, const Space& space, Config config) {
  Suggestion s;
  s.kind = Suggestion::Kind::kConfig;
  s.tag = make_tag(n, space, config);
  s.config = std::move(config);
  return s;
}

double sample_truncated(double mu, double sigma, std::mt19937_64& rng) {
  const double pa = normal_cdf(-mu / sigma);
  const double pb = normal_cdf((1 - mu) / sigma);
  const double r = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  const double p = std::clamp(pa + r * (pb - pa), 1e-300, 1 - 1e-16);
  return std::clamp(mu + sigma * normal_quantile(p), 0.0, 1.0);
}

size_t category_of(double u, size_t k) {
  return std::min(static_cast<size_t>(std::max(u, 0.0) * static_cast<double>(k)), k - 1);
}

std::optional<double> loss_of(const Json& result, const std::string& metric, bool maximize) {
  const auto value = metric_of(result, metric);
  if (!value) return std::nullopt;
  return maximize ? -*value : *value;
}

}  // namespace tune::detail
