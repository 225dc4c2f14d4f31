// The plugin sections of a spec: scheduler, search_alg and executor (names and keys from the
// registries of make_scheduler.cc and make_searcher.cc), resources_per_trial, custom_resources
// and sync_config.
#include <fmt/format.h>

#include <algorithm>

#include "spec/spec_checker.h"
#include "tune/scheduler.h"
#include "tune/searchers.h"

namespace tune::spec_internal {

void SpecChecker::check_resources(const Json& value) {
  const std::string path = "resources_per_trial";
  if (value.is_null()) return;
  mapping(value, path);
  check_keys(value, path, kResourceKeys);
  for (const auto& [key, amount] : ordered(value, path)) {
    const std::string item_path = child_path(path, key);
    if (key == "custom_resources" || key == "extra_custom_resources") {
      mapping(*amount, item_path);
      for (const auto& [name, custom] : ordered(*amount, item_path)) number(*custom, child_path(item_path, name), 0);
    } else {
      number(*amount, item_path, 0);
    }
  }
  try {
    out_.options.resources_per_trial = Resources::from_json(value, path);
  } catch (const TuneError& error) {
    rethrow(error, path);
  }
}

// A sync command: a list of argv strings, or one command line (split without a shell).
SyncCommand SpecChecker::sync_command(const Json& value, const std::string& path, bool may_disable) const {
  if (may_disable && value.is_boolean() && !value.get<bool>()) return SyncCommand::disabled();
  std::vector<std::string> argv;
  if (value.is_string()) {
    try {
      argv = split_command(value.get<std::string>());
    } catch (const TuneError& error) {
      fail(path, error.what());
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) argv.push_back(string(value[i], child_path(path, std::to_string(i))));
  } else {
    fail(path, fmt::format("must be a command: a list like [rsync, -a, \"{{source}}\", \"{{target}}\"] or one string{}, "
                           "got {}",
                           may_disable ? " (or false for none)" : "", describe(value)));
  }
  try {
    detail::fill_sync_argv(argv, "s", "t", path);
  } catch (const TuneError& error) {
    throw_at(locations_, path, error.what());
  }
  return SyncCommand(std::move(argv));
}

void SpecChecker::check_sync_config(const Json& value) {
  if (value.is_null()) return;
  mapping(value, "sync_config");
  SyncConfig& sync = out_.options.sync_config;
  for (const auto& [key, item] : ordered(value, "sync_config")) {
    check_key(key, "sync_config", kSyncKeys);
    const Json& v = *item;
    const std::string path = child_path("sync_config", key);
    if (v.is_null()) continue;
    if (key == "upload_dir") {
      sync.upload_dir = string(v, path);
    } else if (key == "sync_to_cloud") {
      sync.sync_to_cloud = sync_command(v, path, false);
    } else if (key == "sync_to_driver") {
      sync.sync_to_driver = sync_command(v, path, true);
    } else if (key == "sync_period_s") {
      sync.sync_period_s = number(v, path, 0);
    } else if (key == "sync_on_checkpoint") {
      sync.sync_on_checkpoint = boolean(v, path);
    } else if (key == "sync_timeout_s") {
      sync.sync_timeout_s = number(v, path, 0);
      if (sync.sync_timeout_s == 0) fail(path, "must be > 0");
    }
  }
  try {
    detail::resolve_cloud_target(sync, "");
  } catch (const TuneError& error) {
    rethrow(error, "sync_config");
  }
}

// A plugin given as "NAME" or {type: NAME, ...}: its type, and the path the type is written at
// (for messages). An unknown NAME is refused naming the closest known one.
std::pair<std::string, std::string> SpecChecker::plugin_type(const Json& value, const std::string& path,
                                                             const std::string& what, const std::string& example,
                                                             const std::vector<std::string>& known) const {
  std::string type;
  std::string type_path = path;
  if (value.is_string()) {
    type = value.get<std::string>();
  } else if (value.is_object()) {
    if (!value.contains("type")) fail(path, fmt::format("needs 'type' (e.g. {{type: {}}})", example));
    type_path = child_path(path, "type");
    type = string(value.at("type"), type_path);
  } else {
    fail(path, fmt::format("must be a {} name or {{type: NAME, ...}}, got {}", what, describe(value)));
  }
  if (std::find(known.begin(), known.end(), type) == known.end()) {
    fail(type_path,
         fmt::format("unknown {} '{}'{}; known: {}", what, type, did_you_mean(type, known), join(known, ", ")));
  }
  return {type, type_path};
}

// "asha" or {type: asha, max_t: 100, ...}: built by make_scheduler, which names the key.
void SpecChecker::check_scheduler(const Json& value) {
  const std::string path = "scheduler";
  if (value.is_null()) return;
  const std::vector<std::string> supported = scheduler_names();
  std::vector<std::string> known = supported;
  for (const auto& name : unsupported_scheduler_names()) known.push_back(name);
  const auto [type, type_path] = plugin_type(value, path, "scheduler", "asha", known);
  if (std::find(supported.begin(), supported.end(), type) == supported.end()) {
    unsupported(type_path, fmt::format("scheduler '{}'", type), fmt::format("{} work", join(supported, ", ")));
  }
  if (value.is_object()) {
    std::vector<std::string> keys = scheduler_keys(type);
    keys.insert(keys.begin(), "type");
    check_keys(value, path, keys);
  }
  Json resolved = value;
  if (type == "pbt_replay" && value.is_object() && value.contains("policy_file") && value["policy_file"].is_string()) {
    // A relative policy file is relative to the spec file, like every other path in it.
    resolved["policy_file"] = resolve_path(value["policy_file"].get<std::string>(), "scheduler/policy_file").string();
  }
  try {
    if (type != "fifo") out_.options.scheduler = make_scheduler(resolved);
  } catch (const TuneError& error) {
    rethrow(error, path);
  }
}

// "process" (the default: children of the driver) or "slurm" / {type: slurm, partition: ...}.
void SpecChecker::check_executor(const Json& value) {
  const std::string path = "executor";
  if (value.is_null()) return;
  const auto [type, type_path] = plugin_type(value, path, "executor", "slurm", kExecutorNames);
  if (type == "process") {
    if (value.is_object()) check_keys(value, path, {"type"});
    out_.options.slurm.reset();
    return;
  }
  SlurmOptions slurm;
  if (value.is_object()) {
    check_keys(value, path, kSlurmKeys);
    for (const auto& [key, item] : ordered(value, path)) {
      const std::string item_path = child_path(path, key);
      if (key == "partition") slurm.partition = string(*item, item_path);
      if (key == "account") slurm.account = string(*item, item_path);
      if (key == "time_limit") {
        // Slurm's minutes, or its text forms ("1:00:00", "2-0").
        slurm.time_limit = item->is_number_integer() ? std::to_string(integer(*item, item_path, 1, 1 << 30, "must be >= 1 minute"))
                                                     : string(*item, item_path);
      }
      if (key == "mem_per_cpu") slurm.mem_per_cpu = string(*item, item_path);
      if (key == "srun") {
        slurm.srun = string(*item, item_path);
        if (slurm.srun.empty()) fail(item_path, "must name the srun program");
      }
      if (key == "extra_srun_args") {
        if (!item->is_array()) fail(item_path, "must be a list of arguments ([--qos=short, ...]), got " + describe(*item));
        for (size_t i = 0; i < item->size(); ++i) slurm.extra_srun_args.push_back(string((*item)[i], child_path(item_path, std::to_string(i))));
      }
    }
  }
  out_.options.slurm = std::move(slurm);
}

// "tpe" / "variant_generator" / ..., or {type: tpe, points_to_evaluate: [...], ...}: the keys are
// checked here (with line numbers); the searcher is built by make_searcher once the seed is known.
void SpecChecker::check_search_alg(const Json& value) {
  const std::string path = "search_alg";
  if (value.is_null()) return;
  const std::vector<std::string> supported = searcher_names();
  std::vector<std::string> known = supported;
  for (const auto& name : unsupported_searcher_names()) known.push_back(name);
  const auto [type, type_path] = plugin_type(value, path, "search algorithm", "tpe", known);
  if (std::find(supported.begin(), supported.end(), type) == supported.end()) {
    unsupported(type_path, fmt::format("search_alg '{}'", type), fmt::format("{} work", join(supported, ", ")));
  }
  search_alg_ = value;
  if (!value.is_object()) return;
  std::vector<std::string> keys = searcher_common_keys();
  const std::vector<std::string> own = searcher_keys(type);
  keys.insert(keys.end(), own.begin(), own.end());
  check_keys(value, path, keys);
  if (const auto it = value.find("points_to_evaluate"); it != value.end()) {
    const std::string points_path = child_path(path, "points_to_evaluate");
    if (!it->is_array()) fail(points_path, "must be a list of (partial) configs, got " + describe(*it));
    for (size_t i = 0; i < it->size(); ++i) {
      points_to_evaluate_.push_back(mapping((*it)[i], child_path(points_path, std::to_string(i))));
    }
    has_search_alg_points_ = true;
  }
}

}  // namespace tune::spec_internal
