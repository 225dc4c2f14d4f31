// End-to-end tests of tune::run with in-process trials: the guide's examples, resources,
// stopping, failures, output files and local mode. (The function API in both of its
// execution modes: function_api_test.cc.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "support/temp_dir.h"
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

RunOptions quiet_options(const TempDir& dir, std::string name = "exp") {
  RunOptions options;
  options.name = std::move(name);
  options.local_dir = dir.str();
  options.verbose = 0;
  return options;
}

std::vector<std::filesystem::path> trial_dirs(const std::filesystem::path& exp) {
  std::vector<std::filesystem::path> dirs;
  for (const auto& entry : std::filesystem::directory_iterator(exp)) {
    if (entry.is_directory()) dirs.push_back(entry.path());
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

// The guide's class API example.
class PrintMe : public Trainable {
 public:
  void setup(const Config& config) override { printed = config.at("print_me").get<std::string>(); }
  Result step() override { return {{"accuracy", 0.5}, {"f1", 0.1}}; }
  std::string printed;
};

TEST(RunTest, ClassApiPrintMeRunsTwoHundredIterations) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.config = {{"print_me", "hello-world"}};
  options.stop = {{"training_iteration", 200}};
  ExperimentAnalysis analysis = run<PrintMe>(std::move(options));
  ASSERT_EQ(analysis.trials().size(), 1u);
  const TrialRecord& trial = analysis.trials()[0];
  EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
  EXPECT_EQ(trial.last_result()["training_iteration"], 200);
  EXPECT_EQ(trial.last_result()["done"], true);
  EXPECT_EQ(trial.config()["print_me"], "hello-world");
  EXPECT_EQ(read_lines(trial.logdir() / "result.json").size(), 200u);
}

TEST(RunTest, GuideGridExampleGivesNinetyTrials) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.config = {
      {"alpha", sample_from([](Spec& spec) { return spec.uniform(0, 100); })},
      {"beta", sample_from([](Spec& spec) { return spec.config("alpha").get<double>() * spec.normal(); })},
      {"nn_layers", Space::array({grid_search({16, 64, 256}), grid_search({16, 64, 256})})},
  };
  options.num_samples = 10;
  options.stop = {{"training_iteration", 1}};
  options.write_trial_files = false;
  auto analysis = run([](const Config&, Reporter& r) { r.report({{"score", 1}}); }, std::move(options));
  ASSERT_EQ(analysis.trials().size(), 90u);
  std::map<std::pair<int, int>, int> combos;
  for (const auto& trial : analysis.trials()) {
    const Config config = trial.config();
    ++combos[{config["nn_layers"][0].get<int>(), config["nn_layers"][1].get<int>()}];
  }
  EXPECT_EQ(combos.size(), 9u);
  for (const auto& [combo, count] : combos) EXPECT_EQ(count, 10);
}

