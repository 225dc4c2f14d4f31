// Fuzz test of the journal replay (analysis/experiment_state.h, read_stored_experiment): a
// real experiment's journal with one line replaced by a mutated one ends in a state or in a
// TuneError naming the journal (exit 2 in the CLI) — never another exception (an "internal
// error", exit 3), a crash or a sanitizer report.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "analysis/experiment_state.h"
#include "analysis/state_records.h"
#include "common/untrusted_json.h"
#include "support/fuzz.h"
#include "support/fuzz_experiment.h"
#include "tune/error.h"

namespace tune {
namespace {

using ::testing::HasSubstr;

TEST(FuzzTest, JournalsWithAMutatedLineReplayToAStateOrACleanRefusal) {
  testing::TempDir dir;
  const std::vector<std::string> journal =
      testing::lines_of(testing::make_seed_experiment(dir) / detail::kJournalFile);
  ASSERT_GE(journal.size(), 6u);
  const testing::ScratchDir scratch;
  const std::filesystem::path file = scratch.path() / detail::kJournalFile;
  testing::Mutator mutator(journal);
  const size_t inputs = testing::fuzz_input_count();
  size_t states = 0;
  size_t refusals = 0;
  std::string text;
  for (size_t i = 0; i < inputs; ++i) {
    // The head record, the mutated line where a record of the run stood, and one real record
    // after it (damage followed by more is refused; a damaged last line is a torn tail).
    const size_t replaced = 1 + i % (journal.size() - 1);
    const std::string mutated = mutator.next();
    text = journal[0] + '\n';
    if (replaced > 1) (text += journal[replaced - 1]) += '\n';  // the record before it
    (text += mutated) += '\n';
    if (i % 3 != 0 && replaced + 1 < journal.size()) (text += journal[replaced + 1]) += '\n';
    if (i % 7 == 0) text.pop_back();  // a torn last line, as a crash leaves it
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
    try {
      const detail::StoredExperiment state = detail::read_stored_experiment(scratch.path());
      ++states;
      ASSERT_FALSE(state.header.empty()) << "input " << i;
    } catch (const TuneError& e) {
      ++refusals;
      ASSERT_THAT(e.what(), HasSubstr(detail::kJournalFile)) << "input " << i;
    } catch (const std::exception& e) {
      FAIL() << "input " << i << " (line " << replaced + 1 << ") threw " << e.what() << ": "
             << detail::quoted_excerpt(mutated);
    }
  }
  EXPECT_EQ(mutator.count(), inputs);
  EXPECT_GT(states, inputs / 10);
  EXPECT_GT(refusals, inputs / 10);
}

}  // namespace
}  // namespace tune
