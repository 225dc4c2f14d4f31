// State files are untrusted input (issue 17): a journal or snapshot line holding a number
// outside double range, nesting 20,000 deep, invalid UTF-8 or a field of the wrong type is
// refused with a TuneError naming the file and the line (exit 2 in the CLI), never an
// exception of the JSON library ("internal error", exit 3) or a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "analysis/experiment_state.h"
#include "analysis/state_records.h"
#include "analysis/trial_files.h"
#include "support/files.h"
#include "support/temp_dir.h"
#include "tune/error.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::write_text;

const std::string kHead = R"({"e":"head","version":2,"name":"exp","metric":"loss","mode":"min"})";
const std::string kAdd = R"({"e":"add","i":0,"id":"a","name":"T_a","config":{"x":1}})";

std::string refusal(const std::filesystem::path& dir) {
  try {
    detail::read_stored_experiment(dir);
  } catch (const TuneError& e) {
    return e.what();
  }
  return "(read without error)";
}

TEST(ExperimentStateBoundsTest, ABadJournalLineIsRefusedNamingTheFileAndTheLine) {
  const std::string deep = R"({"e":"add","i":1,"id":"b","config":{"x":)" + std::string(20000, '[') +
                           std::string(20000, ']') + "}}";
  const std::pair<std::string, std::string> cases[] = {
      {R"({"e":"add","i":1,"id":"b","name":"T_b","config":{"x":1e309}})", "is not a JSON record but more follows"},
      {deep, "nested deeper than 256 levels"},
      {"{\"e\":\"add\",\"i\":1,\"id\":\"\xff\"}", "is not a JSON record but more follows"},
      {R"({"e":"add","i":"one","id":"b"})", "line 3"},
      {R"({"e":"dir","i":0,"dir":7})", "line 3"},
  };
  for (const auto& [line, why] : cases) {
    SCOPED_TRACE(why);
    TempDir dir;
    write_text(dir.path() / detail::kJournalFile, kHead + "\n" + kAdd + "\n" + line + "\n" + kAdd + "\n");
    const std::string error = refusal(dir.path());
    EXPECT_THAT(error, HasSubstr(detail::kJournalFile));
    EXPECT_THAT(error, HasSubstr("line 3"));
    EXPECT_THAT(error, HasSubstr(why));
    EXPECT_LT(error.size(), 1000u) << "the line is quoted cut";
  }
}

TEST(ExperimentStateBoundsTest, ADeepOrMistypedSnapshotIsRefusedNamingTheFile) {
  const std::string deep = R"({"version":2,"name":"exp","spec":)" + std::string(20000, '[') + std::string(20000, ']') +
                           R"(,"trials":[]})";
  for (const std::string& snapshot : {deep, std::string(R"({"version":2,"name":"exp","journal_bytes":"many"})"),
                                      std::string(R"({"version":2,"trials":[{"trial_id":7}]})"),
                                      std::string(R"({"version":2,"next_index":1e309})")}) {
    SCOPED_TRACE(snapshot.substr(0, 60));
    TempDir dir;
    write_text(dir.path() / detail::kSnapshotFile, snapshot);
    EXPECT_THAT(refusal(dir.path()), HasSubstr(detail::kSnapshotFile));
  }
}

TEST(ExperimentStateBoundsTest, ResultJsonLinesOutsideTheBoundsAreSkipped) {
  EXPECT_FALSE(analysis_detail::parse_result_line(R"({"loss": 1e309})"));
  EXPECT_FALSE(analysis_detail::parse_result_line("{\"name\": \"\xff\"}"));
  EXPECT_FALSE(analysis_detail::parse_result_line(R"({"x": )" + std::string(20000, '[') + std::string(20000, ']') + "}"));
  EXPECT_TRUE(analysis_detail::parse_result_line(R"({"loss": 0.5, "x": [[1]]})"));
}

}  // namespace
}  // namespace tune