TEST(RunTest, SeedMakesConfigsReproducible) {
  auto configs = [](uint64_t seed) {
    TempDir dir;
    RunOptions options = quiet_options(dir);
    options.config = {{"lr", loguniform(1e-4, 1e-1)}, {"units", randint(1, 100)}};
    options.num_samples = 5;
    options.seed = seed;
    options.stop = {{"training_iteration", 1}};
    auto analysis = run([](const Config&, Reporter& r) { r.report({{"x", 1}}); }, std::move(options));
    std::vector<std::string> out;
    for (const auto& t : analysis.trials()) out.push_back(t.config().dump());
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(configs(7), configs(7));
  EXPECT_NE(configs(7), configs(8));
}

// Counts how many trials run at once.
// Counts how many trials run at once. A trial that enters waits (up to 10 s) until
// `expected` trials are in, or every one of the `total` has entered, so the peak is what the
// runner allows however slowly a loaded machine starts threads; a runner that allows more
// shows a higher peak, one that allows fewer a lower one.
struct Concurrency {
  Concurrency(int expected_, int total_) : expected(expected_), total(total_) {}
  const int expected;
  const int total;
  std::mutex mutex;
  std::condition_variable changed;
  int now = 0;
  int entered = 0;
  int peak = 0;
  std::set<std::vector<int>> gpu_sets;
  void enter(const std::vector<int>& gpus) {
    std::unique_lock lock(mutex);
    peak = std::max(peak, ++now);
    ++entered;
    gpu_sets.insert(gpus);
    changed.notify_all();
    changed.wait_for(lock, std::chrono::seconds(10), [&] { return now >= expected || entered == total; });
  }
  void leave() {
    std::lock_guard lock(mutex);
    --now;
  }
};

TrainFunction concurrency_probe(Concurrency& c) {
  return [&c](const Config&, Reporter& reporter) {
    c.enter(reporter.trial_info().gpu_ids);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    c.leave();
    reporter.report({{"ok", 1}});
  };
}

TEST(RunTest, CpuRequestsLimitConcurrency) {
  TempDir dir;
  Concurrency c{2, 8};
  RunOptions options = quiet_options(dir);
  options.num_cpus = 4;
  options.num_samples = 8;
  options.resources_per_trial = Resources{.cpu = 2};
  run(concurrency_probe(c), std::move(options));
  EXPECT_EQ(c.peak, 2);
}

TEST(RunTest, DefaultConcurrencyIsOneCpuPerTrial) {
  TempDir dir;
  Concurrency c{3, 9};
  RunOptions options = quiet_options(dir);
  options.num_cpus = 3;
  options.num_samples = 9;
  run(concurrency_probe(c), std::move(options));
  EXPECT_EQ(c.peak, 3);
}

TEST(RunTest, FractionalGpusPackTwoPerGpu) {
  TempDir dir;
  Concurrency c{2, 6};
  RunOptions options = quiet_options(dir);
  options.num_cpus = 8;
  options.num_gpus = 1;
  options.num_samples = 6;
  options.resources_per_trial = Resources{.cpu = 1, .gpu = 0.5};
  run(concurrency_probe(c), std::move(options));
  EXPECT_EQ(c.peak, 2);
  EXPECT_EQ(c.gpu_sets, (std::set<std::vector<int>>{{0}}));
}

TEST(RunTest, WholeGpusAreNeverShared) {
  TempDir dir;
  Concurrency c{2, 6};
  std::mutex mutex;
  std::vector<int> busy(2, 0);
  bool shared = false;
  RunOptions options = quiet_options(dir);
  options.num_cpus = 8;
  options.num_gpus = 2;
  options.num_samples = 6;
  options.resources_per_trial = Resources{.cpu = 1, .gpu = 1};
  run(
      [&](const Config&, Reporter& reporter) {
        const auto ids = reporter.trial_info().gpu_ids;
        {
          std::lock_guard lock(mutex);
          for (int id : ids) shared |= busy[id]++ > 0;
        }
        c.enter(ids);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        c.leave();
        {
          std::lock_guard lock(mutex);
          for (int id : ids) --busy[id];
        }
        reporter.report({{"ok", 1}});
      },
      std::move(options));
  EXPECT_FALSE(shared);
  EXPECT_EQ(c.peak, 2);
  EXPECT_EQ(c.gpu_sets, (std::set<std::vector<int>>{{0}, {1}}));
}

TEST(RunTest, ExtraCpuIsReservedToo) {
  TempDir dir;
  Concurrency c{2, 4};
  RunOptions options = quiet_options(dir);
  options.num_cpus = 4;
  options.num_samples = 4;
  options.resources_per_trial = Resources{.cpu = 1, .extra_cpu = 1};
  run(concurrency_probe(c), std::move(options));
  EXPECT_EQ(c.peak, 2);
}

TEST(RunTest, CustomResourcesComeFromThePool) {
  TempDir dir;
  Concurrency c{1, 3};
  RunOptions options = quiet_options(dir);
  options.num_cpus = 8;
  options.custom_resources = {{"license", 1}};
  options.num_samples = 3;
  Resources request;
  request.custom["license"] = 1;
  options.resources_per_trial = request;
  run(concurrency_probe(c), std::move(options));
  EXPECT_EQ(c.peak, 1);
}

TEST(RunTest, MaxConcurrentTrialsCapsParallelism) {
  TempDir dir;
  Concurrency c{2, 6};
  RunOptions options = quiet_options(dir);
  options.num_cpus = 8;
  options.num_samples = 6;
  options.max_concurrent_trials = 2;
  run(concurrency_probe(c), std::move(options));
  EXPECT_EQ(c.peak, 2);
}

TEST(RunTest, RequestThatNeverFitsIsRejectedBeforeAnythingStarts) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.num_cpus = 2;
  options.resources_per_trial = Resources{.cpu = 4};
  try {
    run([](const Config&, Reporter&) {}, std::move(options));
    FAIL() << "expected TuneError";
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("resources_per_trial"));
    EXPECT_THAT(e.what(), HasSubstr("4 CPUs"));
    EXPECT_THAT(e.what(), HasSubstr("2 CPUs"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "exp"));
}

