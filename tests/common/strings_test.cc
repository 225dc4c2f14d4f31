// Unit tests of the shared string helpers: safe file names, suggestions, UTF-8 cuts.
#include "common/strings.h"

#include <gtest/gtest.h>

namespace tune {
namespace {

TEST(StringsTest, SanitizedNamesCannotEscape) {
  EXPECT_EQ(sanitize_filename("../x"), "_.._x");
  EXPECT_EQ(sanitize_filename(".."), "_..");
  EXPECT_EQ(sanitize_filename("."), "_.");
  EXPECT_EQ(sanitize_filename("/"), "_");
  EXPECT_EQ(sanitize_filename(""), "trial");
  EXPECT_EQ(sanitize_filename("a b\nc"), "a_b_c");
  EXPECT_EQ(sanitize_filename(std::string(500, 'x')).size(), 200u);
}

TEST(StringsTest, Utf8CutsNeverSplitACharacter) {
  const std::string text = "ab\xC3\xA9";  // "abé"
  EXPECT_EQ(utf8_prefix(text, 3), "ab");
  EXPECT_EQ(utf8_prefix(text, 4), text);
}

TEST(StringsTest, DidYouMean) {
  EXPECT_EQ(did_you_mean("gpus", {"cpu", "gpu", "memory"}), " (did you mean 'gpu'?)");
  EXPECT_EQ(did_you_mean("zzzzzzzz", {"cpu", "gpu"}), "");
  EXPECT_EQ(did_you_mean("max_failure", {"max_failures", "fail_fast"}), " (did you mean 'max_failures'?)");
  EXPECT_EQ(did_you_mean("checkpoint_frequency", {"checkpoint_freq"}), " (did you mean 'checkpoint_freq'?)");  // 5 <= 20/3
}

// A key far longer than every candidate gets no suggestion (and no quadratic work: the
// length gap alone rules each candidate out).
TEST(StringsTest, DidYouMeanIgnoresCandidatesFarOffInLength) {
  const std::string huge(65536, 'x');
  EXPECT_EQ(did_you_mean(huge, {"cpu", "gpu", std::string(40, 'x')}), "");
  EXPECT_EQ(did_you_mean(std::string(40, 'x') + "y", {std::string(40, 'x')}), " (did you mean '" + std::string(40, 'x') + "'?)");
}

TEST(StringsTest, FloatsFormatLikePython) {
  EXPECT_EQ(format_float(0.011537575), "0.011538");
  EXPECT_EQ(format_float(1e-5), "1e-05");
  EXPECT_EQ(format_float(3.14159265), "3.1416");
}

TEST(StringsTest, SplitJoin) {
  EXPECT_EQ(split("a,b,,c", ','), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(join({"a", "b"}, ", "), "a, b");
}

TEST(StringsTest, TerminalEscapingShowsControlCharactersVisibly) {
  EXPECT_EQ(escape_for_terminal("\x1b[2J\rFAKE ROW\n"), "\\x1b[2J\\rFAKE ROW\\n");
  EXPECT_EQ(escape_for_terminal("a\tb"), "a\\tb");
  EXPECT_EQ(escape_for_terminal(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(escape_for_terminal("\x7f"), "\\x7f");
  EXPECT_EQ(escape_for_terminal("\xc2\x9b" "31m"), "\\u009b31m");  // C1 CSI
  EXPECT_EQ(escape_for_terminal("plain text, 0.5 and \\ backslash"), "plain text, 0.5 and \\ backslash");
  EXPECT_EQ(escape_for_terminal("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82");
}

TEST(StringsTest, TerminalEscapingReplacesInvalidUtf8) {
  const std::string replacement = "\xef\xbf\xbd";
  EXPECT_EQ(escape_for_terminal("a\xff" "b"), "a" + replacement + "b");
  EXPECT_EQ(escape_for_terminal("\xc3"), replacement);                       // cut sequence
  EXPECT_EQ(escape_for_terminal("\xed\xa0\x80"), replacement + replacement + replacement);  // surrogate
  EXPECT_EQ(escape_for_terminal("\xc0\xaf"), replacement + replacement);    // overlong '/'
}

TEST(StringsTest, FindsTheFirstControlCharacter) {
  EXPECT_EQ(find_control_character("experiment_1"), std::string::npos);
  EXPECT_EQ(find_control_character("caf\xc3\xa9"), std::string::npos);
  EXPECT_EQ(find_control_character("ab\x1b[2J"), 2u);
  EXPECT_EQ(find_control_character("a\x7f"), 1u);
  EXPECT_EQ(find_control_character("x\xc2\x85"), 1u);  // C1 NEL
  EXPECT_EQ(find_control_character("tab\there"), 3u);
}

}  // namespace
}  // namespace tune
