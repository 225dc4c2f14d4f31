// Internal: fills the auto-filled result fields (training_iteration, time_total_s, ...)
// from a trial's own counters. Used where a trial's results enter tune: the executors.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "tune/json.h"
#include "tune/trainable.h"

namespace tune::detail {

// Host facts computed once per process (immutable after the first call).
struct HostInfo {
  std::string hostname;
  std::string node_ip;
  int64_t pid = 0;
  static const HostInfo& get();
};

// Whether a result sets the flag `key` ("done", "should_checkpoint"): true for `true` and, as
// Ray reads a flag, for a non-zero number; false for anything else or when absent. Never
// throws, whatever the result holds.
bool result_flag(const Result& result, std::string_view key);

class AutoFiller {
 public:
  AutoFiller(const TrialInfo& info, const Config& config);
  // Completes `result` in place; `measured_seconds` is the time the step took. Throws
  // TuneError, leaving the counters as they were, when the result is not a JSON object or a
  // field tune acts on has the wrong type: "done" and "should_checkpoint" must be booleans (a
  // number is read as Ray reads it and written back as one), "training_iteration" a whole
  // number >= 0.
  void fill(Result& result, double measured_seconds);
  // A result of this trial the runner is done with: fill() reuses its fields' memory (map
  // nodes, strings, the config copy) for the next result instead of allocating anew. Only
  // the fields fill() sets are taken; whatever else it held is dropped.
  void give_spare(Result&& spent);
  // Continues counters from a restored checkpoint.
  void restore(int64_t iteration, double time_total_s, int64_t timesteps_total, int64_t episodes_total);
  int64_t iteration() const { return iteration_; }
  double time_total_s() const { return time_total_s_; }

 private:
  std::string trial_id_;
  std::string experiment_id_;
  Config config_;
  int64_t iteration_ = 0;
  double time_total_s_ = 0;
  int64_t iterations_since_restore_ = 0;
  double time_since_restore_ = 0;
  bool has_timesteps_ = false;
  int64_t timesteps_total_ = 0;
  int64_t timesteps_since_restore_ = 0;
  bool has_episodes_ = false;
  int64_t episodes_total_ = 0;
  std::time_t date_cached_for_ = 0;
  std::string date_cached_;
  Json::object_t spare_;  // fields of a spent result (give_spare)
};

}  // namespace tune::detail
