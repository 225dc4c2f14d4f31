// Internal: small pieces every model-based searcher needs (seeds, metric lookup, tags,
// points_to_evaluate checks, state encoding).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <map>
#include <utility>

#include "common/mix64.h"  // mix64: (seed, counter) -> independent streams
#include "tune/json.h"
#include "tune/search_space.h"
#include "tune/searcher.h"
#include "tune/searchers.h"

namespace tune::detail {

class UnitSpace;

// A fresh seed from std::random_device (for searchers given none; they keep and save it).
uint64_t random_seed();
// Throws TuneError naming `metric` (or `mode`) when a model-based searcher gets none.
void require_metric_mode(std::string_view searcher, const std::string& metric, const std::string& mode);
// The metric's value in a result (a top-level key, else a "/"-path); nullopt when absent,
// not a number or not finite.
std::optional<double> metric_of(const Json& result, const std::string& metric);
// Checks that each point is a mapping whose values the space can represent; throws TuneError
// naming "points_to_evaluate/<i>".
void check_points(const UnitSpace& space, const std::vector<Config>& points);
// `config` with every key of `point` set as given (recursively through objects).
Config overlay(Config config, const Config& point);
// "<n>_<format_vars>" ("<n>" when the space has no domains): the trial's tag.
std::string make_tag(int64_t n, const Space& space, const Config& config);
// A vector of doubles as JSON (NaN as null) and back.
Json to_json(const std::vector<double>& values);
std::vector<double> from_json(const Json& values);
// Observations as [[u, loss], ...] and running trials as {id: u} (the saved-state forms).
Json to_json(const std::vector<Observation>& observations);
std::vector<Observation> observations_from_json(const Json& state);
Json to_json(const std::map<std::string, std::vector<double>>& points);
std::map<std::string, std::vector<double>> points_from_json(const Json& state);
// Throws TuneError unless `state` is a saved state of `type` ("search_alg gp: restore: ...").
void check_state(const Json& state, std::string_view type);

// A point drawn uniformly from [0, 1]^d from its own random stream.
std::vector<double> random_point(size_t d, uint64_t stream);
// A points_to_evaluate entry as a point and a config: its values as given (also ones the space
// cannot represent exactly), every dimension it lacks taken from `fill`.
std::pair<std::vector<double>, Config> point_to_evaluate(const UnitSpace& space, const Config& point,
                                                         const std::vector<double>& fill);
// The suggestion of `config`, the n-th one (1-based) of its searcher.
Suggestion suggestion_of(int64_t n, const Space& space, Config config);
// A draw of a normal(mu, sigma) truncated to [0, 1], by inverting its CDF.
double sample_truncated(double mu, double sigma, std::mt19937_64& rng);
// The category (0..k-1) of a choice dimension's u (k bins of width 1/k).
size_t category_of(double u, size_t k);
// The metric of a result as a loss (negated when maximising); nullopt when absent or not finite.
std::optional<double> loss_of(const Json& result, const std::string& metric, bool maximize);

}  // namespace tune::detail
