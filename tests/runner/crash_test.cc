// Crash consistency: the driver is SIGKILLed at random moments and resumed, again and again;
// in the end every trial's files must read as if nothing had happened.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/strings.h"
#include "support/temp_dir.h"
#include "tune/tune.h"

extern "C" char** environ;  // NOLINT: POSIX

namespace tune {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

pid_t spawn_driver(const std::vector<std::string>& args, const std::vector<std::string>& extra_env = {}) {
  std::vector<char*> argv;
  std::vector<std::string> storage = args;
  storage.insert(storage.begin(), TUNE_TEST_CRASH_DRIVER);
  for (auto& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  for (const auto& e : extra_env) env_storage.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);  // its own group: a kill takes its workers too
  posix_spawnattr_setpgroup(&attr, 0);
  EXPECT_EQ(posix_spawn(&pid, argv[0], nullptr, &attr, argv.data(), envp.data()), 0);
  posix_spawnattr_destroy(&attr);
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// Per trial (keyed by its config): the (training_iteration, sum) of every result.json line.
using Histories = std::map<std::string, std::vector<std::pair<int64_t, double>>>;

// `in_order`: every trial's iterations run 1, 2, 3, ... (not so under PBT, whose clones jump
// to the iteration of the checkpoint they cloned).
Histories read_histories(const fs::path& experiment, bool in_order = true) {
  Histories out;
  for (const auto& entry : fs::directory_iterator(experiment)) {
    if (!entry.is_directory()) continue;
    std::ifstream params(entry.path() / "params.json");
    if (!params) continue;
    const Json config = Json::parse(params);
    std::ifstream in(entry.path() / "result.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(text.empty() || text.back() == '\n') << entry.path() << ": result.json is torn";
    // Keyed by config, or under PBT (whose clones may end with equal configs) by the trial's
    // number: Accumulator_<experiment>_<number>_...
    const std::vector<std::string> parts = split(entry.path().filename().string(), '_');
    const std::string key = in_order ? config.dump() : parts.at(2);
    auto& history = out[key];
    EXPECT_TRUE(history.empty()) << "two directories for one trial: " << key;
    for (const std::string& line : split(text, '\n')) {
      if (line.empty()) continue;
      const Json result = Json::parse(line);  // throws on a truncated line
      history.emplace_back(result.at("training_iteration").get<int64_t>(), result.at("sum").get<double>());
    }
    // progress.csv: every row whole, each iteration once, in order.
    std::ifstream csv(entry.path() / "progress.csv");
    std::string header;
    std::getline(csv, header);
    const std::vector<std::string> columns = split_csv_row(header);
    const auto column = std::find(columns.begin(), columns.end(), "training_iteration") - columns.begin();
    int64_t expected = 1;
    for (std::string row; std::getline(csv, row);) {
      const std::vector<std::string> cells = split_csv_row(row);
      EXPECT_EQ(cells.size(), columns.size()) << entry.path() << ": " << row;
      if (in_order && static_cast<size_t>(column) < cells.size()) {
        EXPECT_EQ(std::stoll(cells[column]), expected++) << entry.path() / "progress.csv";
      }
    }
  }
  return out;
}

// `iterations` < 0: trials may end early (a scheduler stops them), as in the reference; `in_order`:
// as for read_histories.
void expect_same_histories(const Histories& reference, const Histories& got, int iterations, bool in_order = true) {
  ASSERT_EQ(got.size(), reference.size());
  for (const auto& [config, history] : reference) {
    auto it = got.find(config);
    ASSERT_NE(it, got.end()) << "missing trial " << config;
    if (iterations >= 0) {
      ASSERT_EQ(history.size(), static_cast<size_t>(iterations)) << config;
    }
    ASSERT_EQ(it->second.size(), history.size()) << config;
    for (size_t i = 0; i < history.size(); ++i) {
      EXPECT_EQ(it->second[i].first, in_order ? static_cast<int64_t>(i + 1) : history[i].first) << config;
      EXPECT_DOUBLE_EQ(it->second[i].second, history[i].second) << config << " iteration " << i + 1;
    }
  }
}

// The scheduler's state in the experiment's snapshot, with the experiment's own trial id
// prefix replaced, so that two experiments' states compare.
std::string without_experiment_id(const fs::path& experiment, std::string text) {
  std::ifstream in(experiment / "experiment_state.json");
  const Json snapshot = Json::parse(in);
  const std::string prefix = snapshot.at("experiment_id").get<std::string>().substr(0, 5) + "_";
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at)) text.replace(at, 5, "XXXXX");
  return text;
}

std::string scheduler_state(const fs::path& experiment) {
  std::ifstream in(experiment / "experiment_state.json");
  return without_experiment_id(experiment, Json::parse(in).at("scheduler").dump());
}

// PBT's policy logs (pbt_policy_<trial>.txt, pbt_global.txt), keyed by file name, trial ids
// made comparable.
std::map<std::string, std::string> pbt_logs(const fs::path& experiment) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::directory_iterator(experiment)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("pbt_")) continue;
    std::ifstream in(entry.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    out[without_experiment_id(experiment, name)] = without_experiment_id(experiment, text);
  }
  return out;
}

