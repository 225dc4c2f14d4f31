// Tests of trials as child processes (tune/process.h): registered C++ trainables re-run as
// workers (on both launch paths: forked by a zygote, and exec'd), the Python and C++ clients,
// plain programs; crashes, hangs, bad output, argv injection, the environment, and the same
// stop scenario on the thread and process backends. The zygote itself: process_zygote_test.cc.
#include "executors/process_executor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>

#include "executors/process_test_support.h"
#include "executors/workers/trainables.h"
#include "support/files.h"
#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "tune/client.h"
#include "tune/process.h"
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using testing::by_id;
using testing::kPython;
using testing::kWorker;
using testing::kWorkers;
using testing::quiet_options;
using testing::read_text;
using testing::TempDir;
using testing::worker_spec;

const std::string kClientWorker = TUNE_TEST_CLIENT_WORKER;
const std::string kPythonPath = std::string(TUNE_SOURCE_DIR) + "/clients/python";

// The registered-trainable tests run on both launch paths.
class ProcessLaunchTest : public ::testing::TestWithParam<ProcessSpec::Launch> {
 protected:
  static ProcessSpec launch_spec() {
    ProcessSpec spec = worker_spec();
    spec.launch = GetParam();
    return spec;
  }
  static bool forked() { return GetParam() == ProcessSpec::Launch::kZygote; }
};

std::string launch_name(const ::testing::TestParamInfo<ProcessSpec::Launch>& info) {
  return info.param == ProcessSpec::Launch::kZygote ? "Zygote" : "Exec";
}

ProcessSpec plain_spec(std::vector<std::string> args) {
  ProcessSpec spec;
  spec.argv = {kWorker, "plain"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.protocol = ProcessSpec::Protocol::kPlain;
  spec.stop_grace_s = 0.5;
  return spec;
}

// One trial of 2.5 CPUs and `gpus` GPUs in a pool of 4 CPUs and 2 GPUs.
RunOptions resources_options(const TempDir& dir, int gpus) {
  RunOptions options = quiet_options(dir, gpus == 0 ? "cpu" : "gpu");
  options.num_cpus = 4;
  options.num_gpus = 2;
  options.resources_per_trial = Resources{};
  options.resources_per_trial->cpu = 2.5;
  options.resources_per_trial->gpu = gpus;
  return options;
}

// Records every result the runner accepted, per trial.
class Results : public Callback {
 public:
  void on_trial_result(const TrialView& trial, const Result& result) override {
    std::lock_guard lock(mutex_);
    results_[trial.trial_id()].push_back(result);
  }
  std::vector<Result> of(const std::string& trial_id) {
    std::lock_guard lock(mutex_);
    return results_[trial_id];
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<Result>> results_;
};

// ---- the wire format ----

TEST(WireTest, NanAndInfinityRoundTrip) {
  const Json value = {{"loss", std::nan("")}, {"up", HUGE_VAL}, {"down", -HUGE_VAL}, {"text", "NaN"}, {"n", 1}};
  const std::string line = client::wire::dump_line(value);
  EXPECT_THAT(line, HasSubstr("NaN"));
  const Json back = client::wire::parse_line(line);
  EXPECT_TRUE(std::isnan(back["loss"].get<double>()));
  EXPECT_EQ(back["up"].get<double>(), HUGE_VAL);
  EXPECT_EQ(back["down"].get<double>(), -HUGE_VAL);
  EXPECT_EQ(back["text"], "NaN");
  EXPECT_EQ(back["n"], 1);
  EXPECT_THROW(client::wire::parse_line("{\"a\": NaNx}"), Json::parse_error);
}

TEST(ProcessTrainableTest, RejectsBadSpecsNamingTheField) {
  EXPECT_THROW(process_trainable("p", ProcessSpec{}), TuneError);
  ProcessSpec spec;
  spec.argv = {"x"};
  spec.step_timeout_s = -1;
  try {
    process_trainable("p", spec);
    FAIL();
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("step_timeout_s"));
  }
  EXPECT_THROW(isolated("NoSuchTrainableAnywhere"), TuneError);
  ProcessSpec zygote;
  zygote.argv = {"x"};
  zygote.launch = ProcessSpec::Launch::kZygote;
  try {
    process_trainable("p", zygote);  // no TUNE_WORKER: nothing for a zygote to serve
    FAIL();
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("launch"));
    EXPECT_THAT(e.what(), HasSubstr("TUNE_WORKER"));
  }
  zygote.env["TUNE_WORKER"] = "Counter";
  zygote.protocol = ProcessSpec::Protocol::kPlain;
  try {
    process_trainable("p", zygote);
    FAIL();
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("launch: kZygote needs protocol kWorker"));
  }
}

// ---- registered C++ trainables in worker processes ----

