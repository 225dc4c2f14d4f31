// Tests of `tune dashboard`'s JSON API over HTTP: a server on an ephemeral loopback port
// serving a real finished experiment (tune::run) and hand-made files around it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "dashboard/dashboard_api.h"
#include "dashboard/dashboard_server.h"
#include "dashboard/dashboard_fixtures.h"
#include "tune/error.h"

namespace tune {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::TempDir;

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// Six trials of a grid over lr and layers, five results each; loss falls with lr and is
// decided by it alone. The trial with layers 2 and lr 0.001 fails at its third step.
void run_experiment(const TempDir& root, const std::string& name = "exp") {
  testing::run_grid(root, name, Space{{"lr", grid_search({0.1, 0.01, 0.001})}, {"layers", grid_search({1, 2})}}, 5,
                    [](const Config& config, Reporter& reporter) {
                      const double lr = config["lr"].get<double>();
                      for (int i = 1; i <= 5; ++i) {
                        if (config["layers"] == 2 && lr < 0.005 && i == 3) throw std::runtime_error("diverged at step 3");
                        reporter.report({{"loss", lr * 100 / i}, {"accuracy", 1 - lr}});
                      }
                    });
}

Json get_json(httplib::Client& client, const std::string& path, int expected_status = 200) {
  const httplib::Result response = client.Get(path.c_str());
  if (!response) {
    ADD_FAILURE() << "no response to " << path;
    return nullptr;
  }
  EXPECT_EQ(response->status, expected_status) << path << ": " << response->body;
  return Json::parse(response->body, nullptr, false);
}

class DashboardApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    run_experiment(root_);
    server_ = std::make_unique<dashboard::DashboardServer>(dashboard::DashboardOptions{root_.path(), "127.0.0.1", 0});
    server_->start();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }
  fs::path experiment() const { return root_.path() / "exp"; }
  // The trial directory of `trial_id`, from the API's own view.
  fs::path logdir_of(const std::string& trial_id) {
    return experiment() / get_json(*client_, "/api/experiments/exp/trials/" + trial_id)["logdir"].get<std::string>();
  }

  TempDir root_;
  std::unique_ptr<dashboard::DashboardServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(DashboardApiTest, ListsTheExperimentWithStatusCountsBestMetricAndStartTime) {
  const Json list = get_json(*client_, "/api/experiments");
  ASSERT_EQ(list["experiments"].size(), 1u);
  const Json& exp = list["experiments"][0];
  EXPECT_EQ(exp["name"], "exp");
  EXPECT_EQ(exp["trials"], 6);
  EXPECT_EQ(exp["counts"]["TERMINATED"], 5);
  EXPECT_EQ(exp["counts"]["ERROR"], 1);
  EXPECT_EQ(exp["metric"], "loss");
  EXPECT_DOUBLE_EQ(exp["best"].get<double>(), 0.001 * 100 / 5);
  EXPECT_TRUE(exp["start_time"].is_number());
  EXPECT_TRUE(exp["completed"].get<bool>());
  const Json one = get_json(*client_, "/api/experiments/exp");
  EXPECT_EQ(one["best_trial"], exp["best_trial"]);
  EXPECT_EQ(one["params"].size(), 2u);
  EXPECT_THAT(one["metrics"].dump(), HasSubstr("\"accuracy\""));
  EXPECT_FALSE(one["best_so_far"].empty());
  // Five trials ran their five steps, the failed one ended after two.
  EXPECT_EQ(one["ended_at"], Json::parse("[[2, 1], [5, 5]]"));
}

