// Internal: reads the keys of a plugin's spec mapping ({type: NAME, key: value, ...}), naming
// "<prefix>/<key>" in every error ("scheduler/max_t: must be an integer, got \"x\""). Shared by
// make_scheduler and make_searcher.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/strings.h"
#include "tune/error.h"
#include "tune/json.h"

namespace tune::detail {

// The plugin's name in a spec: `NAME` or `{type: NAME, ...}`; `field` and `what` name it in the
// error ("scheduler: must be a scheduler name or {type: NAME, ...}, got 3").
inline std::string plugin_type_name(const Json& spec, const char* field, const char* what) {
  if (spec.is_string()) return spec.get<std::string>();
  if (spec.is_object() && spec.contains("type") && spec.at("type").is_string()) return spec.at("type").get<std::string>();
  throw TuneError(fmt::format("{}: must be a {} name or {{type: NAME, ...}}, got {}", field, what,
                              spec.dump(-1, ' ', false, Json::error_handler_t::replace)));
}

class PluginFields {
 public:
  PluginFields(const Json& spec, std::string prefix) : spec_(spec), prefix_(std::move(prefix)) {}

  // Refuses any key but `type` and `keys`, naming the closest valid one.
  void allow(const std::vector<std::string>& keys, const std::string& what = {}) const {
    if (!spec_.is_object()) return;
    std::vector<std::string> allowed = keys;
    allowed.push_back("type");
    for (const auto& [key, value] : spec_.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      const std::string hint = did_you_mean(key, allowed);
      throw TuneError(fmt::format("{}/{}: unknown key{}{}", prefix_, key, what.empty() ? "" : " for " + what,
                                  hint.empty() ? fmt::format("; valid keys: {}", join(allowed, ", ")) : hint));
    }
  }
  // The value of a key; nullptr when absent or null.
  const Json* find(const std::string& key) const {
    if (!spec_.is_object()) return nullptr;
    auto it = spec_.find(key);
    return it == spec_.end() || it->is_null() ? nullptr : &*it;
  }
  void get(const std::string& key, double& out) const {
    if (const Json* v = find(key)) {
      if (!v->is_number()) throw error(key, "must be a number", *v);
      out = v->get<double>();
    }
  }
  void get(const std::string& key, int& out) const {
    if (const Json* v = find(key)) {
      if (!v->is_number_integer()) throw error(key, "must be an integer", *v);
      out = v->get<int>();
    }
  }
  void get(const std::string& key, uint64_t& out) const {
    if (const Json* v = find(key)) {
      if (!v->is_number_integer() || (!v->is_number_unsigned() && v->get<int64_t>() < 0)) {
        throw error(key, "must be a non-negative integer", *v);
      }
      out = v->get<uint64_t>();
    }
  }
  // An optional field: set when the key is given (checked as a T), left as it was otherwise.
  template <typename T>
  void get(const std::string& key, std::optional<T>& out) const {
    if (find(key)) {
      T value{};
      get(key, value);
      out = value;
    }
  }
  void get(const std::string& key, bool& out) const {
    if (const Json* v = find(key)) {
      if (!v->is_boolean()) throw error(key, "must be true or false", *v);
      out = v->get<bool>();
    }
  }
  void get(const std::string& key, std::string& out) const {
    if (const Json* v = find(key)) {
      if (!v->is_string()) throw error(key, "must be a string", *v);
      out = v->get<std::string>();
    }
  }
  // A list of strings (a single string is a list of one).
  void get(const std::string& key, std::vector<std::string>& out) const {
    if (const Json* v = find(key)) {
      if (v->is_string()) {
        out = {v->get<std::string>()};
        return;
      }
      if (!v->is_array() || v->empty()) throw error(key, "must be a non-empty list of strings", *v);
      out.clear();
      for (const auto& item : *v) {
        if (!item.is_string()) throw error(key, "must be a non-empty list of strings", *v);
        out.push_back(item.get<std::string>());
      }
    }
  }
  TuneError error(const std::string& key, const std::string& rule, const Json& value) const {
    return TuneError(fmt::format("{}/{}: {}, got {}", prefix_, key, rule, value.dump()));
  }

 private:
  const Json& spec_;
  std::string prefix_;
};

}  // namespace tune::detail
