// tune/spec.h — experiment spec files: what `tune run SPEC.yaml` runs, loadable from C++ too.
//
// A spec is a YAML (or JSON) mapping whose keys mirror RunOptions with the same names
// (docs/spec.md):
//
//   name: lr_sweep
//   trainable: {command: [python3, train.py, "--lr={lr}"], protocol: client}
//   config: {lr: {loguniform: [1.0e-4, 1.0e-1]}, layers: {grid_search: [16, 64]}}
//   num_samples: 4
//   stop: {training_iteration: 10}
//   metric: loss
//   mode: min
//
// The whole spec is checked before anything runs: an unknown key, a wrong type, a bad search
// space or a program that cannot be found throws SpecError whose message says where
// ("spec.yaml:12: config/lr: loguniform: ..." or "--set num_samples=x: ..."), and for an
// unknown key the closest valid one. Keys Ray Tune has but this version does not implement yet
// (unsupported_spec_keys()) are accepted at their default value and rejected otherwise.
// Thread-safety: the functions are reentrant; they read the environment (PATH) and files only.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "tune/error.h"
#include "tune/json.h"
#include "tune/run.h"
#include "tune/trainable.h"

namespace tune {

// A spec that cannot be run. what() = "<where>: <key>: <rule>"; the parts are kept for tools.
class SpecError : public TuneError {
 public:
  SpecError(const std::string& message, std::string source, int line, std::string key)
      : TuneError(message), source_(std::move(source)), line_(line), key_(std::move(key)) {}
  // The file name (as given), or the override ("--set num_samples=x") the error comes from.
  const std::string& source() const { return source_; }
  // 1-based line in the file; 0 when there is none (an override, a missing key).
  int line() const { return line_; }
  // The spec path the error is about ("config/lr", "num_samples"); empty for the whole spec.
  const std::string& key() const { return key_; }

 private:
  std::string source_;
  int line_;
  std::string key_;
};

// A checked spec, ready for tune::run(spec.trainable, spec.options).
struct RunSpec {
  TrainableSpec trainable;  // a process trainable (tune/process.h)
  RunOptions options;
  // The spec after overrides, as JSON (what was run; handy for logging).
  Json json;
  // Things that are valid but look like mistakes ("config/lr: 'logunifrom' is no search space
  // form (did you mean 'loguniform'?); it is kept as a nested value").
  std::vector<std::string> warnings;
};

// Where parse_run_spec reads from, and what it overrides.
struct SpecSource {
  // Shown in messages ("spec.yaml"); also the file name the line numbers refer to.
  std::string name = "<spec>";
  // Relative program paths (trainable.command[0] with a '/', trainable.binary) and
  // trainable.working_dir are taken relative to this; empty = the current directory.
  std::filesystem::path base_dir;
  // "key=value" overrides applied before the spec is checked: the key is a path with '.' or
  // '/' separators ("config.lr", "stop/training_iteration", "trainable.command.2"), the value
  // is YAML ("0.1", "true", "[1, 2]", "{grid_search: [1, 2]}"; quoted stays a string).
  std::vector<std::string> overrides;
};

// Parses and checks the spec text. Throws SpecError.
RunSpec parse_run_spec(const std::string& text, const SpecSource& source = {});
// Reads `file` (base_dir = its directory, name = the path as given) and parses it. Throws
// SpecError, also when the file cannot be read.
RunSpec load_run_spec(const std::filesystem::path& file, const std::vector<std::string>& overrides = {});

// The top-level keys a spec accepts, sorted.
const std::vector<std::string>& run_spec_keys();
// The keys that are accepted but only at their default value in this version (none now:
// reuse_actors, which a spec's process trainables cannot use, is refused with its reason).
const std::vector<std::string>& unsupported_spec_keys();

}  // namespace tune
