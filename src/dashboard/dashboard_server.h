// Internal: the HTTP server of `tune dashboard`: the pages (embedded in the binary) and the
// JSON API of dashboard_api.h under /api/, GET only.
//
// It binds to loopback unless told otherwise and answers every other method with 405; a
// request never names a file (see dashboard_api.h), so it cannot read outside the served root.
// Thread-safety: start() and stop() from one thread; requests are served on httplib's pool.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "tune/dashboard.h"  // DashboardOptions

namespace tune::dashboard {


class DashboardServer {
 public:
  // Throws TuneError when `options.path` is neither a directory nor an experiment.
  explicit DashboardServer(DashboardOptions options);
  ~DashboardServer();  // stops the server
  DashboardServer(const DashboardServer&) = delete;
  DashboardServer& operator=(const DashboardServer&) = delete;

  // Binds and serves on a background thread. Throws TuneError naming host and port when the
  // address cannot be bound.
  void start();
  // Stops serving and joins the thread; idempotent.
  void stop();
  int port() const { return port_; }
  // http://HOST:PORT/ (IPv6 hosts in brackets).
  std::string url() const;

 private:
  struct Impl;
  DashboardOptions options_;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  int port_ = 0;
};

// The embedded pages: index.html, app.js, app.css (dashboard_assets.cc). nullptr for another name.
const char* dashboard_asset(const std::string& name);

}  // namespace tune::dashboard
