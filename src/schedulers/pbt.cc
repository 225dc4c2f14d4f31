// PopulationBasedTraining, ray-tune-semantics.md §5. The runner carries out the exploit
// (SchedulerAction::kExploit): this class only decides who clones whom, with what config.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/file_writer.h"
#include "common/saturate.h"
#include "common/strings.h"
#include "schedulers/scheduler_util.h"
#include "tune/error.h"
#include "tune/scheduler.h"

namespace tune {
namespace {

constexpr const char* kName = "PopulationBasedTraining";

// The value at `path` ("a/b") of a config, creating objects on the way when `create`.
Json* config_at(Json& config, const std::string& path, bool create) {
  Json* node = &config;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    const std::string key = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!node->is_object()) {
      if (!create || !node->is_null()) return nullptr;
      *node = Json::object();
    }
    auto it = node->find(key);
    if (it == node->end()) {
      if (!create) return nullptr;
      node = &(*node)[key];
    } else {
      node = &*it;
    }
    if (slash == std::string::npos) return node;
    start = slash + 1;
  }
}

// pbt_policy_<trial_id>.txt: the trial's whole policy history, rewritten.
void write_policy(const std::filesystem::path& dir, const std::string& trial_id, const std::string& policy) {
  FileWriter out(dir / fmt::format("pbt_policy_{}.txt", trial_id), /*truncate=*/true);
  out.write(policy);
  out.close();
}

std::string short_value(const Json& v) {
  if (v.is_number_float()) return format_float(v.get<double>(), 5);
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

}  // namespace

PopulationBasedTraining::PopulationBasedTraining(Options options) : options_(std::move(options)), rng_(options_.seed) {
  using detail::require;
  require(options_.perturbation_interval > 0, "perturbation_interval", "must be > 0", options_.perturbation_interval,
          kName);
  require(options_.quantile_fraction >= 0 && options_.quantile_fraction <= 0.5, "quantile_fraction",
          "must be in [0, 0.5]", options_.quantile_fraction, kName);
  require(options_.resample_probability >= 0 && options_.resample_probability <= 1, "resample_probability",
          "must be in [0, 1]", options_.resample_probability, kName);
  if (options_.hyperparam_mutations.empty() && !options_.custom_explore_fn) {
    throw TuneError(fmt::format("hyperparam_mutations: must name at least one config path, or give a "
                                "custom_explore_fn ({})",
                                kName));
  }
  for (const auto& [path, m] : options_.hyperparam_mutations) {
    const int kinds = (m.values.empty() ? 0 : 1) + (m.domain ? 1 : 0) + (m.sample ? 1 : 0);
    if (kinds != 1) {
      throw TuneError(fmt::format("hyperparam_mutations/{}: give exactly one of a list of values, a distribution or a "
                                  "function ({})",
                                  path, kName));
    }
    if (m.domain && (m.domain->is_grid() || m.domain->type == Domain::Type::kSampleFrom)) {
      throw TuneError(fmt::format("hyperparam_mutations/{}: grid_search and sample_from cannot be resampled; use a "
                                  "list or a function ({})",
                                  path, kName));
    }
  }
  if (options_.time_attr.empty()) throw TuneError(fmt::format("time_attr: must not be empty ({})", kName));
  if (!options_.metric.empty() && !options_.mode.empty()) {
    op_ = detail::resolve_metric(options_.metric, options_.mode, "", "", kName);
  }
}

void PopulationBasedTraining::set_search_properties(const std::string& metric, const std::string& mode) {
  op_ = detail::resolve_metric(options_.metric, options_.mode, metric, mode, kName);
}

void PopulationBasedTraining::on_trial_add(const TrialView& trial) {
  State& state = states_[trial.trial_id()];
  state.config = trial.config();
  if (state.tag.empty()) state.tag = trial.experiment_tag();
  state.running = false;
  dirty_.insert(trial.trial_id());
}

Config PopulationBasedTraining::explore(const Config& config) {
  Config out = config;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (const auto& [path, m] : options_.hyperparam_mutations) {
    Json* value = config_at(out, path, true);
    if (!m.values.empty()) {
      auto it = std::find(m.values.begin(), m.values.end(), *value);
      if (unit(rng_) < options_.resample_probability || it == m.values.end()) {
        *value = m.values[std::uniform_int_distribution<size_t>(0, m.values.size() - 1)(rng_)];
      } else {
        const size_t k = static_cast<size_t>(it - m.values.begin());
        *value = unit(rng_) > 0.5 ? m.values[k == 0 ? 0 : k - 1] : m.values[std::min(k + 1, m.values.size() - 1)];
      }
      continue;
    }
    if (unit(rng_) < options_.resample_probability || !value->is_number()) {
      *value = m.domain ? m.domain->sample(rng_) : m.sample(rng_);
      continue;
    }
    const double factor = unit(rng_) > 0.5 ? 1.2 : 0.8;
    if (value->is_number_integer()) {
      // Ints stay ints; saturated, as 1.2 x a value near 2^63 is past int64.
      *value = saturate_cast<int64_t>(static_cast<double>(value->get<int64_t>()) * factor);
    } else {
      *value = value->get<double>() * factor;
    }
  }
  if (options_.custom_explore_fn) out = options_.custom_explore_fn(out);
  return out;
}

