// The fast path for flat result objects must build exactly what nlohmann's parser builds, and
// give up on everything else.
#include "executors/flat_json.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace tune::detail {
namespace {

// True when both parse `text` the same way, or the fast path gives up; `parsed` says whether
// the fast path took it.
void expect_same(const std::string& text, bool* parsed = nullptr) {
  Json fast;
  const bool took = parse_flat_object(text, fast);
  if (parsed != nullptr) *parsed = took;
  Json full;
  bool full_ok = true;
  try {
    full = Json::parse(text);
  } catch (const Json::parse_error&) {
    full_ok = false;
  }
  if (!took) return;
  ASSERT_TRUE(full_ok) << "the fast path accepted what nlohmann rejects: " << text;
  ASSERT_EQ(fast.dump(), full.dump()) << text;
  ASSERT_TRUE(fast.is_object());
  for (auto it = full.begin(); it != full.end(); ++it) {
    EXPECT_EQ(fast.at(it.key()).type(), it.value().type()) << it.key() << " in " << text;
  }
}

TEST(FlatJsonTest, TakesFlatObjectsAndTypesNumbersAsNlohmannDoes) {
  const std::vector<std::string> taken = {
      R"({})",
      R"( { } )",
      R"({"score":1.0})",
      R"({"a":1,"b":-2,"c":0,"d":-0,"e":18446744073709551615,"f":-9223372036854775808})",
      R"({"big":18446744073709551616,"small":-9223372036854775809})",  // doubles then
      R"({"x":1e3,"y":1E-3,"z":-2.5e+10,"w":0.1,"v":123456789.987654321})",
      R"({"tiny":5e-324,"max":1.7976931348623157e308})",
      R"({"s":"text","u":"caf\u00e9 is not escaped here","t":true,"f":false,"n":null})",
      "{\"utf8\":\"caf\xc3\xa9\"}",
      R"({"dup":1,"dup":2})",
      " {\t\"a\" :\n1 ,\r\"b\":2}\n",
  };
  for (const auto& text : taken) {
    if (text.find("\\u") != std::string::npos) {
      bool parsed = true;
      expect_same(text, &parsed);
      EXPECT_FALSE(parsed) << "escapes are left to nlohmann: " << text;
      continue;
    }
    bool parsed = false;
    expect_same(text, &parsed);
    EXPECT_TRUE(parsed) << text;
  }
}

TEST(FlatJsonTest, GivesUpOnEverythingElse) {
  const std::vector<std::string> refused = {
      "",           "{",          "}",          "[1]",          R"({"a":[1]})",     R"({"a":{"b":1}})",
      R"({"a":NaN})", R"({"a":Infinity})", R"({"a":01})", R"({"a":1.})", R"({"a":.5})", R"({"a":1e})",
      R"({"a":+1})", R"({"a":1,})", R"({,"a":1})", R"({"a" 1})",   R"({"a":1} x)",    R"({"a":1}{})",
      R"({"a":tru})", R"({"a":nul})", R"({"a":"x\"y"})", "{\"a\":\"x\ty\"}", R"({a:1})", R"({"a":1e999})",
      R"({"a":-})",  R"({"a":"unterminated})",
  };
  for (const auto& text : refused) {
    Json out;
    EXPECT_FALSE(parse_flat_object(text, out)) << text;
  }
}

TEST(FlatJsonTest, RandomFlatObjectsMatchNlohmann) {
  std::mt19937_64 rng(12345);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const std::vector<std::string> atoms = {"0", "-0", "7", "-7", "1.5", "-0.25", "1e5", "2E-7", "-3.5e+2", "true",
                                          "false", "null", "\"\"", "\"abc\"", "123456789012345678901234",
                                          "-123456789012345678901234", "0.1e1", "9007199254740993"};
  for (int i = 0; i < 2000; ++i) {
    std::string text = "{";
    const size_t n = pick(6);
    for (size_t k = 0; k < n; ++k) {
      if (k > 0) text += pick(3) == 0 ? " , " : ",";
      text += "\"k" + std::to_string(pick(4)) + "\"" + (pick(2) == 0 ? ":" : " : ");
      if (pick(4) == 0) {  // a random number
        text += (pick(2) == 0 ? "-" : "") + std::to_string(rng() % 100000) +
                (pick(2) == 0 ? "." + std::to_string(rng() % 1000) : "") +
                (pick(3) == 0 ? "e" + std::to_string(static_cast<int>(rng() % 40) - 20) : "");
      } else {
        text += atoms[pick(atoms.size())];
      }
    }
    text += "}";
    bool parsed = false;
    expect_same(text, &parsed);
    EXPECT_TRUE(parsed) << text;
    if (::testing::Test::HasFailure()) break;
  }
}

}  // namespace
}  // namespace tune::detail
