// The experiment journal's unit of atomicity: one line per runner event (several records in a
// {"e":"batch"} line), and the reader's rules for a torn last line and for damage.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "analysis/experiment_state.h"
#include "runner/experiment_journal.h"
#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using testing::quiet_options;
using testing::TempDir;
namespace fs = std::filesystem;

std::vector<std::string> lines_of(const fs::path& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

void write_lines(const fs::path& path, const std::vector<std::string>& lines, const std::string& tail = "") {
  std::ofstream out(path, std::ios::trunc | std::ios::binary);
  for (const auto& line : lines) out << line << "\n";
  out << tail;
}

// Counts its steps; checkpoints whole.
class Counter : public Trainable {
 public:
  Result step() override { return {{"value", ++value_}}; }
  void save_checkpoint(const fs::path& dir) override { std::ofstream(dir / "value") << value_; }
  void load_checkpoint(const fs::path& dir) override { std::ifstream(dir / "value") >> value_; }
  int value_ = 0;
};

TEST(JournalTest, OneRecordIsAPlainLineSeveralAreOneBatchLine) {
  TempDir dir;
  const fs::path path = dir.path() / "j.jsonl";
  {
    detail::ExperimentJournal journal(path, /*fresh=*/true, 0);
    journal.append(Json{{"e", "head"}});
    journal.add(Json{{"e", "ckpt"}, {"i", 0}});
    journal.add(Json{{"e", "end"}, {"i", 0}});
    EXPECT_TRUE(journal.has_staged());
    const uint64_t before = journal.bytes();
    journal.commit();
    EXPECT_FALSE(journal.has_staged());
    EXPECT_GT(journal.bytes(), before);
    journal.commit();  // nothing staged: nothing written
    journal.add(Json{{"e", "done"}});
    journal.commit();
    EXPECT_EQ(journal.bytes(), fs::file_size(path));
  }
  const std::vector<std::string> lines = lines_of(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(Json::parse(lines[0]), (Json{{"e", "head"}}));
  EXPECT_EQ(Json::parse(lines[1]),
            (Json{{"e", "batch"}, {"r", Json::array({Json{{"e", "ckpt"}, {"i", 0}}, Json{{"e", "end"}, {"i", 0}}})}}));
  EXPECT_EQ(Json::parse(lines[2]), (Json{{"e", "done"}}));
}

// A trial that stops with checkpoint_at_end: its final checkpoint and its end are one event,
// one batch line. Cut that line mid-way (a kill during the write) and the state is the one
// before the event, whole: the trial unfinished with neither record applied, and a resume
// runs it again to the same results.
TEST(JournalTest, ATornLastBatchResumesFromThePreviousBatch) {
  TempDir dir;
  auto options = [&] {
    RunOptions o = quiet_options(dir);
    o.stop = {{"training_iteration", 4}};
    o.checkpoint_freq = 2;
    o.checkpoint_at_end = true;
    return o;
  };
  run<Counter>(options());
  const fs::path exp = dir.path() / "exp";
  const fs::path journal = exp / "experiment_state.jsonl";
  std::vector<std::string> lines = lines_of(journal);
  ASSERT_EQ(Json::parse(lines.back()).at("e"), "done");
  lines.pop_back();
  const Json last = Json::parse(lines.back());
  ASSERT_EQ(last.at("e"), "batch") << lines.back();
  std::vector<std::string> kinds;
  for (const Json& record : last.at("r")) kinds.push_back(record.at("e").get<std::string>());
  EXPECT_EQ(kinds, (std::vector<std::string>{"ckpt", "end"}));
  const std::string batch = lines.back();
  lines.pop_back();
  uint64_t before = 0;
  for (const auto& line : lines) before += line.size() + 1;

  // Torn mid-way: after the checkpoint record, before the end.
  const size_t cut = batch.find("{\"e\":\"end\"");
  ASSERT_NE(cut, std::string::npos);
  for (const size_t at : {cut, batch.size() / 2, batch.size()}) {  // batch.size(): all but its newline
    write_lines(journal, lines, batch.substr(0, at));
    fs::remove(exp / "experiment_state.json");
    const detail::StoredExperiment stored = detail::read_stored_experiment(exp);
    EXPECT_EQ(stored.journal_valid_bytes, before) << at;
    EXPECT_TRUE(stored.finished.empty()) << at;
    ASSERT_EQ(stored.unfinished.size(), 1u) << at;
    const Json& checkpoints = stored.unfinished[0].at("checkpoints");
    ASSERT_EQ(checkpoints.size(), 1u) << checkpoints.dump();  // checkpoint_2, not the one at the end
    EXPECT_EQ(checkpoints[0].at("dir"), "checkpoint_2");
  }

  RunOptions again = options();
  again.resume = true;
  const ExperimentAnalysis analysis = run<Counter>(std::move(again));
  ASSERT_EQ(analysis.trials().size(), 1u);
  EXPECT_EQ(analysis.trials()[0].status(), TrialStatus::kTerminated);
  std::ifstream in(analysis.trials()[0].logdir() / "result.json");
  int expected = 1;
  for (std::string line; std::getline(in, line);) {
    const Json result = Json::parse(line);
    EXPECT_EQ(result.at("training_iteration"), expected);
    EXPECT_EQ(result.at("value"), expected);
    ++expected;
  }
  EXPECT_EQ(expected, 5);
  // The torn line was cut before the resume appended: every line reads.
  for (const auto& line : lines_of(journal)) EXPECT_TRUE(Json::accept(line)) << line;
}

// Damage no crash makes is an error naming the file and the byte, never a silent cut that
// would drop the trials after it.
TEST(JournalTest, ADamagedJournalIsAnErrorNamingWhere) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.stop = {{"training_iteration", 2}};
  options.config = {{"a", grid_search({1, 2})}};
  run<Counter>(std::move(options));
  const fs::path exp = dir.path() / "exp";
  const fs::path journal = exp / "experiment_state.jsonl";
  fs::remove(exp / "experiment_state.json");
  const std::vector<std::string> lines = lines_of(journal);
  ASSERT_GE(lines.size(), 4u);
  uint64_t second = lines[0].size() + 1;
  auto expect_error = [&](const std::vector<std::string>& damaged, const std::string& what) {
    write_lines(journal, damaged);
    try {
      detail::read_stored_experiment(exp);
      ADD_FAILURE() << "read a damaged journal: " << what;
    } catch (const TuneError& e) {
      EXPECT_THAT(e.what(), HasSubstr("experiment_state.jsonl"));
      EXPECT_THAT(e.what(), HasSubstr("at byte " + std::to_string(second)));
      EXPECT_THAT(e.what(), HasSubstr(what));
    }
  };
  std::vector<std::string> damaged = lines;
  damaged[1] = damaged[1].substr(0, damaged[1].size() / 2);  // a torn line with more after it
  expect_error(damaged, "damaged");
  damaged = lines;
  damaged[1] = R"({"e":"batch","r":{"e":"end"}})";
  expect_error(damaged, "'r', a list of records");
  damaged = lines;
  damaged[1] = R"({"e":"batch","r":[{"e":"done"},7]})";
  expect_error(damaged, "a batch holds records");
  // Whole again, it reads.
  write_lines(journal, lines);
  EXPECT_EQ(detail::read_stored_experiment(exp).finished.size(), 2u);
}

// Remembers each experiment_state.json it sees during the run (by inode: every snapshot is a
// new file renamed into place), checking after each result. The runner compacts on its 5 s
// flush once the journal has grown by 1 MiB: when the journal is that long early, the watcher
// holds the runner until that flush is due, so a run of a few seconds still gets one.
class SnapshotWatcher : public Callback {
 public:
  explicit SnapshotWatcher(fs::path dir) : dir_(std::move(dir)) {}
  void setup(const ExperimentInfo&) override { start_ = last_wait_ = std::chrono::steady_clock::now(); }
  void on_trial_result(const TrialView&, const Result&) override {
    struct stat st{};
    if (::stat((dir_ / "experiment_state.json").c_str(), &st) == 0) inodes.insert(st.st_ino);
    std::error_code ec;
    // Held for a flush period, the runner flushes (and may compact) as soon as it goes on. A
    // compaction can be put off by a decision in flight, and a slow (sanitized, loaded) run
    // may reach the size late: so hold again, at most 4 times, until one is seen.
    const auto now = std::chrono::steady_clock::now();
    constexpr auto kPeriod = std::chrono::milliseconds(5200);
    if (inodes.empty() && waits_ < 4 && (waits_ == 0 || now - last_wait_ >= kPeriod) &&
        fs::file_size(dir_ / "experiment_state.jsonl", ec) > (uint64_t{3} << 19)) {
      std::this_thread::sleep_until(waits_ == 0 ? start_ + kPeriod : now + kPeriod);
      ++waits_;
      last_wait_ = std::chrono::steady_clock::now();
    }
  }
  std::set<ino_t> inodes;

 private:
  fs::path dir_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_wait_;
  int waits_ = 0;
};

// A snapshot written during a run copies the bytes of the finished trials the previous one
// holds and serialises only the newer ones. Run enough trials for one snapshot during the
// run, so that the final one copies its records, then check that the final one holds exactly
// what serialising every record afresh gives: the records the journal alone rebuilds.
TEST(JournalTest, SnapshotsDuringARunCopyTheLastOnesRecordsAndHoldWhatTheJournalDoes) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  constexpr int kTrials = 2500;
  options.num_samples = kTrials;
  options.config = {{"a", uniform(0, 1)}, {"tag", "a string to make each record longer"}};
  options.stop = {{"training_iteration", 3}};
  options.write_trial_files = false;
  const fs::path exp = dir.path() / "exp";
  auto watcher = std::make_shared<SnapshotWatcher>(exp);
  options.callbacks.push_back(watcher);
  run<Counter>(std::move(options));
  // At least one snapshot during the run; the final one copies its records.
  EXPECT_GE(watcher->inodes.size(), 1u);

  std::ifstream in(exp / "experiment_state.json");
  const Json snapshot = Json::parse(in);
  ASSERT_TRUE(snapshot.at("completed").get<bool>());
  const Json& trials = snapshot.at("trials");
  ASSERT_EQ(trials.size(), static_cast<size_t>(kTrials));
  std::set<std::string> ids;
  for (const Json& t : trials) ids.insert(t.at("trial_id").get<std::string>());
  EXPECT_EQ(ids.size(), static_cast<size_t>(kTrials));

  fs::rename(exp / "experiment_state.json", dir.path() / "snapshot.json");
  const detail::StoredExperiment from_journal = detail::read_stored_experiment(exp);
  ASSERT_EQ(from_journal.finished.size(), static_cast<size_t>(kTrials));
  for (size_t i = 0; i < from_journal.finished.size(); ++i) {
    ASSERT_EQ(trials[i], from_journal.finished[i].to_json(exp)) << "record " << i;
  }
}

}  // namespace
}  // namespace tune
