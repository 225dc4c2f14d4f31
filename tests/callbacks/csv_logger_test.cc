// progress.csv when result keys come and go (issue 17 item 8): every row has the final
// header's width, each value sits under its own column, and quoted cells survive the
// rewrites. (How long it takes is measured by bench/e2e_core --only csv_new_keys.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "tune/tune.h"

namespace tune {
namespace {

// Splits one CSV record (quoted cells may hold commas, quotes and newlines).
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string cell;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(std::move(cell));
      cell.clear();
    } else if (c == '\n') {
      rows.back().push_back(std::move(cell));
      cell.clear();
      rows.emplace_back();
    } else {
      cell += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

TEST(CsvLoggerTest, ANewKeyInEveryResultGetsItsColumnAndEveryRowTheHeadersWidth) {
  testing::TempDir dir;
  RunOptions options = testing::quiet_options(dir);
  constexpr int kResults = 300;
  options.stop = {{"training_iteration", kResults}};
  auto analysis = run(
      [](const Config&, Reporter& reporter) {
        for (int i = 1;; ++i) {
          Result result = {{"k" + std::to_string(i), i}, {"loss", 1.0 / i}};
          if (i % 7 == 0) result["note"] = "a \"quoted\", multi\nline cell";
          reporter.report(result);
        }
      },
      std::move(options));
  std::ifstream in(analysis.trials().at(0).logdir() / "progress.csv");
  std::stringstream text;
  text << in.rdbuf();
  const auto rows = parse_csv(text.str());
  ASSERT_EQ(rows.size(), kResults + 1u);
  const auto& header = rows[0];
  for (const auto& row : rows) ASSERT_EQ(row.size(), header.size());
  std::map<std::string, size_t> column;
  for (size_t i = 0; i < header.size(); ++i) column[header[i]] = i;
  for (int i = 1; i <= kResults; ++i) {
    const auto& row = rows[static_cast<size_t>(i)];
    const std::string key = "k" + std::to_string(i);
    ASSERT_TRUE(column.count(key)) << key;
    EXPECT_EQ(row[column[key]], std::to_string(i));
    EXPECT_EQ(row[column["training_iteration"]], std::to_string(i));
    // The columns of the other keys are empty in this row.
    if (i > 1) {
      EXPECT_EQ(row[column["k" + std::to_string(i - 1)]], "");
    }
    EXPECT_EQ(row[column["note"]], i % 7 == 0 ? "a \"quoted\", multi\nline cell" : "");
  }
}

}  // namespace
}  // namespace tune
