// tune/scheduler.h — trial schedulers: decide CONTINUE / PAUSE / STOP after each result.
//
// A scheduler sees read-only trial views and returns decisions; the runner carries them
// out. Called on the driver thread only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tune/json.h"
#include "tune/trial.h"

namespace tune {

enum class Decision { kContinue, kPause, kStop };
std::string_view to_string(Decision decision);

class TrialScheduler {
 public:
  virtual ~TrialScheduler() = default;
  // Metric and mode of the run, handed once before anything starts. A scheduler that
  // needs a metric and gets none throws TuneError.
  virtual void set_search_properties(const std::string& metric, const std::string& mode) {
    (void)metric;
    (void)mode;
  }
  virtual void on_trial_add(const TrialView& trial) { (void)trial; }
  virtual Decision on_trial_result(const TrialView& trial, const Result& result) = 0;
  virtual void on_trial_complete(const TrialView& trial, const Result& result) {
    (void)trial;
    (void)result;
  }
  virtual void on_trial_error(const TrialView& trial) { (void)trial; }
  // Picks the next trial to start or resume among `candidates` (PENDING and PAUSED
  // trials that fit the free resources, in creation order); nullopt starts none.
  virtual std::optional<size_t> choose_trial_to_run(const std::vector<TrialView>& candidates);
  // One line for the status block ("Using FIFO scheduling algorithm.").
  virtual std::string debug_string() const = 0;
  virtual Json save() const { return Json::object(); }
  virtual void restore(const Json& state) { (void)state; }
};

// First come, first served: PENDING trials in order, then PAUSED ones. Never stops a trial.
class FIFOScheduler : public TrialScheduler {
 public:
  Decision on_trial_result(const TrialView& trial, const Result& result) override;
  std::string debug_string() const override { return "Using FIFO scheduling algorithm."; }
};

}  // namespace tune
