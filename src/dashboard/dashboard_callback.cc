// The dashboard beside a running experiment (see tune/dashboard.h): a Callback that owns a
// DashboardServer for the run's directory from setup() to on_experiment_end().
#include <iostream>

#include "dashboard/dashboard_server.h"
#include "tune/dashboard.h"
#include "tune/error.h"
#include "tune/run.h"

namespace tune::dashboard {
namespace {

class DashboardCallback : public Callback {
 public:
  DashboardCallback(DashboardOptions options, std::function<void(const std::string&)> on_start)
      : options_(std::move(options)), on_start_(std::move(on_start)) {}

  // The experiment directory exists by now (run() creates it), its state files may not yet: the
  // server takes it as one experiment regardless.
  void setup(const ExperimentInfo& experiment) override {
    stop();  // a callback reused for a second run serves the new one
    DashboardOptions options = options_;
    options.path = experiment.dir;
    options.single_experiment = true;
    server_ = std::make_unique<DashboardServer>(options);
    server_->start();
    if (on_start_) {
      on_start_(server_->url());
    } else {
      std::cout << "tune dashboard: serving " << experiment.name << " at " << server_->url() << std::endl;
    }
  }
  void on_experiment_end() override { stop(); }
  ~DashboardCallback() override { stop(); }

 private:
  void stop() {
    if (server_) server_->stop();
    server_.reset();
  }

  DashboardOptions options_;
  std::function<void(const std::string&)> on_start_;
  std::unique_ptr<DashboardServer> server_;
};

}  // namespace

std::shared_ptr<Callback> dashboard_callback(DashboardOptions options,
                                             std::function<void(const std::string& url)> on_start) {
  return std::make_shared<DashboardCallback>(std::move(options), std::move(on_start));
}

std::optional<DashboardOptions> dashboard_options(const Json& spec_value) {
  if (spec_value.is_null() || spec_value == false) return std::nullopt;
  DashboardOptions options;
  if (spec_value.is_object()) {
    options.host = spec_value.value("host", options.host);
    options.port = spec_value.value("port", options.port);
  } else if (!spec_value.is_boolean()) {
    throw TuneError("dashboard: must be true/false or a mapping {host, port}, got " + spec_value.dump());
  }
  return options;
}

void serve_beside(RunOptions& run_options, DashboardOptions options) {
  run_options.callbacks.push_back(dashboard_callback(std::move(options)));
}

}  // namespace tune::dashboard
