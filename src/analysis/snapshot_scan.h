// Internal: the fast way through an experiment's snapshot (experiment_state.json).
//
// A 100,000-trial snapshot is ~70 MB of JSON. Building a JSON tree per trial and then its
// compact form (TrialRecord) costs ~2.7 s; this scanner reads the file with simdjson's
// on-demand parser and writes each trial's config and last result straight into TrialRecord's
// compact form (CBOR), with no tree in between (~10x faster; bench/e2e_dashboard.cc).
//
// It is an optimisation only, never a second definition of the format: it takes a file only
// when it reads it exactly as the careful reader (read_snapshot in experiment_state.cc) would.
// Anything else — a damaged file, a field of the wrong type, a number out of range, nesting
// near the limit, a path leading outside under UnsafePaths::kRefuse, a file over 1 GiB — makes
// it return nullopt, and the caller reads the file the careful way, which words the error or
// the warning. Tests (tests/analysis/snapshot_scan_test.cc) hold the two to the same answers.
// Thread-safety: a plain function.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "analysis/experiment_state.h"
#include "analysis/trial_record_parts.h"
#include "tune/analysis.h"
#include "tune/json.h"

namespace tune::detail {

struct ScannedSnapshot {
  Json header = Json::object();        // every top-level field but "trials" and "live"
  std::vector<TrialRecord> finished;   // "trials"
  std::vector<Json> unfinished;        // "live", as JSON objects
  std::vector<std::string> warnings;   // UnsafePaths::kSkip: the trials left out
};

std::optional<ScannedSnapshot> scan_snapshot(const std::filesystem::path& file,
                                             const std::filesystem::path& experiment_dir, UnsafePaths unsafe);

}  // namespace tune::detail