TEST_P(ProcessLaunchTest, RegisteredClassTrainableRunsInChildProcesses) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.config = {{"rate", grid_search({1, 2})}};
  options.stop = {{"training_iteration", 4}};
  const auto analysis = run(isolated("Counter", launch_spec()), std::move(options));
  const auto trials = by_id(analysis);
  ASSERT_EQ(trials.size(), 2u);
  for (size_t i = 0; i < trials.size(); ++i) {
    const TrialRecord& trial = trials[i];
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated) << trial.error();
    EXPECT_EQ(trial.last_result()["training_iteration"], 4);
    EXPECT_EQ(trial.last_result()["score"], 4.0 * static_cast<double>(i + 1));
    EXPECT_NE(trial.last_result()["worker_pid"], getpid());
    EXPECT_TRUE(std::filesystem::exists(trial.logdir() / "stdout.log"));
    EXPECT_TRUE(std::filesystem::exists(trial.logdir() / "stderr.log"));
    const std::string result_json = read_text(trial.logdir() / "result.json");
    EXPECT_EQ(std::count(result_json.begin(), result_json.end(), '\n'), 4);
  }
}

TEST_P(ProcessLaunchTest, RegisteredFunctionAndExplicitRegistrationWork) {
  TempDir dir;
  RunOptions options = quiet_options(dir, "fn");
  options.config = {{"n", 5}};
  const auto fn = run(isolated("count_fn", launch_spec()), std::move(options));
  ASSERT_EQ(fn.trials().size(), 1u);
  EXPECT_EQ(fn.trials()[0].status(), TrialStatus::kTerminated) << fn.trials()[0].error();
  EXPECT_EQ(fn.trials()[0].last_result()["training_iteration"], 5);
  EXPECT_EQ(fn.trials()[0].last_result()["done"], true);

  RunOptions explicit_options = quiet_options(dir, "explicit");
  explicit_options.config = {{"rate", 1}};
  explicit_options.stop = {{"training_iteration", 2}};
  const auto counted = run(isolated("ExplicitCounter", launch_spec()), std::move(explicit_options));
  EXPECT_EQ(counted.trials()[0].status(), TrialStatus::kTerminated) << counted.trials()[0].error();
  EXPECT_EQ(counted.trials()[0].last_result()["score"], 2.0);
}

TEST_P(ProcessLaunchTest, UnregisteredNameInTheWorkerIsAClearError) {
  TempDir dir;
  const auto analysis = run(isolated("NotRegisteredThere", launch_spec()), quiet_options(dir));
  ASSERT_EQ(analysis.trials().size(), 1u);
  EXPECT_EQ(analysis.trials()[0].status(), TrialStatus::kError);
  EXPECT_THAT(analysis.trials()[0].error(), HasSubstr("no trainable is registered as 'NotRegisteredThere'"));
  EXPECT_THAT(analysis.trials()[0].error(), HasSubstr("Counter"));
}

TEST_P(ProcessLaunchTest, CrashesFailOnlyTheirTrialWithTheReasonInErrorTxt) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.config = {{"crash", grid_search({"none", "segv", "abort", "exit3", "sigkill", "throw"})}};
  options.stop = {{"training_iteration", 3}};
  const auto trials = by_id(run(isolated("Crasher", launch_spec()), std::move(options)));
  ASSERT_EQ(trials.size(), 6u);
  EXPECT_EQ(trials[0].status(), TrialStatus::kTerminated) << trials[0].error();
  EXPECT_EQ(trials[0].last_result()["training_iteration"], 3);
  const std::vector<std::string> expected = {"exited with signal SIGSEGV (Segmentation fault)",
                                             "exited with signal SIGABRT (Aborted)", "exited with code 3",
                                             "was killed by SIGKILL (possibly out of memory", "boom from step 2"};
  for (size_t i = 1; i < trials.size(); ++i) {
    const TrialRecord& trial = trials[i];
    EXPECT_EQ(trial.status(), TrialStatus::kError) << trial.config().dump();
    const std::string error_txt = read_text(trial.logdir() / "error.txt");
    EXPECT_THAT(error_txt, HasSubstr(expected[i - 1]));
    if (i < 5) {  // a crash: its stderr tells the rest
      EXPECT_THAT(error_txt, HasSubstr("before replying to 'step'"));
      EXPECT_THAT(error_txt, HasSubstr("crasher: about to " + trial.config()["crash"].get<std::string>()));
    } else {  // an exception: the error reply names its type
      EXPECT_THAT(error_txt, HasSubstr("(a C++ exception of type std::runtime_error)"));
    }
    EXPECT_EQ(trial.last_result()["training_iteration"], 1);  // the step before the crash counted
  }
}

TEST_P(ProcessLaunchTest, WithoutTrialFilesTheCrashReportStillHasStderr) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.write_trial_files = false;
  options.config = {{"crash", grid_search({"segv", "none"})}};
  options.stop = {{"training_iteration", 2}};
  const auto trials = by_id(run(isolated("Crasher", launch_spec()), std::move(options)));
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].status(), TrialStatus::kError);
  EXPECT_THAT(trials[0].error(), HasSubstr("SIGSEGV"));
  EXPECT_THAT(trials[0].error(), HasSubstr("crasher: about to segv"));
  EXPECT_EQ(trials[1].status(), TrialStatus::kTerminated) << trials[1].error();
}

