// Fuzz test of the snapshot reader (analysis/experiment_state.h, read_stored_experiment over
// experiment_state.json alone): a mutated snapshot of a real experiment is read into a state
// or refused with a TuneError naming the file (exit 2 in the CLI) — never another exception,
// a crash or a sanitizer report.
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

TEST(FuzzTest, MutatedSnapshotsAreReadOrRefusedNamingTheFile) {
  testing::TempDir dir;
  const std::string snapshot = testing::file_text(testing::make_seed_experiment(dir) / detail::kSnapshotFile);
  ASSERT_THAT(snapshot, HasSubstr("\"trials\""));
  const testing::ScratchDir scratch;
  const std::filesystem::path file = scratch.path() / detail::kSnapshotFile;
  testing::Mutator mutator({snapshot});
  const size_t inputs = testing::fuzz_input_count();
  size_t states = 0;
  size_t refusals = 0;
  for (size_t i = 0; i < inputs; ++i) {
    const std::string mutated = mutator.next();
    std::ofstream(file, std::ios::binary | std::ios::trunc) << mutated;
    try {
      const detail::StoredExperiment state = detail::read_stored_experiment(scratch.path());
      ++states;
    } catch (const TuneError& e) {
      ++refusals;
      ASSERT_THAT(e.what(), HasSubstr(detail::kSnapshotFile)) << "input " << i;
    } catch (const std::exception& e) {
      FAIL() << "input " << i << " threw " << e.what() << ": " << detail::quoted_excerpt(mutated, 400);
    }
  }
  EXPECT_EQ(mutator.count(), inputs);
  EXPECT_GT(states, inputs / 20);
  EXPECT_GT(refusals, inputs / 4);
}

}  // namespace
}  // namespace tune
