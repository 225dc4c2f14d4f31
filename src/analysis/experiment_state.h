// Internal: the stored state of an experiment, read back from its directory.
//
// An experiment directory holds
//  * experiment_state.jsonl — the journal: one JSON object a line, appended as trials are
//    added, get a directory, checkpoint, fail and end (never rewritten). The records of one
//    runner event are one line, {"e":"batch","r":[...]} when there are several, so a crash
//    keeps all of an event or none: a torn last line is ignored (and cut off on resume),
//    while a damaged line with more after it is an error naming its byte, never a silent cut;
//  * experiment_state.json — a compacted snapshot (written atomically: temp file, fsync,
//    rename) of every trial plus the searcher's state, and the journal length it covers.
// The state is the snapshot plus the journal records after it. The runner writes both
// (src/runner/experiment_store.h); the analysis and resume read them here. The records
// themselves are defined in state_records.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "analysis/state_records.h"  // the file names and record kinds
#include "tune/analysis.h"
#include "tune/json.h"

namespace tune::detail {

// One checkpoint of a trial: <trial dir>/<dir>/ with .tune_metadata inside.
struct CheckpointEntry {
  int64_t iteration = 0;
  std::string dir;  // relative to the trial directory: "checkpoint_<iteration>"
  double time_total_s = 0;
  int64_t timesteps_total = 0;
  int64_t episodes_total = 0;
  double score = 0;  // by checkpoint_score_attr, higher is better (NaN when missing)
  bool done = false;  // taken as the trial stopped: a restore from it finds the trial finished

  Json to_json() const;
  static CheckpointEntry from_json(const Json& json);
};

struct StoredExperiment {
  // Top-level fields: version, name, experiment_id, trainable, metric, mode, spec.
  Json header = Json::object();
  std::vector<TrialRecord> finished;  // TERMINATED / ERROR, in the order they ended
  // Trials not finished, each a JSON object: index, trial_id, name, tag, config, status,
  // logdir (relative), num_failures, error, checkpoints [CheckpointEntry...], last_result.
  std::vector<Json> unfinished;
  Json searcher_state;   // the searcher's save() as last journaled ("srch"/"srchc", or a legacy "add"; null if none)
  Json scheduler_state;  // the scheduler's save() (null if none)
  int64_t next_index = 0;
  bool completed = false;  // the run ended by itself (not killed)
  uint64_t journal_valid_bytes = 0;  // the journal's length up to its last whole record
  uint64_t journal_file_bytes = 0;
  // UnsafePaths::kSkip: one line per trial or checkpoint left out, naming the record.
  std::vector<std::string> warnings;
};

// What reading does with a record whose path leads outside the experiment directory (a trial
// directory) or outside its trial directory (a checkpoint): see state_paths.h.
enum class UnsafePaths {
  kRefuse,  // throw TuneError naming the file, the line (or trial) and the field: resume
  kSkip,    // leave the trial (or checkpoint) out and say so in `warnings`: the readers
};

// True when `dir` holds a journal or a snapshot.
bool has_stored_experiment(const std::filesystem::path& dir);

// Reads the snapshot and the journal's tail. Throws TuneError naming the file and what is
// wrong when neither exists or the snapshot is not readable, and (kRefuse) for a path that
// leads outside.
StoredExperiment read_stored_experiment(const std::filesystem::path& dir,
                                        UnsafePaths unsafe = UnsafePaths::kRefuse);

}  // namespace tune::detail
