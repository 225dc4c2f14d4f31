// Rolling result files back to a checkpoint: rows after it go, a torn last line goes, and a
// damaged line is moved aside (never deleted) with the valid rows around it kept.
#include "callbacks/log_rollback.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>


#include "support/files.h"
#include "support/temp_dir.h"

namespace tune::detail {
namespace {

using testing::read_text;
using testing::write_text;
using testing::TempDir;
namespace fs = std::filesystem;

std::string row(int iteration) {
  return R"({"loss":)" + std::to_string(iteration * 0.5) + R"(,"training_iteration":)" + std::to_string(iteration) +
         "}\n";
}

std::vector<int64_t> rollback(const fs::path& logdir, int64_t iteration) {
  std::vector<int64_t> kept;
  rollback_trial_logs(logdir, iteration, [&](Result&& r) { kept.push_back(r["training_iteration"].get<int64_t>()); });
  return kept;
}

TEST(LogRollbackTest, CutsRowsAfterTheCheckpointAndATornTailInPlace) {
  TempDir dir;
  write_text(dir.path() / "result.json", row(1) + row(2) + row(3) + R"({"loss":)");
  EXPECT_EQ(rollback(dir.path(), 2), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(read_text(dir.path() / "result.json"), row(1) + row(2));
  EXPECT_FALSE(fs::exists(dir.path() / "result.json.damaged-1"));
}

TEST(LogRollbackTest, MovesADamagedMiddleLineAsideAndKeepsTheRowsAfterIt) {
  TempDir dir;
  const std::string damaged = "{\"loss\": 1.5, \"training_iter\xff\n";
  write_text(dir.path() / "result.json", row(1) + row(2) + damaged + row(4) + row(5) + row(6));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(rollback(dir.path(), 5), (std::vector<int64_t>{1, 2, 4, 5}));
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(read_text(dir.path() / "result.json"), row(1) + row(2) + row(4) + row(5));
  EXPECT_EQ(read_text(dir.path() / "result.json.damaged-1"), damaged);
  EXPECT_THAT(err, ::testing::HasSubstr("1 damaged line(s) moved to result.json.damaged-1"));
  // A second damaged line later gets a file of its own: the first is never overwritten.
  write_text(dir.path() / "result.json", row(1) + "not json\n" + row(2));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(rollback(dir.path(), 9), (std::vector<int64_t>{1, 2}));
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(read_text(dir.path() / "result.json.damaged-1"), damaged);
  EXPECT_EQ(read_text(dir.path() / "result.json.damaged-2"), "not json\n");
}

TEST(LogRollbackTest, ADamagedLineAfterTheCheckpointIsKeptAsideToo) {
  TempDir dir;
  write_text(dir.path() / "result.json", row(1) + row(2) + "[1,2]\n" + row(3));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(rollback(dir.path(), 1), (std::vector<int64_t>{1}));
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(read_text(dir.path() / "result.json"), row(1));
  EXPECT_EQ(read_text(dir.path() / "result.json.damaged-1"), "[1,2]\n");
}

TEST(LogRollbackTest, MovesADamagedCsvRowAsideUnderTheHeader) {
  TempDir dir;
  const std::string header = "loss,training_iteration\n";
  write_text(dir.path() / "progress.csv", header + "0.5,1\n" + "0.7,x\n" + "1.5,3\n" + "2.0,4\n");
  ::testing::internal::CaptureStderr();
  rollback_trial_logs(dir.path(), 3, {});
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(read_text(dir.path() / "progress.csv"), header + "0.5,1\n" + "1.5,3\n");
  EXPECT_EQ(read_text(dir.path() / "progress.csv.damaged-1"), header + "0.7,x\n");
  EXPECT_THAT(err, ::testing::HasSubstr("progress.csv"));
  // Without damage the rows after the checkpoint are cut and nothing is moved.
  write_text(dir.path() / "progress.csv", header + "0.5,1\n" + "1.5,2\n");
  rollback_trial_logs(dir.path(), 1, {});
  EXPECT_EQ(read_text(dir.path() / "progress.csv"), header + "0.5,1\n");
  EXPECT_FALSE(fs::exists(dir.path() / "progress.csv.damaged-2"));
}

}  // namespace
}  // namespace tune::detail
