// Fuzz test of the result.json line reader that analysis and resume use
// (analysis/trial_files.h, parse_result_line): every line is a result object or skipped
// (nullopt) — never an exception, a crash or a sanitizer report.
#include <gtest/gtest.h>

#include <string>

#include "analysis/trial_files.h"
#include "common/json_writer.h"
#include "common/untrusted_json.h"
#include "support/fuzz.h"
#include "support/fuzz_experiment.h"

namespace tune {
namespace {

TEST(FuzzTest, ResultJsonLinesAreAResultOrSkipped) {
  testing::TempDir dir;
  const std::filesystem::path exp = testing::make_seed_experiment(dir);
  std::vector<std::string> seeds;
  for (const auto& entry : std::filesystem::directory_iterator(exp)) {
    if (!entry.is_directory()) continue;
    for (std::string& line : testing::lines_of(entry.path() / "result.json")) seeds.push_back(std::move(line));
  }
  ASSERT_GE(seeds.size(), 8u) << "two trials of four results each";
  seeds.push_back(R"({"loss": NaN, "acc": Infinity, "training_iteration": 2})");
  testing::Mutator mutator(seeds);
  const size_t inputs = testing::fuzz_input_count();
  size_t kept = 0;
  std::string written;
  for (size_t i = 0; i < inputs; ++i) {
    const std::string line = mutator.next();
    std::optional<Json> result;
    ASSERT_NO_THROW(result = analysis_detail::parse_result_line(line))
        << "input " << i << ": " << detail::quoted_excerpt(line);
    if (!result) continue;
    ++kept;
    ASSERT_TRUE(result->is_object()) << "input " << i;
    written.clear();
    detail::append_json(written, *result);
  }
  EXPECT_EQ(mutator.count(), inputs);
  EXPECT_GT(kept, inputs / 20);
  EXPECT_LT(kept, inputs);
}

}  // namespace
}  // namespace tune