TEST(RunTest, BadResourcesAreErrorsNamingTheField) {
  EXPECT_THROW(Resources::from_json(Json{{"gpus", 1}}), TuneError);
  try {
    Resources::from_json(Json{{"gpus", 1}});
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("'gpus'"));
    EXPECT_THAT(e.what(), HasSubstr("did you mean 'gpu'"));
  }
  for (double bad : {-1.0, std::nan("")}) {
    TempDir dir;
    RunOptions options = quiet_options(dir);
    options.resources_per_trial = Resources{.cpu = bad};
    try {
      run([](const Config&, Reporter&) {}, std::move(options));
      FAIL() << "expected TuneError";
    } catch (const TuneError& e) {
      EXPECT_THAT(e.what(), HasSubstr("resources_per_trial.cpu"));
    }
  }
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.num_cpus = -2;
  EXPECT_THROW(run([](const Config&, Reporter&) {}, std::move(options)), TuneError);
}

class WithRequest : public Trainable {
 public:
  static std::optional<Resources> default_resource_request(const Config& config) {
    return Resources{.cpu = config.value("cpus", 1.0)};
  }
  Result step() override { return {{"gpus", static_cast<int>(trial_info().gpu_ids.size())},
                                    {"cpus", trial_info().resources.cpu}}; }
};

TEST(RunTest, DefaultResourceRequestIsUsedAndConflictsWithResourcesPerTrial) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.config = {{"cpus", 2.0}};
  options.num_cpus = 4;
  options.stop = {{"training_iteration", 1}};
  auto analysis = run<WithRequest>(options);
  EXPECT_EQ(analysis.trials()[0].last_result()["cpus"], 2.0);
  options.resources_per_trial = Resources{.cpu = 1};
  EXPECT_THROW(run<WithRequest>(options), TuneError);
  options.resources_per_trial.reset();
  options.config = {{"cpus", 64.0}};
  EXPECT_THROW(run<WithRequest>(options), TuneError);
}

TEST(RunTest, StopKeyNeverReportedIsAnErrorNamingIt) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.stop = {{"mean_acc", 0.9}};
  try {
    run([](const Config&, Reporter& r) {
      for (;;) r.report({{"mean_accuracy", 0.1}});
    }, std::move(options));
    FAIL() << "expected TuneError";
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("mean_acc"));
  }
}

TEST(RunTest, RaiseOnFailedTrialThrowsAtTheEnd) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  try {
    run([](const Config&, Reporter&) { throw std::runtime_error("nope"); }, std::move(options));
    FAIL() << "expected TuneError";
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("did not complete"));
  }
  // The state was written before throwing.
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "exp" / "experiment_state.json"));
}

TEST(RunTest, FailFastStopsAtTheFirstFailure) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.num_cpus = 1;
  options.num_samples = 10;
  options.fail_fast = true;
  options.raise_on_failed_trial = false;
  std::atomic<int> started{0};
  auto analysis = run([&](const Config&, Reporter&) {
    ++started;
    throw std::runtime_error("first one fails");
  }, std::move(options));
  EXPECT_EQ(started.load(), 1);
  EXPECT_EQ(analysis.status_counts()[TrialStatus::kError], 1);
}

