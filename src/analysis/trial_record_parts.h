// Internal: TrialRecord's compact form, for the code that reads many records fast (the
// snapshot scanner builds records from it; the dashboard's index reads results without the
// config copy that TrialRecord::last_result() adds).
// Thread-safety: plain data and functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tune/analysis.h"

namespace tune::detail {

// A TrialRecord from parts already in its compact form (the scanner's output).
struct TrialRecordParts {
  std::string trial_id;
  std::string name;
  TrialStatus status = TrialStatus::kPending;
  std::vector<uint8_t> config;       // CBOR of the config object; empty for null
  std::vector<uint8_t> last_result;  // CBOR of the last result without "config"; empty for null
  std::string logdir;
  std::string error;
  std::map<std::string, MetricStats> metric_stats;

  TrialRecord build() &&;  // throws TuneError for a config over 4 GiB, as the constructor does

  // record.last_result() without the "config" it adds back (a decode of the config saved).
  static Result bare_last_result(const TrialRecord& record);
};

}  // namespace tune::detail
