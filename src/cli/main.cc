// The `tune` command: parses the command line and maps every outcome to an exit code. The work
// itself is in the library (tune::load_run_spec, tune::run, tune::ExperimentAnalysis).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <exception>
#include <iostream>

#include "cli/commands.h"
#include "cli/dashboard_command.h"
#include "common/strings.h"
#include "tune/error.h"

namespace {

using namespace tune::cli;

constexpr const char* kExitCodes =
    "Exit codes:\n"
    "  0  success (tune run: every trial TERMINATED)\n"
    "  1  tune run: a trial did not complete (raise_on_failed_trial, the default);\n"
    "     tune analyze: no trial reported a finite value of the metric\n"
    "  2  bad usage, bad spec, or an error before anything ran\n"
    "  3  unexpected internal error\n"
    "  129/130/143  tune run, tune resume: stopped by SIGHUP/SIGINT (Ctrl-C)/SIGTERM; the state is\n"
    "     saved and `tune resume DIR` continues it\n";

void add_view_options(CLI::App& command, ViewOptions& view) {
  command.add_option("--sort", view.sort, "Sort by this column");
  command.add_flag("--desc", view.descending, "Sort in descending order");
  command
      .add_option("--filter", view.filters,
                  "Keep rows where \"COLUMN OP VALUE\" holds (OP: == != < <= > >=); repeatable")
      ->allow_extra_args(false);
  command.add_option("--columns", view.columns, "Comma-separated columns to show (any column of --output json)")
      ->delimiter(',');
  command.add_option("--limit", view.limit, "Show at most N rows (after --filter and --sort)");
  command.add_option("--output,-o", view.output, "table (default), csv or json");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tune: run hyperparameter searches and inspect their results.", "tune"};
  app.footer(kExitCodes);
  app.require_subcommand(1);

  RunArgs run_args;
  CLI::App* run = app.add_subcommand("run", "Run the experiment described by a spec file (docs/spec.md)");
  run->add_option("spec", run_args.spec, "The spec file (YAML or JSON)")->required();
  run->add_option("--set", run_args.overrides,
                  "Override a spec value before it is checked: KEY=VALUE, KEY a path like config.lr or "
                  "stop/training_iteration, VALUE in YAML; repeatable")
      ->allow_extra_args(false);
  run->add_flag("--check", run_args.check_only, "Check the spec and print it as JSON; run nothing");
  run->add_flag("--overwrite", run_args.overwrite,
                "Start over when the experiment's directory already holds one (its state is replaced)");
  run->add_flag("--dashboard", run_args.dashboard,
                "Serve the experiment's dashboard while it runs (docs/dashboard.md); stops when the run ends");
  run->add_option("--dashboard-port", run_args.dashboard_port, "Port of --dashboard (8265; 0: any free port)");
  run->add_option("--dashboard-host", run_args.dashboard_host, "Address of --dashboard (127.0.0.1: this machine only)");
  run->footer(kExitCodes);

  ResumeArgs resume_args;
  CLI::App* resume = app.add_subcommand(
      "resume", "Continue an experiment started by `tune run` that was interrupted (killed, crashed, stopped)");
  resume->add_option("experiment_dir", resume_args.experiment_dir, "The experiment directory")->required();
  resume->add_flag("--errored-only", resume_args.errored_only,
                   "Also run the trials that ended in ERROR again, with the same config");
  resume->footer(kExitCodes);

  LsArgs ls_args;
  CLI::App* ls =
      app.add_subcommand("ls", "List a results root (one row per experiment) or an experiment (one row per trial)");
  ls->add_option("path", ls_args.path, "A results root (e.g. ~/tune_results) or an experiment directory")->required();
  add_view_options(*ls, ls_args.view);
  ls->add_flag("--watch,-w", ls_args.watch,
               "Refresh the listing until the experiment(s) finish or Ctrl-C (a live run's progress)");
  CLI::Option* interval = ls->add_option("--interval", ls_args.interval_s, "Seconds between refreshes of --watch (2)");
  ls->add_option("--count", ls_args.count, "Stop --watch after this many listings");
  ls->footer(kExitCodes);

  AnalyzeArgs analyze_args;
  CLI::App* analyze = app.add_subcommand("analyze", "Show the best trial of an experiment: its config and logdir");
  analyze->add_option("experiment_dir", analyze_args.experiment_dir, "The experiment directory")->required();
  analyze->add_option("--metric", analyze_args.metric, "The metric to rank by (default: the run's)");
  analyze->add_option("--mode", analyze_args.mode, "min or max (default: the run's)");
  analyze->add_option("--scope", analyze_args.scope, "last (default), avg, last-5-avg, last-10-avg or all");
  analyze->add_option("--output,-o", analyze_args.output, "text (default) or json");
  analyze->footer(kExitCodes);

  DashboardArgs dashboard_args;
  CLI::App* dashboard =
      app.add_subcommand("dashboard", "Serve a read-only web page of a results root or experiment (docs/dashboard.md)");
  dashboard->add_option("path", dashboard_args.path, "A results root or an experiment directory (~/tune_results)");
  dashboard->add_option("--host", dashboard_args.host, "Address to listen on (127.0.0.1: this machine only)");
  dashboard->add_option("--port", dashboard_args.port, "Port to listen on (8265; 0: any free port)");
  dashboard->footer(kExitCodes);

  // CLI11 reports a mistyped command as a missing one; name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    const std::vector<std::string> commands = {"run", "resume", "ls", "analyze", "dashboard"};
    if (std::find(commands.begin(), commands.end(), argv[1]) == commands.end()) {
      std::cerr << "tune: unknown command '" << argv[1] << "'" << tune::did_you_mean(argv[1], commands)
                << "; commands: run, resume, ls, analyze, dashboard (tune --help)\n";
      return kExitUsage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message and a --help hint
    return kExitUsage;
  }

  const std::string name = std::string("tune ") + app.get_subcommands().front()->get_name();
  try {
    if (run->parsed()) return run_command(run_args, std::cout, std::cerr);
    if (resume->parsed()) return resume_command(resume_args, std::cout, std::cerr);
    if (ls->parsed()) {
      ls_args.interval_given = interval->count() > 0;
      ls_args.clear_screen = ::isatty(STDOUT_FILENO) != 0;
      return ls_command(ls_args, std::cout, std::cerr);
    }
    if (dashboard->parsed()) return dashboard_command(dashboard_args, std::cout, std::cerr);
    return analyze_command(analyze_args, std::cout, std::cerr);
  } catch (const tune::TuneError& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << name << ": internal error: " << e.what() << "\n";
    return kExitInternal;
  } catch (...) {
    std::cerr << name << ": internal error: unknown exception\n";
    return kExitInternal;
  }
}
