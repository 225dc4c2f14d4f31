// Defaults a new user meets first: no config is the empty config {}, and default experiment
// names never share a directory, even for runs started in the same second.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "support/temp_dir.h"
#include "tune/tune.h"

namespace tune {
namespace {

using testing::TempDir;

TEST(DefaultsTest, NoConfigIsTheEmptyObject) {
  TempDir dir;
  RunOptions options;
  options.local_dir = dir.str();
  options.verbose = 0;
  auto seen = std::make_shared<Json>();
  run(make_trainable("f", [seen](const Config& config, Reporter& reporter) {
        *seen = config;
        reporter.report({{"lr", config.value("lr", 0.1)}});  // the usual way to read an optional key
      }),
      options);
  EXPECT_TRUE(seen->is_object());
  EXPECT_TRUE(seen->empty());
}

TEST(DefaultsTest, DefaultNamesOfRunsInTheSameSecondDiffer) {
  TempDir dir;
  std::set<std::filesystem::path> dirs;
  for (int i = 0; i < 3; ++i) {  // well within one second, or the test proves nothing...
    RunOptions options;
    options.local_dir = dir.str();
    options.verbose = 0;
    const ExperimentAnalysis analysis =
        run(make_trainable("same", [](const Config&, Reporter& reporter) { reporter.report({{"a", 1}}); }), options);
    dirs.insert(analysis.experiment_dir());
    ASSERT_EQ(analysis.trials().size(), 1u);
  }
  EXPECT_EQ(dirs.size(), 3u);  // ... and either way no two runs may share one
  for (const auto& d : dirs) EXPECT_EQ(ExperimentAnalysis::load(d).trials().size(), 1u) << d;
}

// The console as a user sees it at verbose 2: no empty table first, a brief line per result
// (the first and the last of each trial here, the rest throttled), the end table and summary.
TEST(DefaultsTest, VerboseTwoPrintsBriefResultLinesAndNoEmptyTableFirst) {
  TempDir dir;
  std::ostringstream out;
  RunOptions options;
  options.local_dir = dir.str();
  options.name = "console";
  options.metric = "loss";
  options.mode = "min";
  options.config = {{"x", grid_search({1, 2})}};
  options.reporter.out = &out;
  options.reporter.max_report_frequency_s = 60;
  run(make_trainable("f", [](const Config& config, Reporter& reporter) {
        for (int i = 1; i <= 5; ++i) reporter.report({{"loss", config.at("x").get<int>() * 10 + i}});
      }),
      options);
  const std::string text = out.str();
  EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr("Number of trials: 0")));
  EXPECT_THAT(text, ::testing::HasSubstr("Result for f_"));
  EXPECT_THAT(text, ::testing::HasSubstr(": training_iteration=1, loss=11\n"));
  EXPECT_THAT(text, ::testing::HasSubstr(": training_iteration=5, loss=15 (done)\n"));
  EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr("training_iteration=3,"))) << "not throttled";
  EXPECT_THAT(text, ::testing::HasSubstr("== Summary =="));
}

}  // namespace
}  // namespace tune
