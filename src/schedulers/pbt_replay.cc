// PopulationBasedTrainingReplay: one trial follows the config schedule of a PBT policy log.
//
// Each line of pbt_policy_<trial_id>.txt is what PBT wrote at one exploit of the trial's
// lineage: [tag, source tag, step, source step, source config, new config]. The lineage
// ran the first line's source config from the start; at each line's source step (the
// checkpoint that was cloned) the config became that line's new config.
#include <fmt/format.h>

#include <fstream>

#include "common/strings.h"
#include "tune/error.h"
#include "tune/scheduler.h"

namespace tune {

PopulationBasedTrainingReplay::PopulationBasedTrainingReplay(const std::string& policy_file)
    : policy_file_(expand_user(policy_file).string()) {
  std::ifstream in(policy_file_);
  if (!in) throw TuneError(fmt::format("PopulationBasedTrainingReplay: policy_file: cannot read '{}'", policy_file_));
  int line_number = 0;
  int64_t last_step = -1;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto bad = [&](const std::string& why) {
      return TuneError(fmt::format("PopulationBasedTrainingReplay: policy_file: {}:{}: {}", policy_file_, line_number, why));
    };
    const Json row = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!row.is_array() || row.size() != 6) throw bad("expected [tag, source tag, step, source step, source config, new config]");
    if (!row[3].is_number_integer() || row[3].get<int64_t>() < 0) throw bad("the source step must be an integer >= 0");
    if (!row[4].is_object() || !row[5].is_object()) throw bad("the configs must be objects");
    const int64_t step = row[3].get<int64_t>();
    if (step < last_step) throw bad(fmt::format("step {} comes after step {}: not one trial's history", step, last_step));
    last_step = step;
    if (changes_.empty()) initial_config_ = row[4];
    changes_.emplace_back(step, row[5]);
  }
  if (changes_.empty()) {
    throw TuneError(fmt::format("PopulationBasedTrainingReplay: policy_file: '{}' holds no policy line", policy_file_));
  }
}

void PopulationBasedTrainingReplay::on_trial_add(const TrialView& trial) {
  if (!trial_id_.empty() && trial_id_ != trial.trial_id()) {
    throw TuneError("PopulationBasedTrainingReplay: replays one trial, but a second one was added (set num_samples "
                    "to 1 and use no grid_search)");
  }
  trial_id_ = trial.trial_id();
}

Decision PopulationBasedTrainingReplay::on_trial_result(const TrialView& trial, const Result& result) {
  if (next_ >= changes_.size()) return Decision::kContinue;
  const int64_t step = result.value("training_iteration", int64_t{0});
  if (step < changes_[next_].first) return Decision::kContinue;
  // Several changes at one step: the last one is the config from then on.
  while (next_ + 1 < changes_.size() && changes_[next_ + 1].first <= step) ++next_;
  SchedulerAction action;
  action.kind = SchedulerAction::Kind::kReconfigure;
  action.trial_id = trial.trial_id();
  action.config = changes_[next_].second;
  actions_.push_back(std::move(action));
  ++next_;
  return Decision::kContinue;
}

std::string PopulationBasedTrainingReplay::debug_string() const {
  return fmt::format("PopulationBasedTrainingReplay: {} of {} config changes made", next_, changes_.size());
}

Json PopulationBasedTrainingReplay::save() const {
  return Json{{"type", "pbt_replay"}, {"next", next_}, {"trial", trial_id_}};
}

void PopulationBasedTrainingReplay::restore(const Json& state) {
  if (!state.is_object() || state.value("type", "") != "pbt_replay") return;
  next_ = state.value("next", size_t{0});
  trial_id_ = state.value("trial", "");
}

}  // namespace tune
