// make_scheduler: the spec file's `scheduler: {type: NAME, ...}` to a scheduler object.
//
// One row of kTypes per scheduler name: its keys with their defaults, and how to build it.
// Each type's fields are listed once (a `fields` function over its Options struct); the key
// list, the defaults and the reading of a spec all come from that one list, so the parser,
// the factory and the docs (checked by tests/spec/plugin_docs_test.cc) cannot
// drift apart.
#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "common/plugin_fields.h"
#include "common/strings.h"
#include "tune/error.h"
#include "tune/scheduler.h"

namespace tune {
namespace {

using Fields = detail::PluginFields;
using Build = std::function<std::shared_ptr<TrialScheduler>(const Fields&)>;

struct SchedulerType {
  std::string name;
  std::vector<std::string> keys;  // besides `type`, in the order the docs list them
  Json defaults;                  // key -> default; absent: required, or none (the run's metric/mode)
  Build build;
};

template <typename Scheduler, typename Options>
std::shared_ptr<TrialScheduler> build(Options options) {
  try {
    return std::make_shared<Scheduler>(std::move(options));
  } catch (const TuneError& e) {
    throw TuneError(std::string("scheduler/") + e.what());  // "scheduler/grace_period: must be > 0 ..."
  }
}

// Ray Tune's scheduler names this version knows but does not implement: refused by name.
const std::vector<std::string> kNotSupported = {"pb2", "resource_changing"};

// The fields every metric-driven scheduler shares. Empty metric/mode: the run's.
template <typename Options, typename Visit>
void metric_fields(Options& o, Visit& visit) {
  visit("time_attr", o.time_attr);
  visit("metric", o.metric);
  visit("mode", o.mode);
}

template <typename Visit>
void asha_fields(AsyncHyperBandScheduler::Options& o, Visit&& visit) {
  metric_fields(o, visit);
  visit("max_t", o.max_t);
  visit("grace_period", o.grace_period);
  visit("reduction_factor", o.reduction_factor);
  visit("brackets", o.brackets);
  visit("seed", o.seed);
}

template <typename Visit>
void hyperband_fields(HyperBandScheduler::Options& o, Visit&& visit) {
  metric_fields(o, visit);
  visit("max_t", o.max_t);
  visit("reduction_factor", o.reduction_factor);
  visit("stop_last_trials", o.stop_last_trials);
}

template <typename Visit>
void median_fields(MedianStoppingRule::Options& o, Visit&& visit) {
  metric_fields(o, visit);
  visit("grace_period", o.grace_period);
  visit("min_samples_required", o.min_samples_required);
  visit("min_time_slice", o.min_time_slice);
  visit("hard_stop", o.hard_stop);
}

template <typename Visit>
void pbt_fields(PopulationBasedTraining::Options& o, Visit&& visit) {
  metric_fields(o, visit);
  visit("perturbation_interval", o.perturbation_interval);
  visit("quantile_fraction", o.quantile_fraction);
  visit("resample_probability", o.resample_probability);
  visit("log_config", o.log_config);
  visit("seed", o.seed);
}

// Keys and defaults of a default-constructed Options, through its fields function.
template <typename Options, typename FieldsOf>
std::pair<std::vector<std::string>, Json> keys_of(FieldsOf fields_of) {
  Options o;
  std::vector<std::string> keys;
  Json defaults = Json::object();
  fields_of(o, [&](const char* key, const auto& value) {
    keys.emplace_back(key);
    if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) {
      if (value.empty()) return;  // metric / mode: the run's
    }
    defaults[key] = value;
  });
  return {std::move(keys), std::move(defaults)};
}

// A row whose Options are read key by key through `fields_of`; `finish` adds what a plain field
// cannot say (PBT's mutations) and builds the scheduler.
template <typename Options, typename FieldsOf>
SchedulerType row(std::string name, FieldsOf fields_of,
                  std::function<std::shared_ptr<TrialScheduler>(Options, const Fields&)> finish,
                  std::vector<std::string> extra_keys = {}) {
  auto [keys, defaults] = keys_of<Options>(fields_of);
  keys.insert(keys.end(), extra_keys.begin(), extra_keys.end());
  Build read = [fields_of, finish](const Fields& f) {
    Options o;
    fields_of(o, [&](const char* key, auto& value) { f.get(key, value); });
    return finish(std::move(o), f);
  };
  return {std::move(name), std::move(keys), std::move(defaults), std::move(read)};
}

std::map<std::string, PopulationBasedTraining::Mutation> mutations_of(const Json& value) {
  if (!value.is_object()) {
    throw TuneError(fmt::format("scheduler/hyperparam_mutations: must be a mapping of config paths to a list or a "
                                "distribution, got {}",
                                value.dump()));
  }
  std::map<std::string, PopulationBasedTraining::Mutation> out;
  for (const auto& [path, spec] : value.items()) {
    const std::string where = "scheduler/hyperparam_mutations/" + path;
    PopulationBasedTraining::Mutation mutation;
    if (spec.is_array()) {
      if (spec.empty()) throw TuneError(where + ": must not be an empty list");
      mutation.values = spec.get<std::vector<Json>>();
    } else {
      const Space space = Space::from_json(spec, where);
      if (!space.is_domain() || space.as_domain().is_grid()) {
        throw TuneError(fmt::format("{}: must be a list of values or a distribution ({{uniform: [lo, hi]}} ...), got {}",
                                    where, spec.dump()));
      }
      mutation.domain = space.as_domain();
      if (mutation.domain->type == Domain::Type::kChoice) {
        mutation.values = mutation.domain->values;
        mutation.domain.reset();
      }
    }
    out.emplace(path, std::move(mutation));
  }
  if (out.empty()) throw TuneError("scheduler/hyperparam_mutations: must name at least one config path");
  return out;
}

std::shared_ptr<TrialScheduler> build_pbt(PopulationBasedTraining::Options o, const Fields& f) {
  const Json* mutations = f.find("hyperparam_mutations");
  if (mutations == nullptr) {
    throw TuneError("scheduler/hyperparam_mutations: pbt needs it (config path -> list or distribution)");
  }
  o.hyperparam_mutations = mutations_of(*mutations);
  return build<PopulationBasedTraining>(std::move(o));
}

std::shared_ptr<TrialScheduler> build_pbt_replay(const Fields& f) {
  std::string policy_file;
  f.get("policy_file", policy_file);
  if (policy_file.empty()) throw TuneError("scheduler/policy_file: pbt_replay needs it (a pbt_policy_<trial_id>.txt)");
  try {
    return std::make_shared<PopulationBasedTrainingReplay>(policy_file);
  } catch (const TuneError& e) {
    throw TuneError(fmt::format("scheduler/policy_file: {}", e.what()));
  }
}

const std::vector<SchedulerType>& types() {
  using Asha = AsyncHyperBandScheduler::Options;
  using HyperBand = HyperBandScheduler::Options;
  auto asha = [](Asha o, const Fields&) { return build<AsyncHyperBandScheduler>(std::move(o)); };
  auto asha_of = [](Asha& o, auto&& visit) { asha_fields(o, visit); };
  auto hyperband_of = [](HyperBand& o, auto&& visit) { hyperband_fields(o, visit); };
  static const std::vector<SchedulerType> kTypes = {
      {"fifo", {}, Json::object(), [](const Fields&) { return std::make_shared<FIFOScheduler>(); }},
      row<Asha>("async_hyperband", asha_of, asha),
      row<Asha>("asha", asha_of, asha),
      row<HyperBand>("hyperband", hyperband_of,
                     [](HyperBand o, const Fields&) { return build<HyperBandScheduler>(std::move(o)); }),
      row<HyperBand>("hb_bohb", hyperband_of,
                     [](HyperBand o, const Fields&) { return build<HyperBandForBOHB>(std::move(o)); }),
      row<MedianStoppingRule::Options>(
          "median_stopping_rule", [](MedianStoppingRule::Options& o, auto&& visit) { median_fields(o, visit); },
          [](MedianStoppingRule::Options o, const Fields&) { return build<MedianStoppingRule>(std::move(o)); }),
      row<PopulationBasedTraining::Options>(
          "pbt", [](PopulationBasedTraining::Options& o, auto&& visit) { pbt_fields(o, visit); }, build_pbt,
          {"hyperparam_mutations"}),
      {"pbt_replay", {"policy_file"}, Json::object(), build_pbt_replay},
  };
  return kTypes;
}

const SchedulerType* find_type(const std::string& name) {
  for (const auto& t : types()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const SchedulerType& type_of(const std::string& name) {
  if (const SchedulerType* type = find_type(name)) return *type;
  const std::vector<std::string> known = scheduler_names();
  throw TuneError(fmt::format("scheduler/type: not supported: '{}'{}; supported: {}", name, did_you_mean(name, known),
                              join(known, ", ")));
}

}  // namespace

std::vector<std::string> scheduler_names() {
  std::vector<std::string> out;
  for (const auto& t : types()) out.push_back(t.name);
  return out;
}

std::vector<std::string> unsupported_scheduler_names() { return kNotSupported; }

std::vector<std::string> scheduler_keys(const std::string& type) { return type_of(type).keys; }

Json scheduler_defaults(const std::string& type) { return type_of(type).defaults; }

std::shared_ptr<TrialScheduler> make_scheduler(const Json& spec) {
  const SchedulerType& type = type_of(detail::plugin_type_name(spec, "scheduler", "scheduler"));
  const Fields f(spec, "scheduler");
  f.allow(type.keys);
  return type.build(f);
}

}  // namespace tune
