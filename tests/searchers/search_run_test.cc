// Searchers through tune::run: num_samples caps a model-based searcher, "not now" waits for a
// running trial, grid_search and a missing metric are refused before anything starts, the
// journal keeps the whole history, and an external ask/tell program drives a run.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "executors/workers/trainables.h"
#include "support/temp_dir.h"
#include "tune/tune.h"
#include "tune/searchers.h"

namespace tune {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

RunOptions options_in(const TempDir& dir, std::string name = "exp") {
  RunOptions options;
  options.name = std::move(name);
  options.local_dir = dir.str();
  options.verbose = 0;
  options.num_cpus = 4;
  options.metric = "loss";
  options.mode = "min";
  options.config = {{"x", uniform(-3, 3)}, {"n", randint(0, 4)}, {"fixed", "yes"}};
  return options;
}

TrainFunction quadratic() {
  return [](const Config& config, Reporter& reporter) {
    const double x = config.at("x").get<double>();
    reporter.report({{"loss", (x - 1) * (x - 1) + config.at("n").get<double>()}});
  };
}

TPESearcher::Options tpe_options(uint64_t seed) {
  TPESearcher::Options o;
  o.seed = seed;
  o.n_startup_trials = 4;
  return o;
}

TEST(SearchRunTest, NumSamplesIsTheNumberOfTrialsOfAModelBasedSearcher) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.num_samples = 12;
  options.search_alg = std::make_shared<TPESearcher>(tpe_options(1));
  const ExperimentAnalysis analysis = run(quadratic(), std::move(options));
  ASSERT_EQ(analysis.trials().size(), 12u);
  for (const auto& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
    EXPECT_EQ(trial.config()["fixed"], "yes");
  }
  EXPECT_LT(analysis.get_best_trial()->last_result()["loss"].get<double>(), 1.0);
}

// A wrapper of the user's own (logging every suggestion), forwarding counts_trials() as the
// Searcher interface asks of wrappers.
class CountingWrapper : public Searcher {
 public:
  explicit CountingWrapper(std::shared_ptr<Searcher> searcher) : searcher_(std::move(searcher)) {}
  void set_search_properties(const std::string& metric, const std::string& mode, const Space& space) override {
    searcher_->set_search_properties(metric, mode, space);
  }
  Suggestion suggest(const std::string& trial_id) override {
    Suggestion s = searcher_->suggest(trial_id);
    if (s.kind == Suggestion::Kind::kConfig) ++suggested;
    return s;
  }
  void on_trial_result(const std::string& trial_id, const Result& result) override {
    searcher_->on_trial_result(trial_id, result);
  }
  void on_trial_complete(const std::string& trial_id, const Result& result, bool error) override {
    searcher_->on_trial_complete(trial_id, result, error);
  }
  std::optional<int64_t> total_trials() const override { return searcher_->total_trials(); }
  bool counts_trials() const override { return searcher_->counts_trials(); }
  int suggested = 0;

 private:
  std::shared_ptr<Searcher> searcher_;
};

TEST(SearchRunTest, AUserWrittenWrapperOfTheVariantGeneratorRunsTheWholeGridTimesNumSamples) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.config = {{"x", grid_search({0.0, 1.0, 2.0})}, {"n", 1}};
  options.num_samples = 2;  // 3 grid points × 2: run() must not cap it at num_samples
  auto wrapper = std::make_shared<CountingWrapper>(
      std::make_shared<BasicVariantGenerator>(options.config, options.num_samples, uint64_t{1}));
  options.search_alg = wrapper;
  const ExperimentAnalysis analysis = run(quadratic(), std::move(options));
  EXPECT_EQ(analysis.trials().size(), 6u);
  EXPECT_EQ(wrapper->suggested, 6);
}

TEST(SearchRunTest, AUserWrittenWrapperOfAModelBasedSearcherIsAskedForNumSamplesConfigs) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.num_samples = 5;
  auto wrapper = std::make_shared<CountingWrapper>(std::make_shared<TPESearcher>(tpe_options(3)));
  options.search_alg = wrapper;
  const ExperimentAnalysis analysis = run(quadratic(), std::move(options));
  EXPECT_EQ(analysis.trials().size(), 5u);
  EXPECT_EQ(wrapper->suggested, 5);
}

