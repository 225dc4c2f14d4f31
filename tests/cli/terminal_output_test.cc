// End-to-end tests that nothing a trial reports can draw on the user's terminal (issue 17,
// item 9): control characters in a result, a config value or a trial's error reach `tune run`'s
// status table and summary, `tune ls` and `tune analyze` escaped (\x1b, \r shown visibly),
// and a spec with a self-referencing alias or an alias bomb is an exit-2 message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"
#include "support/tune_cli.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::Outcome;
using testing::TempDir;
using testing::tune_cli;
namespace fs = std::filesystem;

void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// The hostile line, as a trial prints it: a JSON string whose \u escapes decode to ESC and CR.
const std::string kHostileResult = R"({"score": 1, "note": "\u001b[2J\rFAKE ROW"})";

TEST(TerminalOutputTest, ControlCharactersFromATrialAreShownEscaped) {
  TempDir dir;
  write(dir.path() / "line.json", kHostileResult + "\n");
  write(dir.path() / "spec.yaml", "name: hostile\n"
                                  "trainable: {command: [cat, line.json], protocol: plain, working_dir: .}\n"
                                  "config: {tag: {grid_search: [\"\\e[31mred\\rFAKE\"]}}\n"
                                  "local_dir: results\nmetric: score\nmode: max\nverbose: 2\n");
  const Outcome run = tune_cli({"run", "spec.yaml"}, dir.path());
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, Not(HasSubstr("\x1b"))) << run.out;
  EXPECT_THAT(run.out, Not(HasSubstr("\r"))) << run.out;
  EXPECT_THAT(run.out, HasSubstr("\\x1b[31mred\\rFAKE")) << run.out;  // the config column of the status table

  const fs::path exp = dir.path() / "results" / "hostile";
  const Outcome ls = tune_cli({"ls", exp.string(), "--columns", "name,note,config/tag"});
  ASSERT_EQ(ls.code, 0) << ls.err;
  EXPECT_THAT(ls.out, Not(HasSubstr("\x1b")));
  EXPECT_THAT(ls.out, Not(HasSubstr("\r")));
  EXPECT_THAT(ls.out, HasSubstr("\\x1b[2J\\rFAKE ROW"));
  EXPECT_THAT(ls.out, HasSubstr("\\x1b[31mred\\rFAKE"));

  const Outcome analyze = tune_cli({"analyze", exp.string()});
  ASSERT_EQ(analyze.code, 0) << analyze.err;
  EXPECT_THAT(analyze.out, Not(HasSubstr("\x1b")));
  EXPECT_THAT(analyze.out, HasSubstr("\\u001b[31mred\\rFAKE"));  // the config, as JSON text
}

TEST(TerminalOutputTest, RecursiveAliasesAndAliasBombsExitTwoOnCheck) {
  TempDir dir;
  write(dir.path() / "loop.yaml", "trainable: {command: [sh]}\nconfig: &a {x: *a}\n");
  const Outcome loop = tune_cli({"run", "loop.yaml", "--check"}, dir.path());
  EXPECT_EQ(loop.code, 2) << loop.err;
  EXPECT_THAT(loop.err, HasSubstr("loop.yaml:2: config/x: a YAML alias refers to a mapping or list that contains it"));

  std::string bomb = "trainable: {command: [sh]}\nconfig:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int level = 1; level <= 9; ++level) {
    const std::string alias = "*a" + std::to_string(level - 1);
    bomb += "  a" + std::to_string(level) + ": &a" + std::to_string(level) + " [" + alias + ", " + alias + ", " +
            alias + ", " + alias + ", " + alias + ", " + alias + ", " + alias + ", " + alias + ", " + alias + "]\n";
  }
  write(dir.path() / "bomb.yaml", bomb);
  const Outcome refused = tune_cli({"run", "bomb.yaml", "--check"}, dir.path());
  EXPECT_EQ(refused.code, 2) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("bomb.yaml:"));
  EXPECT_THAT(refused.err, HasSubstr("YAML aliases expand to more than 100000 values"));

  write(dir.path() / "ok.yaml", "trainable: {command: [sh]}\n");
  const Outcome index =
      tune_cli({"run", "ok.yaml", "--check", "--set", "trainable.command.99999999999999999999=1"}, dir.path());
  EXPECT_EQ(index.code, 2) << index.err;
  EXPECT_THAT(index.err, HasSubstr("'99999999999999999999' is no index of it"));
}

}  // namespace
}  // namespace tune
