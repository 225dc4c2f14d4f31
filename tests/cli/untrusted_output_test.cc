// End-to-end tests of issue 17's "results are untrusted input" through the `tune` binary: a
// plain program, and an external searcher, writing a number outside double range, a result
// nested 20,000 deep, invalid UTF-8, a NUL byte or a 5 MiB line. The trial (or the searcher)
// fails with the line quoted, the driver never crashes or says "internal error", the results
// read before the bad line are kept, and `tune resume` and `tune analyze` work afterwards.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "support/temp_dir.h"
#include "support/tune_cli.h"
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::Outcome;
using testing::read_text;
using testing::TempDir;
using testing::tune_cli;
namespace fs = std::filesystem;

const std::string kScript = std::string(TUNE_SOURCE_DIR) + "/tests/cli/scripts/hostile_lines.py";

struct Case {
  const char* name;
  const char* error;  // what error.txt (or the searcher's error) says
};
const Case kCases[] = {{"overflow", "holds a number JSON cannot hold as a double"},
                       {"deep", "nested deeper than 256 levels"},
                       {"utf8", "not valid UTF-8 (byte 0xe9"},
                       {"nul", "holds a NUL byte"},
                       {"long", "longer than max_message_bytes="}};

void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

size_t line_count(const std::string& text) { return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')); }

TEST(UntrustedOutputTest, APlainProgramsBadLineFailsItsTrialAndKeepsTheResultsBeforeIt) {
  TempDir dir;
  write(dir.path() / "spec.yaml", "name: hostile\ntrainable:\n  command: [python3, " + Json(kScript).dump() +
                                      ", plain, '{case}']\n  protocol: plain\nconfig:\n  case: {grid_search: "
                                      "[overflow, deep, utf8, nul, long]}\nlocal_dir: results\nmetric: score\n"
                                      "mode: max\nverbose: 0\n");
  const Outcome run = tune_cli({"run", "spec.yaml"}, dir.path());
  EXPECT_EQ(run.code, 1) << run.err;  // failed trials, not a driver error (2) or an internal error (3)
  EXPECT_THAT(run.err, HasSubstr("5 of 5 trials did not complete"));
  EXPECT_THAT(run.err, Not(HasSubstr("internal error")));
  const fs::path exp = dir.path() / "results" / "hostile";
  const Outcome ls = tune_cli({"ls", exp.string(), "-o", "json", "--columns", "status,config/case,score,logdir"});
  ASSERT_EQ(ls.code, 0) << ls.err;
  const Json rows = Json::parse(ls.out);
  ASSERT_EQ(rows.size(), 5u);
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const auto row = std::find_if(rows.begin(), rows.end(), [&](const Json& r) { return r["config/case"] == c.name; });
    ASSERT_NE(row, rows.end());
    EXPECT_EQ((*row)["status"], "ERROR");
    EXPECT_EQ((*row)["score"], 9);
    const fs::path logdir((*row)["logdir"].get<std::string>());
    const std::string error = read_text(logdir / "error.txt");
    EXPECT_THAT(error, HasSubstr("stdout line 11 looks like a JSON result but"));
    EXPECT_THAT(error, HasSubstr(c.error));
    EXPECT_THAT(error, HasSubstr("it begins: {\"score\": "));
    EXPECT_LT(error.size(), 4096u) << "the line is quoted cut";
    EXPECT_EQ(line_count(read_text(logdir / "result.json")), 10u) << "the ten results before the bad line";
  }
  const Outcome analyze = tune_cli({"analyze", exp.string(), "-o", "json"});
  ASSERT_EQ(analyze.code, 0) << analyze.err;
  EXPECT_EQ(Json::parse(analyze.out)["value"], 9.0);
  const Outcome resume = tune_cli({"resume", exp.string()});
  EXPECT_EQ(resume.code, 1) << resume.err;  // the same failed trials, read back whole
  EXPECT_THAT(resume.err, Not(HasSubstr("internal error")));
}

TEST(UntrustedOutputTest, AnExternalSearchersBadReplyIsASearcherErrorQuotingIt) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    write(dir.path() / "spec.yaml",
          std::string("name: hostile\ntrainable:\n  command: [sh, -c, 'echo \"{\\\"score\\\": {x}}\"']\n"
                      "  protocol: plain\nconfig:\n  x: {uniform: [0, 1]}\nnum_samples: 3\nlocal_dir: results\n"
                      "metric: score\nmode: max\nverbose: 0\nsearch_alg:\n  type: external\n  command: [python3, ") +
              Json(kScript).dump() + ", searcher, " + c.name + "]\n");
    const Outcome run = tune_cli({"run", "spec.yaml"}, dir.path());
    EXPECT_EQ(run.code, 2) << run.err;
    EXPECT_THAT(run.err, HasSubstr("search_alg external: 'python3' answered a line"));
    EXPECT_THAT(run.err, Not(HasSubstr("internal error")));
    EXPECT_LT(run.err.size(), 8192u) << "the reply is quoted cut";
    const fs::path exp = dir.path() / "results" / "hostile";
    const Outcome analyze = tune_cli({"analyze", exp.string(), "-o", "json"});
    ASSERT_EQ(analyze.code, 0) << analyze.err;
    EXPECT_EQ(Json::parse(analyze.out)["value"], 1.0);  // the one trial the searcher suggested before
    const Outcome resume = tune_cli({"resume", exp.string()});
    EXPECT_EQ(resume.code, 2) << resume.err;  // the searcher answers the same way again
    EXPECT_THAT(resume.err, HasSubstr("answered a line"));
    EXPECT_THAT(resume.err, Not(HasSubstr("internal error")));
  }
}

}  // namespace
}  // namespace tune
