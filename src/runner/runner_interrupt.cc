// TrialRunner: RunOptions::interrupt (tune/run.h). An interrupted run ends like a crash at a
// clean point: every trial not finished stays unfinished in the journal (no "end", no "done"
// record), so `resume` continues each from its latest checkpoint with its logs rolled back to
// it, and every iteration is logged exactly once over both runs.
#include <fmt/format.h>

#include <iostream>

#include "runner/trial_runner.h"

namespace tune::detail {

bool TrialRunner::poll_interrupt() {
  if (!options_.interrupt) return false;
  const int level = options_.interrupt->load();
  if (level <= 0) return false;
  if (!interrupting_) {
    interrupting_ = true;
    status_.print_line("");  // clears the progress bar: the message gets a line of its own
    std::cerr << "Stopping experiment (press Ctrl-C again to force)" << std::endl;
  }
  if (level >= 2 && !forced_) {
    forced_ = true;
    std::cerr << "Forcing the stop: ending the running trials now" << std::endl;
  }
  // Graceful: the running trials stop at their next result (process_result, apply_decision).
  return forced_ || running_ == 0;
}

ExperimentAnalysis TrialRunner::end_interrupted() {
  // Forced: the trials still running end where they are; in the state they stay RUNNING and
  // restart first on resume (from their latest checkpoint), as after a crash of the driver.
  for (const auto& [key, trial] : live_) {
    if (trial->status == TrialStatus::kRunning) executor_->stop_trial(key);
  }
  executor_.reset();  // ends the children, joins the workers
  // A checkpoint still being written (forced) holds its decision's records back, as it does
  // a snapshot: what is on disk then is the state before that decision.
  commit_event();
  periodic(true);
  write_final_state(/*completed=*/false);
  std::vector<TrialRecord> trials = store_->take_finished();
  for (const auto& [key, trial] : live_) {
    TrialView view(*trial);
    TrialRecord record(trial->trial_id, trial->name, trial->status, trial->config, view.last_result(), trial->logdir,
                       trial->error_message);
    record.metric_stats = trial->metric_stats;
    trials.push_back(std::move(record));
  }
  ExperimentAnalysis analysis(experiment_.dir, std::move(trials), options_.metric, options_.mode);
  analysis.set_interrupted(0);  // run() names the signal when it caught one
  return analysis;
}

}  // namespace tune::detail
