// Test support: a population of trials a test owns, handed to schedulers as read-only views.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "trial/trial.h"
#include "tune/scheduler.h"

namespace tune::testing {

// A population of trials the test owns, handed to schedulers as views.
class Trials {
 public:
  TrialView add(TrialScheduler& scheduler, const std::string& id, Config config = Json::object()) {
    auto trial = std::make_unique<detail::Trial>();
    trial->trial_id = id;
    trial->name = "T_" + id;
    trial->index = static_cast<int64_t>(trials_.size());
    trial->config = std::move(config);
    trial->experiment_tag = std::to_string(trial->index);
    trial->status = TrialStatus::kPending;
    detail::Trial& ref = *trial;
    trials_[id] = std::move(trial);
    scheduler.on_trial_add(TrialView(ref));
    return TrialView(ref);
  }
  detail::Trial& at(const std::string& id) { return *trials_.at(id); }
  TrialView view(const std::string& id) { return TrialView(at(id)); }
  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    for (const auto& [id, trial] : trials_) out.push_back(id);
    return out;
  }
  // Reports `metric` at time `t` (training_iteration) and returns the decision.
  Decision report(TrialScheduler& scheduler, const std::string& id, int64_t t, double value,
                  const std::string& metric = "acc") {
    detail::Trial& trial = at(id);
    trial.status = TrialStatus::kRunning;
    trial.iteration = t;
    const Result result = {{"training_iteration", t}, {metric, value}};
    const Decision decision = scheduler.on_trial_result(TrialView(trial), result);
    trial.last_result = std::make_shared<const Result>(result);
    if (decision == Decision::kPause) trial.status = TrialStatus::kPaused;
    if (decision == Decision::kStop) trial.status = TrialStatus::kTerminated;
    return decision;
  }

 private:
  std::map<std::string, std::unique_ptr<detail::Trial>> trials_;
};

}  // namespace tune::testing