TEST_P(ProcessLaunchTest, HungTrialIsKilledAfterTheStepTimeout) {
  TempDir dir;
  ProcessSpec spec = launch_spec();
  spec.step_timeout_s = 3;  // generous: a sanitizer-built worker starts slowly
  RunOptions options = quiet_options(dir);
  options.config = {{"crash", grid_search({"hang", "none"})}};
  options.stop = {{"training_iteration", 3}};
  const auto trials = by_id(run(isolated("Crasher", spec), std::move(options)));
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].status(), TrialStatus::kError);
  EXPECT_THAT(read_text(trials[0].logdir() / "error.txt"), HasSubstr("within step_timeout_s=3 s and was killed"));
  EXPECT_THAT(read_text(trials[0].logdir() / "error.txt"), HasSubstr("crasher: about to hang"));
  EXPECT_EQ(trials[1].status(), TrialStatus::kTerminated);
}

// A ProcessSpec built in C++ skips the spec file's checks: a timeout past the clock's range
// (1e10 s is past int64 nanoseconds) saturates to "never" instead of killing the trial at once.
TEST_P(ProcessLaunchTest, HugeTimeoutsSaturateInsteadOfKillingAtOnce) {
  TempDir dir;
  ProcessSpec spec = launch_spec();
  spec.step_timeout_s = 1e10;
  spec.stop_grace_s = 1e300;
  RunOptions options = quiet_options(dir);
  options.config = {{"crash", "none"}};
  options.stop = {{"training_iteration", 3}};
  const auto trials = by_id(run(isolated("Crasher", spec), std::move(options)));
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].status(), TrialStatus::kTerminated) << trials[0].error();
  EXPECT_EQ(trials[0].last_result()["training_iteration"], 3);
}

TEST_P(ProcessLaunchTest, RetriedTrialStartsAFreshProcessEachTime) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.config = {{"crash", "exit3"}};
  options.max_failures = 2;
  const auto trials = by_id(run(isolated("Crasher", launch_spec()), std::move(options)));
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].status(), TrialStatus::kError);
  const std::string stderr_log = read_text(trials[0].logdir() / "stderr.log");
  size_t attempts = 0;
  for (size_t at = stderr_log.find("about to exit3"); at != std::string::npos;
       at = stderr_log.find("about to", at + 1)) {
    ++attempts;
  }
  EXPECT_EQ(attempts, 3u);
}

TEST_P(ProcessLaunchTest, BadResultsFromAWorkerAreClearErrors) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.config = {{"crash", grid_search({"array", "bigline", "nan"})}};
  options.stop = {{"training_iteration", 2}};
  auto results = std::make_shared<Results>();
  options.callbacks = {results};
  const auto trials = by_id(run(isolated("Crasher", launch_spec()), std::move(options)));
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[0].status(), TrialStatus::kError);
  EXPECT_THAT(trials[0].error(), HasSubstr("must report a JSON object, got array"));
  EXPECT_EQ(trials[1].status(), TrialStatus::kError);
  EXPECT_THAT(trials[1].error(), HasSubstr("longer than max_message_bytes=4194304"));
  EXPECT_EQ(trials[2].status(), TrialStatus::kTerminated) << trials[2].error();
  const auto nan_results = results->of(trials[2].trial_id());
  ASSERT_EQ(nan_results.size(), 2u);
  EXPECT_TRUE(std::isnan(nan_results[1]["score"].get<double>()));
  EXPECT_EQ(nan_results[1]["big"].get<double>(), HUGE_VAL);
}

// ---- the same scenario on both backends ----

class CountingStopper : public Stopper {
 public:
  bool operator()(const std::string&, const Result& result) override {
    const bool stop = result["score"].get<double>() >= 5;
    if (stop) ++stopped_;
    return stop;
  }
  bool stop_all() override { return stopped_ >= 2; }

 private:
  int stopped_ = 0;
};

std::vector<std::pair<std::string, int64_t>> outcome(const ExperimentAnalysis& analysis) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& trial : by_id(analysis)) {
    const Result last = trial.last_result();
    out.emplace_back(std::string(to_string(trial.status())),
                     last.is_object() ? last.value("training_iteration", int64_t{0}) : 0);
  }
  return out;
}

