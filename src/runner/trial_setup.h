// Internal: what the runner prepares for a trial and writes of it itself — its directory
// (named after the trial, bounded and sanitised, made unique), the executor's start request,
// error.txt, and the tidying of its logs after an error. Failures to write error.txt or to
// tidy are warnings; the trial's state is the runner's. Thread-safety: plain functions.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "executors/executor.h"
#include "sync/syncer.h"
#include "trial/trial.h"
#include "tune/trial.h"

namespace tune::detail {

// Creates <experiment_dir>/<name>/ for `trial`: the name from `dirname_creator` when set, else
// <trial name>_<tag>_<date>; a random suffix when that exists already. Throws on a file error.
std::filesystem::path make_trial_dir(const std::filesystem::path& experiment_dir, const Trial& trial,
                                     const std::function<std::string(const TrialView&)>& dirname_creator);

// The start request of `trial`, whose restore fields prepare_restart (checkpoint_coordinator.h)
// has filled in: its config and trial info, and with sync_to_driver (`driver_sync`) the push of
// the checkpoint it restores from to the node it will run on.
void fill_start_request(StartRequest& request, const Trial& trial, const TrainableSpec& trainable,
                        const std::string& experiment_id, const std::optional<SyncCommand>& driver_sync,
                        double sync_timeout_s);

// Appends the failure to <logdir>/error.txt ("Failure # <n> (occurred at <date>)").
void write_error_file(const Trial& trial, const std::string& error);

// A trial that ended in ERROR: a failed write (a full disk) may have left a torn last line in
// its logs; it is cut, so what stays reads.
void tidy_logs_after_error(const Trial& trial);

}  // namespace tune::detail
