// Internal: the paths an experiment's state files name are untrusted input.
//
// A journal, a snapshot or an upload pulled by `resume: REMOTE` may have been edited, damaged
// or written elsewhere, so every path read from one is checked before anything follows it:
// a trial directory must lie inside the experiment directory, a checkpoint directory inside its
// trial directory. The check is lexical first (no "..", no absolute path outside, nothing that
// is the base itself) and then physical: where the path exists, following its symlinks must
// not lead out of the base either. Resume refuses a state that fails (TuneError naming the
// record); readers (`tune ls`, `tune analyze`, ExperimentAnalysis, the dashboard) skip the trial
// with a warning. The readers and resume reach this through read_stored_experiment
// (experiment_state.h); the driver uses it for the checkpoint a plain program names.
// Thread-safety: plain functions.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/subprocess.h"  // UniqueFd
#include "tune/json.h"

namespace tune::detail {

// `stored` resolved against `base` when it stays inside it: `path` is set and `error` empty;
// else `error` says why ("leads outside ...", "goes through '..'", ...) and `path` is empty.
struct ContainedPath {
  std::filesystem::path path;
  std::string error;
  explicit operator bool() const { return error.empty(); }
};

// A path relative to `base` (or absolute, then it must be inside `base`), e.g. a trial's
// logdir against the experiment directory.
ContainedPath resolve_inside(const std::filesystem::path& base, std::string_view stored);

// resolve_inside for many paths against one base (a snapshot's 100,000 trial directories): the
// base is made absolute and resolved once, and a plain relative path ("train_0001_...") costs
// one lstat() per component instead of a full resolution; any path with a symlink on its way,
// or of another shape, takes resolve_inside's own steps. Same answers and messages. Holds a
// descriptor of the base while it lives.
class InsideChecker {
 public:
  explicit InsideChecker(const std::filesystem::path& base);
  ContainedPath resolve(std::string_view stored) const;

 private:
  ContainedPath resolve_general(std::string_view stored) const;
  std::filesystem::path root_;       // absolute, lexically normal
  std::filesystem::path real_root_;  // with its symlinks followed (empty when that failed)
  std::error_code real_root_error_;
  UniqueFd root_fd_;  // O_PATH: parts are looked up from here, not walked from "/" each time
};

// A checkpoint directory's name inside a trial directory: one plain name ("checkpoint_7"),
// not ".", "..", empty or holding a '/'. "" when it is one, else why not.
std::string checkpoint_name_error(std::string_view name);

// The paths of one trial's stored state — "logdir" against the experiment directory, and each
// "checkpoints"[].dir (an unfinished trial's) inside the trial directory: "" when all are safe,
// else "field 'logdir': why". A missing or empty logdir (a trial that never started) is safe.
std::string trial_paths_error(const std::filesystem::path& experiment_dir, const Json& trial);
std::string trial_paths_error(const InsideChecker& experiment_dir, const Json& trial);
// The same on fields already decoded: `logdir` ("" when none) and `checkpoints` (null when none).
std::string trial_paths_error(const InsideChecker& experiment_dir, std::string_view logdir, const Json* checkpoints);

// A checkpoint entry's "dir" (CheckpointEntry::to_json()): "" or "field 'dir': why".
std::string checkpoint_entry_error(const Json& checkpoint);

}  // namespace tune::detail
