// The dashboard beside a running experiment: serve_beside() from C++ (the running trials seen
// through the API while they run, the server gone when the run ends), `dashboard:` in a spec, and
// `tune run --dashboard`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <fstream>

#include "dashboard/dashboard_fixtures.h"
#include "dashboard/dashboard_server.h"
#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "support/tune_cli.h"
#include "tune/dashboard.h"
#include "tune/spec.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using testing::TempDir;

TEST(DashboardBesideTest, ServesTheRunningExperimentAndStopsWhenTheRunEnds) {
  TempDir root;
  RunOptions options = testing::quiet_options(root, "beside");
  options.config = Space{{"x", grid_search({1, 2})}};
  options.metric = "loss";
  options.mode = "min";
  std::string url;
  std::atomic<int> port{0};
  options.callbacks.push_back(dashboard::dashboard_callback({{}, "127.0.0.1", 0}, [&](const std::string& u) {
    url = u;
    port = std::stoi(u.substr(u.rfind(':') + 1));
  }));
  // Each trial reports, then asks the dashboard what it sees of the experiment while it runs.
  std::atomic<int> saw_running{0};
  run(
      [&](const Config& config, Reporter& reporter) {
        reporter.report({{"loss", config["x"].get<double>()}});
        httplib::Client client("127.0.0.1", port.load());
        for (int attempt = 0; attempt < 100; ++attempt) {
          const httplib::Result page = client.Get("/api/experiments/beside/trials?status=RUNNING");
          if (page && page->status == 200 && Json::parse(page->body)["total"].get<int>() > 0) {
            ++saw_running;
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      },
      options);
  EXPECT_THAT(url, MatchesRegex(R"(http://127\.0\.0\.1:[0-9]+/)"));
  EXPECT_EQ(saw_running, 2) << "the trials did not see themselves RUNNING through the dashboard";
  httplib::Client after("127.0.0.1", port.load());
  after.set_connection_timeout(std::chrono::seconds(1));
  EXPECT_FALSE(after.Get("/api/experiments")) << "still serving after the run ended";
}

TEST(DashboardBesideTest, AnAddressInUseFailsTheRunBeforeAnyTrialStarts) {
  TempDir root;
  testing::write_running_experiment(root.path() / "other");
  dashboard::DashboardServer other({root.path() / "other", "127.0.0.1", 0});
  other.start();
  RunOptions options = testing::quiet_options(root, "second");
  dashboard::serve_beside(options, {{}, "127.0.0.1", other.port()});
  std::atomic<int> trials{0};
  try {
    run(
        [&](const Config&, Reporter& reporter) {
          ++trials;
          reporter.report({{"loss", 1}});
        },
        options);
    ADD_FAILURE() << "ran although the dashboard's port is taken";
  } catch (const TuneError& error) {
    EXPECT_THAT(error.what(), HasSubstr("cannot listen on 127.0.0.1:" + std::to_string(other.port())));
  }
  EXPECT_EQ(trials, 0);
}

TEST(DashboardBesideTest, TheSpecKeyIsTrueOrHostAndPort) {
  const std::string base = "trainable: {command: [sh, -c, 'echo 1'], protocol: plain}\n";
  auto served = [&](const std::string& line) {
    return dashboard::dashboard_options(parse_run_spec(base + line).json.value("dashboard", Json()));
  };
  EXPECT_FALSE(served(""));
  EXPECT_FALSE(served("dashboard: false\n"));
  const std::optional<dashboard::DashboardOptions> on = served("dashboard: true\n");
  ASSERT_TRUE(on);
  EXPECT_EQ(on->host, "127.0.0.1");
  EXPECT_EQ(on->port, 8265);
  const std::optional<dashboard::DashboardOptions> custom = served("dashboard: {host: 0.0.0.0, port: 0}\n");
  ASSERT_TRUE(custom);
  EXPECT_EQ(custom->host, "0.0.0.0");
  EXPECT_EQ(custom->port, 0);
  auto error_of = [&](const std::string& line) -> std::string {
    try {
      parse_run_spec(base + line);
    } catch (const SpecError& error) {
      return error.what();
    }
    return "no error";
  };
  EXPECT_THAT(error_of("dashboard: {port: 70000}\n"), HasSubstr("dashboard/port: must be in [0, 65535]"));
  EXPECT_THAT(error_of("dashboard: {prot: 1}\n"), HasSubstr("did you mean 'port'"));
  EXPECT_THAT(error_of("dashboard: yes please\n"), HasSubstr("dashboard: must be true/false or a mapping"));
  EXPECT_THAT(error_of("dashboard: {host: ''}\n"), HasSubstr("dashboard/host: must not be empty"));
}

#ifdef TUNE_CLI_PATH
TEST(DashboardBesideTest, TuneRunDashboardPrintsItsUrlAndEndsWithTheRun) {
  TempDir dir;
  std::ofstream(dir.path() / "spec.yaml") << "name: live\n"
                                             "trainable: {command: [sh, -c, 'echo 1'], protocol: plain}\n"
                                             "local_dir: results\nverbose: 0\n";
  const testing::Outcome o = testing::tune_cli({"run", "spec.yaml", "--dashboard-port", "0"}, dir.path());
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, MatchesRegex(R"((.|\n)*tune dashboard: serving live at http://127\.0\.0\.1:[0-9]+/(.|\n)*)"));
  const testing::Outcome bad =
      testing::tune_cli({"run", "spec.yaml", "--dashboard-port", "70000", "--overwrite"}, dir.path());
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("port"));
}
#endif

}  // namespace
}  // namespace tune
