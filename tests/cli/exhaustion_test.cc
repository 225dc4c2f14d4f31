// End-to-end: a driver short of file descriptors holds trials back instead of failing them
// (issue 17 item 6). `tune run` is started under a hard RLIMIT_NOFILE of 64 (so raising the
// soft limit gains nothing) with room in the pool for 80 trials at once: each running process
// trial holds pipes and log files, so at most a handful fit; the rest wait PENDING and every
// trial still ends TERMINATED with all its results.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "support/files.h"
#include "support/processes.h"
#include "support/temp_dir.h"
#include "support/tune_cli.h"
#include "tune/tune.h"

namespace tune {
namespace {

using testing::read_text;
using testing::shell_quote;
using testing::TempDir;

const std::string kTune = testing::tune_command();
const auto shell = testing::run_shell;

TEST(CliExhaustionTest, TrialsShortOfDescriptorsWaitInsteadOfFailing) {
  TempDir dir;
  std::ofstream(dir.path() / "spec.yaml") << R"SPEC(name: crowd
trainable:
  command: [sh, -c, 'for i in 1 2 3; do echo "{\"loss\": $i}"; sleep 0.02; done']
  protocol: plain
config: {x: {grid_search: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}}
num_samples: 8
num_cpus: 80
resources_per_trial: {cpu: 1}
local_dir: results
verbose: 0
)SPEC";
  // `ulimit -n` in sh sets the soft and the hard limit: tune cannot raise it.
  const int code = shell("cd " + shell_quote(dir.str()) + " && ulimit -n 64 && " + kTune +
                         " run spec.yaml >out.txt 2>err.txt");
  ASSERT_EQ(code, 0) << read_text(dir.path() / "err.txt") << read_text(dir.path() / "out.txt");
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(dir.path() / "results" / "crowd");
  ASSERT_EQ(analysis.trials().size(), 80u);
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated) << trial.trial_id() << ": " << trial.error();
    EXPECT_EQ(trial.last_result().value("training_iteration", 0), 3) << trial.trial_id();
  }
}

}  // namespace
}  // namespace tune
