// Internal: small pieces every model-based searcher needs (seeds, metric lookup, tags,
// points_to_evaluate checks, state encoding).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tune/json.h"
#include "tune/search_space.h"

namespace tune::detail {

class UnitSpace;

// splitmix64's finaliser: turns (seed, counter) into independent streams.
uint64_t mix64(uint64_t x);
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

}  // namespace tune::detail