TEST(SearchRunTest, NotNowWaitsForARunningTrial) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.num_samples = 6;
  options.search_alg = std::make_shared<ConcurrencyLimiter>(std::make_shared<TPESearcher>(tpe_options(2)), 1);
  std::atomic<int> live{0}, most{0};
  const auto analysis = run(
      [&](const Config& config, Reporter& reporter) {
        most = std::max(most.load(), ++live);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        --live;
        reporter.report({{"loss", config.at("x").get<double>()}});
      },
      std::move(options));
  EXPECT_EQ(analysis.trials().size(), 6u);
  EXPECT_EQ(most.load(), 1);
}

TEST(SearchRunTest, RepeaterRunsEachConfigRepeatTimes) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.num_samples = 6;
  options.search_alg = std::make_shared<Repeater>(std::make_shared<TPESearcher>(tpe_options(3)), 3);
  const auto analysis = run(quadratic(), std::move(options));
  ASSERT_EQ(analysis.trials().size(), 6u);
  std::map<double, std::set<int>> groups;
  for (const auto& trial : analysis.trials()) {
    groups[trial.config()["x"].get<double>()].insert(trial.config()["__trial_index__"].get<int>());
  }
  ASSERT_EQ(groups.size(), 2u);
  for (const auto& [x, indices] : groups) EXPECT_EQ(indices, (std::set<int>{0, 1, 2}));
}

TEST(SearchRunTest, GridSearchAndMissingMetricAreRefusedBeforeAnythingStarts) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.config = {{"x", grid_search({1, 2})}};
  options.search_alg = std::make_shared<TPESearcher>(tpe_options(1));
  try {
    run(quadratic(), std::move(options));
    ADD_FAILURE() << "no error";
  } catch (const TuneError& e) {
    EXPECT_NE(std::string(e.what()).find("config/x: grid_search"), std::string::npos) << e.what();
  }
  RunOptions no_metric = options_in(dir, "exp2");
  no_metric.metric.clear();
  no_metric.mode.clear();
  no_metric.search_alg = std::make_shared<TPESearcher>(tpe_options(1));
  try {
    run(quadratic(), std::move(no_metric));
    ADD_FAILURE() << "no error";
  } catch (const TuneError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("metric:", 0), 0u) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir.path() / "exp"));
  EXPECT_FALSE(fs::exists(dir.path() / "exp2"));
}

TEST(SearchRunTest, TheExperimentStateHoldsTheSearchersWholeHistory) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.num_samples = 9;
  options.search_alg = std::make_shared<TPESearcher>(tpe_options(4));
  run(quadratic(), std::move(options));
  std::ifstream in(dir.path() / "exp" / "experiment_state.json");
  std::stringstream text;
  text << in.rdbuf();
  const Json state = Json::parse(text.str());
  TPESearcher restored(tpe_options(99));
  restored.set_search_properties("loss", "min", options_in(dir).config);
  restored.restore(state.at("searcher").at("searcher"));
  EXPECT_EQ(restored.num_observations(), 9u);
  EXPECT_EQ(restored.seed(), 4u);
  EXPECT_EQ(state.at("searcher").at("suggested"), 9);
}

TEST(SearchRunTest, ResumeContinuesTheSearch) {
  // Run 5 of 10 trials (a stopper ends the experiment), then resume with num_samples 10: the
  // searcher goes on from its stored state (5 more trials, not 10; its history intact).
  TempDir dir;
  RunOptions first = options_in(dir);
  first.num_samples = 5;
  first.search_alg = std::make_shared<TPESearcher>(tpe_options(5));
  run(quadratic(), std::move(first));
  RunOptions second = options_in(dir);
  second.num_samples = 5;
  second.resume.value = "LOCAL";
  auto tpe = std::make_shared<TPESearcher>(tpe_options(77));
  second.search_alg = tpe;
  const auto analysis = run(quadratic(), std::move(second));
  EXPECT_EQ(analysis.trials().size(), 5u);  // it was finished: nothing new
  EXPECT_EQ(tpe->num_observations(), 5u);
  EXPECT_EQ(tpe->seed(), 5u);
}

TEST(SearchRunTest, TpeSamplesTheSubSpaceOfTheChoiceItTakes) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.config = Space::from_json(Json::parse(R"({"x": {"uniform": [-3, 3]}, "opt": {"choice": [
      {"name": "sgd", "momentum": {"uniform": [0, 1]}}, {"name": "adam"}]}})"));
  options.num_samples = 12;
  options.search_alg = std::make_shared<TPESearcher>(tpe_options(6));
  const auto analysis = run(
      [](const Config& config, Reporter& reporter) {
        const Json& opt = config.at("opt");
        const double m = opt.value("momentum", 0.5);
        reporter.report({{"loss", config.at("x").get<double>() + (opt["name"] == "sgd" ? m : 1.0)}});
      },
      std::move(options));
  ASSERT_EQ(analysis.trials().size(), 12u);
  std::set<double> momenta;
  for (const auto& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
    const Json opt = trial.config()["opt"];
    if (opt["name"] == "sgd") {
      ASSERT_TRUE(opt["momentum"].is_number()) << opt;
      momenta.insert(opt["momentum"].get<double>());
    } else {
      EXPECT_EQ(opt, Json({{"name", "adam"}}));
    }
  }
  EXPECT_GE(momenta.size(), 2u);
}

