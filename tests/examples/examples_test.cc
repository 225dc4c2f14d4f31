// Tests of the user-guide examples (examples/*.cc): each built program runs with a scratch local_dir,
// exits 0 and prints what it demonstrates. Skipped when the examples were not built.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace {

namespace fs = std::filesystem;

struct Outcome {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

fs::path example_binary(const std::string& name) { return fs::path(TUNE_BINARY_DIR) / "examples" / name; }

// Runs an example with a fresh local_dir (removed afterwards), capturing what it prints.
class ExampleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    local_dir_ = fs::path(::testing::TempDir()) /
                 ("tune_example_" + std::string(info->name()) + "_" + std::to_string(std::random_device{}()));
    fs::create_directories(local_dir_);
  }

  void TearDown() override {
    std::error_code ec;
    fs::remove_all(local_dir_, ec);
  }

  // exit_code stays -1 when the program could not be started or was killed by a signal.
  Outcome run_example(const fs::path& binary) const {
    Outcome outcome;
    const std::string command = "'" + binary.string() + "' '" + local_dir_.string() + "' 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return outcome;
    std::array<char, 4096> buffer{};
    size_t n = 0;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) outcome.output.append(buffer.data(), n);
    const int status = pclose(pipe);
    outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return outcome;
  }

  fs::path local_dir_;
};

// Skips the test when the example was not built (TUNE_BUILD_EXAMPLES=OFF, or not built yet).
#define RUN_EXAMPLE(name, outcome)                                                \
  const fs::path binary_ = example_binary(name);                                  \
  if (!fs::exists(binary_)) GTEST_SKIP() << binary_.string() << " was not built"; \
  const Outcome outcome = run_example(binary_);                                   \
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output

TEST_F(ExampleTest, ClassApiPrintsConfigAndRuns200Iterations) {
  RUN_EXAMPLE("class_api", out);
  EXPECT_NE(out.output.find("hello-world\n"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("ended TERMINATED after 200 iterations; last result: accuracy=0.5 f1=0.1"),
            std::string::npos)
      << out.output;
}

TEST_F(ExampleTest, FunctionApiReports200TimesAndSeesTrialInfo) {
  RUN_EXAMPLE("function_api", out);
  EXPECT_NE(out.output.find("hello-world\n"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("trial_info: id="), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("dir=" + local_dir_.string()), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("ended TERMINATED after 200 reports"), std::string::npos) << out.output;
}

TEST_F(ExampleTest, GridRandomSearchCountsTrials) {
  RUN_EXAMPLE("grid_random_search", out);
  EXPECT_NE(out.output.find("Grid search: 6 trials"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("\"qux\":4"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("Sampling multiple times: 90 trials"), std::string::npos) << out.output;
}

TEST_F(ExampleTest, CustomStopperStopsByDictFunctionAndStopAll) {
  RUN_EXAMPLE("custom_stopper", out);
  EXPECT_NE(out.output.find("{\"lr\":0.5} -> TERMINATED at iteration 6"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("{\"lr\":0.1} -> TERMINATED at iteration 10"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("{\"lr\":0.05} -> TERMINATED at iteration 3"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("{\"rate\":2.0} -> TERMINATED, never started"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("CustomStopper.stop_all() = true"), std::string::npos) << out.output;
}

TEST_F(ExampleTest, CustomTrialNamesNameTheDirectories) {
  RUN_EXAMPLE("custom_trial_names", out);
  EXPECT_NE(out.output.find("name: MyTrainableClass_0.5   directory: MyTrainableClass_0.5_"), std::string::npos)
      << out.output;
  EXPECT_NE(out.output.find("directory: trial_2_lr=0.5"), std::string::npos) << out.output;
}

TEST_F(ExampleTest, CustomLoggerWritesNextToDefaultLoggers) {
  RUN_EXAMPLE("custom_logger", out);
  EXPECT_NE(out.output.find("  my_log.txt\n"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("  result.json\n"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("  progress.csv\n"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("iteration 3: mean_loss="), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("ended TERMINATED"), std::string::npos) << out.output;
}

TEST_F(ExampleTest, ResourcesShareOneGpuBetweenHalfGpuTrials) {
  RUN_EXAMPLE("resources", out);
  EXPECT_NE(out.output.find("gpu_ids=[0] resources=1 CPUs, 0.5 GPUs"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("gpu_ids=[] resources=2 CPUs, 0 GPUs"), std::string::npos) << out.output;
  // Two trials of 2 CPUs each in a 2-CPU pool can never overlap.
  EXPECT_NE(out.output.find("trials training at once: at most 1"), std::string::npos) << out.output;
}

TEST_F(ExampleTest, LocalModeRunsOnTheCallingThread) {
  RUN_EXAMPLE("local_mode", out);
  EXPECT_NE(out.output.find("2 trials, 6 steps, all on the calling thread: yes"), std::string::npos) << out.output;
}

TEST_F(ExampleTest, AnalysisScopesPickDifferentBestConfigs) {
  RUN_EXAMPLE("analysis", out);
  EXPECT_NE(out.output.find("Loaded 2 trials"), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("Best config (scope=last) is {\"lr\":0.01,\"model\":\"big\"}"), std::string::npos)
      << out.output;
  EXPECT_NE(out.output.find("Best config (scope=avg) is {\"lr\":0.01,\"model\":\"small\"}"), std::string::npos)
      << out.output;
  EXPECT_NE(out.output.find("dataframe().to_csv():\n  trial_id,"), std::string::npos) << out.output;
}

TEST_F(ExampleTest, CheckpointingRestoresAfterACrashAndResumes) {
  RUN_EXAMPLE("checkpointing", out);
  // 4 trials, each crashed once at iteration 12, came back from checkpoint_10 and ended at 20
  // with every iteration logged once; the best 2 by loss and the newest are kept.
  size_t count = 0;
  for (size_t at = 0; (at = out.output.find("TERMINATED after 20 iterations (20 results logged), restored from a "
                                            "checkpoint after a crash: yes; kept: checkpoint_15 checkpoint_20",
                                            at)) != std::string::npos;
       ++at) {
    ++count;
  }
  EXPECT_EQ(count, 4u) << out.output;
  EXPECT_NE(out.output.find("resume = true: 4 trials, nothing left to run"), std::string::npos) << out.output;
}

}  // namespace
