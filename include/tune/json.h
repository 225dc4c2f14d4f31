// tune/json.h — the value type of configs and results.
//
// Configs and results are JSON trees (nlohmann::json): what a trainable reports is what
// lands in result.json, and a resolved config is what lands in params.json.
#pragma once

#include <nlohmann/json.hpp>

namespace tune {

using Json = nlohmann::json;
// A fully resolved trial configuration (no domains left in it).
using Config = Json;
// One result reported by a trial: a JSON object.
using Result = Json;

// Flattens nested objects into one level with `/`-joined keys ({"a":{"b":1}} -> {"a/b":1}).
Json flatten(const Json& value, const std::string& separator = "/");

// Looks up a `/`-separated path ("a/b") in a nested object; nullptr if absent.
const Json* find_path(const Json& value, const std::string& path);

}  // namespace tune