TEST(SearchRunTest, GpSearchRunsWithConcurrentTrials) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.num_samples = 12;
  GPSearcher::Options o;
  o.seed = 1;
  o.n_initial_points = 4;
  o.n_candidates = 200;
  auto gp = std::make_shared<GPSearcher>(o);
  options.search_alg = gp;
  const ExperimentAnalysis analysis = run(quadratic(), std::move(options));
  ASSERT_EQ(analysis.trials().size(), 12u);
  for (const auto& trial : analysis.trials()) EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
  EXPECT_EQ(gp->num_observations(), 12u);
  EXPECT_LT(analysis.get_best_trial()->last_result()["loss"].get<double>(), 0.5);
}

TEST(SearchRunTest, CmaesWaitsForItsGenerationAndResumes) {
  // 4 CPUs, a generation of 6: the runner is told "not now" until a generation completes.
  TempDir dir;
  RunOptions first = options_in(dir);
  first.config = {{"x", uniform(-3, 3)}, {"y", uniform(-3, 3)}};
  first.num_samples = 15;
  CMAESSearcher::Options o;
  o.seed = 2;
  first.search_alg = std::make_shared<CMAESSearcher>(o);
  const auto loss = [](const Config& config, Reporter& reporter) {
    const double x = config.at("x").get<double>(), y = config.at("y").get<double>();
    reporter.report({{"loss", (x - 1) * (x - 1) + y * y}});
  };
  EXPECT_EQ(run(loss, std::move(first)).trials().size(), 15u);
  RunOptions second = options_in(dir);
  second.config = {{"x", uniform(-3, 3)}, {"y", uniform(-3, 3)}};
  second.num_samples = 15;
  second.resume.value = "LOCAL";
  auto cma = std::make_shared<CMAESSearcher>(o);
  second.search_alg = cma;
  run(loss, std::move(second));
  EXPECT_EQ(cma->generation(), 2);  // 15 trials: two generations of 6 done, the third under way
}

TEST(SearchRunTest, BohbWithHyperBandForBohbLearnsPerBudget) {
  TempDir dir;
  RunOptions options = options_in(dir);
  options.config = {{"q", uniform(0, 1)}};
  options.metric = "acc";
  options.mode = "max";
  options.num_samples = 18;
  options.stop = {{"training_iteration", 9}};
  HyperBandScheduler::Options hb;
  hb.max_t = 9;
  hb.reduction_factor = 3;
  options.scheduler = std::make_shared<HyperBandForBOHB>(hb);
  BOHBSearcher::Options o;
  o.seed = 3;
  auto bohb = std::make_shared<BOHBSearcher>(o);
  options.search_alg = bohb;
  const ExperimentAnalysis analysis = run(make_trainable<testing::Climb>("Climb"), std::move(options));
  ASSERT_EQ(analysis.trials().size(), 18u);
  for (const auto& trial : analysis.trials()) EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
  ASSERT_TRUE(bohb->model_budget().has_value());
  EXPECT_GE(*bohb->model_budget(), 3.0);  // a bracket's survivors reached 3 or more
}

#ifdef TUNE_SOURCE_DIR
std::string asktell_script() { return std::string(TUNE_SOURCE_DIR) + "/tests/searchers/scripts/asktell_random.py"; }

bool have_python() { return std::system("python3 -c 'import json' >/dev/null 2>&1") == 0; }