TEST_F(DashboardApiTest, TheTrialTableSortsFiltersAndPaginates) {
  const Json best_first = get_json(*client_, "/api/experiments/exp/trials?limit=2");
  EXPECT_EQ(best_first["total"], 6);
  ASSERT_EQ(best_first["trials"].size(), 2u);
  EXPECT_LE(best_first["trials"][0]["score"].get<double>(), best_first["trials"][1]["score"].get<double>());
  const Json second_page = get_json(*client_, "/api/experiments/exp/trials?limit=2&offset=2");
  EXPECT_LE(best_first["trials"][1]["score"].get<double>(), second_page["trials"][0]["score"].get<double>());
  const Json errors = get_json(*client_, "/api/experiments/exp/trials?status=ERROR");
  ASSERT_EQ(errors["total"], 1);
  EXPECT_EQ(errors["trials"][0]["config"]["layers"], 2);
  const Json by_lr = get_json(*client_, "/api/experiments/exp/trials?sort=config/lr&order=desc");
  EXPECT_EQ(by_lr["trials"][0]["config"]["lr"], 0.1);
  const Json filtered = get_json(*client_, "/api/experiments/exp/trials?config=layers%3D1");
  EXPECT_EQ(filtered["total"], 3);
  // Clauses combine with each other and with the status: lr in [0.001, 0.01] and layers 2 ran
  // two trials, of which the one with lr 0.001 failed.
  const std::string range = "config=0.001%3C%3Dlr%3C%3D0.01&config=layers%3D2";
  EXPECT_EQ(get_json(*client_, "/api/experiments/exp/trials?" + range)["total"], 2);
  const Json both = get_json(*client_, "/api/experiments/exp/trials?status=TERMINATED&" + range);
  ASSERT_EQ(both["total"], 1);
  EXPECT_EQ(both["trials"][0]["config"]["lr"], 0.01);
  EXPECT_EQ(get_json(*client_, "/api/experiments/exp/trials?config=lr%3E0.05")["total"], 2);
  EXPECT_THAT(get_json(*client_, "/api/experiments/exp/trials?config=lr%3Ex", 400)["error"].get<std::string>(),
              HasSubstr("needs a number"));
  EXPECT_THAT(get_json(*client_, "/api/experiments/exp/trials?limit=0", 400)["error"].get<std::string>(),
              HasSubstr("limit"));
  EXPECT_THAT(get_json(*client_, "/api/experiments/exp/trials?status=DONE", 400)["error"].get<std::string>(),
              HasSubstr("status"));
  EXPECT_THAT(get_json(*client_, "/api/experiments/exp/trials?offset=x", 400)["error"].get<std::string>(),
              HasSubstr("offset"));
}

TEST_F(DashboardApiTest, ResultsSinceReturnOnlyTheResultsNotYetRead) {
  const std::string id = get_json(*client_, "/api/experiments/exp/trials?limit=1")["trials"][0]["trial_id"];
  const Json all = get_json(*client_, "/api/experiments/exp/trials/" + id + "/results");
  ASSERT_EQ(all["results"].size(), 5u);
  EXPECT_EQ(all["next"], 5);
  EXPECT_TRUE(get_json(*client_, "/api/experiments/exp/trials/" + id + "/results?since=5")["results"].empty());
  std::ofstream(logdir_of(id) / "result.json", std::ios::app) << R"({"loss": 0.0001, "training_iteration": 6})"
                                                              << "\n";
  const Json more = get_json(*client_, "/api/experiments/exp/trials/" + id + "/results?since=5");
  ASSERT_EQ(more["results"].size(), 1u);
  EXPECT_EQ(more["results"][0]["training_iteration"], 6);
  EXPECT_EQ(more["next"], 6);
  get_json(*client_, "/api/experiments/exp/trials/" + id + "/results?since=-1", 400);
}

TEST_F(DashboardApiTest, CurvesOfTheBestTrialsAreDownsampledToThePointsAsked) {
  const Json curves = get_json(*client_, "/api/experiments/exp/curves?metric=loss&points=3");
  ASSERT_EQ(curves["series"].size(), 6u);
  for (const Json& series : curves["series"]) {
    EXPECT_LE(series["points"].size(), 4u);
    EXPECT_GE(series["next"].get<int>(), 2);
  }
  const std::string id = curves["series"][0]["trial_id"];
  const Json one = get_json(*client_, "/api/experiments/exp/curves?metric=accuracy&trials=" + id);
  ASSERT_EQ(one["series"].size(), 1u);
  EXPECT_EQ(one["series"][0]["points"].size(), 5u);
  EXPECT_EQ(one["series"][0]["points"][0][0], 1) << "x is training_iteration";
  get_json(*client_, "/api/experiments/exp/curves?trials=nope", 404);
}

TEST_F(DashboardApiTest, ATrialShowsItsConfigLastResultErrorCheckpointsAndLogTails) {
  const std::string id = get_json(*client_, "/api/experiments/exp/trials?status=ERROR")["trials"][0]["trial_id"];
  write_file(logdir_of(id) / "stdout.log", std::string(20000, 'x') + "last line of stdout\n");
  fs::create_directories(logdir_of(id) / "checkpoint_000002");
  const Json trial = get_json(*client_, "/api/experiments/exp/trials/" + id);
  EXPECT_EQ(trial["status"], "ERROR");
  EXPECT_EQ(trial["config"]["layers"], 2);
  EXPECT_EQ(trial["last_result"]["training_iteration"], 2);
  EXPECT_THAT(trial["error"].get<std::string>(), HasSubstr("diverged at step 3"));
  EXPECT_EQ(trial["checkpoints"], Json::array({"checkpoint_000002"}));
  const std::string tail = trial["stdout_tail"];
  EXPECT_THAT(tail, HasSubstr("last line of stdout"));
  EXPECT_LT(tail.size(), 20000u) << "only the tail";
  EXPECT_TRUE(trial["stderr_tail"].is_null());
  get_json(*client_, "/api/experiments/exp/trials/nope", 404);
}

