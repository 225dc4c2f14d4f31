// The strict metric check: a metric the experiment decides by (the run's, a scheduler's, a
// searcher's, checkpoint_score_attr) that a trial's first result lacks ends the experiment
// with a TuneError naming the field and listing the keys the result has.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::TempDir;

TrainableSpec reports_loss() {
  return make_trainable("loss", [](const Config&, Reporter& reporter) {
    for (int i = 0; i < 3; ++i) reporter.report({{"loss", 1.0 / (i + 1)}});
  });
}

RunOptions quiet(const TempDir& dir) {
  RunOptions options;
  options.name = "exp";
  options.local_dir = dir.str();
  options.verbose = 0;
  options.config = {{"x", grid_search({1, 2})}};
  return options;
}

std::string error_of(const TrainableSpec& trainable, const RunOptions& options) {
  try {
    run(trainable, options);
  } catch (const TuneError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(MetricCheckTest, RunMetricTypoWithAshaAndTpeFailsListingTheKeys) {
  TempDir dir;
  RunOptions options = quiet(dir);
  options.config = {{"x", uniform(0, 1)}};
  options.num_samples = 4;
  options.metric = "los";
  options.mode = "min";
  options.scheduler = std::make_shared<AsyncHyperBandScheduler>(AsyncHyperBandScheduler::Options{});
  options.search_alg = std::make_shared<TPESearcher>();
  EXPECT_THAT(error_of(reports_loss(), options),
              AllOf(HasSubstr("metric: trial "), HasSubstr("without 'los'"), HasSubstr("the result has: "),
                    HasSubstr("loss"), HasSubstr("training_iteration")));
}

TEST(MetricCheckTest, SchedulersOwnMetricTypoFails) {
  TempDir dir;
  RunOptions options = quiet(dir);
  AsyncHyperBandScheduler::Options asha;
  asha.metric = "los";
  asha.mode = "min";
  options.scheduler = std::make_shared<AsyncHyperBandScheduler>(asha);
  EXPECT_THAT(error_of(reports_loss(), options), AllOf(HasSubstr("scheduler.metric: "), HasSubstr("'los'")));
}

TEST(MetricCheckTest, CheckpointScoreAttrTypoFails) {
  TempDir dir;
  RunOptions options = quiet(dir);
  options.checkpoint_score_attr = "min-los";
  EXPECT_THAT(error_of(reports_loss(), options), AllOf(HasSubstr("checkpoint_score_attr: "), HasSubstr("'los'")));
}

TEST(MetricCheckTest, NestedAndPresentMetricsPass) {
  TempDir dir;
  RunOptions options = quiet(dir);
  options.metric = "eval/loss";
  options.mode = "min";
  options.checkpoint_score_attr = "min-eval/loss";
  const TrainableSpec nested = make_trainable("nested", [](const Config&, Reporter& reporter) {
    reporter.report({{"eval", {{"loss", 0.5}}}});
  });
  EXPECT_EQ(error_of(nested, options), "(no error)");
}

}  // namespace
}  // namespace tune
