// tune/callback.h — loggers and experiment callbacks.
//
// Two ways to observe an experiment, both called on the driver thread only:
//  * a Callback sees every trial event of the experiment (one instance per run);
//  * a Logger is made per trial by a LoggerFactory and sees that trial's results — the
//    guide's `loggers=DEFAULT_LOGGERS + (CustomLogger,)` is
//    `options.loggers = tune::default_loggers(); options.loggers.push_back(tune::logger<MyLogger>());`
// Callbacks observe; they never decide anything. An exception thrown by a logger makes
// the trial it logs for ERROR (a failing write is the trial's failure, not the run's).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tune/json.h"
#include "tune/search_space.h"
#include "tune/trial.h"

namespace tune {

struct ExperimentInfo {
  std::string name;
  std::string experiment_id;
  std::filesystem::path dir;  // <local_dir>/<name>
  const Space* space = nullptr;  // the search space (for HParams); may be null
  std::string metric;
  std::string mode;
};

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void setup(const ExperimentInfo& experiment) { (void)experiment; }
  virtual void on_trial_start(const TrialView& trial) { (void)trial; }
  virtual void on_trial_result(const TrialView& trial, const Result& result) {
    (void)trial;
    (void)result;
  }
  // The trial ended: TERMINATED or ERROR (see trial.status()).
  virtual void on_trial_complete(const TrialView& trial) { (void)trial; }
  // A failure (it may be retried under max_failures); trial.error_message() says what.
  virtual void on_trial_error(const TrialView& trial) { (void)trial; }
  // Called periodically and at the end: write buffered output.
  virtual void flush() {}
  virtual void on_experiment_end() {}
};

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void on_result(const Result& result) = 0;
  virtual void flush() {}
  // The trial's config was changed while it lives (PBT's exploit): trial.config() is the
  // new one, and the results that follow are the new config's.
  virtual void on_config_change(const TrialView& trial) { (void)trial; }
  // The trial ended (TERMINATED or ERROR); last chance to write.
  virtual void close(const TrialView& trial) { (void)trial; }
};

using LoggerFactory = std::function<std::unique_ptr<Logger>(const ExperimentInfo& experiment, const TrialView& trial)>;

// result.json: one JSON object a line (and params.json with the resolved config).
LoggerFactory json_logger();
// progress.csv: flattened results; a metric first reported later still gets its column.
LoggerFactory csv_logger();
// JSON + CSV + TensorBoard: what the guide calls DEFAULT_LOGGERS.
std::vector<LoggerFactory> default_loggers();

// A LoggerFactory for a Logger class constructible from (ExperimentInfo, TrialView).
template <typename L>
LoggerFactory logger() {
  return [](const ExperimentInfo& experiment, const TrialView& trial) -> std::unique_ptr<Logger> {
    return std::make_unique<L>(experiment, trial);
  };
}

}  // namespace tune