TEST_F(DashboardApiTest, ImportanceRanksTheParameterThatDecidesTheScoreFirst) {
  const Json importance = get_json(*client_, "/api/experiments/exp/importance");
  ASSERT_EQ(importance["params"].size(), 2u);
  EXPECT_EQ(importance["params"][0]["param"], "lr");
  EXPECT_GT(importance["params"][0]["importance"].get<double>(), 0.9);
  EXPECT_LT(importance["params"][1]["importance"].get<double>(), 0.1);
  const Json points = get_json(*client_, "/api/experiments/exp/points?limit=4");
  EXPECT_EQ(points["rows"].size(), 4u);
  EXPECT_EQ(points["total"], 6);
  EXPECT_EQ(points["rows"][0]["values"].size(), 2u);
}

TEST_F(DashboardApiTest, NoRequestReadsOutsideTheServedRoot) {
  // Another experiment outside the root, and a symlink to it inside.
  TempDir outside;
  write_file(outside.path() / "secret.txt", "top secret");
  run_experiment(outside, "elsewhere");
  fs::create_directory_symlink(outside.path() / "elsewhere", root_.path() / "linked");
  // A trial whose files are links out of the experiment.
  const std::string id = get_json(*client_, "/api/experiments/exp/trials?limit=1")["trials"][0]["trial_id"];
  fs::remove(logdir_of(id) / "result.json");
  fs::create_symlink(outside.path() / "secret.txt", logdir_of(id) / "result.json");
  fs::create_symlink(outside.path() / "secret.txt", logdir_of(id) / "stdout.log");

  for (const std::string path :
       {"/api/experiments/..", "/api/experiments/%2e%2e", "/api/experiments/%2E%2E/trials",
        "/api/experiments/..%2f..%2fetc", "/api/experiments/%2fetc%2fpasswd", "/api/experiments/%2Ftmp",
        "/api/experiments/linked", "/api/experiments/exp/trials/..%2f..", "/api/experiments/.",
        "/api/experiments/exp%00", "/../../etc/passwd", "/api/experiments/exp/../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd", "/etc/passwd", "/api/experiments/linked/trials"}) {
    const httplib::Result response = client_->Get(path.c_str());
    ASSERT_TRUE(response) << path;
    EXPECT_GE(response->status, 400) << path;
    EXPECT_THAT(response->body, ::testing::Not(HasSubstr("top secret"))) << path;
    EXPECT_THAT(response->body, ::testing::Not(HasSubstr("root:"))) << path;
  }
  const Json list = get_json(*client_, "/api/experiments");
  EXPECT_EQ(list["experiments"].size(), 1u) << "the symlinked experiment is not listed";
  const Json results = get_json(*client_, "/api/experiments/exp/trials/" + id + "/results");
  EXPECT_TRUE(results["results"].empty());
  const Json trial = get_json(*client_, "/api/experiments/exp/trials/" + id);
  EXPECT_TRUE(trial["stdout_tail"].is_null());
  EXPECT_THAT(trial.dump(), ::testing::Not(HasSubstr("top secret")));
}

TEST_F(DashboardApiTest, IsReadOnlyAndAnswersOnlyRequestsToLoopbackNames) {
  for (const char* path : {"/api/experiments", "/api/experiments/exp", "/"}) {
    const httplib::Result post = client_->Post(path, "{}", "application/json");
    ASSERT_TRUE(post);
    EXPECT_EQ(post->status, 405) << path;
    const httplib::Result del = client_->Delete(path);
    ASSERT_TRUE(del);
    EXPECT_EQ(del->status, 405) << path;
  }
  const httplib::Result rebound = client_->Get("/api/experiments", {{"Host", "evil.example:8265"}});
  ASSERT_TRUE(rebound);
  EXPECT_EQ(rebound->status, 403);
}

TEST_F(DashboardApiTest, ServesItsPagesFromTheBinary) {
  const httplib::Result page = client_->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_THAT(page->body, HasSubstr("<script src=\"/app.js\">"));
  const httplib::Result script = client_->Get("/app.js");
  ASSERT_TRUE(script);
  EXPECT_THAT(script->get_header_value("Content-Type"), HasSubstr("javascript"));
  EXPECT_THAT(script->body, HasSubstr("function drawParallel"));
  EXPECT_EQ(client_->Get("/app.css")->status, 200);
  EXPECT_EQ(client_->Get("/index.html")->status, 404);
}

TEST(DashboardServerTest, ServingOneExperimentDirectoryShowsOnlyIt) {
  TempDir root;
  run_experiment(root, "a");
  run_experiment(root, "b");
  dashboard::DashboardApi api(root.path() / "a");
  const Json list = api.experiments();
  ASSERT_EQ(list["experiments"].size(), 1u);
  EXPECT_EQ(list["experiments"][0]["name"], "a");
  EXPECT_THROW(api.experiment("b"), dashboard::ApiError);
  EXPECT_THROW(dashboard::DashboardApi(root.path() / "missing"), TuneError);
}

