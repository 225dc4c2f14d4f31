// Tests of the worker-reply reader (executors/worker_messages.h): every message kind in every
// state a trial can be in while its child is heard, and malformed lines, which must become a
// violation value and never an exception or a crash.
#include "executors/worker_messages.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

namespace tune::detail {
namespace {

using ::testing::HasSubstr;
using Kind = WorkerReply::Kind;

constexpr size_t kMax = 1 << 20;

WorkerReply read(std::string_view line, WorkerState state, std::string_view awaiting = "step") {
  return read_worker_reply(line, ReplyContext{state, 7, kMax, awaiting});
}

struct Case {
  const char* name;
  std::string line;
  Kind starting, stepping, waiting, saving;
};

// The protocol's table: what each reply means in each state.
const Case kTable[] = {
    {"result_fast", R"({"type":"result","result":{"loss":0.5}})", Kind::kResult, Kind::kResult, Kind::kViolation,
     Kind::kViolation},
    {"result_general", R"({"result":{"loss":0.5},"type":"result"})", Kind::kResult, Kind::kResult,
     Kind::kViolation, Kind::kViolation},
    {"ready", R"({"type":"ready"})", Kind::kReady, Kind::kViolation, Kind::kViolation, Kind::kViolation},
    {"saved", R"({"type":"saved"})", Kind::kViolation, Kind::kViolation, Kind::kViolation, Kind::kSaved},
    {"done", R"({"type":"done"})", Kind::kDone, Kind::kDone, Kind::kViolation, Kind::kViolation},
    {"error", R"({"type":"error","message":"boom"})", Kind::kError, Kind::kError, Kind::kError, Kind::kError},
    {"unknown", R"({"type":"teleport"})", Kind::kViolation, Kind::kViolation, Kind::kViolation,
     Kind::kViolation},
};

TEST(WorkerMessagesTest, EveryKindInEveryStateMeansWhatTheProtocolSays) {
  for (const Case& c : kTable) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(read(c.line, WorkerState::kStarting, "setup").kind, c.starting);
    EXPECT_EQ(read(c.line, WorkerState::kStepping).kind, c.stepping);
    EXPECT_EQ(read(c.line, WorkerState::kWaiting).kind, c.waiting);
    EXPECT_EQ(read(c.line, WorkerState::kSaving, "save").kind, c.saving);
  }
}

TEST(WorkerMessagesTest, AResultCarriesItsValueOnBothPaths) {
  const WorkerReply fast = read(R"({"type":"result","result":{"loss":0.5,"it":3}})", WorkerState::kStepping);
  ASSERT_EQ(fast.kind, Kind::kResult);
  EXPECT_EQ(fast.result, (Json{{"loss", 0.5}, {"it", 3}}));
  const WorkerReply nested = read(R"({"type":"result","result":{"m":{"a":[1,2]}}})", WorkerState::kStarting);
  ASSERT_EQ(nested.kind, Kind::kResult);
  EXPECT_EQ(nested.result, (Json{{"m", {{"a", {1, 2}}}}}));
  const WorkerReply nan = read(R"({"type":"result","result":{"loss":NaN}})", WorkerState::kStepping);
  ASSERT_EQ(nan.kind, Kind::kResult);
  EXPECT_TRUE(std::isnan(nan.result["loss"].get<double>()));
  const WorkerReply crlf = read("{\"type\":\"result\",\"result\":{\"x\":1}}\r", WorkerState::kStepping);
  ASSERT_EQ(crlf.kind, Kind::kResult);
  EXPECT_EQ(crlf.result, (Json{{"x", 1}}));
  // No "result" field: a null result, which the executor's auto-fill refuses.
  const WorkerReply empty = read(R"({"type":"result"})", WorkerState::kStepping);
  ASSERT_EQ(empty.kind, Kind::kResult);
  EXPECT_TRUE(empty.result.is_null());
}

TEST(WorkerMessagesTest, ViolationsSayWhatWasExpected) {
  EXPECT_THAT(read(R"({"type":"result","result":{}})", WorkerState::kSaving, "save").text,
              HasSubstr("reply 'result' (line 7) answers 'save'; expected 'saved' or 'error'"));
  EXPECT_THAT(read(R"({"type":"ready"})", WorkerState::kStepping).text,
              HasSubstr("unexpected reply 'ready' (line 7) while waiting for the reply to 'step'"));
  EXPECT_THAT(read(R"({"type":"done"})", WorkerState::kWaiting).text,
              HasSubstr("unexpected reply 'done' (line 7) while no request was pending"));
}

TEST(WorkerMessagesTest, ReadyChecksTheProtocolVersion) {
  EXPECT_EQ(read(R"({"type":"ready","version":1})", WorkerState::kStarting).kind, Kind::kReady);
  const WorkerReply old = read(R"({"type":"ready","version":99})", WorkerState::kStarting);
  EXPECT_EQ(old.kind, Kind::kViolation);
  EXPECT_THAT(old.text, HasSubstr("the worker speaks protocol version 99"));
}

TEST(WorkerMessagesTest, AnErrorCarriesItsMessageAndTraceback) {
  EXPECT_EQ(read(R"({"type":"error","message":"boom","traceback":"at line 3"})", WorkerState::kStepping).text,
            "boom\nat line 3");
  EXPECT_EQ(read(R"({"type":"error"})", WorkerState::kStepping).text, "(the error reply has no message)");
  EXPECT_EQ(read(R"({"type":"error","message":{"code":3}})", WorkerState::kSaving).text, R"({"code":3})");
  EXPECT_EQ(read(R"({"type":"error","message":"x","traceback":""})", WorkerState::kWaiting).text, "x");
}

TEST(WorkerMessagesTest, MalformedLinesBecomeViolationsInEveryState) {
  const std::string malformed[] = {
      "",
      "not json at all",
      "{\"type\":\"result\",\"result\":{\"loss\":",  // cut off
      "[1,2,3]",
      "\"type\"",
      R"({"kind":"result"})",
      R"({"type":3})",
      R"({"type":null,"result":{}})",
      "{\"type\":\"result\",\"result\":{\"loss\":1e309}}",  // out of double range
      "{\"type\":\"result\",\"result\":{\"loss\":1e309},\"x\":1}",
      "{\"type\":\"res\xffult\"}",                           // invalid UTF-8
      std::string("{\"type\":\"result\"\0}", 18),           // a NUL byte
      std::string(kMax + 1, ' '),                           // too long
  };
  for (const std::string& line : malformed) {
    for (WorkerState state : {WorkerState::kStarting, WorkerState::kStepping, WorkerState::kWaiting,
                              WorkerState::kSaving}) {
      SCOPED_TRACE(quoted_excerpt(line, 60));
      WorkerReply reply;
      EXPECT_NO_THROW(reply = read(line, state));
      EXPECT_EQ(reply.kind, Kind::kViolation);
      EXPECT_FALSE(reply.text.empty());
    }
  }
}

TEST(WorkerMessagesTest, ViolationsQuoteTheLineNumberAndTheCause) {
  EXPECT_THAT(read("oops", WorkerState::kStepping).text, HasSubstr("reply line 7 is not valid JSON"));
  EXPECT_THAT(read("[1]", WorkerState::kStepping).text, HasSubstr("reply line 7 is not a protocol message"));
  EXPECT_THAT(read("{\"a\":\"\xc3\"}", WorkerState::kStepping).text,
              HasSubstr("reply line 7 is not valid UTF-8 (byte 0xc3 at offset 6)"));
  EXPECT_THAT(read(std::string(kMax + 1, 'x'), WorkerState::kStepping).text,
              HasSubstr("longer than max_message_bytes=1048576"));
  // Control bytes are quoted, not copied into error.txt.
  EXPECT_THAT(read("\x1b[2Jhello", WorkerState::kStepping).text, HasSubstr("\\x1b[2Jhello"));
}

TEST(WorkerMessagesTest, DeepNestingIsRefusedBeforeParsing) {
  const int depth = 20000;
  const std::string deep = R"({"type":"result","result":{"x":)" + std::string(depth, '[') + std::string(depth, ']') + "}}";
  WorkerReply reply;
  EXPECT_NO_THROW(reply = read(deep, WorkerState::kStepping));
  EXPECT_EQ(reply.kind, Kind::kViolation);
  EXPECT_THAT(reply.text, HasSubstr("reply line 7 is nested deeper than 256 levels"));
  const std::string unbalanced = R"({"type":"result","result":{"x":)" + std::string(depth, '[') + "}}";
  EXPECT_EQ(read(unbalanced, WorkerState::kStepping).kind, Kind::kViolation);
  // Nesting up to the bound is a result; brackets inside strings do not count.
  const std::string allowed = R"({"type":"result","result":{"x":)" + std::string(254, '[') + std::string(254, ']') +
                              R"(,"s":")" + std::string(1000, '[') + "\"}}";
  EXPECT_EQ(read(allowed, WorkerState::kStepping).kind, Kind::kResult);
}