void PopulationBasedTraining::reconcile_logs(const std::filesystem::path& dir) {
  logs_restored_ = true;
  if (!options_.log_config) return;
  namespace fs = std::filesystem;
  try {
    // Each exploit appended one line and counted one perturbation, in that order.
    const fs::path global = dir / "pbt_global.txt";
    if (fs::exists(global)) {
      std::ifstream in(global);
      std::string kept;
      std::string line;
      for (int64_t n = 0; n < num_perturbations_ && std::getline(in, line); ++n) kept += line + "\n";
      in.close();
      FileWriter out(global, /*truncate=*/true);
      out.write(kept);
      out.close();
    }
    for (const auto& [id, state] : states_) {
      if (state.policy.empty()) {
        fs::remove(dir / fmt::format("pbt_policy_{}.txt", id));
      } else {
        write_policy(dir, id, state.policy);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tune: cannot restore the PBT policy logs in %s: %s\n", dir.string().c_str(), e.what());
  }
}

Decision PopulationBasedTraining::on_trial_result(const TrialView& trial, const Result& result) {
  const std::string& id = trial.trial_id();
  if (!logs_restored_ && !trial.logdir().empty()) reconcile_logs(trial.logdir().parent_path());
  auto [entry, added] = states_.try_emplace(id);
  if (added) dirty_.insert(id);
  State& state = entry->second;
  state.running = true;
  const auto time = detail::number_at(result, options_.time_attr);
  const auto value = detail::number_at(result, options_.metric);
  if (!time || !value) return Decision::kContinue;
  if (*time - state.last_perturbation_time < options_.perturbation_interval) return Decision::kContinue;
  dirty_.insert(id);  // what follows changes its saved state (and the rng, which picks and explores)
  dirty_globals_ = true;
  state.last_score = op_ * *value;
  state.last_perturbation_time = *time;
  state.iteration = trial.iteration();
  // Quantiles over the unfinished trials with a score, worst first.
  std::vector<std::pair<double, std::string>> ranked;
  for (const auto& [other, s] : states_) {
    if (!s.finished && s.last_score) ranked.emplace_back(*s.last_score, other);
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> lower, upper;
  if (ranked.size() > 1) {
    size_t k = static_cast<size_t>(std::ceil(static_cast<double>(ranked.size()) * options_.quantile_fraction));
    k = std::min(k, ranked.size() / 2);
    for (size_t i = 0; i < k; ++i) {
      lower.push_back(ranked[i].second);
      upper.push_back(ranked[ranked.size() - 1 - i].second);
    }
  }
  bool others_waiting = false;
  for (const auto& [other, s] : states_) others_waiting |= other != id && !s.finished && !s.running;
  const Decision decision = others_waiting ? Decision::kPause : Decision::kContinue;
  if (std::find(upper.begin(), upper.end(), id) != upper.end()) {
    // A top trial: its checkpoint now is what bottom trials will clone.
    actions_.push_back(SchedulerAction{SchedulerAction::Kind::kCheckpoint, id, "", Config(), ""});
    state.last_checkpoint = trial.iteration();
  } else {
    state.last_checkpoint.reset();
  }
  if (std::find(lower.begin(), lower.end(), id) != lower.end()) {
    const std::string& source_id = upper[std::uniform_int_distribution<size_t>(0, upper.size() - 1)(rng_)];
    const State& source = states_.at(source_id);
    if (!source.last_checkpoint) return decision;  // nothing to clone yet
    const Config new_config = explore(source.config);
    std::vector<std::string> vars;
    Config lookup = new_config;
    for (const auto& [path, m] : options_.hyperparam_mutations) {
      if (const Json* v = config_at(lookup, path, false)) {
        vars.push_back(path + "=" + short_value(*v));
      }
    }
    const std::string base = state.tag.substr(0, state.tag.find("@perturbed"));
    const std::string tag = fmt::format("{}@perturbed[{}]", base, join(vars, ","));
    log_exploit(trial, source, new_config);
    actions_.push_back(
        SchedulerAction{SchedulerAction::Kind::kExploit, id, source_id, new_config, tag, *source.last_checkpoint});
    state.config = new_config;
    state.tag = tag;
    state.last_perturbation_time = source.last_perturbation_time;
    state.running = false;  // it restarts from the clone
    ++num_perturbations_;
    last_perturbation_ = fmt::format("{} <- {} at {}={:g}", id, source_id, options_.time_attr, *time);
    return Decision::kPause;
  }
  if (decision == Decision::kPause) state.running = false;
  return decision;
}

void PopulationBasedTraining::log_exploit(const TrialView& trial, const State& source, const Config& new_config) {
  State& state = states_.at(trial.trial_id());
  const Json policy = Json::array({state.tag, source.tag, trial.iteration(), source.iteration, source.config, new_config});
  const std::string line = policy.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  state.policy = source.policy + line;  // the clone's history, then this step
  dirty_.insert(trial.trial_id());
  if (!options_.log_config || trial.logdir().empty()) return;
  const std::filesystem::path dir = trial.logdir().parent_path();
  try {
    FileWriter global(dir / "pbt_global.txt");
    global.write(line);
    global.close();
    write_policy(dir, trial.trial_id(), state.policy);
  } catch (const std::exception& e) {
    // The policy log is a record, not a reason to stop training.
    std::fprintf(stderr, "tune: cannot write the PBT policy log in %s: %s\n", dir.string().c_str(), e.what());
  }
}

void PopulationBasedTraining::on_trial_complete(const TrialView& trial, const Result& result) {
  (void)result;
  states_[trial.trial_id()].finished = true;
  dirty_.insert(trial.trial_id());
}

void PopulationBasedTraining::on_trial_error(const TrialView& trial) {
  states_[trial.trial_id()].finished = true;
  dirty_.insert(trial.trial_id());
}

std::optional<size_t> PopulationBasedTraining::choose_trial_to_run(const std::vector<TrialView>& candidates) {
  // The trial furthest behind at its last perturbation first.
  std::optional<size_t> best;
  double best_time = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    auto it = states_.find(candidates[i].trial_id());
    const double t = it == states_.end() ? 0.0 : it->second.last_perturbation_time;
    if (!best || t < best_time) {
      best = i;
      best_time = t;
    }
  }
  if (best) {  // the runner starts it now
    auto [entry, added] = states_.try_emplace(candidates[*best].trial_id());
    if (added) dirty_.insert(entry->first);
    entry->second.running = true;
  }
  return best;
}

std::vector<SchedulerAction> PopulationBasedTraining::take_actions() { return std::exchange(actions_, {}); }

std::vector<StateChange> PopulationBasedTraining::take_state_changes() {
  std::vector<StateChange> out;
  for (const std::string& id : dirty_) {
    out.push_back(detail::change_set(Json::array({"states", id}), state_json(states_.at(id))));
  }
  dirty_.clear();
  if (dirty_globals_) {
    dirty_globals_ = false;
    std::ostringstream rng;
    rng << rng_;
    out.push_back(detail::change_set(Json::array({"num_perturbations"}), num_perturbations_));
    out.push_back(detail::change_set(Json::array({"last"}), last_perturbation_));
    out.push_back(detail::change_set(Json::array({"rng"}), rng.str()));
  }
  return out;
}

Json PopulationBasedTraining::state_json(const State& s) const {
  return Json{{"t", s.last_perturbation_time},
              {"score", s.last_score ? Json(*s.last_score) : Json(nullptr)},
              {"ckpt", s.last_checkpoint ? Json(*s.last_checkpoint) : Json(nullptr)},
              {"iteration", s.iteration},
              {"finished", s.finished},
              {"config", s.config},
              {"tag", s.tag},
              {"policy", s.policy}};
}

std::string PopulationBasedTraining::debug_string() const {
  std::string out = fmt::format("PopulationBasedTraining: {} perturbs", num_perturbations_);
  if (!last_perturbation_.empty()) out += "; last: " + last_perturbation_;
  return out;
}

Json PopulationBasedTraining::save() const {
  Json states = Json::object();
  for (const auto& [id, s] : states_) states[id] = state_json(s);
  std::ostringstream rng;
  rng << rng_;
  return Json{{"type", "pbt"}, {"states", std::move(states)}, {"num_perturbations", num_perturbations_},
              {"last", last_perturbation_}, {"rng", rng.str()}};
}

void PopulationBasedTraining::restore(const Json& state) {
  if (!state.is_object() || state.value("type", "") != "pbt") return;
  states_.clear();
  for (const auto& [id, j] : state.at("states").items()) {
    State s;
    s.last_perturbation_time = j.value("t", 0.0);
    if (j.at("score").is_number()) s.last_score = j.at("score").get<double>();
    if (j.at("ckpt").is_number()) s.last_checkpoint = j.at("ckpt").get<int64_t>();
    s.iteration = j.value("iteration", int64_t{0});
    s.finished = j.value("finished", false);
    s.config = j.value("config", Json::object());
    s.tag = j.value("tag", "");
    s.policy = j.value("policy", "");
    states_[id] = std::move(s);
  }
  num_perturbations_ = state.value("num_perturbations", int64_t{0});
  last_perturbation_ = state.value("last", "");
  logs_restored_ = false;
  std::istringstream rng(state.value("rng", ""));
  if (!rng.str().empty()) rng >> rng_;
}

}  // namespace tune
