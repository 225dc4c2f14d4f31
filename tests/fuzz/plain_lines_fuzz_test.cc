// Fuzz test of the plain protocol's stdout reader (executors/worker_messages.h,
// read_plain_line): every line is a log line, a result (a JSON object) or a violation that
// quotes the line — never an exception, a crash or a sanitizer report. A result then goes
// through the auto-filler (trial/auto_fill.h) as in a trial: filled, or refused with a
// TuneError when a field tune acts on has the wrong type.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/json_writer.h"
#include "executors/worker_messages.h"
#include "trial/auto_fill.h"
#include "tune/error.h"
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
      R"({"loss": 2, "done": 1, "should_checkpoint": "no", "training_iteration": 2.0})",
      R"({"done": null, "training_iteration": -7, "timesteps_this_iter": 1e300, "episodes_this_iter": NaN})",
  });
  TrialInfo info;
  info.trial_id = "fuzz_00000";
  AutoFiller filler(info, Config::object());
  size_t refused = 0;
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
        try {
          filler.fill(read.result, 0.001);
        } catch (const TuneError&) {
          ++refused;  // the trial fails; anything else thrown fails this test
          break;
        }
        ASSERT_TRUE(read.result["done"].is_boolean()) << "input " << i;
        ASSERT_TRUE(read.result["training_iteration"].is_number_integer()) << "input " << i;
        ASSERT_TRUE(!read.result.contains("should_checkpoint") || read.result["should_checkpoint"].is_boolean());
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
  EXPECT_GT(refused, inputs / 200);    // some results reach the auto-filler's refusals
}

}  // namespace
}  // namespace tune::detail
