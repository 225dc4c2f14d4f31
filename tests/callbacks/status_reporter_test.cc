// Unit tests of the console status block: columns, fair cuts across states, footers.
#include "callbacks/status_reporter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tune::detail {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

StatusRow row(const std::string& name, TrialStatus status, double lr, double acc) {
  return StatusRow{name, status, status == TrialStatus::kRunning ? "10.0.0.1:42" : "", Json{{"lr", lr}},
                   Json{{"mean_accuracy", acc}, {"training_iteration", 3}, {"time_total_s", 1.5}, {"f1", 0.2}}};
}

TEST(StatusReporterTest, RendersTheGuideLayout) {
  StatusReporter reporter({}, "", {"lr"});
  StatusSnapshot s;
  s.scheduler_line = "Using FIFO scheduling algorithm.";
  s.resources_line = "Resources requested: 2/4 CPUs, 0/0 GPUs";
  s.logdir = "/results/exp";
  s.counts = {{TrialStatus::kRunning, 2}};
  s.rows = {row("T_00000", TrialStatus::kRunning, 0.1, 0.5), row("T_00001", TrialStatus::kRunning, 0.2, 0.75)};
  const std::string text = reporter.render(s);
  EXPECT_THAT(text, HasSubstr("== Status ==\n"));
  EXPECT_THAT(text, HasSubstr("Using FIFO scheduling algorithm.\n"));
  EXPECT_THAT(text, HasSubstr("Resources requested: 2/4 CPUs, 0/0 GPUs\n"));
  EXPECT_THAT(text, HasSubstr("Result logdir: /results/exp\n"));
  EXPECT_THAT(text, HasSubstr("Number of trials: 2 (2 RUNNING)\n"));
  EXPECT_THAT(text, HasSubstr("| Trial name | status  | loc         | lr  | acc  | iter | total time (s) | f1  |"));
  EXPECT_THAT(text, HasSubstr("| T_00001    | RUNNING | 10.0.0.1:42 | 0.2 | 0.75 |    3 |            1.5 | 0.2 |"));
}

TEST(StatusReporterTest, CutsRowsFairlyAcrossStatesWithAFooter) {
  ReporterOptions options;
  options.max_progress_rows = 4;
  StatusReporter reporter(options, "mean_accuracy", {"lr"});
  StatusSnapshot s;
  for (int i = 0; i < 10; ++i) s.rows.push_back(row("run" + std::to_string(i), TrialStatus::kRunning, 0.1, 0.1));
  for (int i = 0; i < 3; ++i) s.rows.push_back(row("done" + std::to_string(i), TrialStatus::kTerminated, 0.1, 0.1));
  s.counts = {{TrialStatus::kRunning, 10}, {TrialStatus::kTerminated, 500}, {TrialStatus::kPending, 0}};
  const std::string text = reporter.render(s);
  EXPECT_THAT(text, HasSubstr("run0"));
  EXPECT_THAT(text, HasSubstr("run1"));
  EXPECT_THAT(text, Not(HasSubstr("run2")));
  EXPECT_THAT(text, HasSubstr("done0"));
  EXPECT_THAT(text, HasSubstr("done1"));
  EXPECT_THAT(text, Not(HasSubstr("done2")));
  EXPECT_THAT(text, HasSubstr("... 506 more trials not shown (8 RUNNING, 498 TERMINATED)"));
  EXPECT_THAT(text, HasSubstr("Number of trials: 510 (10 RUNNING, 500 TERMINATED)"));
}

TEST(StatusReporterTest, ListsErroredTrials) {
  StatusReporter reporter({}, "", {});
  StatusSnapshot s;
  s.counts = {{TrialStatus::kError, 1}};
  s.rows = {row("bad", TrialStatus::kError, 0.1, 0.1)};
  s.errors = {{"bad", 2, "/r/bad/error.txt"}};
  s.num_errored = 1;
  const std::string text = reporter.render(s);
  EXPECT_THAT(text, HasSubstr("Number of errored trials: 1"));
  EXPECT_THAT(text, HasSubstr("| bad        |          2 | /r/bad/error.txt |"));
}

TEST(StatusReporterTest, ProgressBar) {
  EXPECT_EQ(StatusReporter::progress_bar(5, 10, 10), "[=====>    ] 5/10 trials finished");
  EXPECT_EQ(StatusReporter::progress_bar(10, 10, 4), "[====] 10/10 trials finished");
  EXPECT_EQ(StatusReporter::progress_bar(3, std::nullopt), "3 trials finished");
}

TEST(StatusReporterTest, DurationFormat) { EXPECT_EQ(format_duration(3725.5), "01:02:05.50"); }

}  // namespace
}  // namespace tune::detail