TEST_P(ProcessLaunchTest, SameStopScenarioGivesIdenticalIterationsOnBothBackends) {
  for (int scenario = 0; scenario < 2; ++scenario) {
    std::vector<std::pair<std::string, int64_t>> outcomes[2];
    for (int backend = 0; backend < 2; ++backend) {
      TempDir dir;
      RunOptions options = quiet_options(dir);
      options.num_cpus = 1;  // one trial at a time: the order of events is fixed
      options.config = {{"rate", grid_search({1, 2, 3, 0.5})}};
      if (scenario == 0)
        options.stop = {{"score", 6}, {"training_iteration", 5}};
      else
        options.stop = std::make_shared<CountingStopper>();
      const TrainableSpec trainable =
          backend == 0 ? make_trainable<testing::Counter>("Counter") : isolated("Counter", launch_spec());
      outcomes[backend] = outcome(run(trainable, std::move(options)));
    }
    EXPECT_EQ(outcomes[0], outcomes[1]) << "scenario " << scenario;
    if (scenario == 0) {
      EXPECT_EQ(outcomes[1], (std::vector<std::pair<std::string, int64_t>>{
                                 {"TERMINATED", 5}, {"TERMINATED", 3}, {"TERMINATED", 2}, {"TERMINATED", 5}}));
    } else {
      // Two trials reach score 5, then stop_all ends the experiment: the one already created
      // never starts, the fourth is never created.
      EXPECT_EQ(outcomes[1], (std::vector<std::pair<std::string, int64_t>>{
                                 {"TERMINATED", 5}, {"TERMINATED", 3}, {"TERMINATED", 0}}));
    }
  }
}

// ---- clients ----

TEST(ProcessExecutorTest, PythonClientReportsAndStops) {
  if (kPython.empty()) GTEST_SKIP() << "no Python 3 interpreter found at configure time";
  TempDir dir;
  ProcessSpec spec;
  spec.argv = {kPython, "-S", kWorkers + "/client_script.py"};  // -S: the client needs no site packages
  spec.env = {{"PYTHONPATH", kPythonPath}, {"PYTHONDONTWRITEBYTECODE", "1"}};
  spec.stop_grace_s = 2;
  RunOptions options = quiet_options(dir);
  options.config = {{"mode", grid_search({"count", "forever", "nan", "list"})}, {"rate", 2}};
  options.stop = {{"training_iteration", 4}};
  auto results = std::make_shared<Results>();
  options.callbacks = {results};
  const auto trials = by_id(run(process_trainable("py", spec), std::move(options)));
  ASSERT_EQ(trials.size(), 4u);
  // count: 3 results, then the script returns -> finished.
  EXPECT_EQ(trials[0].status(), TrialStatus::kTerminated) << trials[0].error();
  EXPECT_EQ(trials[0].last_result()["training_iteration"], 3);
  EXPECT_EQ(trials[0].last_result()["score"], 6);
  EXPECT_EQ(trials[0].last_result()["connected"], true);
  EXPECT_EQ(trials[0].last_result()["trial_id"], trials[0].trial_id());
  EXPECT_EQ(trials[0].last_result()["done"], true);
  // forever: stopped at 4 by the stop criteria; the script saw the stop.
  EXPECT_EQ(trials[1].status(), TrialStatus::kTerminated) << trials[1].error();
  EXPECT_EQ(trials[1].last_result()["training_iteration"], 4);
  EXPECT_EQ(read_text(trials[1].logdir() / "stopped.txt"), "stopped\n");
  // nan: arrives as NaN.
  EXPECT_EQ(trials[2].status(), TrialStatus::kTerminated) << trials[2].error();
  const auto nan_results = results->of(trials[2].trial_id());
  ASSERT_EQ(nan_results.size(), 1u);
  EXPECT_TRUE(std::isnan(nan_results[0]["loss"].get<double>()));
  EXPECT_EQ(nan_results[0]["up"].get<double>(), HUGE_VAL);
  // list: the client refuses it with a clear message; the script dies with a traceback.
  EXPECT_EQ(trials[3].status(), TrialStatus::kError);
  EXPECT_THAT(trials[3].error(), HasSubstr("exited with code 1"));
  EXPECT_THAT(trials[3].error(), HasSubstr("takes a dict of metrics or keyword arguments, got a list"));
}

TEST(ProcessExecutorTest, PythonClientOutsideTunePrintsJsonLines) {
  if (kPython.empty()) GTEST_SKIP() << "no Python 3 interpreter found at configure time";
  TempDir dir;
  const std::string out = (dir.path() / "out.txt").string();
  const std::string command = "env -u TUNE_PROTOCOL_FDS PYTHONPATH=" + kPythonPath + " " + kPython + " -S " + kWorkers +
                              "/client_script.py > " + out;
  ASSERT_EQ(std::system(command.c_str()), 0);
  const std::string printed = read_text(out);
  EXPECT_THAT(printed, HasSubstr("{\"score\":1,\"connected\":false,\"trial_id\":null,\"restore\":null}\n"));
  EXPECT_THAT(printed, HasSubstr("\"score\":3"));
}

