// Unit tests of the console status block: columns, fair cuts across states, footers.
#include "callbacks/status_reporter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

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

TEST(StatusReporterTest, NoTableBeforeTheFirstTrialButOneAtTheEnd) {
  StatusReporter reporter({}, "", {});
  StatusSnapshot s;
  s.resources_line = "Resources requested: 0/4 CPUs, 0/0 GPUs";
  EXPECT_EQ(reporter.render(s), "");
  s.done = true;  // an experiment that ran no trial still says so at its end
  EXPECT_THAT(reporter.render(s), HasSubstr("Number of trials: 0"));
}

TEST(StatusReporterTest, LinesNeverShareALineWithTheProgressBar) {
  StatusReporter reporter({}, "", {});
  std::ostringstream out;
  reporter.draw_progress_bar(out, 0, 4);
  reporter.print(out, "Trial T_00000 completed\n");
  reporter.print(out, "Trial T_00001 completed\n");  // no bar in between: nothing to clear
  reporter.draw_progress_bar(out, 2, 4);
  reporter.print(out, "");  // clears only
  const std::string clear = "\r\033[K";
  EXPECT_EQ(out.str(), clear + StatusReporter::progress_bar(0, 4) + clear + "Trial T_00000 completed\n" +
                           "Trial T_00001 completed\n" + clear + StatusReporter::progress_bar(2, 4) + clear);
}

TEST(StatusReporterTest, BriefResultLinesAtVerboseTwoAreThrottledPerTrialAndShowTheLast) {
  ReporterOptions options;
  options.max_report_frequency_s = 5;
  StatusReporter reporter(options, "loss", {});
  const auto t0 = StatusReporter::Clock::now();
  const Result first = {{"loss", 0.5}, {"training_iteration", 1}, {"acc", 0.1}, {"done", false}};
  EXPECT_EQ(reporter.result_line("T_0", first, 2, t0), "Result for T_0: training_iteration=1, loss=0.5\n");
  Result second = first;
  second["training_iteration"] = 2;
  EXPECT_EQ(reporter.result_line("T_0", second, 2, t0 + std::chrono::seconds(1)), "") << "throttled";
  EXPECT_NE(reporter.result_line("T_1", second, 2, t0 + std::chrono::seconds(1)), "") << "per trial";
  EXPECT_EQ(reporter.result_line("T_0", second, 2, t0 + std::chrono::seconds(6)),
            "Result for T_0: training_iteration=2, loss=0.5\n");
  Result last = second;
  last["done"] = true;
  EXPECT_EQ(reporter.result_line("T_0", last, 2, t0 + std::chrono::seconds(7)),
            "Result for T_0: training_iteration=2, loss=0.5 (done)\n")
      << "the last result is always shown";
  EXPECT_EQ(reporter.result_line("T_0", first, 1, t0 + std::chrono::seconds(60)), "") << "verbose 1: none";
}

TEST(StatusReporterTest, FullResultAtVerboseThreeAndTheFirstKeysWithoutAMetric) {
  StatusReporter reporter({}, "", {});
  const auto now = StatusReporter::Clock::now();
  const Result result = {{"acc", 0.25}, {"training_iteration", 3}, {"done", false}};
  EXPECT_EQ(reporter.result_line("T_0", result, 3, now), "Result for T_0: " + result.dump() + "\n");
  EXPECT_EQ(reporter.result_line("T_1", result, 2, now), "Result for T_1: training_iteration=3, acc=0.25\n");
}

}  // namespace
}  // namespace tune::detail
