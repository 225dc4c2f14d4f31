// The top level of a spec: every key in file order, the run options (each checked by its rule
// in runner/run_options_rules.h), config and stop, and the rules between keys.
#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "runner/run_options_rules.h"
#include "spec/spec_checker.h"
#include "tune/searchers.h"

namespace tune::spec_internal {

std::string describe(const Json& value) {
  if (value.is_null()) return "nothing (null)";
  if (value.is_string()) return fmt::format("'{}' (a string)", escape_for_terminal(value.get_ref<const std::string&>()));
  if (value.is_array()) return fmt::format("a list {}", escape_for_terminal(utf8_prefix(value.dump(), 60)));
  if (value.is_object()) return fmt::format("a mapping {}", escape_for_terminal(utf8_prefix(value.dump(), 60)));
  return value.dump();
}

void SpecChecker::check_config(const Json& value) {
  if (value.is_null()) return;
  mapping(value, "config");
  try {
    out_.options.config = Space::from_json(value, "config");
  } catch (const TuneError& error) {
    rethrow(error, "config");
  }
  warn_misspelt_domains(value, "config");
}

// {logunifrom: [a, b]} is a valid nested value, but almost certainly a typo of a search space form.
void SpecChecker::warn_misspelt_domains(const Json& value, const std::string& path) {
  if (value.is_object()) {
    if (value.size() == 1 && value.begin().value().is_array()) {
      const std::string& key = value.begin().key();
      std::vector<std::string> forms;
      for (int t = 0; t <= static_cast<int>(Domain::Type::kChoice); ++t)
        forms.push_back(to_string(static_cast<Domain::Type>(t)));
      if (std::find(forms.begin(), forms.end(), key) == forms.end()) {
        if (const std::string hint = did_you_mean(key, forms); !hint.empty()) {
          out_.warnings.push_back(fmt::format("{}: {}: '{}' is no search space form{}; it is kept as a nested value",
                                              locations_.where(child_path(path, key)), path, key, hint));
        }
      }
    }
    for (const auto& [key, child] : value.items()) warn_misspelt_domains(child, child_path(path, key));
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) warn_misspelt_domains(value[i], child_path(path, std::to_string(i)));
  }
}

void SpecChecker::check_stop(const Json& value) {
  if (value.is_null()) return;
  mapping(value, "stop");
  const Json flat = flatten(value);
  for (const auto& [key, threshold] : flat.items()) {
    const std::string path = child_path("stop", key);
    if (!threshold.is_number() && !threshold.is_boolean()) {
      fail(path, "must be a number (stop when the result's value reaches it), got " + describe(threshold));
    }
  }
  out_.options.stop = StopSpec(value);
}