TEST(ExternalSearcherTest, DrivesARunAndIsToldEveryResult) {
  if (!have_python()) GTEST_SKIP() << "python3 not found";
  TempDir dir;
  RunOptions options = options_in(dir);
  options.num_samples = 7;
  const std::string log = (dir.path() / "requests.jsonl").string();
  ExternalSearcher::Options o;
  o.argv = {"python3", asktell_script(), "--log", log, "--not-now-every", "3"};
  o.seed = 3;
  options.search_alg = std::make_shared<ExternalSearcher>(o);
  const auto analysis = run(quadratic(), std::move(options));
  ASSERT_EQ(analysis.trials().size(), 7u);
  for (const auto& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
    EXPECT_EQ(trial.config()["fixed"], "yes");
    const double x = trial.config()["x"].get<double>();
    EXPECT_TRUE(x >= -3 && x <= 3);
  }
  std::ifstream in(log);
  int hello = 0, tells = 0;
  for (std::string line; std::getline(in, line);) {
    const Json message = Json::parse(line);
    if (message.contains("hello")) {
      ++hello;
      EXPECT_EQ(message["metric"], "loss");
      EXPECT_EQ(message["mode"], "min");
      EXPECT_EQ(message["seed"], 3);
      EXPECT_EQ(message["space"]["x"], Json::parse(R"({"uniform": [-3.0, 3.0]})"));
    }
    if (message.contains("tell")) {
      ++tells;
      EXPECT_TRUE(message["result"]["loss"].is_number());
    }
  }
  EXPECT_EQ(hello, 1);
  EXPECT_EQ(tells, 7);
}

TEST(ExternalSearcherTest, FinishedEndsTheRunAndBadProgramsAreClearErrors) {
  if (!have_python()) GTEST_SKIP() << "python3 not found";
  TempDir dir;
  RunOptions options = options_in(dir);
  options.num_samples = 10;
  ExternalSearcher::Options o;
  o.argv = {"python3", asktell_script(), "--finish-after", "3"};
  options.search_alg = std::make_shared<ExternalSearcher>(o);
  EXPECT_EQ(run(quadratic(), std::move(options)).trials().size(), 3u);

  RunOptions garbage = options_in(dir, "garbage");
  o.argv = {"python3", asktell_script(), "--garbage"};
  garbage.search_alg = std::make_shared<ExternalSearcher>(o);
  try {
    run(quadratic(), std::move(garbage));
    ADD_FAILURE() << "no error";
  } catch (const TuneError& e) {
    EXPECT_NE(std::string(e.what()).find("is not valid JSON ("), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("): this is not json"), std::string::npos) << "the reply quoted";
  }
  RunOptions missing = options_in(dir, "missing");
  o.argv = {"no-such-searcher-program-xyz"};
  missing.search_alg = std::make_shared<ExternalSearcher>(o);
  try {
    run(quadratic(), std::move(missing));
    ADD_FAILURE() << "no error";
  } catch (const TuneError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot start 'no-such-searcher-program-xyz'"), std::string::npos) << e.what();
  }
  RunOptions dies = options_in(dir, "dies");
  o.argv = {"sh", "-c", "read line; exit 3"};
  dies.search_alg = std::make_shared<ExternalSearcher>(o);
  try {
    run(quadratic(), std::move(dies));
    ADD_FAILURE() << "no error";
  } catch (const TuneError& e) {
    EXPECT_NE(std::string(e.what()).find("exited without answering"), std::string::npos) << e.what();
  }
}

TEST(ExternalSearcherTest, OptunaBridgeRunsWhenOptunaIsInstalled) {
  const std::string python = std::system("/usr/bin/python3 -c 'import optuna' >/dev/null 2>&1") == 0 ? "/usr/bin/python3"
                             : std::system("python3 -c 'import optuna' >/dev/null 2>&1") == 0 ? "python3"
                                                                                              : "";
  if (python.empty()) GTEST_SKIP() << "optuna is not installed (apt-get install python3-optuna)";
  for (const std::string sampler : {"tpe", "random"}) {
    TempDir dir;
    RunOptions options = options_in(dir);
    options.num_samples = 12;
    options.config = {{"x", uniform(-3, 3)}, {"n", randint(0, 4)}, {"fixed", "yes"},
                      {"opt", choice({"a", "b"})}, {"lr", loguniform(1e-4, 1)}};
    ExternalSearcher::Options o;
    o.argv = {python, std::string(TUNE_SOURCE_DIR) + "/python/tune_optuna_bridge.py", "--sampler", sampler};
    o.seed = 1;
    options.search_alg = std::make_shared<ExternalSearcher>(o);
    const auto analysis = run(quadratic(), std::move(options));
    ASSERT_EQ(analysis.trials().size(), 12u) << sampler;
    for (const auto& trial : analysis.trials()) {
      EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
      EXPECT_TRUE(trial.config()["opt"] == "a" || trial.config()["opt"] == "b");
      EXPECT_TRUE(trial.config()["n"].is_number_integer());
    }
  }
}
#endif

}  // namespace
}  // namespace tune
