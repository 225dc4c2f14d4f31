// Each run-option rule (src/runner/run_options_rules.h) through both of its callers: tune::run()
// refuses the RunOptions before anything starts, and a spec file with the same value is refused
// with the same rule at the line of the key that breaks it.
#include "runner/run_options_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "support/temp_dir.h"
#include "tune/error.h"
#include "tune/run.h"
#include "tune/spec.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TempDir;

struct RuleCase {
  std::string label;
  std::string yaml;                         // after the trainable on line 1
  int line;                                 // of the key the spec error names
  std::function<void(RunOptions&)> set;     // the same value through the C++ API
  std::string message;                      // in both errors
};

void PrintTo(const RuleCase& c, std::ostream* out) { *out << c.label; }

class RunOptionRuleTest : public ::testing::TestWithParam<RuleCase> {};

TEST_P(RunOptionRuleTest, RunAndTheSpecParserRefuseItWithTheSameRule) {
  const RuleCase& c = GetParam();
  TempDir dir;
  RunOptions options;
  options.local_dir = dir.str();
  options.verbose = 0;
  c.set(options);
  try {
    run([](const Config&, Reporter& reporter) { reporter.report({{"loss", 1}}); }, std::move(options));
    ADD_FAILURE() << "run() accepted it";
  } catch (const TuneError& error) {
    EXPECT_THAT(error.what(), HasSubstr(c.message)) << "run()";
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "run() created something before refusing";

  SpecSource source;
  source.name = "spec.yaml";
  try {
    parse_run_spec("trainable: {command: [sh, -c, 'echo 1'], protocol: plain}\n" + c.yaml, source);
    ADD_FAILURE() << "the spec was accepted";
  } catch (const SpecError& error) {
    EXPECT_THAT(error.what(), StartsWith("spec.yaml:" + std::to_string(c.line) + ": ")) << "spec";
    EXPECT_THAT(error.what(), HasSubstr(c.message)) << "spec";
    EXPECT_EQ(error.line(), c.line);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rules, RunOptionRuleTest,
    ::testing::Values(
        RuleCase{"name", "name: a/b\n", 2, [](RunOptions& o) { o.name = "a/b"; },
                 "name: 'a/b' must be a single directory name"},
        RuleCase{"name dots", "name: ..\n", 2, [](RunOptions& o) { o.name = ".."; },
                 "name: '..' must be a single directory name"},
        RuleCase{"local_dir", "local_dir: ''\n", 2, [](RunOptions& o) { o.local_dir.clear(); },
                 "local_dir: must not be empty"},
        RuleCase{"num_samples 0", "num_samples: 0\n", 2, [](RunOptions& o) { o.num_samples = 0; },
                 "num_samples: must be >= 1, or -1 for no limit, got 0"},
        RuleCase{"num_samples -2", "num_samples: -2\n", 2, [](RunOptions& o) { o.num_samples = -2; },
                 "num_samples: must be >= 1, or -1 for no limit, got -2"},
        RuleCase{"mode", "metric: loss\nmode: minimum\n", 3,
                 [](RunOptions& o) {
                   o.metric = "loss";
                   o.mode = "minimum";
                 },
                 "mode: must be 'min' or 'max', got 'minimum'"},
        RuleCase{"metric without mode", "num_samples: 1\nmetric: loss\n", 3, [](RunOptions& o) { o.metric = "loss"; },
                 "metric: is given without 'mode' (min or max)"},
        RuleCase{"mode without metric", "mode: max\n", 2, [](RunOptions& o) { o.mode = "max"; },
                 "mode: is given without 'metric'"},
        RuleCase{"verbose", "verbose: 4\n", 2, [](RunOptions& o) { o.verbose = 4; },
                 "verbose: must be 0, 1, 2 or 3, got 4"},
        RuleCase{"max_concurrent_trials", "max_concurrent_trials: -1\n", 2,
                 [](RunOptions& o) { o.max_concurrent_trials = -1; },
                 "max_concurrent_trials: must be >= 1 (or 0 for no limit), got -1"},
        RuleCase{"time_budget_s", "time_budget_s: -5\n", 2, [](RunOptions& o) { o.time_budget_s = -5; },
                 "time_budget_s: must be >= 0, got -5"},
        RuleCase{"max_failures", "max_failures: -2\n", 2, [](RunOptions& o) { o.max_failures = -2; },
                 "max_failures: must be >= 0, or -1 to retry forever, got -2"},
        RuleCase{"fail_fast with retries", "max_failures: 2\nfail_fast: true\n", 3,
                 [](RunOptions& o) {
                   o.max_failures = 2;
                   o.fail_fast = true;
                 },
                 "fail_fast: cannot be combined with max_failures"},
        RuleCase{"checkpoint_freq", "checkpoint_freq: -1\n", 2, [](RunOptions& o) { o.checkpoint_freq = -1; },
                 "checkpoint_freq: must be >= 0 (0 = off), got -1"},
        RuleCase{"checkpoint_score_attr", "checkpoint_score_attr: min-\n", 2,
                 [](RunOptions& o) { o.checkpoint_score_attr = "min-"; },
                 "checkpoint_score_attr: must name a result key"},
        RuleCase{"resume mode", "resume: LOCALL\n", 2, [](RunOptions& o) { o.resume = "LOCALL"; },
                 "resume: 'LOCALL' is not a resume mode; use true, false, LOCAL, PROMPT, ERRORED_ONLY or REMOTE "
                 "(did you mean 'LOCAL'?)"},
        RuleCase{"REMOTE without upload_dir", "name: x\nresume: REMOTE\n", 3,
                 [](RunOptions& o) {
                   o.name = "x";
                   o.resume = "REMOTE";
                 },
                 "resume: REMOTE pulls the experiment from sync_config.upload_dir, which is not given"},
        RuleCase{"REMOTE without name", "resume: REMOTE\nsync_config: {upload_dir: /x}\n", 2,
                 [](RunOptions& o) {
                   o.resume = "REMOTE";
                   o.sync_config.upload_dir = "/x";
                 },
                 "resume: REMOTE needs 'name'"},
        RuleCase{"num_cpus", "num_cpus: -1\n", 2, [](RunOptions& o) { o.num_cpus = -1; },
                 "num_cpus: must be a finite number >= 0, got -1"},
        RuleCase{"num_gpus", "num_gpus: -0.5\n", 2, [](RunOptions& o) { o.num_gpus = -0.5; },
                 "num_gpus: must be a finite number >= 0, got -0.5"},
        RuleCase{"custom resource amount", "custom_resources: {tpu: -1}\n", 2,
                 [](RunOptions& o) { o.custom_resources["tpu"] = -1; }, "must be a finite number >= 0, got -1"},
        RuleCase{"custom resource named like a built-in one", "custom_resources:\n  gpu: 1\n", 3,
                 [](RunOptions& o) { o.custom_resources["gpu"] = 1; },
                 "use num_cpus/num_gpus for built-in resources"}));

TEST(RunOptionRulesTest, AcceptTheDefaultsAndEveryResumeMode) {
  EXPECT_NO_THROW(detail::check_run_options(RunOptions()));
  for (const char* mode : {"", "true", "false", "LOCAL", "PROMPT", "ERRORED_ONLY", "REMOTE"}) {
    EXPECT_NO_THROW(detail::check_resume_mode(mode)) << mode;
  }
  EXPECT_NO_THROW(detail::check_num_samples(-1));
  EXPECT_NO_THROW(detail::check_keep_checkpoints_num(0));  // keep all
  EXPECT_THROW(detail::check_keep_checkpoints_num(-1), TuneError);
  EXPECT_NO_THROW(detail::check_checkpoint_score_attr("min-loss"));
}

}  // namespace
}  // namespace tune