TEST(DashboardServerTest, ABusyPortIsAnErrorNamingIt) {
  TempDir root;
  dashboard::DashboardServer first({root.path(), "127.0.0.1", 0});
  first.start();
  dashboard::DashboardServer second({root.path(), "127.0.0.1", first.port()});
  try {
    second.start();
    FAIL() << "expected TuneError";
  } catch (const TuneError& error) {
    EXPECT_THAT(error.what(), HasSubstr(std::to_string(first.port())));
  }
  EXPECT_THAT(first.url(), HasSubstr("http://127.0.0.1:"));
}

TEST(DashboardServerTest, ARunningExperimentIsReReadAsItsJournalGrowsAndItsTrialsReport) {
  TempDir root;
  testing::write_running_experiment(root.path() / "live");
  dashboard::DashboardApi api(root.path());
  const Json before = api.experiment("live");
  EXPECT_FALSE(before["completed"].get<bool>());
  EXPECT_EQ(before["counts"]["RUNNING"], 2);
  EXPECT_DOUBLE_EQ(before["best"].get<double>(), 0.2);
  EXPECT_EQ(before["best_trial"], "run1");
  // A trial added to the journal shows at once (the state files changed) ...
  std::ofstream(root.path() / "live" / "experiment_state.jsonl", std::ios::app)
      << Json{{"e", "add"}, {"i", 3}, {"id", "run3"}, {"name", "T_run3"}, {"config", {{"x", 3}}}}.dump() << "\n";
  EXPECT_EQ(api.experiment("live")["trials"], 4);
  // ... and a running trial's new result within a second (only its result.json changed).
  std::ofstream(root.path() / "live" / "T_run0" / "result.json", std::ios::app)
      << Json{{"loss", 0.01}, {"training_iteration", 5}}.dump() << "\n";
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const Json after = api.experiment("live");
  EXPECT_DOUBLE_EQ(after["best"].get<double>(), 0.01);
  EXPECT_EQ(after["best_trial"], "run0");
}

TEST(DashboardServerTest, ConcurrentFirstRequestsOfAnExperimentAllGetItsOneRead) {
  TempDir root;
  testing::write_running_experiment(root.path() / "live");
  dashboard::DashboardApi api(root.path());
  std::vector<Json> answers(8);
  std::vector<std::thread> threads;
  for (Json& answer : answers) threads.emplace_back([&api, &answer] { answer = api.experiment("live"); });
  for (std::thread& thread : threads) thread.join();
  for (const Json& answer : answers) {
    EXPECT_EQ(answer["trials"], 3);
    EXPECT_EQ(answer["best_trial"], "run1");
  }
  EXPECT_THROW(api.experiment("missing"), dashboard::ApiError);
}

TEST(DashboardStatsTest, CorrelationRatioIsTheShareOfVarianceTheGroupsExplain) {
  EXPECT_DOUBLE_EQ(dashboard::correlation_ratio({1, 1, 5, 5}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(dashboard::correlation_ratio({1, 5, 1, 5}, {0, 0, 1, 1}), 0.0);
  EXPECT_DOUBLE_EQ(dashboard::correlation_ratio({1, 2, 3}, {0, 0, 0}), 0.0) << "one group explains nothing";
  // Scores 1,2 | 4,5: group means 1.5, 4.5 around 3: between 4*2.25 = 9, total 4+1+1+4 = 10.
  EXPECT_DOUBLE_EQ(dashboard::correlation_ratio({1, 2, 4, 5}, {0, 0, 1, 1}), 0.9);
  const std::vector<double> many = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
  const std::vector<int64_t> bins = dashboard::parameter_groups(many, true);
  EXPECT_EQ(bins.front(), 0);
  EXPECT_EQ(bins.back(), 9) << "more than 10 distinct values: 10 equal-count bins";
}

TEST(DashboardStatsTest, DownsamplingKeepsTheEndsAndTheExtremesOfEachBucket) {
  std::vector<std::pair<double, double>> curve;
  for (int i = 0; i < 1000; ++i) curve.emplace_back(i, i == 500 ? 100.0 : 1.0);
  const auto kept = dashboard::downsample(curve, 20);
  EXPECT_LE(kept.size(), 21u);
  EXPECT_EQ(kept.front().first, 0);
  EXPECT_EQ(kept.back().first, 999);
  EXPECT_TRUE(std::any_of(kept.begin(), kept.end(), [](const auto& p) { return p.second == 100.0; })) << "the spike";
  EXPECT_EQ(dashboard::downsample({{1, 2}, {3, 4}}, 10).size(), 2u);
}

}  // namespace
}  // namespace tune
