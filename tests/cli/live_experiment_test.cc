// End to end: `tune ls` and `tune analyze` read one experiment while `tune run` writes it, after
// it was SIGKILLed, and after `tune resume` finished it, and agree each time on the best trial
// and its metrics; `tune ls --watch` refreshes, ends when the run has finished, after --count
// listings, or on Ctrl-C.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "support/files.h"
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
using Clock = std::chrono::steady_clock;

// Three trials of 80 results each, 0.1 s apart, all at once: slow enough to be read mid-run
// and killed before any has finished, even in a sanitizer build on a loaded machine.
constexpr const char* kLiveSpec = R"(name: live
trainable:
  command:
    - sh
    - -c
    - |
      i=0
      while [ $i -lt 80 ]; do
        i=$((i + 1)); sleep 0.1
        echo "{\"score\": $((i * {x})), \"i\": $i}"
      done
  protocol: plain
config:
  x: {grid_search: [1, 2, 3]}
metric: score
mode: max
num_cpus: 3
local_dir: results
verbose: 0
)";

// Starts the built `tune` with `args` in `cwd`, its stdout and stderr into `log`.
pid_t start_cli(const std::vector<std::string>& args, const fs::path& cwd, const fs::path& log) {
#ifndef TUNE_CLI_PATH
  ADD_FAILURE() << "TUNE_CLI_PATH is not defined (tests/CMakeLists.txt)";
  return -1;
#else
  std::vector<std::string> argv_strings = {TUNE_CLI_PATH};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ::chdir(cwd.c_str()) != 0) ::_exit(127);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
#endif
}

