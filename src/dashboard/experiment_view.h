// Internal: one experiment as the dashboard serves it: what the experiment reader returned,
// plus the indexes the API needs so that a request over 100,000 trials is a scan of flat
// arrays (scores, config columns), not a decode of every record.
// Thread-safety: immutable once built; shared between requests through shared_ptr<const>.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "analysis/experiment_reader.h"

namespace tune::dashboard {

// One scalar config key over all trials: numbers, or category indexes into `categories`
// (strings, booleans, mixed). NaN where a trial lacks the key.
struct ParamColumn {
  bool numeric = true;
  std::vector<double> values;
  std::vector<std::string> categories;
};

// What decides whether a cached view is stale: the state files' sizes and times.
struct StateStamp {
  std::vector<int64_t> parts;
  bool operator==(const StateStamp&) const = default;
};

struct ExperimentView {
  std::string name;                                  // the directory name
  std::filesystem::path dir;                         // canonical
  detail::ExperimentOnDisk disk;                     // as read; trials in the reader's order
  std::vector<std::optional<double>> scores;         // per trial: the run's metric, scope "last"
  std::unordered_map<std::string, size_t> by_id;     // trial id -> index
  std::map<std::string, int64_t> counts;             // status name -> trials
  std::optional<size_t> best;                        // index of the best trial by score
  std::optional<double> start_time;                  // seconds since the epoch (see .cc)
  std::map<std::string, ParamColumn> params;         // flattened config key -> column
  std::vector<std::string> metrics;                  // numeric metric names the trials report
  // Finished trials per training_iteration they ended at: where a scheduler (ASHA, HyperBand,
  // median stopping) cut trials shows as a peak per rung.
  std::map<int64_t, int64_t> ended_at;
  StateStamp stamp;
  std::chrono::steady_clock::time_point loaded;

  // Whether trial a's score ranks before b's, best first by the mode (missing and NaN last).
  bool better(size_t a, size_t b) const;
};

StateStamp state_stamp(const std::filesystem::path& dir);

// Reads `dir` through the experiment reader and builds the indexes. Throws what the reader throws.
ExperimentView build_view(const std::string& name, const std::filesystem::path& dir);

// Seconds since the epoch of a file time.
double to_epoch_seconds(std::filesystem::file_time_type when);

}  // namespace tune::dashboard
