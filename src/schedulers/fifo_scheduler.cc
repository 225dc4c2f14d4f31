// FIFOScheduler and the scheduler defaults.
#include "tune/scheduler.h"

namespace tune {

std::string_view to_string(Decision decision) {
  switch (decision) {
    case Decision::kContinue:
      return "CONTINUE";
    case Decision::kPause:
      return "PAUSE";
    case Decision::kStop:
      return "STOP";
  }
  return "UNKNOWN";
}

std::optional<size_t> TrialScheduler::choose_trial_to_run(const std::vector<TrialView>& candidates) {
  // First PENDING trial in creation order, then the first PAUSED one.
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].status() == TrialStatus::kPending) return i;
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (candidates[i].status() == TrialStatus::kPaused) return i;
  }
  return std::nullopt;
}

Decision FIFOScheduler::on_trial_result(const TrialView& trial, const Result& result) {
  (void)trial;
  (void)result;
  return Decision::kContinue;
}

}  // namespace tune
