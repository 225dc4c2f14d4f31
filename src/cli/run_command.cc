// `tune run SPEC.yaml [--set KEY=VALUE ...]`: load and check the spec, run it, map the outcome to
// an exit code.
#include <fmt/format.h>

#include <ostream>

#include "cli/commands.h"
#include "tune/run.h"
#include "tune/spec.h"

namespace tune::cli {
namespace {

constexpr size_t kMaxFailedShown = 20;

}  // namespace

int run_command(const RunArgs& args, std::ostream& out, std::ostream& err) {
  RunSpec spec = load_run_spec(args.spec, args.overrides);
  for (const std::string& warning : spec.warnings) err << "tune run: warning: " << warning << "\n";
  if (args.check_only) {
    out << spec.json.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    out << fmt::format("{}: OK: trainable '{}', nothing was run (--check)\n", args.spec, spec.trainable.name);
    return kExitOk;
  }

  // The failed-trial check is done here rather than by run(), so that a failed trial is exit 1
  // while every TuneError out of run() is a misuse (exit 2).
  const bool raise_on_failed_trial = spec.options.raise_on_failed_trial;
  spec.options.raise_on_failed_trial = false;
  const ExperimentAnalysis analysis = run(spec.trainable, std::move(spec.options));

  std::vector<const TrialRecord*> unfinished;
  for (const TrialRecord& trial : analysis.trials()) {
    if (trial.status() != TrialStatus::kTerminated) unfinished.push_back(&trial);
  }
  if (unfinished.empty()) return kExitOk;
  err << fmt::format("tune run: {} of {} trials did not complete:\n", unfinished.size(), analysis.trials().size());
  for (size_t i = 0; i < unfinished.size() && i < kMaxFailedShown; ++i) {
    const TrialRecord& trial = *unfinished[i];
    const bool has_error_file = trial.status() == TrialStatus::kError && !trial.logdir().empty();
    err << fmt::format("  {} ({}){}\n", trial.name(), to_string(trial.status()),
                       has_error_file ? ": " + (trial.logdir() / "error.txt").string() : "");
  }
  if (unfinished.size() > kMaxFailedShown)
    err << fmt::format("  ... and {} more\n", unfinished.size() - kMaxFailedShown);
  err << fmt::format("Results: {}\n", analysis.experiment_dir().string());
  return raise_on_failed_trial ? kExitFailed : kExitOk;
}

}  // namespace tune::cli