TEST(RunTest, OutputFilesAndAutoFilledFields) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.config = {{"lr", 0.1}};
  options.stop = {{"training_iteration", 6}};
  auto analysis = run([](const Config&, Reporter& r) {
    for (int i = 1;; ++i) {
      Result result = {{"loss", 1.0 / i}, {"timesteps_this_iter", 10}};
      if (i >= 5) result["late_metric"] = i;  // first reported at step 5
      r.report(result);
    }
  }, std::move(options));
  const auto& trial = analysis.trials()[0];
  const auto logdir = trial.logdir();
  ASSERT_TRUE(std::filesystem::exists(logdir / "params.json"));
  EXPECT_EQ(Json::parse(std::ifstream(logdir / "params.json"))["lr"], 0.1);
  const auto lines = read_lines(logdir / "result.json");
  ASSERT_EQ(lines.size(), 6u);
  const Json last = Json::parse(lines.back());
  for (const char* key : {"training_iteration", "time_this_iter_s", "time_total_s", "timestamp", "date", "hostname",
                          "node_ip", "pid", "trial_id", "experiment_id", "done", "iterations_since_restore",
                          "time_since_restore", "timesteps_total", "config"}) {
    EXPECT_TRUE(last.contains(key)) << key;
  }
  EXPECT_EQ(last["timesteps_total"], 60);
  EXPECT_EQ(last["done"], true);
  EXPECT_EQ(last["trial_id"], trial.trial_id());
  const auto csv = read_lines(logdir / "progress.csv");
  ASSERT_EQ(csv.size(), 7u);
  EXPECT_THAT(csv[0], HasSubstr("late_metric"));
  EXPECT_THAT(csv[0], ::testing::Not(HasSubstr("config")));
  // Every row has as many cells as the header.
  const auto cells = [](const std::string& line) { return std::count(line.begin(), line.end(), ',') + 1; };
  for (const auto& row : csv) EXPECT_EQ(cells(row), cells(csv[0]));
}

// The loggers write results with their own serialiser (config text cached, values kept per
// key): each result.json line must still be exactly what Json::dump gives for the result.
class DumpRecorder : public Callback {
 public:
  void on_trial_result(const TrialView&, const Result& result) override {
    dumps.push_back(result.dump(-1, ' ', false, Json::error_handler_t::replace));
  }
  std::vector<std::string> dumps;
};

TEST(RunTest, ResultJsonLinesAreTheResultsAsDumped) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.config = {{"lr", 0.1}, {"name", "caf\xC3\xA9 \"q\""}, {"nested", {{"layers", {64, 32}}, {"on", true}}}};
  options.stop = {{"training_iteration", 8}};
  auto recorder = std::make_shared<DumpRecorder>();
  options.callbacks.push_back(recorder);
  auto analysis = run([](const Config&, Reporter& r) {
    for (int i = 1;; ++i) {
      Result result = {{"loss", 1.0 / i}, {"phase", i < 4 ? "warm\tup" : "main"}, {"big", 1e300 * i}};
      if (i == 3) result["nan"] = std::nan("");
      if (i >= 5) result["late"] = {{"a", i}, {"b", "x,y"}};  // keys change mid-trial
      if (i == 6) result["bad_utf8"] = "\xFF";
      r.report(result);
    }
  }, std::move(options));
  const auto lines = read_lines(analysis.trials()[0].logdir() / "result.json");
  ASSERT_EQ(lines.size(), 8u);
  ASSERT_EQ(recorder->dumps.size(), 8u);
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i], recorder->dumps[i]) << i;
  // progress.csv writes numbers as the JSON does.
  const auto csv = read_lines(analysis.trials()[0].logdir() / "progress.csv");
  ASSERT_EQ(csv.size(), 9u);
  EXPECT_THAT(csv[0], HasSubstr("late/a"));
  EXPECT_THAT(csv[1], HasSubstr(",1.0,"));    // loss of the first result
  EXPECT_THAT(csv[1], ::testing::StartsWith("1e+300,"));  // big: the first column
  EXPECT_THAT(csv[3], HasSubstr(",nan,"));
  EXPECT_THAT(csv[6], HasSubstr(",\"x,y\","));
}

