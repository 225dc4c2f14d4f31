// MetricStats and TrialRecord: the compact per-trial summary the analysis works on.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "analysis/trial_record_parts.h"
#include "tune/analysis.h"
#include "tune/error.h"

namespace tune {
namespace {

constexpr size_t kMaxLastValues = 10;

std::vector<uint8_t> to_compact(const Json& value) {
  if (value.is_null()) return {};
  return Json::to_cbor(value);
}

// The last result's compact form without its "config": the record stores the config once, and
// keeping the result's copy would double the memory.
std::vector<uint8_t> compact_result(const Result& last_result) {
  if (!last_result.is_object() || !last_result.contains("config")) return to_compact(last_result);
  Json trimmed = last_result;
  trimmed.erase("config");
  return to_compact(trimmed);
}

Json from_compact(const uint8_t* begin, const uint8_t* end) {
  if (begin == end) return nullptr;
  return Json::from_cbor(begin, end);
}

// JSON has no NaN: nlohmann writes it as null, so null reads back as NaN.
double number_or_nan(const Json& json, const char* field) {
  if (json.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (!json.is_number())
    throw TuneError(fmt::format("metric_stats: '{}' must be a number, got {}", field, json.dump()));
  return json.get<double>();
}

const Json& require(const Json& json, const char* field, bool (Json::*is_type)() const noexcept, const char* type) {
  auto it = json.find(field);
  if (it == json.end() || !((*it).*is_type)()) {
    throw TuneError(fmt::format("trial record: '{}' must be {}", field, type));
  }
  return *it;
}

}  // namespace

void MetricStats::add(double value) {
  last = value;
  if (!std::isfinite(value)) return;  // NaN/inf would poison min/max/avg
  if (count == 0) {
    min = max = value;
  } else {
    min = std::min(min, value);
    max = std::max(max, value);
  }
  sum += value;
  ++count;
  if (last_values.empty()) last_values.reserve(kMaxLastValues);  // exact capacity: records are many
  if (last_values.size() == kMaxLastValues) last_values.erase(last_values.begin());
  last_values.push_back(value);
}

double MetricStats::last_n_avg(size_t n) const {
  const size_t take = std::min(n, last_values.size());
  if (take == 0) return 0.0;
  double total = 0;
  for (size_t i = last_values.size() - take; i < last_values.size(); ++i) total += last_values[i];
  return total / static_cast<double>(take);
}

Json MetricStats::to_json() const {
  return Json{{"last", last}, {"min", min}, {"max", max}, {"sum", sum}, {"count", count}, {"last_values", last_values}};
}

MetricStats MetricStats::from_json(const Json& json) {
  if (!json.is_object()) throw TuneError("metric_stats: each entry must be an object, got " + json.dump());
  MetricStats stats;
  if (auto it = json.find("last"); it != json.end()) stats.last = number_or_nan(*it, "last");
  if (auto it = json.find("min"); it != json.end()) stats.min = number_or_nan(*it, "min");
  if (auto it = json.find("max"); it != json.end()) stats.max = number_or_nan(*it, "max");
  if (auto it = json.find("sum"); it != json.end()) stats.sum = number_or_nan(*it, "sum");
  if (auto it = json.find("count"); it != json.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      throw TuneError("metric_stats: 'count' must be a non-negative integer, got " + it->dump());
    }
    stats.count = it->get<int64_t>();
  }
  if (auto it = json.find("last_values"); it != json.end()) {
    if (!it->is_array()) throw TuneError("metric_stats: 'last_values' must be an array, got " + it->dump());
    const size_t skip = it->size() > kMaxLastValues ? it->size() - kMaxLastValues : 0;
    stats.last_values.reserve(it->size() - skip);
    for (size_t i = skip; i < it->size(); ++i) stats.last_values.push_back(number_or_nan((*it)[i], "last_values"));
  }
  return stats;
}

TrialRecord::TrialRecord(std::string trial_id, std::string name, TrialStatus status, const Config& config,
                         const Result& last_result, std::filesystem::path logdir, std::string error)
    : TrialRecord(detail::TrialRecordParts{std::move(trial_id), std::move(name), status, to_compact(config),
                                           compact_result(last_result), std::move(logdir).string(),
                                           std::move(error), {}}
                      .build()) {}

TrialRecord detail::TrialRecordParts::build() && {
  TrialRecord record;
  record.trial_id_ = std::move(trial_id);
  record.name_ = std::move(name);
  record.status_ = status;
  if (config.size() > std::numeric_limits<uint32_t>::max()) {
    throw TuneError(fmt::format("trial record '{}': config is larger than 4 GiB", record.trial_id_));
  }
  record.config_size_ = static_cast<uint32_t>(config.size());
  record.cbor_.reserve(config.size() + last_result.size());  // exact: records live for the whole analysis
  record.cbor_.insert(record.cbor_.end(), config.begin(), config.end());
  record.cbor_.insert(record.cbor_.end(), last_result.begin(), last_result.end());
  record.logdir_ = std::move(logdir);
  record.error_ = std::move(error);
  record.metric_stats = std::move(metric_stats);
  return record;
}

Result detail::TrialRecordParts::bare_last_result(const TrialRecord& record) {
  return from_compact(record.cbor_.data() + record.config_size_, record.cbor_.data() + record.cbor_.size());
}

Config TrialRecord::config() const { return from_compact(cbor_.data(), cbor_.data() + config_size_); }

Result TrialRecord::last_result() const {
  Json result = from_compact(cbor_.data() + config_size_, cbor_.data() + cbor_.size());
  if (result.is_object() && config_size_ != 0) result["config"] = config();
  return result;
}

Json TrialRecord::to_json(const std::filesystem::path& experiment_dir) const {
  std::string logdir;
  if (!logdir_.empty()) {
    logdir = logdir_;
    if (!experiment_dir.empty()) {
      const std::filesystem::path relative = std::filesystem::path(logdir_).lexically_relative(experiment_dir);
      if (!relative.empty() && *relative.begin() != "..") logdir = relative.string();
    }
  }
  Json stats = Json::object();
  for (const auto& [metric, value] : metric_stats) stats[metric] = value.to_json();
  // last_result is written without "config": the record's config is next to it.
  return Json{{"trial_id", trial_id_},
              {"name", name_},
              {"status", std::string(to_string(status_))},
              {"config", config()},
              {"last_result", from_compact(cbor_.data() + config_size_, cbor_.data() + cbor_.size())},
              {"logdir", logdir},
              {"error", error_},
              {"metric_stats", std::move(stats)}};
}

TrialRecord TrialRecord::from_json(const Json& json, const std::filesystem::path& experiment_dir) {
  if (!json.is_object()) throw TuneError("trial record: must be an object, got " + json.dump());
  const std::string trial_id = require(json, "trial_id", &Json::is_string, "a string").get<std::string>();
  const std::string status_text = require(json, "status", &Json::is_string, "a string").get<std::string>();
  const std::optional<TrialStatus> status = trial_status_from_string(status_text);
  if (!status) {
    throw TuneError(
        fmt::format("trial record '{}': status '{}' is not one of PENDING, RUNNING, PAUSED, TERMINATED, ERROR",
                    trial_id, status_text));
  }
  auto optional_string = [&](const char* field) -> std::string {
    auto it = json.find(field);
    if (it == json.end() || it->is_null()) return {};
    if (!it->is_string()) throw TuneError(fmt::format("trial record '{}': '{}' must be a string", trial_id, field));
    return it->get<std::string>();
  };
  auto optional_object = [&](const char* field) -> Json {
    auto it = json.find(field);
    if (it == json.end() || it->is_null()) return nullptr;
    if (!it->is_object())
      throw TuneError(fmt::format("trial record '{}': '{}' must be an object or null", trial_id, field));
    return *it;
  };
  std::string name = optional_string("name");
  if (name.empty()) name = trial_id;
  std::filesystem::path logdir = optional_string("logdir");
  if (!logdir.empty() && logdir.is_relative() && !experiment_dir.empty()) logdir = experiment_dir / logdir;

  TrialRecord record(trial_id, std::move(name), *status, optional_object("config"), optional_object("last_result"),
                     std::move(logdir), optional_string("error"));
  const Json stats = optional_object("metric_stats");
  if (stats.is_object()) {
    for (const auto& [metric, value] : stats.items())
      record.metric_stats.emplace(metric, MetricStats::from_json(value));
  }
  return record;
}

}  // namespace tune