TEST(WorkerMessagesTest, RandomBytesNeverThrow) {
  std::mt19937 rng(16);
  const std::string alphabet = "{}[]\":,0123456789.eE+-truefalsnl \\\r\t\xc3\xa9\xff";
  const std::string seeds[] = {R"({"type":"result","result":{"loss":0.5}})", R"({"type":"error","message":"m"})",
                               R"({"type":"ready","version":1})", R"({"type":"saved"})"};
  int violations = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string line = seeds[static_cast<size_t>(i) % std::size(seeds)];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !line.empty(); ++e) {
      const size_t at = rng() % line.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: line[at] = c; break;
        case 1: line.insert(line.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        default: line.erase(at, 1); break;
      }
    }
    const auto state = static_cast<WorkerState>(rng() % 4);
    WorkerReply reply;
    ASSERT_NO_THROW(reply = read(line, state)) << quoted_excerpt(line);
    if (reply.kind == Kind::kViolation) {
      ++violations;
      EXPECT_FALSE(reply.text.empty());
    }
  }
  EXPECT_GT(violations, 1000);  // most mutations break the line, and are told as such
}

TEST(Utf8Test, FindsTheFirstInvalidByte) {
  EXPECT_EQ(invalid_utf8_offset("plain ascii, long enough for the fast path"), std::string_view::npos);
  EXPECT_EQ(invalid_utf8_offset("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), std::string_view::npos);
  EXPECT_EQ(invalid_utf8_offset("caf\xe9"), 3u);
  EXPECT_EQ(invalid_utf8_offset("\xc0\x80"), 0u);          // overlong
  EXPECT_EQ(invalid_utf8_offset("ab\xed\xa0\x80"), 2u);    // surrogate
  EXPECT_EQ(invalid_utf8_offset("abcdefgh\xe2\x82"), 8u);  // truncated
}

// ---- the plain protocol's stdout lines ----

PlainLine plain(std::string_view line) { return read_plain_line(line, 11, kMax); }

TEST(WorkerMessagesTest, PlainLinesAreLogLinesResultsOrViolations) {
  EXPECT_EQ(plain("epoch 3: loss 0.5").kind, PlainLine::Kind::kLog);
  EXPECT_EQ(plain("{not json, a log line}").kind, PlainLine::Kind::kLog);
  const PlainLine result = plain(R"(  {"loss": 0.5, "m": {"a": [1, NaN]}})");
  ASSERT_EQ(result.kind, PlainLine::Kind::kResult);
  EXPECT_EQ(result.result["loss"], 0.5);
  EXPECT_TRUE(std::isnan(result.result["m"]["a"][1].get<double>()));
  EXPECT_EQ(plain("{\"loss\": 1}\r").kind, PlainLine::Kind::kResult);
}

TEST(WorkerMessagesTest, PlainResultViolationsNameTheLineAndQuoteItsStart) {
  const std::string deep = R"({"x": )" + std::string(20000, '[') + std::string(20000, ']') + "}";
  const std::pair<std::string, std::string> cases[] = {
      {R"({"loss": 1e309})", "holds a number JSON cannot hold as a double"},
      {R"({"loss": -1e309, "x": [1]})", "holds a number JSON cannot hold as a double"},
      {deep, "is nested deeper than 256 levels (at offset 261)"},
      {"{\"name\": \"caf\xe9\"}", "is not valid UTF-8 (byte 0xe9 at offset 13)"},
      {std::string("{\"a\": \"x\0y\"}", 12), "holds a NUL byte at offset 8"},
      {"{\"a\": \"" + std::string(kMax, 'x') + "\"}", "longer than max_message_bytes=1048576"},
  };
  for (const auto& [line, why] : cases) {
    SCOPED_TRACE(why);
    PlainLine read;
    ASSERT_NO_THROW(read = plain(line));
    ASSERT_EQ(read.kind, PlainLine::Kind::kViolation);
    EXPECT_THAT(read.text, HasSubstr("stdout line 11 looks like a JSON result but "));
    EXPECT_THAT(read.text, HasSubstr(why));
    EXPECT_THAT(read.text, HasSubstr("it begins: {\""));
    EXPECT_LT(read.text.size(), 600u);
  }
}

}  // namespace
}  // namespace tune::detail