TEST(ProcessExecutorTest, PythonRawProtocolViolationsAreClearErrors) {
  if (kPython.empty()) GTEST_SKIP() << "no Python 3 interpreter found at configure time";
  TempDir dir;
  ProcessSpec spec;
  spec.argv = {kPython, "-S", kWorkers + "/raw_worker.py", "{mode}"};
  spec.stop_grace_s = 1;
  RunOptions options = quiet_options(dir);
  options.config = {{"mode", grid_search({"badversion", "notjson", "badutf8", "array", "unexpected", "ok"})}};
  const auto trials = by_id(run(process_trainable("raw", spec), std::move(options)));
  ASSERT_EQ(trials.size(), 6u);
  EXPECT_THAT(trials[0].error(), HasSubstr("the worker speaks protocol version 2; this driver speaks 1"));
  EXPECT_THAT(trials[1].error(), HasSubstr("reply line 1 is not valid JSON"));
  EXPECT_THAT(trials[1].error(), HasSubstr("it begins: this is not json"));
  EXPECT_THAT(trials[2].error(), HasSubstr("reply line 1 is not valid UTF-8 (byte 0xe9 at offset"));
  EXPECT_THAT(trials[3].error(), HasSubstr("must report a JSON object, got array"));
  EXPECT_THAT(trials[4].error(), HasSubstr("unexpected reply 'saved'"));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(trials[i].status(), TrialStatus::kError);
  EXPECT_EQ(trials[5].status(), TrialStatus::kTerminated) << trials[5].error();
  EXPECT_EQ(trials[5].last_result()["score"], 7);
  EXPECT_EQ(trials[5].last_result()["done"], true);
}

TEST(ProcessExecutorTest, HeaderOnlyCppClientReportsAndStops) {
  TempDir dir;
  ProcessSpec spec;
  spec.argv = {kClientWorker};
  spec.stop_grace_s = 2;
  RunOptions options = quiet_options(dir);
  options.config = {{"steps", grid_search({2, -1})}, {"rate", 0.5}};
  options.stop = {{"training_iteration", 3}};
  const auto trials = by_id(run(process_trainable("cpp_client", spec), std::move(options)));
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].status(), TrialStatus::kTerminated) << trials[0].error();
  EXPECT_EQ(trials[0].last_result()["training_iteration"], 2);
  EXPECT_EQ(trials[0].last_result()["score"], 1.0);
  EXPECT_EQ(trials[0].last_result()["connected"], true);
  EXPECT_EQ(trials[0].last_result()["trial_id"], trials[0].trial_id());
  EXPECT_EQ(trials[0].last_result()["checkpoint_dir"], (trials[0].logdir() / "checkpoint").string());
  EXPECT_EQ(trials[1].status(), TrialStatus::kTerminated) << trials[1].error();
  EXPECT_EQ(trials[1].last_result()["training_iteration"], 3);
  EXPECT_EQ(read_text(trials[1].logdir() / "client_stopped.txt"), "stopped should_stop\n");
}

// ---- plain programs ----

TEST(ProcessExecutorTest, PlainShellProgramResultsAndLogs) {
  TempDir dir;
  ProcessSpec spec;
  spec.argv = {"/bin/sh", kWorkers + "/plain_counter.sh", "{n}", "{lr}"};
  spec.protocol = ProcessSpec::Protocol::kPlain;
  RunOptions options = quiet_options(dir);
  options.config = {{"n", grid_search({3, 50})}, {"lr", 0.25}};
  options.stop = {{"training_iteration", 5}};
  const auto trials = by_id(run(process_trainable("sh", spec), std::move(options)));
  ASSERT_EQ(trials.size(), 2u);
  // n=3: the program ends by itself after 3 results.
  EXPECT_EQ(trials[0].status(), TrialStatus::kTerminated) << trials[0].error();
  EXPECT_EQ(trials[0].last_result()["training_iteration"], 3);
  EXPECT_EQ(trials[0].last_result()["done"], true);
  EXPECT_EQ(trials[0].last_result()["lr"], "0.25");
  EXPECT_THAT(read_text(trials[0].logdir() / "stdout.log"), HasSubstr("epoch 2 starting\n"));
  // n=50: stopped at 5 by the criteria.
  EXPECT_EQ(trials[1].status(), TrialStatus::kTerminated) << trials[1].error();
  EXPECT_EQ(trials[1].last_result()["training_iteration"], 5);
  EXPECT_EQ(trials[1].last_result()["score"], 5);
}

