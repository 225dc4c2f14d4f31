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

}  // namespace
}  // namespace tune
