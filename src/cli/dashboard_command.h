// `tune dashboard [DIR_OR_ROOT] [--host H] [--port P]`: serves the read-only web dashboard of a
// results root or one experiment (docs/dashboard.md) until SIGINT or SIGTERM.
#pragma once

#include <iosfwd>
#include <string>

namespace tune::cli {

struct DashboardArgs {
  std::string path = "~/tune_results";  // a results root or an experiment directory
  std::string host = "127.0.0.1";       // loopback by default: nothing else can connect
  int port = 8265;                      // 0: any free port
};
int dashboard_command(const DashboardArgs& args, std::ostream& out, std::ostream& err);

}  // namespace tune::cli