// The exit code of `pid`, waiting at most `limit`; -1 (and the process killed) past it.
int wait_exit(pid_t pid, std::chrono::seconds limit) {
  const auto until = Clock::now() + limit;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() > until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Polls `done` every 20 ms for at most `limit`.
template <typename Predicate>
bool eventually(Predicate done, std::chrono::seconds limit) {
  const auto until = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

size_t lines_in(const fs::path& file) {
  const std::string text = read_text(file);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// True when some trial directory's result.json holds at least `n` results.
bool some_trial_has_results(const fs::path& experiment, size_t n) {
  std::error_code ec;
  for (fs::directory_iterator it(experiment, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory() && lines_in(it->path() / "result.json") >= n) return true;
  }
  return false;
}

// A copy of the experiment as it is now (the run may be writing it: a file that vanishes
// mid-copy, such as a snapshot's temporary file, makes it try again).
fs::path copy_of(const fs::path& experiment, const fs::path& to) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::error_code ec;
    fs::remove_all(to, ec);
    fs::copy(experiment, to, fs::copy_options::recursive, ec);
    if (!ec) return to;
  }
  ADD_FAILURE() << "could not copy " << experiment;
  return to;
}

// Reads `dir` with `tune ls` and `tune analyze` (the run's metric and mode) and checks they
// agree: the analysis's best trial is the first ls row with the highest score, and its value
// and status are that row's. Returns the ls rows.
Json expect_ls_and_analyze_agree(const fs::path& dir) {
  const Outcome ls = tune_cli({"ls", dir.string(), "-o", "json", "--columns", "trial_id,status,training_iteration,score"});
  EXPECT_EQ(ls.code, 0) << ls.err;
  const Outcome analyze = tune_cli({"analyze", dir.string(), "-o", "json"});
  EXPECT_EQ(analyze.code, 0) << analyze.err;
  if (ls.code != 0 || analyze.code != 0) return Json::array();
  const Json rows = Json::parse(ls.out);
  const Json best = Json::parse(analyze.out);
  EXPECT_EQ(best["metric"], "score");
  EXPECT_EQ(best["mode"], "max");
  const Json* best_row = nullptr;
  for (const Json& row : rows) {
    if (row["score"].is_number() && (!best_row || row["score"].get<double>() > (*best_row)["score"].get<double>())) {
      best_row = &row;
    }
  }
  EXPECT_NE(best_row, nullptr) << rows.dump();
  if (!best_row) return rows;
  EXPECT_EQ(best["trial_id"], (*best_row)["trial_id"]) << rows.dump() << "\n" << best.dump();
  EXPECT_TRUE(best["value"].is_number()) << best.dump();
  EXPECT_EQ(best["value"], (*best_row)["score"]);
  EXPECT_EQ(best["status"], (*best_row)["status"]);
  EXPECT_EQ(best["last_result"]["score"], (*best_row)["score"]);
  return rows;
}

// Some trial is RUNNING and has its metric and iteration from its result.json.
bool running_with_score(const Json& rows) {
  return std::any_of(rows.begin(), rows.end(), [](const Json& row) {
    return row["status"] == "RUNNING" && row["score"].is_number() && row["training_iteration"].is_number();
  });
}

TEST(LiveExperimentTest, LsAndAnalyzeAgreeOnARunningAKilledAndAFinishedExperiment) {
  TempDir dir;
  testing::write_text(dir.path() / "spec.yaml", kLiveSpec);
  const fs::path experiment = dir.path() / "results" / "live";
  const pid_t run = start_cli({"run", "spec.yaml"}, dir.path(), dir.path() / "run.log");
  ASSERT_GT(run, 0);

  // Live: every trial started and one has a few results, long before the 8 s run ends.
  const bool started = eventually(
      [&] {
        return lines_in(experiment / "experiment_state.jsonl") > 0 && some_trial_has_results(experiment, 3) &&
               read_text(experiment / "experiment_state.jsonl").find("\"e\":\"dir\"") != std::string::npos;
      },
      std::chrono::seconds(120));
  ASSERT_TRUE(started) << read_text(dir.path() / "run.log");
  const fs::path live = copy_of(experiment, dir.path() / "live_copy");
  const Json live_rows = expect_ls_and_analyze_agree(live);
  EXPECT_TRUE(running_with_score(live_rows)) << "a RUNNING trial shows its metrics: " << live_rows.dump();

  // Killed: the driver dies mid-run; what it left is read the same way.
  ASSERT_EQ(::kill(run, SIGKILL), 0);
  EXPECT_EQ(wait_exit(run, std::chrono::seconds(30)), 128 + SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // orphaned trials end at their next write
  const fs::path killed = copy_of(experiment, dir.path() / "killed_copy");
  const Json killed_rows = expect_ls_and_analyze_agree(killed);
  EXPECT_FALSE(killed_rows.empty());
  EXPECT_TRUE(running_with_score(killed_rows)) << "the journal's status of a killed run: " << killed_rows.dump();

  // Finished: resumed to the end.
  const Outcome resumed = tune_cli({"resume", "results/live"}, dir.path());
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  const Json finished_rows = expect_ls_and_analyze_agree(experiment);
  ASSERT_EQ(finished_rows.size(), 3u);
  for (const Json& row : finished_rows) {
    EXPECT_EQ(row["status"], "TERMINATED");
    EXPECT_EQ(row["training_iteration"], 80);
  }
  const Outcome best = tune_cli({"analyze", experiment.string()});
  EXPECT_THAT(best.out, HasSubstr("Metric: score = 240 (max, scope last)"));

  // --watch on the finished run shows one listing and ends; on the killed copy (never finished)
  // it refreshes until --count.
  const Outcome once = tune_cli({"ls", experiment.string(), "--watch", "--interval", "0.05"});
  EXPECT_EQ(once.code, 0) << once.err;
  EXPECT_THAT(once.out, HasSubstr("3 trials (3 TERMINATED), finished"));
  const Outcome twice = tune_cli({"ls", killed.string(), "--watch", "--interval", "0.05", "--count", "2"});
  EXPECT_EQ(twice.code, 0) << twice.err;
  size_t listings = 0;
  for (size_t at = 0; (at = twice.out.find("not finished (running, or stopped", at)) != std::string::npos; ++at) {
    ++listings;
  }
  EXPECT_EQ(listings, 2u) << twice.out;
  const Outcome json = tune_cli({"ls", killed.string(), "--watch", "--interval", "0.05", "--count", "2", "-o", "json"});
  EXPECT_EQ(json.code, 0) << json.err;
  EXPECT_THAT(json.out, Not(HasSubstr("finished"))) << "json refreshes are JSON documents only";
}

TEST(LiveExperimentTest, WatchEndsOnCtrlCAndRefusesOptionsWithoutWatch) {
  TempDir dir;
  // A run that never finished: one trial added and started, one result, no "done".
  const fs::path experiment = dir.path() / "exp";
  const fs::path trial = experiment / "t_00000";
  testing::write_text(trial / "params.json", R"({"x": 1})");
  testing::write_text(trial / "result.json", R"({"loss": 0.5, "training_iteration": 1, "trial_id": "00000"})"
                                             "\n");
  testing::write_text(experiment / "experiment_state.jsonl",
                      R"({"e":"head","version":2,"name":"exp","metric":"loss","mode":"min"})"
                      "\n"
                      R"({"e":"add","i":0,"id":"00000","name":"t_00000","config":{"x":1}})"
                      "\n"
                      R"({"e":"dir","i":0,"dir":"t_00000"})"
                      "\n");
  const fs::path log = dir.path() / "watch.log";
  const pid_t watch = start_cli({"ls", experiment.string(), "--watch", "--interval", "0.05"}, dir.path(), log);
  ASSERT_GT(watch, 0);
  ASSERT_TRUE(eventually([&] { return read_text(log).find("t_00000") != std::string::npos; }, std::chrono::seconds(60)))
      << read_text(log);
  ASSERT_EQ(::kill(watch, SIGINT), 0);
  EXPECT_EQ(wait_exit(watch, std::chrono::seconds(30)), 0) << read_text(log);
  EXPECT_THAT(read_text(log), HasSubstr("1 trials (1 RUNNING), not finished"));

  const Outcome count = tune_cli({"ls", experiment.string(), "--count", "2"});
  EXPECT_EQ(count.code, 2);
  EXPECT_THAT(count.err, HasSubstr("--count: only applies with --watch"));
  const Outcome interval = tune_cli({"ls", experiment.string(), "--watch", "--interval", "0"});
  EXPECT_EQ(interval.code, 2);
  EXPECT_THAT(interval.err, HasSubstr("--interval: must be > 0"));
}

}  // namespace
}  // namespace tune
