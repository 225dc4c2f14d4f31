// Internal: runs the per-trial loggers and turns their failures into trial failures.
//
// Loggers run on the runner thread, right after the decision for each result (measured:
// handing them to a background thread was slower on 2 cores, as results then cross threads
// and the allocator and the thread switches cost more than the serialising saved). A logger
// that throws (ENOSPC, a bad path) is reported with take_failures(), and its trial's later
// results are not logged until the trial is opened again.
// Thread-safety: runner thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "trial/trial.h"
#include "tune/callback.h"

namespace tune::detail {

class LogWriter {
 public:
  LogWriter(const ExperimentInfo& experiment, std::vector<LoggerFactory> factories);

  // Creates the trial's loggers (a retried trial keeps the ones it has).
  void open(const Trial& trial);
  void write(int64_t key, const Result& result);
  // The trial's config changed (PBT's exploit): loggers rewrite what records it.
  void config_changed(const Trial& trial);
  // The trial ended: loggers see its final state, then are destroyed.
  void close(const Trial& trial);
  void flush_all();
  // Writes out the buffered results of one trial (before its checkpoint is journaled). False
  // when its loggers failed, now or before (the failure is also in take_failures()).
  bool flush(int64_t key);
  // (key, message) of loggers that failed since the last call.
  std::vector<std::pair<int64_t, std::string>> take_failures();

 private:
  struct Open {
    std::vector<std::unique_ptr<Logger>> loggers;
    bool failed = false;
  };
  void fail(int64_t key, const std::exception& e);

  const ExperimentInfo& experiment_;
  const std::vector<LoggerFactory> factories_;
  std::unordered_map<int64_t, Open> open_;
  std::vector<std::pair<int64_t, std::string>> failures_;
};

}  // namespace tune::detail