// One run option of the top level, checked by its rule in run_options_rules.h (the rule tune::run
// applies), so that the error names this key's line. Returns false for a key that is no run option.
bool SpecChecker::check_run_option(const std::string& key, const Json& v) {
  RunOptions& options = out_.options;
  const std::string& path = key;
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  constexpr int64_t kIntMin = std::numeric_limits<int>::min();
  constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
  constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
  constexpr double kLowest = std::numeric_limits<double>::lowest();
  const std::string int_rule = "must be a 32-bit integer";
  if (key == "name") {
    if (v.is_null()) return true;
    options.name = string(v, path);
    rule(path, [&] { detail::check_name(options.name); });
  } else if (key == "num_samples") {
    options.num_samples = integer(v, path, kInt64Min, kInt64Max, "must fit in 64 bits");
    rule(path, [&] { detail::check_num_samples(options.num_samples); });
  } else if (key == "local_dir") {
    options.local_dir = string(v, path);
    rule(path, [&] { detail::check_local_dir(options.local_dir); });
    options.local_dir = resolve_path(options.local_dir, path).string();
  } else if (key == "checkpoint_freq") {
    options.checkpoint_freq = static_cast<int>(integer(v, path, kIntMin, kIntMax, int_rule));
    rule(path, [&] { detail::check_checkpoint_freq(options.checkpoint_freq); });
  } else if (key == "checkpoint_at_end") {
    options.checkpoint_at_end = boolean(v, path);
  } else if (key == "keep_checkpoints_num") {
    // null keeps all (RunOptions' 0), so a written 0 is refused as a likely mistake.
    if (v.is_null()) return true;
    options.keep_checkpoints_num =
        static_cast<int>(integer(v, path, 1, kIntMax, "must be >= 1 (or null to keep all)"));
    rule(path, [&] { detail::check_keep_checkpoints_num(options.keep_checkpoints_num); });
  } else if (key == "checkpoint_score_attr") {
    options.checkpoint_score_attr = string(v, path);
    rule(path, [&] { detail::check_checkpoint_score_attr(options.checkpoint_score_attr); });
  } else if (key == "max_failures") {
    options.max_failures = static_cast<int>(integer(v, path, kIntMin, kIntMax, int_rule));
    rule(path, [&] { detail::check_max_failures(options.max_failures); });
  } else if (key == "fail_fast") {
    options.fail_fast = boolean(v, path);
  } else if (key == "overwrite") {
    options.overwrite = boolean(v, path);
  } else if (key == "resume") {
    if (v.is_null() || v.is_boolean()) {
      options.resume = !v.is_null() && v.get<bool>();
      return true;
    }
    if (!v.is_string()) fail(path, "must be true/false or a resume mode, got " + describe(v));
    rule(path, [&] { detail::check_resume_mode(v.get<std::string>()); });
    options.resume = v.get<std::string>();
  } else if (key == "restore") {
    if (!v.is_null()) options.restore = string(v, path);
    if (!options.restore.empty()) options.restore = resolve_path(options.restore, path).string();
  } else if (key == "metric") {
    if (v.is_null()) return true;
    options.metric = string(v, path);
    if (options.metric.empty()) fail(path, "must not be empty (leave it out for none)");
  } else if (key == "mode") {
    if (v.is_null()) return true;
    options.mode = string(v, path);
    if (options.mode.empty()) fail(path, "must not be empty (leave it out for none)");
    rule(path, [&] { detail::check_mode(options.mode); });
  } else if (key == "seed") {
    if (v.is_number_unsigned())
      options.seed = v.get<uint64_t>();
    else
      options.seed = static_cast<uint64_t>(integer(v, path, 0, kInt64Max, "must be >= 0"));
  } else if (key == "max_concurrent_trials") {
    options.max_concurrent_trials = static_cast<int>(integer(v, path, kIntMin, kIntMax, int_rule));
    rule(path, [&] { detail::check_max_concurrent_trials(options.max_concurrent_trials); });
  } else if (key == "time_budget_s") {
    if (v.is_null()) return true;
    options.time_budget_s = number(v, path, kLowest);
    rule(path, [&] { detail::check_time_budget_s(options.time_budget_s); });
  } else if (key == "verbose") {
    options.verbose = static_cast<int>(integer(v, path, kIntMin, kIntMax, int_rule));
    rule(path, [&] { detail::check_verbose(options.verbose); });
  } else if (key == "raise_on_failed_trial") {
    options.raise_on_failed_trial = boolean(v, path);
  } else if (key == "num_cpus" || key == "num_gpus") {
    if (v.is_null()) return true;
    const double amount = number(v, path, kLowest);
    rule(path, [&] { detail::check_pool_amount(amount, key); });
    (key == "num_cpus" ? options.num_cpus : options.num_gpus) = amount;
  } else if (key == "write_trial_files") {
    options.write_trial_files = boolean(v, path);
  } else if (key == "reuse_actors") {
    if (boolean(v, path)) {
      fail(path, "true needs an in-process class trainable (RunOptions::reuse_actors in the C++ API); a spec's "
                 "trainable runs each trial as a child process, which cannot be reset for another trial");
    }
  } else {
    return false;
  }
  return true;
}

// The pool's custom resources: name -> amount, each checked by the rules tune::run applies.
void SpecChecker::check_custom_resources(const Json& value) {
  mapping(value, "custom_resources");
  for (const auto& [name, item] : ordered(value, "custom_resources")) {
    const std::string path = child_path("custom_resources", name);
    rule(path, [&] { detail::check_custom_resource_name(name, path); });
    const double amount = number(*item, path, std::numeric_limits<double>::lowest());
    rule(path, [&] { detail::check_pool_amount(amount, path); });
    out_.options.custom_resources[name] = amount;
  }
}

