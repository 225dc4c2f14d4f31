// `tune dashboard`: see dashboard_command.h. The server and API are in src/dashboard/.
#include "cli/dashboard_command.h"

#include <pthread.h>

#include <csignal>
#include <cstdlib>
#include <ostream>

#include "cli/commands.h"
#include "dashboard/dashboard_server.h"

namespace tune::cli {
namespace {

std::string expand_home(const std::string& path) {
  if (path != "~" && !path.starts_with("~/")) return path;
  const char* home = std::getenv("HOME");
  return (home ? std::string(home) : std::string()) + path.substr(1);
}

}  // namespace

int dashboard_command(const DashboardArgs& args, std::ostream& out, std::ostream& err) {
  // Block the stop signals before the server's threads start (they inherit the mask), then
  // wait for one here: the server stops cleanly instead of dying inside a request.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  dashboard::DashboardServer server({expand_home(args.path), args.host, args.port});
  server.start();
  out << "tune dashboard: serving " << expand_home(args.path) << " (read-only) at " << server.url() << std::endl;
  if (args.host != "127.0.0.1" && args.host != "localhost" && args.host != "::1")
    err << "tune dashboard: warning: listening on " << args.host
        << ": anyone who can reach this address can read the experiments (there is no login)\n";
  int signal = 0;
  sigwait(&stop_signals, &signal);
  server.stop();
  out << "tune dashboard: stopped\n";
  return kExitOk;
}

}  // namespace tune::cli