TEST(RunTest, TrialNamesCannotEscapeTheExperimentDirectory) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.config = {{"k", grid_search({0, 1, 2, 3})}};
  options.trial_name_creator = [](const TrialView& trial) {
    const int k = trial.config()["k"];
    if (k == 0) return std::string("../x");
    if (k == 1) return std::string("/");
    if (k == 2) return std::string(500, 'n');
    return std::string("..");
  };
  auto analysis = run([](const Config&, Reporter& r) { r.report({{"done", true}}); }, std::move(options));
  const auto exp = std::filesystem::canonical(dir.path() / "exp");
  EXPECT_EQ(trial_dirs(exp).size(), 4u);
  for (const auto& t : analysis.trials()) {
    const auto logdir = std::filesystem::canonical(t.logdir());
    EXPECT_EQ(logdir.parent_path(), exp) << logdir;
    EXPECT_LE(logdir.filename().string().size(), 200u);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "x"));
  // The display name is kept as given; only the directory name is sanitised.
  std::set<std::string> names;
  for (const auto& t : analysis.trials()) names.insert(t.name());
  EXPECT_EQ(names.count("../x"), 1u);
}

// A custom logger next to the defaults (the guide's DEFAULT_LOGGERS + (CustomLogger,)).
class CountingLogger : public Logger {
 public:
  CountingLogger(const ExperimentInfo&, const TrialView& trial) : path_(trial.logdir() / "custom.log") {}
  void on_result(const Result& result) override { lines_ += result["training_iteration"].dump() + "\n"; }
  void close(const TrialView&) override { std::ofstream(path_) << lines_; }

 private:
  std::filesystem::path path_;
  std::string lines_;
};

TEST(RunTest, CustomLoggerRunsNextToTheDefaults) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.loggers.push_back(logger<CountingLogger>());
  options.stop = {{"training_iteration", 3}};
  auto analysis = run<PrintMe>([&] {
    options.config = {{"print_me", "x"}};
    return std::move(options);
  }());
  const auto logdir = analysis.trials()[0].logdir();
  EXPECT_EQ(read_lines(logdir / "custom.log"), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_TRUE(std::filesystem::exists(logdir / "result.json"));
  EXPECT_TRUE(std::filesystem::exists(logdir / "progress.csv"));
}

TEST(RunTest, PerTrialFilesCanBeTurnedOff) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.num_samples = 5;
  options.write_trial_files = false;
  auto analysis = run([](const Config&, Reporter& r) { r.report({{"x", 1}}); }, std::move(options));
  EXPECT_EQ(analysis.trials().size(), 5u);
  EXPECT_TRUE(trial_dirs(dir.path() / "exp").empty());
}

TEST(RunTest, LocalModeRunsOnTheCallingThread) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.local_mode = true;
  options.num_samples = 3;
  options.stop = {{"training_iteration", 4}};
  const auto caller = std::this_thread::get_id();
  std::atomic<int> off_thread{0};
  auto analysis = run([&](const Config&, Reporter& r) {
    for (;;) {
      if (std::this_thread::get_id() != caller) ++off_thread;
      r.report({{"x", 1}});
    }
  }, options);
  EXPECT_EQ(off_thread.load(), 0);
  EXPECT_EQ(analysis.trials().size(), 3u);
  for (const auto& t : analysis.trials()) EXPECT_EQ(t.last_result()["training_iteration"], 4);

  class OnCaller : public Trainable {
   public:
    Result step() override { return {{"same", std::this_thread::get_id() == caller_}}; }
    std::thread::id caller_ = std::this_thread::get_id();  // constructed on the runner's thread too
  };
  options.name = "class_local";
  analysis = run<OnCaller>(options);
  for (const auto& t : analysis.trials()) EXPECT_EQ(t.last_result()["same"], true);
}

TEST(RunTest, NanMetricIsLoggedButNeverBest) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.config = {{"v", grid_search({1.0, std::nan(""), 3.0})}};
  options.metric = "score";
  options.mode = "max";
  auto analysis = run([](const Config& config, Reporter& r) {
    const double v = config["v"].is_number() ? config["v"].get<double>() : std::nan("");
    r.report({{"score", v}, {"done", true}});
  }, std::move(options));
  EXPECT_EQ(analysis.get_best_config()["v"], 3.0);
}

