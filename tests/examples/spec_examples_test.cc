// Tests of the spec-file examples (examples/*.yaml): the real `tune` binary runs each one from
// another directory into a scratch local_dir; every trial must end TERMINATED after its
// iterations, with the metric in its results, and the best trial must have learnt something.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/temp_dir.h"
#include "tune/analysis.h"

namespace tune {
namespace {

namespace fs = std::filesystem;

struct SpecExample {
  const char* file;    // in examples/
  const char* name;    // the experiment's name (its directory)
  const char* metric;  // reported by every trial
  const char* mode;    // "min" or "max"
  double good_enough;  // the best trial's last value beats this
  size_t trials;       // trials the spec makes
  int64_t iterations;  // results of each trial
  const char* needs;   // "digits" (the built example), "python" (python3) or ""
};

void PrintTo(const SpecExample& example, std::ostream* os) { *os << example.file; }

std::string shell_quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

class SpecExampleTest : public ::testing::TestWithParam<SpecExample> {};

TEST_P(SpecExampleTest, EveryTrialTerminatesWithTheMetric) {
#ifndef TUNE_CLI_PATH
  GTEST_SKIP() << "the tune command was not built";
#else
  const SpecExample& example = GetParam();
  const fs::path digits_binary = fs::path(TUNE_BINARY_DIR) / "examples" / "tune_digits";
  if (std::string(example.needs) == "digits" && !fs::exists(digits_binary)) {
    GTEST_SKIP() << digits_binary.string() << " was not built";
  }
  if (std::string(example.needs) == "python" && std::string(TUNE_TEST_PYTHON).empty()) {
    GTEST_SKIP() << "no Python 3 interpreter found at configure time";
  }
  testing::TempDir dir;
  const fs::path results = dir.path() / "results";
  std::vector<std::string> args = {TUNE_CLI_PATH,
                                   "run",
                                   std::string(TUNE_SOURCE_DIR) + "/examples/" + example.file,
                                   "--set",
                                   "local_dir=" + results.string(),
                                   "--set",
                                   "verbose=0"};
  if (std::string(example.needs) == "digits") {
    args.insert(args.end(), {"--set", "trainable.binary=" + digits_binary.string()});  // wherever it was built
  }
  // From another directory: the spec's paths are relative to the spec file, not to here.
  std::string command = "cd " + shell_quote(dir.str()) + " &&";
  for (const std::string& arg : args) command += " " + shell_quote(arg);
  const fs::path log = dir.path() / "tune.log";
  command += " >" + shell_quote(log.string()) + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream log_file(log);
  std::stringstream output;
  output << log_file.rdbuf();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command << "\n" << output.str();

  const ExperimentAnalysis analysis = ExperimentAnalysis::load(results / example.name);
  ASSERT_EQ(analysis.trials().size(), example.trials) << output.str();
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated) << trial.trial_id() << ": " << trial.error();
    const Result& last = trial.last_result();
    EXPECT_EQ(last.value("training_iteration", int64_t{0}), example.iterations) << trial.trial_id();
    ASSERT_TRUE(last.contains(example.metric) && last[example.metric].is_number()) << last.dump();
    EXPECT_TRUE(std::isfinite(last[example.metric].get<double>())) << last.dump();
  }
  const auto best = analysis.get_best_trial(example.metric, example.mode);
  ASSERT_TRUE(best.has_value());
  const double value = best->last_result()[example.metric].get<double>();
  if (std::string(example.mode) == "max") {
    EXPECT_GT(value, example.good_enough);
  } else {
    EXPECT_LT(value, example.good_enough);
  }
#endif
}

INSTANTIATE_TEST_SUITE_P(Examples, SpecExampleTest,
                         ::testing::Values(
                             // A registered C++ trainable, each trial the example binary re-run as a worker.
                             SpecExample{"digits_process.yaml", "digits_process", "mean_accuracy", "max", 0.9, 4, 10,
                                         "digits"},
                             // A Python script through clients/python/tune_client.py; the data's noise is 0.01 (mse).
                             SpecExample{"python_client.yaml", "python_client", "mse", "min", 0.05, 6, 20, "python"},
                             // An awk program printing JSON lines; the start point's loss is 12.5.
                             SpecExample{"awk_plain.yaml", "awk_plain", "loss", "min", 1.0, 6, 500, ""}),
                         [](const ::testing::TestParamInfo<SpecExample>& param) {
                           std::string name = param.param.name;
                           std::erase(name, '_');
                           return name;
                         });

}  // namespace
}  // namespace tune
