// `tune run SPEC.yaml [--set KEY=VALUE ...]`: load and check the spec, run it, map the outcome to
// an exit code.
#include <fmt/format.h>

#include <csignal>
#include <filesystem>
#include <ostream>

#include "analysis/experiment_state.h"
#include "cli/commands.h"
#include "runner/signals.h"
#include "tune/dashboard.h"
#include "tune/error.h"
#include "tune/run.h"
#include "tune/spec.h"

namespace tune::cli {
namespace {

constexpr size_t kMaxFailedShown = 20;

}  // namespace

// Runs a parsed spec and maps the outcome to an exit code; `served`: the dashboard beside it.
int run_and_report(RunSpec& spec, std::ostream& out, std::ostream& err, const std::string& command,
                   const std::optional<dashboard::DashboardOptions>& served);

int run_command(const RunArgs& args, std::ostream& out, std::ostream& err) {
  RunSpec spec = load_run_spec(args.spec, args.overrides);
  for (const std::string& warning : spec.warnings) err << "tune run: warning: " << warning << "\n";
  if (args.check_only) {
    out << spec.json.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    out << fmt::format("{}: OK: trainable '{}', nothing was run (--check)\n", args.spec, spec.trainable.name);
    return kExitOk;
  }

  if (args.overwrite) spec.options.overwrite = true;
  std::optional<dashboard::DashboardOptions> served = dashboard::dashboard_options(spec.json.value("dashboard", Json()));
  if (args.dashboard || args.dashboard_port || args.dashboard_host) {
    if (!served) served.emplace();
    if (args.dashboard_port) served->port = *args.dashboard_port;
    if (args.dashboard_host) served->host = *args.dashboard_host;
  }
  // Kept in the experiment state: `tune resume DIR` rebuilds the trainable from it.
  std::error_code ec;
  spec.options.source_spec = {{"spec", spec.json},
                              {"base_dir", std::filesystem::absolute(std::filesystem::path(args.spec).parent_path(), ec)
                                               .lexically_normal()
                                               .string()}};
  return run_and_report(spec, out, err, "tune run", served);
}

int run_and_report(RunSpec& spec, std::ostream& out, std::ostream& err, const std::string& command,
                   const std::optional<dashboard::DashboardOptions>& served) {
  (void)out;
  // The failed-trial check is done here rather than by run(), so that a failed trial is exit 1
  // while every TuneError out of run() is a misuse (exit 2).
  const bool raise_on_failed_trial = spec.options.raise_on_failed_trial;
  spec.options.raise_on_failed_trial = false;
  spec.options.handle_signals = true;  // Ctrl-C stops gracefully; a second one forces
  if (served) dashboard::serve_beside(spec.options, *served);
  const ExperimentAnalysis analysis = run(spec.trainable, std::move(spec.options));
  if (analysis.interrupted()) {
    err << fmt::format("Resume with: tune resume {}\n", analysis.experiment_dir().string());
    // As a shell reports a program ended by the signal (130 for SIGINT), so scripts stop too.
    const int signal = analysis.interrupt_signal().value_or(0);
    return detail::exit_code_for_signal(signal != 0 ? signal : SIGINT);
  }

  std::vector<const TrialRecord*> unfinished;
  for (const TrialRecord& trial : analysis.trials()) {
    if (trial.status() != TrialStatus::kTerminated) unfinished.push_back(&trial);
  }
  if (unfinished.empty()) return kExitOk;
  err << fmt::format("{}: {} of {} trials did not complete:\n", command, unfinished.size(), analysis.trials().size());
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

int resume_command(const ResumeArgs& args, std::ostream& out, std::ostream& err) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(args.experiment_dir).lexically_normal();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw TuneError(fmt::format("{}: is not an experiment directory", args.experiment_dir));
  if (!detail::has_stored_experiment(dir)) {
    throw TuneError(fmt::format("{}: holds no experiment state ({} or {})", args.experiment_dir, detail::kJournalFile,
                                detail::kSnapshotFile));
  }
  const Json source = detail::read_stored_experiment(dir).header.value("source", Json());
  if (!source.is_object() || !source.contains("spec")) {
    throw TuneError(fmt::format("{}: was not started by `tune run` (its state holds no spec); resume it from the "
                                "program that started it, with resume=true",
                                args.experiment_dir));
  }
  SpecSource from;
  from.name = (dir / detail::kSnapshotFile).string() + " (stored spec)";
  from.base_dir = source.value("base_dir", "");
  RunSpec spec = parse_run_spec(source["spec"].dump(), from);
  for (const std::string& warning : spec.warnings) err << "tune resume: warning: " << warning << "\n";
  spec.options.local_dir = fs::absolute(dir, ec).parent_path().string();
  spec.options.name = fs::absolute(dir, ec).filename().string();
  spec.options.resume = args.errored_only ? "ERRORED_ONLY" : "LOCAL";
  spec.options.source_spec = source;
  return run_and_report(spec, out, err, "tune resume", dashboard::dashboard_options(spec.json.value("dashboard", Json())));
}

}  // namespace tune::cli
