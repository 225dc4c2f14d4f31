// Fuzz test of the external searcher's reply reader (searchers/external_reply.h): every line
// is a JSON object or a TuneError that names the program and quotes the line — never another
// exception, a crash or a sanitizer report.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/json_writer.h"
#include "common/untrusted_json.h"
#include "searchers/external_reply.h"
#include "support/fuzz.h"
#include "tune/error.h"

namespace tune::detail {
namespace {

using ::testing::HasSubstr;

TEST(FuzzTest, SearcherRepliesAreAnObjectOrASearcherError) {
  testing::Mutator mutator({
      R"({"ok": true, "name": "asktell_random"})",
      R"({"config": {"lr": 0.0031, "layers": 3, "act": "relu", "model": {"width": 64}}})",
      R"({"not_now": true})",
      R"({"finished": true})",
      R"({"error": "optuna: the study is closed"})",
      R"({"config": {"x": -1.5e-7, "tags": ["a", "b"], "on": false, "none": null}})",
  });
  const size_t inputs = testing::fuzz_input_count();
  size_t accepted = 0;
  size_t refused = 0;
  std::string written;
  for (size_t i = 0; i < inputs; ++i) {
    const std::string line = mutator.next();
    try {
      const Json reply = read_searcher_reply(line, "searcher.py");
      ++accepted;
      ASSERT_TRUE(reply.is_object()) << "input " << i;
      written.clear();
      append_json(written, reply);
    } catch (const TuneError& e) {
      ++refused;
      ASSERT_THAT(e.what(), HasSubstr("search_alg external: 'searcher.py'")) << "input " << i;
    } catch (const std::exception& e) {
      FAIL() << "input " << i << " threw " << e.what() << ": " << quoted_excerpt(line);
    }
  }
  EXPECT_EQ(mutator.count(), inputs);
  EXPECT_GT(accepted, inputs / 50);
  EXPECT_GT(refused, inputs / 4);
}

}  // namespace
}  // namespace tune::detail
