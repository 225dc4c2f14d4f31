// Internal to src/spec/: SpecChecker turns a spec's Json (spec_yaml.h) into a RunSpec, key by key
// in file order so that the first error in the file is the one reported, each error tied to its
// line. Its parts live by concern: spec_options.cc (the top-level keys and run options, through
// the rules of runner/run_options_rules.h), spec_trainable.cc (the trainable section),
// spec_plugins.cc (scheduler, search_alg, executor, resources, sync_config).
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/strings.h"
#include "spec/spec_yaml.h"
#include "sync/syncer.h"
#include "tune/error.h"
#include "tune/process.h"
#include "tune/spec.h"

namespace tune::spec_internal {

namespace fs = std::filesystem;

// The schema (spec.cc): the keys each mapping accepts.
extern const std::vector<std::string> kTopKeys;
extern const std::vector<std::string> kSyncKeys;
extern const std::vector<std::string> kUnsupportedKeys;
extern const std::vector<std::string> kTrainableKeys;
extern const std::vector<std::string> kExecutorNames;
extern const std::vector<std::string> kSlurmKeys;
extern const std::vector<std::string> kResourceKeys;

// A value as messages show it: "'x' (a string)", "a list [1, 2]", "nothing (null)".
std::string describe(const Json& value);

class SpecChecker {
 public:
  SpecChecker(const Json& spec, const Locations& locations, const fs::path& base_dir)
      : spec_(spec), locations_(locations), base_dir_(base_dir) {}

  RunSpec check();

 private:
  [[noreturn]] void fail(const std::string& path, const std::string& rule) const {
    throw_at(locations_, path, path + ": " + rule);
  }
  // A library validator's message names a path ("config/lr: ...", "resources_per_trial.cpu: ...").
  [[noreturn]] void rethrow(const TuneError& error, const std::string& fallback) const {
    const std::string message = error.what();
    const std::string named = message.substr(0, message.find(": "));
    std::string slashed = named;  // Resources names its fields "resources_per_trial.cpu"
    std::replace(slashed.begin(), slashed.end(), '.', '/');
    for (const std::string& path : {named, slashed}) {
      if (path == fallback || path.starts_with(fallback + "/")) throw_at(locations_, path, message);
    }
    throw_at(locations_, fallback, fallback + ": " + message);
  }

  // Entries of a mapping in file order (overrides last), so the first error in the file wins.
  std::vector<std::pair<std::string, const Json*>> ordered(const Json& object, const std::string& path) const {
    std::vector<std::pair<std::string, const Json*>> items;
    for (const auto& [key, value] : object.items()) items.emplace_back(key, &value);
    auto rank = [&](const std::string& key) {
      const Origin o = locations_.origin(child_path(path, key));
      return o.override_arg.empty() ? o.line : std::numeric_limits<int>::max();
    };
    std::stable_sort(items.begin(), items.end(),
                     [&](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
    return items;
  }

  void check_key(const std::string& key, const std::string& path, const std::vector<std::string>& allowed) const {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) return;
    const std::string hint = did_you_mean(key, allowed);
    const std::string text = fmt::format("unknown key '{}'{}", key,
                                         hint.empty() ? fmt::format("; valid keys: {}", join(allowed, ", ")) : hint);
    throw_at(locations_, child_path(path, key), path.empty() ? text : path + ": " + text);
  }
  void check_keys(const Json& object, const std::string& path, const std::vector<std::string>& allowed) const {
    for (const auto& [key, value] : ordered(object, path)) check_key(key, path, allowed);
  }

  const Json& mapping(const Json& value, const std::string& path) const {
    if (!value.is_object()) fail(path, "must be a mapping, got " + describe(value));
    return value;
  }
  std::string string(const Json& value, const std::string& path) const {
    if (!value.is_string()) fail(path, "must be a string, got " + describe(value));
    return value.get<std::string>();
  }
  bool boolean(const Json& value, const std::string& path) const {
    if (!value.is_boolean()) fail(path, "must be true or false, got " + describe(value));
    return value.get<bool>();
  }
  int64_t integer(const Json& value, const std::string& path, int64_t min, int64_t max, const std::string& rule) const {
    if (!value.is_number_integer()) fail(path, "must be an integer, got " + describe(value));
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(max)) {
      fail(path, fmt::format("{}, got {}", rule, value.dump()));
    }
    const int64_t n = value.get<int64_t>();
    if (n < min || n > max) fail(path, fmt::format("{}, got {}", rule, n));
    return n;
  }
  double number(const Json& value, const std::string& path, double min) const {
    if (!value.is_number()) fail(path, "must be a number, got " + describe(value));
    const double n = value.get<double>();
    if (n < min) fail(path, fmt::format("must be >= {}, got {}", min, value.dump()));
    return n;
  }
  [[noreturn]] void unsupported(const std::string& path, const std::string& what, const std::string& works) const {
    throw_at(locations_, path, fmt::format("not supported yet: {} ({} in this version)", what, works));
  }

  // Runs `check` (a rule of run_options_rules.h); its TuneError is reported at `path`'s line.
  template <typename Check>
  void rule(const std::string& path, Check check) const {
    try {
      check();
    } catch (const TuneError& error) {
      throw_at(locations_, path, error.what());
    }
  }

  // A path written in the spec at `path`: `~` expanded, a relative one made absolute against the
  // spec file's directory (never the current directory, nor a trial's). The absolute form
  // replaces the written one in the stored spec (RunSpec::json), so `tune resume DIR` from any
  // directory finds the same files.
  fs::path resolve_path(const std::string& text, const std::string& path) {
    const fs::path written = expand_user(text);
    const fs::path absolute = (written.is_absolute() ? written : base_dir_ / written).lexically_normal();
    if (absolute.string() != text) resolved_[path] = absolute.string();
    return absolute;
  }

  bool check_run_option(const std::string& key, const Json& value);
  void check_option_combinations();
  void make_search_alg();
  void check_trainable(const Json& value);
  std::vector<std::string> check_command(const Json& value, const std::string& path);
  fs::path resolve_program(const std::string& program, const std::string& path);
  void check_config(const Json& value);
  void check_stop(const Json& value);
  void check_resources(const Json& value);
  void check_custom_resources(const Json& value);
  void check_sync_config(const Json& value);
  void check_dashboard(const Json& value);
  SyncCommand sync_command(const Json& value, const std::string& path, bool may_disable) const;
  void check_scheduler(const Json& value);
  void check_executor(const Json& value);
  void check_search_alg(const Json& value);
  std::pair<std::string, std::string> plugin_type(const Json& value, const std::string& path, const std::string& what,
                                                  const std::string& example,
                                                  const std::vector<std::string>& known) const;
  void check_placeholders();
  void warn_misspelt_domains(const Json& value, const std::string& path);

  const Json& spec_;
  const Locations& locations_;
  fs::path base_dir_;
  std::map<std::string, std::string> resolved_;  // JSON path -> the absolute form of its path
  RunSpec out_;
  ProcessSpec process_;
  std::string trainable_name_;
  bool registered_ = false;
  std::vector<Config> points_to_evaluate_;
  bool has_search_alg_points_ = false;
  Json search_alg_;  // as written, when given
};

}  // namespace tune::spec_internal