TEST(ProcessExecutorTest, PlainProgramFailuresAndOddLines) {
  TempDir dir;
  ProcessSpec spec = plain_spec({"{mode}"});
  RunOptions options = quiet_options(dir);
  options.config = {{"mode", grid_search({"exit3", "bigline", "badutf8", "array", "nan"})}};
  auto results = std::make_shared<Results>();
  options.callbacks = {results};
  const auto trials = by_id(run(process_trainable("plain", spec), std::move(options)));
  ASSERT_EQ(trials.size(), 5u);
  // exit3: its one result counts, then the exit code fails the trial.
  EXPECT_EQ(trials[0].status(), TrialStatus::kError);
  EXPECT_EQ(trials[0].last_result()["training_iteration"], 1);
  EXPECT_THAT(trials[0].error(), HasSubstr("exited with code 3"));
  EXPECT_THAT(trials[0].error(), HasSubstr("plain: failing on purpose"));
  EXPECT_EQ(trials[1].status(), TrialStatus::kError);
  EXPECT_THAT(trials[1].error(), HasSubstr("longer than max_message_bytes=4194304"));
  EXPECT_EQ(trials[2].status(), TrialStatus::kError);
  EXPECT_THAT(trials[2].error(), HasSubstr("looks like a JSON result but is not valid UTF-8 (byte 0xe9 at offset 13)"));
  // array: a JSON array line (and a non-JSON brace line) is log, not a result.
  EXPECT_EQ(trials[3].status(), TrialStatus::kTerminated) << trials[3].error();
  EXPECT_EQ(results->of(trials[3].trial_id()).size(), 1u);
  EXPECT_THAT(read_text(trials[3].logdir() / "stdout.log"), HasSubstr("[1, 2, 3]\n"));
  // nan: Python-style NaN / Infinity tokens are numbers; a "NaN" string stays a string.
  EXPECT_EQ(trials[4].status(), TrialStatus::kTerminated) << trials[4].error();
  const auto nan = results->of(trials[4].trial_id());
  ASSERT_EQ(nan.size(), 1u);
  EXPECT_TRUE(std::isnan(nan[0]["loss"].get<double>()));
  EXPECT_EQ(nan[0]["up"].get<double>(), HUGE_VAL);
  EXPECT_EQ(nan[0]["down"].get<double>(), -HUGE_VAL);
  EXPECT_EQ(nan[0]["text"], "NaN");
}

// A plain program's result line with a wrong-typed field tune acts on fails its trial with the
// field named; the driver and the other trials go on. (These used to end the driver with an
// internal error: nlohmann's value("done", false) throws on a non-boolean.)
TEST(ProcessExecutorTest, PlainResultWithAWrongTypedReservedFieldFailsOnlyItsTrial) {
  TempDir dir;
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", "printf '%s\\n' '{\"loss\": 1}' \"$1\" '{\"loss\": 3}'", "sh", "{line}"};
  spec.protocol = ProcessSpec::Protocol::kPlain;
  RunOptions options = quiet_options(dir);
  options.config = {{"line", grid_search({R"({"loss": 2, "done": "yes"})", R"({"loss": 2, "should_checkpoint": null})",
                                          R"({"loss": 2, "training_iteration": "abc"})", R"({"loss": 2, "done": 1})",
                                          R"({"loss": 2, "should_checkpoint": 0, "training_iteration": 2.0})"})}};
  const auto trials = by_id(run(process_trainable("sh", spec), std::move(options)));
  ASSERT_EQ(trials.size(), 5u);
  EXPECT_EQ(trials[0].status(), TrialStatus::kError);
  EXPECT_THAT(trials[0].error(), HasSubstr(R"(result: "done" must be true or false, got string "yes")"));
  EXPECT_EQ(trials[1].status(), TrialStatus::kError);
  EXPECT_THAT(trials[1].error(), HasSubstr(R"(result: "should_checkpoint" must be true or false, got null)"));
  EXPECT_EQ(trials[2].status(), TrialStatus::kError);
  EXPECT_THAT(trials[2].error(), HasSubstr(R"(result: "training_iteration" must be a whole number >= 0, got string)"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(trials[i].last_result()["loss"], 1) << "the refused line is not a result";
  // done: 1 ends the trial at its second result; 0 and 2.0 are read as false and 2.
  EXPECT_EQ(trials[3].status(), TrialStatus::kTerminated) << trials[3].error();
  EXPECT_EQ(trials[3].last_result()["loss"], 2);
  EXPECT_EQ(trials[3].last_result()["done"], true);
  EXPECT_EQ(trials[4].status(), TrialStatus::kTerminated) << trials[4].error();
  EXPECT_EQ(trials[4].last_result()["loss"], 3);
  EXPECT_EQ(trials[4].last_result()["training_iteration"], 3);
}

TEST(ProcessExecutorTest, PlainProgramIgnoringSigtermIsKilledAfterTheGrace) {
  TempDir dir;
  ProcessSpec spec = plain_spec({"ignore_term"});
  spec.stop_grace_s = 0.2;
  RunOptions options = quiet_options(dir);
  options.stop = {{"training_iteration", 2}};
  const auto trials = by_id(run(process_trainable("stubborn", spec), std::move(options)));
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].status(), TrialStatus::kTerminated) << trials[0].error();
  EXPECT_EQ(trials[0].last_result()["training_iteration"], 2);
  const Json dumped = Json::parse(read_text(trials[0].logdir() / "argv.json"));
  const pid_t pid = dumped["pid"].get<pid_t>();
  errno = 0;
  EXPECT_EQ(::kill(pid, 0), -1);  // gone (and reaped) by the time run() returns
  EXPECT_EQ(errno, ESRCH);
}

