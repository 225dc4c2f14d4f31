// The `tune` subcommands. Each returns the process exit code (kExit*) and reports misuse by
// throwing tune::TuneError, which main() turns into kExitUsage.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "cli/table_view.h"

namespace tune::cli {

// Exit codes (docs/cli.md).
inline constexpr int kExitOk = 0;        // every trial finished (TERMINATED) / the command did its job
inline constexpr int kExitFailed = 1;    // a trial failed (raise_on_failed_trial), or no trial has the metric
inline constexpr int kExitUsage = 2;     // bad usage, bad spec, or an error before anything ran
inline constexpr int kExitInternal = 3;  // an unexpected error (a bug): please report it

struct RunArgs {
  std::string spec;
  std::vector<std::string> overrides;  // --set KEY=VALUE
  bool check_only = false;             // --check: validate and print the spec, run nothing
  bool overwrite = false;              // --overwrite: start over an existing experiment of the same name
  bool dashboard = false;              // --dashboard: serve the dashboard beside the run
  std::optional<int> dashboard_port;   // --dashboard-port (implies --dashboard)
  std::optional<std::string> dashboard_host;  // --dashboard-host (implies --dashboard)
};
int run_command(const RunArgs& args, std::ostream& out, std::ostream& err);

struct ResumeArgs {
  std::string experiment_dir;
  bool errored_only = false;  // --errored-only: run the trials that ended in ERROR again
};
int resume_command(const ResumeArgs& args, std::ostream& out, std::ostream& err);

struct LsArgs {
  std::string path;
  ViewOptions view;
  bool watch = false;                   // --watch: refresh until the experiment(s) finish or Ctrl-C
  double interval_s = 2.0;              // --interval: seconds between refreshes
  bool interval_given = false;          // --interval was on the command line
  std::optional<int64_t> count;         // --count: stop after this many listings
  bool clear_screen = false;            // stdout is a terminal: redraw in place
};
int ls_command(const LsArgs& args, std::ostream& out, std::ostream& err);

struct AnalyzeArgs {
  std::string experiment_dir;
  std::string metric;  // empty: the run's
  std::string mode;    // empty: the run's
  std::string scope = "last";
  std::string output = "text";  // text | json
};
int analyze_command(const AnalyzeArgs& args, std::ostream& out, std::ostream& err);

}  // namespace tune::cli
