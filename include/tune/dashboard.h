// tune/dashboard.h — the web dashboard (docs/dashboard.md) beside a running experiment.
//
// `tune dashboard DIR` serves finished, running and killed experiments from their files;
// serve_beside() starts the same read-only server for the experiment a tune::run() call is running:
// it binds when the run sets up, prints its URL, serves the experiment live (through the reader
// `tune ls` uses) and stops when the run ends, also after Ctrl-C or an error. The functions are
// implemented in the tune_dashboard library (it links cpp-httplib): the core library `tune` does
// not need it, and DashboardOptions is a plain struct that specs carry. Thread-safety:
// serve_beside() and dashboard_callback() are reentrant; the server answers requests on threads of
// its own and only reads files.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "tune/callback.h"
#include "tune/json.h"

namespace tune {

struct RunOptions;

namespace dashboard {

struct DashboardOptions {
  // A results root or one experiment directory (`tune dashboard`); ignored beside a run, which
  // serves the run's own experiment directory.
  std::filesystem::path path;
  std::string host = "127.0.0.1";  // the address to bind (loopback: only this machine can connect)
  int port = 8265;                 // 0: any free port
  // Serve `path` as one experiment even when it holds no state yet (a run's directory at setup).
  bool single_experiment = false;
};

// The Callback that serves the run's experiment: binds at setup() and prints "tune dashboard:
// serving EXPERIMENT at URL" on `out` (default: stdout), stops at on_experiment_end() or when
// destroyed. setup() throws TuneError naming host and port when the address cannot be bound (before
// any trial starts).
std::shared_ptr<Callback> dashboard_callback(DashboardOptions options = {},
                                             std::function<void(const std::string& url)> on_start = {});

// The options a checked spec's `dashboard:` value asks for (RunSpec::json["dashboard"]: true, or
// {host, port}); nullopt for false or none. Throws TuneError for a value the spec checker refuses.
std::optional<DashboardOptions> dashboard_options(const Json& spec_value);

// Adds dashboard_callback(options) to run_options.callbacks: tune::run(trainable, run_options) then
// serves its experiment while it runs.
void serve_beside(RunOptions& run_options, DashboardOptions options = {});

}  // namespace dashboard
}  // namespace tune