TEST(RunTest, StatusTableIsPrinted) {
  TempDir dir;
  std::ostringstream out;
  RunOptions options = quiet_options(dir);
  options.verbose = 1;
  options.reporter.out = &out;
  options.config = {{"lr", grid_search({0.1, 0.2})}};
  options.metric = "mean_accuracy";
  options.mode = "max";
  run([](const Config& c, Reporter& r) { r.report({{"mean_accuracy", c["lr"]}, {"done", true}}); }, options);
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("== Status =="));
  EXPECT_THAT(text, HasSubstr("Memory usage on this node"));
  EXPECT_THAT(text, HasSubstr("Using FIFO scheduling algorithm."));
  EXPECT_THAT(text, HasSubstr("Resources requested:"));
  EXPECT_THAT(text, HasSubstr("Result logdir:"));
  EXPECT_THAT(text, HasSubstr("Number of trials: 2 (2 TERMINATED)"));
  EXPECT_THAT(text, HasSubstr("| Trial name"));
  EXPECT_THAT(text, HasSubstr("| lr"));
  EXPECT_THAT(text, HasSubstr("TERMINATED"));
  EXPECT_THAT(text, HasSubstr("== Summary =="));
  EXPECT_THAT(text, HasSubstr("Best trial:"));
}

TEST(RunTest, AnalysisLoadsFromDiskAlone) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.config = {{"x", grid_search({1, 2, 3})}};
  options.stop = {{"training_iteration", 3}};
  auto live = run([](const Config& c, Reporter& r) {
    for (;;) r.report({{"score", c["x"].get<int>() * 10}});
  }, std::move(options));
  auto loaded = ExperimentAnalysis::load(dir.path() / "exp");
  ASSERT_EQ(loaded.trials().size(), 3u);
  EXPECT_EQ(loaded.get_best_config("score", "max")["x"], 3);
  EXPECT_EQ(live.get_best_logdir("score", "min"), loaded.get_best_logdir("score", "min"));
}

TEST(RunTest, InvalidOptionsNameTheField) {
  auto expect_error = [](auto mutate, const std::string& field) {
    TempDir dir;
    RunOptions options = quiet_options(dir);
    mutate(options);
    try {
      run([](const Config&, Reporter&) {}, std::move(options));
      ADD_FAILURE() << "expected TuneError for " << field;
    } catch (const TuneError& e) {
      EXPECT_THAT(e.what(), HasSubstr(field));
    }
  };
  expect_error([](RunOptions& o) { o.num_samples = 0; }, "num_samples");
  expect_error([](RunOptions& o) { o.mode = "maximum"; o.metric = "m"; }, "mode");
  expect_error([](RunOptions& o) { o.metric = "m"; }, "mode");
  expect_error([](RunOptions& o) { o.verbose = 7; }, "verbose");
  expect_error([](RunOptions& o) { o.max_concurrent_trials = -1; }, "max_concurrent_trials");
  expect_error([](RunOptions& o) { o.time_budget_s = -1; }, "time_budget_s");
  expect_error([](RunOptions& o) { o.max_failures = -2; }, "max_failures");
  expect_error([](RunOptions& o) { o.fail_fast = true; o.max_failures = 2; }, "fail_fast");
  expect_error([](RunOptions& o) { o.name = "../up"; }, "name");
  expect_error([](RunOptions& o) {
    o.function_execution = FunctionExecution::kFiber;
    o.local_mode = true;
  }, "function_execution");
  expect_error([](RunOptions& o) { o.fiber_stack_size = 4096; }, "fiber_stack_size");
  expect_error([](RunOptions& o) { o.fiber_stack_size = std::size_t{4} << 30; }, "fiber_stack_size");
  expect_error([](RunOptions& o) {
    o.config = {{"a", sample_from([](Spec& s) { return s.config("b"); })},
                {"b", sample_from([](Spec& s) { return s.config("a"); })}};
  }, "cycle");
}

}  // namespace
}  // namespace tune