TEST(ProcessExecutorTest, ConfigValuesAreSingleArgumentsNeverShellCode) {
  TempDir dir;
  ProcessSpec spec = plain_spec({"dump", "--x={x}", "{x}", "--n={n}"});
  RunOptions options = quiet_options(dir);
  options.config = {{"x", "; rm -rf / $(touch pwned) `touch pwned` | cat"}, {"n", 7}};
  const auto trials = by_id(run(process_trainable("inject", spec), std::move(options)));
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].status(), TrialStatus::kTerminated) << trials[0].error();
  const Json dumped = Json::parse(read_text(trials[0].logdir() / "argv.json"));
  EXPECT_EQ(dumped["argv"], Json({kWorker, "plain", "dump", "--x=; rm -rf / $(touch pwned) `touch pwned` | cat",
                                  "; rm -rf / $(touch pwned) `touch pwned` | cat", "--n=7"}));
  EXPECT_FALSE(std::filesystem::exists(trials[0].logdir() / "pwned"));
}

TEST(ProcessExecutorTest, ChildEnvironmentDescribesTheTrial) {
  TempDir dir;
  ProcessSpec spec = plain_spec({"dump"});
  spec.env = {{"EXTRA_VAR", "extra"}};
  for (int gpus = 0; gpus < 2; ++gpus) {
    RunOptions options = resources_options(dir, gpus);
    const auto trials = by_id(run(process_trainable("env", spec), std::move(options)));
    ASSERT_EQ(trials.size(), 1u);
    ASSERT_EQ(trials[0].status(), TrialStatus::kTerminated) << trials[0].error();
    const Json env = Json::parse(read_text(trials[0].logdir() / "argv.json"))["env"];
    EXPECT_EQ(env["TUNE_TRIAL_ID"], trials[0].trial_id());
    EXPECT_EQ(env["TUNE_TRIAL_NAME"], trials[0].name());
    EXPECT_EQ(env["TUNE_TRIAL_DIR"], trials[0].logdir().string());
    EXPECT_EQ(env["TUNE_CHECKPOINT_DIR"], (trials[0].logdir() / "checkpoint").string());
    EXPECT_FALSE(env.contains("TUNE_RESTORE_FROM"));
    EXPECT_FALSE(env.contains("TUNE_PROTOCOL_FDS"));  // plain programs have no protocol pipes
    EXPECT_EQ(env["OMP_NUM_THREADS"], "2");
    EXPECT_EQ(env["EXTRA_VAR"], "extra");
    ASSERT_TRUE(env.contains("CUDA_VISIBLE_DEVICES"));
    if (gpus == 0) {
      EXPECT_EQ(env["CUDA_VISIBLE_DEVICES"], "");  // present and empty: no GPU access
    } else {
      EXPECT_THAT(env["CUDA_VISIBLE_DEVICES"].get<std::string>(), ::testing::AnyOf("0", "1"));
    }
  }
}

TEST(ProcessExecutorTest, MissingCommandIsAClearError) {
  TempDir dir;
  ProcessSpec spec;
  spec.argv = {"tune-no-such-command-xyz", "--flag"};
  const auto trials = by_id(run(process_trainable("missing", spec), quiet_options(dir)));
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].status(), TrialStatus::kError);
  EXPECT_THAT(trials[0].error(), HasSubstr("command 'tune-no-such-command-xyz' not found (searched PATH="));
  EXPECT_THAT(read_text(trials[0].logdir() / "error.txt"), HasSubstr("not found"));

  spec.argv = {"/nonexistent/dir/prog"};
  const auto absolute = by_id(run(process_trainable("missing", spec), quiet_options(dir, "abs")));
  EXPECT_THAT(absolute[0].error(), HasSubstr("'/nonexistent/dir/prog' does not exist"));
}

TEST(ProcessExecutorTest, EchoCopiesChildOutputToTheConsoleWithTheTrialName) {
  TempDir dir;
  ProcessSpec spec = plain_spec({"count", "2"});
  spec.echo_output = true;
  RunOptions options = quiet_options(dir);
  ::testing::internal::CaptureStdout();
  const auto trials = by_id(run(process_trainable("echo", spec), std::move(options)));
  const std::string console = ::testing::internal::GetCapturedStdout();
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_THAT(console, HasSubstr("[" + trials[0].name() + "] epoch 2 starting\n"));
  EXPECT_THAT(read_text(trials[0].logdir() / "stdout.log"), HasSubstr("epoch 2 starting\n"));
}