// `scheduler`: run with SCHEDULER set (see crash_driver.cc); trials then end where it says.
// `searcher`: run with SEARCHER set; the configs then come from it, and the histories (keyed
// by config) only match when the resumed searcher suggests what the uninterrupted one did.
// `driver_only`: the kill reaches the driver alone, and the next driver resumes at once, while
// the killed one's trial processes (dying by PR_SET_PDEATHSIG) may still live.
void kill_loop(const std::string& mode, int samples, int iterations, const std::string& scheduler = "",
               const std::string& searcher = "", bool driver_only = false) {
  TempDir dir;
  const std::string n = std::to_string(samples);
  const std::string iters = std::to_string(iterations);
  std::vector<std::string> env;
  if (!scheduler.empty()) env.push_back("SCHEDULER=" + scheduler);
  if (!searcher.empty()) env.push_back("SEARCHER=" + searcher);
  // The reference: the same experiment, uninterrupted.
  const int clean = wait_for(spawn_driver({dir.str(), "reference", mode, n, iters}, env));
  ASSERT_TRUE(WIFEXITED(clean) && WEXITSTATUS(clean) == 0);
  const bool in_order = scheduler != "pbt";
  const Histories reference = read_histories(dir.path() / "reference", in_order);

  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay_ms(15, 150);
  int kills = 0;
  bool finished = false;
  for (int attempt = 0; attempt < 40 && !finished; ++attempt) {
    const pid_t pid = spawn_driver({dir.str(), "killed", mode, n, iters}, env);
    if (kills < (driver_only ? 8 : 12)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
      ::kill(driver_only ? pid : -pid, SIGKILL);  // the driver (and the processes of its group)
      const int status = wait_for(pid);
      if (WIFSIGNALED(status)) {
        ++kills;
        continue;
      }
      finished = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      ASSERT_TRUE(finished) << "the driver failed with status " << status;
    } else {
      const int status = wait_for(pid);
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
      finished = true;
    }
  }
  ASSERT_TRUE(finished);
  EXPECT_GE(kills, driver_only ? 6 : 10);
  expect_same_histories(reference, read_histories(dir.path() / "killed", in_order), scheduler.empty() ? iterations : -1,
                        in_order);
  // No half-written checkpoint was left in use: the journal names only whole ones.
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(dir.path() / "killed");
  ASSERT_EQ(analysis.trials().size(), reference.size());
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated) << trial.name();
    if (scheduler.empty()) {
      EXPECT_EQ(trial.last_result()["training_iteration"], iterations) << trial.name();
    }
  }
  if (!scheduler.empty()) {
    // The same rungs / brackets, recorded the same, as the uninterrupted run's.
    EXPECT_EQ(scheduler_state(dir.path() / "killed"), scheduler_state(dir.path() / "reference"));
    // The trials stopped where the reference's did: some early, so the scheduler did decide.
    if (scheduler == "pbt") {
      // The same exploits, logged once each: the policy files replay the same schedule.
      const auto logs = pbt_logs(dir.path() / "reference");
      EXPECT_TRUE(logs.contains("pbt_global.txt"));
      EXPECT_EQ(pbt_logs(dir.path() / "killed"), logs);
    } else {
      size_t early = 0;
      for (const auto& [config, history] : reference) early += history.size() < static_cast<size_t>(iterations);
      EXPECT_GT(early, 0u);
    }
  }
}

