// Test support for the process-executor tests: the test worker binary, the scripts beside it,
// a worker ProcessSpec that crashes by real signals under the sanitizers, and the trials of an
// analysis in creation order.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "tune/process.h"
#include "tune/tune.h"

namespace tune::testing {

inline const std::string kWorker = TUNE_TEST_WORKER;
inline const std::string kPython = TUNE_TEST_PYTHON;
inline const std::string kWorkers = std::string(TUNE_SOURCE_DIR) + "/tests/executors/workers";

// The trials of an analysis, in creation order (trial ids end in the creation index).
inline std::vector<TrialRecord> by_id(const ExperimentAnalysis& analysis) {
  std::vector<TrialRecord> trials = analysis.trials();
  std::sort(trials.begin(), trials.end(), [](const auto& a, const auto& b) { return a.trial_id() < b.trial_id(); });
  return trials;
}

inline ProcessSpec worker_spec() {
  ProcessSpec spec;
  spec.argv = {kWorker};
  spec.stop_grace_s = 2;
  // Under the sanitizer builds the crashing workers must die by their real signals, not by
  // the sanitizer's own SEGV report (these are ignored by uninstrumented builds).
  spec.env["ASAN_OPTIONS"] = "handle_segv=0:handle_abort=0:detect_leaks=0";
  spec.env["TSAN_OPTIONS"] = "handle_segv=0:handle_abort=0";
  return spec;
}

}  // namespace tune::testing