TEST_P(ProcessLaunchTest, RunByNameReRunsThisBinaryAsTheWorker) {
  TempDir dir;
  const std::string out = (dir.path() / "out.txt").string();
  const std::string command =
      kWorker + " drive " + dir.str() + (GetParam() == ProcessSpec::Launch::kExec ? " exec" : "") + " > " + out;
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::ifstream in(out);
  std::vector<Json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(Json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  for (const Json& line : lines) {
    EXPECT_EQ(line["status"], "TERMINATED");
    EXPECT_EQ(line["iteration"], 3);
    EXPECT_NE(line["worker_pid"], line["driver_pid"]);
  }
}

// What a worker process sees does not depend on how it was started.
TEST_P(ProcessLaunchTest, WorkerProcessLooksTheSameOnBothLaunchPaths) {
  TempDir dir;
  ProcessSpec spec = launch_spec();
  spec.env["EXTRA_VAR"] = "extra";
  for (int gpus = 0; gpus < 2; ++gpus) {
    RunOptions options = resources_options(dir, gpus);
    options.stop = {{"training_iteration", 1}};
    const auto trials = by_id(run(isolated("EnvReporter", spec), std::move(options)));
    ASSERT_EQ(trials.size(), 1u);
    ASSERT_EQ(trials[0].status(), TrialStatus::kTerminated) << trials[0].error();
    const Result r = trials[0].last_result();
    const Json& env = r["env"];
    const std::filesystem::path logdir = trials[0].logdir();
    EXPECT_EQ(env["TUNE_TRIAL_ID"], trials[0].trial_id());
    EXPECT_EQ(env["TUNE_TRIAL_NAME"], trials[0].name());
    EXPECT_TRUE(env["TUNE_EXPERIMENT_ID"].is_string());
    EXPECT_EQ(env["TUNE_TRIAL_DIR"], logdir.string());
    EXPECT_EQ(env["TUNE_CHECKPOINT_DIR"], (logdir / "checkpoint").string());
    EXPECT_TRUE(env["TUNE_RESTORE_FROM"].is_null());
    EXPECT_EQ(env["OMP_NUM_THREADS"], "2");
    EXPECT_EQ(env["EXTRA_VAR"], "extra");
    // worker_main takes its own variables out; a zygote's never reaches a trial.
    EXPECT_TRUE(env["TUNE_WORKER"].is_null());
    EXPECT_TRUE(env["TUNE_PROTOCOL_FDS"].is_null());
    EXPECT_TRUE(env["TUNE_ZYGOTE"].is_null());
    if (gpus == 0) {
      EXPECT_EQ(env["CUDA_VISIBLE_DEVICES"], "");
    } else {
      EXPECT_THAT(env["CUDA_VISIBLE_DEVICES"].get<std::string>(), ::testing::AnyOf("0", "1"));
    }
    EXPECT_TRUE(std::filesystem::equivalent(r["cwd"].get<std::string>(), logdir));
    EXPECT_EQ(r["pgid"], r["worker_pid"]);           // leads its own process group
    EXPECT_EQ(r["fds"], Json({0, 1, 2, 3, 4}));      // nothing of the driver's or the zygote's
    EXPECT_EQ(r["sigchld_blocked"], false);
    EXPECT_EQ(r["stdin"], "/dev/null");
    EXPECT_TRUE(std::filesystem::equivalent(r["stdout"].get<std::string>(), logdir / "stdout.log"));
    EXPECT_TRUE(std::filesystem::equivalent(r["stderr"].get<std::string>(), logdir / "stderr.log"));
    EXPECT_THAT(read_text(logdir / "stdout.log"), HasSubstr("env reporter on stdout\n"));
    EXPECT_THAT(read_text(logdir / "stderr.log"), HasSubstr("env reporter on stderr\n"));
    if (forked()) {
      EXPECT_NE(r["parent_pid"], getpid());  // its zygote's child
    } else {
      EXPECT_EQ(r["parent_pid"], getpid());
    }
  }
}

TEST_P(ProcessLaunchTest, EchoedWorkerOutputReachesTheConsoleAndTheLogs) {
  TempDir dir;
  ProcessSpec spec = launch_spec();
  spec.echo_output = true;  // stdout and stderr through pipes to the driver
  RunOptions options = quiet_options(dir);
  options.stop = {{"training_iteration", 1}};
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const auto trials = by_id(run(isolated("EnvReporter", spec), std::move(options)));
  const std::string out = ::testing::internal::GetCapturedStdout();
  const std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(trials.size(), 1u);
  ASSERT_EQ(trials[0].status(), TrialStatus::kTerminated) << trials[0].error();
  EXPECT_THAT(out, HasSubstr("[" + trials[0].name() + "] env reporter on stdout\n"));
  EXPECT_THAT(err, HasSubstr("[" + trials[0].name() + "] env reporter on stderr\n"));
  EXPECT_THAT(read_text(trials[0].logdir() / "stdout.log"), HasSubstr("env reporter on stdout\n"));
  EXPECT_THAT(read_text(trials[0].logdir() / "stderr.log"), HasSubstr("env reporter on stderr\n"));
  EXPECT_EQ(trials[0].last_result()["fds"], Json({0, 1, 2, 3, 4}));
}

INSTANTIATE_TEST_SUITE_P(BothLaunches, ProcessLaunchTest,
                         ::testing::Values(ProcessSpec::Launch::kZygote, ProcessSpec::Launch::kExec), launch_name);

}  // namespace
}  // namespace tune