// 60 trials of 15 iterations each, checkpointed every 3rd.
TEST(CrashTest, KilledInProcessDriverResumesToTheSameResults) { kill_loop("inproc", 30, 15); }

TEST(CrashTest, KilledProcessTrialDriverResumesToTheSameResults) { kill_loop("process", 30, 15); }

// With a scheduler: SIGKILLed and resumed, the same rungs (ASHA) and brackets (synchronous
// HyperBand, whose trials PAUSE at milestones and resume from checkpoints) should continue, so
// that every trial stops where it stopped in an uninterrupted run, with the same results.
// What they need: each event's records are one journal line (the trial's end or pause with the
// scheduler's changes that decided it), and a STOP/PAUSE that waits for its checkpoint holds
// the journal back until the checkpoint is written, so the decision and its carrying out land
// together (runner/experiment_journal.h, TrialRunner::commit_journal_only).
// Its children are not killed with it: each resume first ends what is left of them, so no two
// copies of a trial ever write one directory.
TEST(CrashTest, DriverKilledAloneIsResumedAtOnceAndEveryIterationIsLoggedOnce) {
  kill_loop("process", 12, 15, "", "", true);
}

TEST(CrashTest, KilledDriverWithAshaResumesTheSameRungs) { kill_loop("inproc", 30, 15, "asha"); }

TEST(CrashTest, KilledDriverWithHyperBandResumesTheSameBrackets) { kill_loop("inproc", 30, 15, "hyperband"); }

TEST(CrashTest, KilledDriverWithHyperBandForBohbResumesTheSameBrackets) { kill_loop("inproc", 30, 15, "hb_bohb"); }

// Median stopping: its per-trial running means and time slices are saved with each event.
TEST(CrashTest, KilledDriverWithMedianStoppingStopsTheSameTrials) {
  kill_loop("inproc", 30, 15, "median_stopping_rule");
}

// PBT, one trial at a time so that its exploits follow from the results alone: the same
// trials clone the same checkpoints with the same explored configs, the policy logs say so
// once each, and the cloned trials' histories match the uninterrupted run's.
TEST(CrashTest, KilledDriverWithPbtExploitsTheSameCheckpoints) { kill_loop("inproc", 8, 15, "pbt"); }

// With TPE: its state (observations, pending trials, how many it suggested) is journaled as
// what changed with each trial added or ended, so a resumed TPE suggests the very configs an
// uninterrupted one did (the histories are keyed by config).
TEST(CrashTest, KilledDriverWithTpeSuggestsTheSameConfigs) { kill_loop("inproc", 40, 8, "", "tpe"); }

