// Fuzz test of the worker-reply reader (executors/worker_messages.h), the first parser a child's
// output reaches: every input becomes a reply or a violation naming its cause, never an
// exception, a crash or a sanitizer report.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "executors/worker_messages.h"
#include "support/fuzz.h"

namespace tune::detail {
namespace {

TEST(FuzzTest, WorkerRepliesAreAReplyOrAViolation) {
  testing::Mutator mutator({
      R"({"type":"result","result":{"loss":0.5,"acc":[1,2,{"x":null}],"name":"a"}})",
      R"({"result":{"loss":-1e-3},"type":"result"})",
      R"({"type":"ready","version":1})",
      R"({"type":"saved","checkpoint":"checkpoint_000003"})",
      R"({"type":"done"})",
      R"({"type":"error","message":"Traceback (most recent call last):\n  boom"})",
  });
  constexpr size_t kMax = 1 << 20;
  const size_t inputs = testing::fuzz_input_count();
  size_t violations = 0;
  for (size_t i = 0; i < inputs; ++i) {
    const std::string line = mutator.next();
    const auto state = static_cast<WorkerState>(i % 4);
    WorkerReply reply;
    ASSERT_NO_THROW(reply = read_worker_reply(line, ReplyContext{state, static_cast<int64_t>(i), kMax, "step"}))
        << "input " << i << ": " << quoted_excerpt(line);
    if (reply.kind == WorkerReply::Kind::kViolation) {
      ++violations;
      ASSERT_FALSE(reply.text.empty()) << "input " << i;
    }
  }
  EXPECT_EQ(mutator.count(), inputs);
  EXPECT_GT(violations, inputs / 4);  // the mutations do reach the refusal paths
}

}  // namespace
}  // namespace tune::detail
