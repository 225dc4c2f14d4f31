// Fuzz test of the plain protocol's stdout reader (executors/worker_messages.h,
// read_plain_line): every line is a log line, a result (a JSON object) or a violation that
// quotes the line — never an exception, a crash or a sanitizer report.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/json_writer.h"
#include "executors/worker_messages.h"
#include "support/fuzz.h"

namespace tune::detail {
namespace {

using ::testing::HasSubstr;

TEST(FuzzTest, PlainResultLinesAreALogLineAResultOrAViolation) {
  testing::Mutator mutator({
      R"({"loss": 0.25, "acc": 0.9, "training_iteration": 3})",
      R"({"mean_loss": -1e-3, "done": false, "should_checkpoint": true})",
      R"(  {"metrics": {"val": [1, 2.5, null], "name": "caf\u00e9"}, "x": NaN, "y": -Infinity})",
      R"({"a":1,"a":2,"s":"with \"escapes\" and \\n"})",
      "epoch 3/10: loss=0.25 {not json}",
      "{\"loss\": 1}\r",
  });
  constexpr size_t kMax = 1 << 20;
  const size_t inputs = testing::fuzz_input_count();
  size_t results = 0;
  size_t violations = 0;
  std::string written;
  for (size_t i = 0; i < inputs; ++i) {
    const std::string line = mutator.next();
    PlainLine read;
    ASSERT_NO_THROW(read = read_plain_line(line, static_cast<int64_t>(i + 1), kMax))
        << "input " << i << ": " << quoted_excerpt(line);
    switch (read.kind) {
      case PlainLine::Kind::kResult:
        ++results;
        ASSERT_TRUE(read.result.is_object()) << "input " << i;
        written.clear();
        append_json(written, read.result);  // what the loggers do next: must not recurse too deep
        break;
      case PlainLine::Kind::kViolation:
        ++violations;
        ASSERT_THAT(read.text, HasSubstr("looks like a JSON result but")) << "input " << i;
        ASSERT_THAT(read.text, HasSubstr("it begins: ")) << "input " << i;
        ASSERT_LT(read.text.size(), 1200u) << "the line is cut in the message";
        break;
      case PlainLine::Kind::kLog:
        break;
    }
  }
  EXPECT_EQ(mutator.count(), inputs);
  EXPECT_GT(results, inputs / 50);     // the mutations keep some lines valid
  EXPECT_GT(violations, inputs / 50);  // and reach the refusal paths
}

}  // namespace
}  // namespace tune::detail