TEST(CrashTest, TrialKilledMidSaveRestartsFromTheLastWholeCheckpoint) {
  TempDir dir;
  const int reference = wait_for(spawn_driver({dir.str(), "reference", "process", "1", "12"}));
  ASSERT_TRUE(WIFEXITED(reference) && WEXITSTATUS(reference) == 0);
  // Each trial dies (SIGKILL) halfway through writing its checkpoint at iteration 6.
  const int status = wait_for(spawn_driver({dir.str(), "torn", "process", "1", "12"}, {"KILL_IN_SAVE=6"}));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  expect_same_histories(read_histories(dir.path() / "reference"), read_histories(dir.path() / "torn"), 12);
  for (const auto& entry : fs::directory_iterator(dir.path() / "torn")) {
    if (!entry.is_directory()) continue;
    EXPECT_TRUE(fs::exists(entry.path() / "killed_in_save")) << entry.path();
    std::ifstream error(entry.path() / "error.txt");
    std::string text((std::istreambuf_iterator<char>(error)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("SIGKILL"), std::string::npos) << text;
    EXPECT_NE(text.find("save"), std::string::npos) << text;
    for (const auto& sub : fs::directory_iterator(entry.path())) {
      EXPECT_FALSE(sub.path().filename().string().ends_with(".tmp")) << sub.path();
    }
  }
}

// A full disk: trials whose writes fail end in ERROR naming ENOSPC, the state stays readable,
// and once space is back the experiment resumes (ERRORED_ONLY reruns the failed trials) to
// the same results. The disk is a small tmpfs in a private mount namespace.
TEST(CrashTest, FullDiskFailsTrialsClearlyAndResumeFinishesOnceSpaceIsBack) {
  if (std::system("unshare --user --map-root-user --mount true > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "no user/mount namespaces here to mount a small tmpfs in";
  }
  TempDir dir;
  const std::string script = std::string(R"(
set -u
d="$1"; driver="$2"
mkdir -p "$d/disk"
mount -t tmpfs -o size=3m tmpfs "$d/disk" || exit 90
head -c 2400000 /dev/zero > "$d/disk/filler"
"$driver" "$d/disk" exp inproc 10 12 > "$d/first.out" 2> "$d/first.err"
echo $? > "$d/first.rc"
cp -a "$d/disk/exp" "$d/after_full"
rm "$d/disk/filler"
RESUME_MODE=ERRORED_ONLY "$driver" "$d/disk" exp inproc 10 12 > "$d/second.out" 2> "$d/second.err"
echo $? > "$d/second.rc"
cp -a "$d/disk/exp" "$d/final"
exit 0
)");
  const std::string command = "unshare --user --map-root-user --mount sh -c '" + script + "' sh " + dir.str() + " " +
                              TUNE_TEST_CRASH_DRIVER;
  ASSERT_EQ(std::system(command.c_str()), 0);
  auto text_of = [](const fs::path& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  // The first run hit the full disk and said so.
  std::string reported = text_of(dir.path() / "first.err");
  for (const auto& entry : fs::recursive_directory_iterator(dir.path() / "after_full")) {
    if (entry.path().filename() == "error.txt") reported += text_of(entry.path());
  }
  EXPECT_NE(text_of(dir.path() / "first.rc"), "0\n");
  EXPECT_NE(reported.find("No space left on device"), std::string::npos) << reported;
  // What it left is readable, down to every trial's result.json.
  EXPECT_NO_THROW(ExperimentAnalysis::load(dir.path() / "after_full"));
  for (const auto& entry : fs::recursive_directory_iterator(dir.path() / "after_full")) {
    if (entry.path().filename() != "result.json") continue;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      EXPECT_TRUE(Json::accept(line)) << entry.path() << ": " << line;
    }
  }
  // With space back, the experiment finishes: every config once, complete.
  EXPECT_EQ(text_of(dir.path() / "second.rc"), "0\n") << text_of(dir.path() / "second.err");
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(dir.path() / "final");
  std::set<std::string> configs;
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated) << trial.name();
    EXPECT_TRUE(configs.insert(trial.config().dump()).second) << trial.config().dump();
    // Its logdir is stored relative to the experiment, so it points into the copy.
    std::ifstream in(trial.logdir() / "result.json");
    int64_t expected = 1;
    for (std::string line; std::getline(in, line);) {
      EXPECT_EQ(Json::parse(line).at("training_iteration").get<int64_t>(), expected++) << trial.logdir();
    }
    EXPECT_EQ(expected, 13) << trial.logdir();
  }
  EXPECT_EQ(configs.size(), 20u);
}

}  // namespace
}  // namespace tune