// `dashboard: true` or `dashboard: {host: H, port: N}`: serve the experiment while it runs. Only
// checked here: the core library has no server, `tune run` reads the value from RunSpec::json
// (dashboard::dashboard_options in tune/dashboard.h).
void SpecChecker::check_dashboard(const Json& value) {
  if (value.is_null() || value.is_boolean()) return;
  if (!value.is_object()) fail("dashboard", "must be true/false or a mapping {host, port}, got " + describe(value));
  check_keys(value, "dashboard", {"host", "port"});
  if (auto it = value.find("host"); it != value.end() && string(*it, "dashboard/host").empty())
    fail("dashboard/host", "must not be empty (127.0.0.1: this machine only)");
  if (auto it = value.find("port"); it != value.end())
    integer(*it, "dashboard/port", 0, 65535, "must be in [0, 65535] (0: any free port)");
}

// The rules between keys (run_options_rules.h), reported at the line of the key that was given.
void SpecChecker::check_option_combinations() {
  try {
    detail::check_option_combinations(out_.options);
  } catch (const TuneError& error) {
    const std::string message = error.what();
    throw_at(locations_, message.substr(0, message.find(": ")), message);
  }
}

// The searcher, once the seed is known: make_searcher for a model-based one, or the run's own
// variant generator when only points_to_evaluate were given.
void SpecChecker::make_search_alg() {
  RunOptions& options = out_.options;
  if (!search_alg_.is_null()) {
    try {
      SearcherContext context;
      context.seed = options.seed;
      options.search_alg = make_searcher(search_alg_, context);
    } catch (const TuneError& error) {
      rethrow(error, "search_alg");  // "search_alg/n_ei_candidates: ..." at that key's line
    }
  }
  if (has_search_alg_points_ && !options.search_alg) {
    try {
      options.search_alg = std::make_shared<BasicVariantGenerator>(options.config, options.num_samples, options.seed,
                                                                   points_to_evaluate_);
    } catch (const TuneError& error) {
      rethrow(error, "search_alg/points_to_evaluate");
    }
  }
}

RunSpec SpecChecker::check() {
  if (spec_.is_null()) {
    throw SpecError(fmt::format("{}: the spec is empty; it needs at least 'trainable'", locations_.source()),
                    locations_.source(), 0, {});
  }
  if (!spec_.is_object()) {
    throw_at(
        locations_, "",
        fmt::format("a spec must be a mapping of options (name, trainable, config, ...), got {}", describe(spec_)));
  }
  for (const auto& [key, item] : ordered(spec_, "")) {
    check_key(key, "", kTopKeys);
    const Json& v = *item;
    if (check_run_option(key, v)) continue;
    if (key == "trainable") {
      check_trainable(v);
    } else if (key == "config") {
      check_config(v);
    } else if (key == "stop") {
      check_stop(v);
    } else if (key == "resources_per_trial") {
      check_resources(v);
    } else if (key == "scheduler") {
      check_scheduler(v);
    } else if (key == "executor") {
      check_executor(v);
    } else if (key == "search_alg") {
      check_search_alg(v);
    } else if (key == "custom_resources") {
      if (!v.is_null()) check_custom_resources(v);
    } else if (key == "sync_config") {
      check_sync_config(v);
    } else if (key == "dashboard") {
      check_dashboard(v);
    }
  }
  if (!spec_.contains("trainable")) {
    throw SpecError(fmt::format("{}: missing key 'trainable' (e.g. trainable: {{command: [python3, train.py]}})",
                                locations_.source()),
                    locations_.source(), 0, "trainable");
  }
  check_option_combinations();
  check_placeholders();
  make_search_alg();
  try {
    // A registered trainable: the binary re-run as a worker (its main() calls tune::worker_main).
    out_.trainable = registered_ ? isolated(trainable_name_, process_) : process_trainable(trainable_name_, process_);
  } catch (const TuneError& error) {
    rethrow(error, "trainable");
  }
  out_.json = spec_;
  for (const auto& [path, absolute] : resolved_) out_.json[Json::json_pointer("/" + path)] = absolute;
  return std::move(out_);
}

}  // namespace tune::spec_internal
