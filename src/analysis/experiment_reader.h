// Internal: the one reader of an experiment directory, for everything that looks at an
// experiment from outside its run: ExperimentAnalysis::load, `tune ls` (also --watch) and
// `tune analyze`.
//
// It works on a finished, a running and a killed (SIGKILL, crash) experiment alike:
//  * the trials and their statuses come from the stored state (the snapshot plus the journal's
//    tail, replayed by read_stored_experiment in experiment_state.h; a torn last journal line
//    of a live or killed run is ignored there);
//  * the run's metric and mode come from the head record (or, when the run set none, from a
//    scheduler or searcher of its `tune run` spec that did);
//  * an unfinished trial's latest result, and its metric statistics, come from its own
//    result.json, which the trial writes as it reports (the journal holds no results), so a
//    RUNNING trial shows its metrics;
//  * without a journal or snapshot (write_experiment_state off) the trial directories
//    (params.json, result.json, error.txt) are read instead.
// Reading never writes and never takes a lock, so it may run beside the run that writes.
// Thread-safety: the functions share no state.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tune/analysis.h"
#include "tune/json.h"

namespace tune::detail {

struct ExperimentOnDisk {
  std::filesystem::path dir;
  std::string metric;  // the run's metric ("" when it had none)
  std::string mode;    // the run's mode: "min", "max" or ""
  // Finished trials in the order they ended, then unfinished ones in the order they were added.
  std::vector<TrialRecord> trials;
  bool has_state = false;  // read from a journal/snapshot (false: rebuilt from trial directories)
  // The run ended by itself. False while it runs and after a kill: only `tune resume` tells
  // the two apart by continuing it; a live viewer waits for this to turn true.
  bool completed = false;
  std::optional<std::filesystem::file_time_type> last_update;  // newest state or result file
  // Trials left out because a path of theirs leads outside (state_paths.h), one line each;
  // read_experiment also prints them to stderr.
  std::vector<std::string> warnings;
  // The scheduler's saved state as last journaled (its save(): ASHA's rungs, PBT's exploits);
  // null without state files or a scheduler that saves none.
  Json scheduler_state;
};

// True when `dir` holds a journal, a snapshot, or a trial directory with params.json.
bool is_experiment_dir(const std::filesystem::path& dir);

// Reads the experiment in `dir`. Throws TuneError naming the file for a state that cannot be
// read (a damaged journal, a snapshot of a newer version), or when `dir` holds no experiment.
ExperimentOnDisk read_experiment(const std::filesystem::path& dir);

// The metric and mode a run stored about itself: the head record's, else those of the
// scheduler or searcher of the `tune run` spec kept in it (see read_experiment).
std::pair<std::string, std::string> run_metric_and_mode(const Json& header);

}  // namespace tune::detail
