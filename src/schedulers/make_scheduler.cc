// make_scheduler: the spec file's `scheduler: {type: NAME, ...}` to a scheduler object.
#include <fmt/format.h>

#include <algorithm>

#include "common/plugin_fields.h"
#include "common/strings.h"
#include "tune/error.h"
#include "tune/scheduler.h"

namespace tune {
namespace {

using Fields = detail::PluginFields;

template <typename Scheduler, typename Options>
std::shared_ptr<TrialScheduler> build(Options options) {
  try {
    return std::make_shared<Scheduler>(std::move(options));
  } catch (const TuneError& e) {
    throw TuneError(std::string("scheduler/") + e.what());  // "scheduler/grace_period: must be > 0 ..."
  }
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

}  // namespace

std::shared_ptr<TrialScheduler> make_scheduler(const Json& spec) {
  std::string type;
  if (spec.is_string()) {
    type = spec.get<std::string>();
  } else if (spec.is_object() && spec.contains("type") && spec.at("type").is_string()) {
    type = spec.at("type").get<std::string>();
  } else {
    throw TuneError(fmt::format("scheduler: must be a scheduler name or {{type: NAME, ...}}, got {}", spec.dump()));
  }
  const Fields f(spec, "scheduler");
  const std::vector<std::string> metric_keys = {"time_attr", "metric", "mode"};
  auto with_metric = [&](std::vector<std::string> keys) {
    keys.insert(keys.end(), metric_keys.begin(), metric_keys.end());
    return keys;
  };
  if (type == "fifo") {
    f.allow({});
    return std::make_shared<FIFOScheduler>();
  }
  if (type == "asha" || type == "async_hyperband") {
    f.allow(with_metric({"max_t", "grace_period", "reduction_factor", "brackets", "seed"}));
    AsyncHyperBandScheduler::Options o;
    f.get("time_attr", o.time_attr);
    f.get("metric", o.metric);
    f.get("mode", o.mode);
    f.get("max_t", o.max_t);
    f.get("grace_period", o.grace_period);
    f.get("reduction_factor", o.reduction_factor);
    f.get("brackets", o.brackets);
    f.get("seed", o.seed);
    return build<AsyncHyperBandScheduler>(std::move(o));
  }
  if (type == "hyperband" || type == "hb_bohb") {
    f.allow(with_metric({"max_t", "reduction_factor", "stop_last_trials"}));
    HyperBandScheduler::Options o;
    f.get("time_attr", o.time_attr);
    f.get("metric", o.metric);
    f.get("mode", o.mode);
    f.get("max_t", o.max_t);
    f.get("reduction_factor", o.reduction_factor);
    f.get("stop_last_trials", o.stop_last_trials);
    return type == "hyperband" ? build<HyperBandScheduler>(std::move(o)) : build<HyperBandForBOHB>(std::move(o));
  }
  if (type == "median_stopping_rule") {
    f.allow(with_metric({"grace_period", "min_samples_required", "min_time_slice", "hard_stop"}));
    MedianStoppingRule::Options o;
    f.get("time_attr", o.time_attr);
    f.get("metric", o.metric);
    f.get("mode", o.mode);
    f.get("grace_period", o.grace_period);
    f.get("min_samples_required", o.min_samples_required);
    f.get("min_time_slice", o.min_time_slice);
    f.get("hard_stop", o.hard_stop);
    return build<MedianStoppingRule>(std::move(o));
  }
  if (type == "pbt") {
    f.allow(with_metric({"perturbation_interval", "hyperparam_mutations", "quantile_fraction",
                         "resample_probability", "log_config", "seed"}));
    PopulationBasedTraining::Options o;
    f.get("time_attr", o.time_attr);
    f.get("metric", o.metric);
    f.get("mode", o.mode);
    f.get("perturbation_interval", o.perturbation_interval);
    f.get("quantile_fraction", o.quantile_fraction);
    f.get("resample_probability", o.resample_probability);
    f.get("log_config", o.log_config);
    f.get("seed", o.seed);
    const Json* mutations = f.find("hyperparam_mutations");
    if (mutations == nullptr) throw TuneError("scheduler/hyperparam_mutations: pbt needs it (config path -> list or distribution)");
    o.hyperparam_mutations = mutations_of(*mutations);
    return build<PopulationBasedTraining>(std::move(o));
  }
  if (type == "pbt_replay") {
    f.allow({"policy_file"});
    std::string policy_file;
    f.get("policy_file", policy_file);
    if (policy_file.empty()) throw TuneError("scheduler/policy_file: pbt_replay needs it (a pbt_policy_<trial_id>.txt)");
    try {
      return std::make_shared<PopulationBasedTrainingReplay>(policy_file);
    } catch (const TuneError& e) {
      throw TuneError(fmt::format("scheduler/policy_file: {}", e.what()));
    }
  }
  const std::vector<std::string> known = {"fifo", "asha", "async_hyperband", "hyperband", "hb_bohb",
                                          "median_stopping_rule", "pbt", "pbt_replay"};
  throw TuneError(fmt::format("scheduler/type: not supported: '{}'{}; supported: {}", type, did_you_mean(type, known),
                              join(known, ", ")));
}

}  // namespace tune
