// End-to-end tests of the `tune` binary: help, exit codes, `tune run` of spec files (bad specs,
// plain shell commands, misbehaving commands), `tune ls` and `tune analyze`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "support/temp_dir.h"
#include "support/tune_cli.h"
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::Outcome;
using testing::quote;
using testing::read_text;
using testing::TempDir;
using testing::tune_cli;
namespace fs = std::filesystem;

void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// ---- help and usage ----

TEST(CliTest, HelpOnEverySubcommandListsTheExitCodes) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--help"}, {"run", "--help"}, {"ls", "--help"}, {"analyze", "--help"}}) {
    const Outcome o = tune_cli(args);
    EXPECT_EQ(o.code, 0) << args[0];
    EXPECT_THAT(o.out, HasSubstr("Usage: tune")) << args[0];
    EXPECT_THAT(o.out, HasSubstr("Exit codes:")) << args[0];
  }
  EXPECT_THAT(tune_cli({"run", "--help"}).out, HasSubstr("--set"));
  EXPECT_THAT(tune_cli({"ls", "--help"}).out, HasSubstr("--filter"));
  EXPECT_THAT(tune_cli({"analyze", "--help"}).out, HasSubstr("--scope"));
}

TEST(CliTest, BadUsageExitsTwo) {
  EXPECT_EQ(tune_cli({}).code, 2);
  const Outcome unknown = tune_cli({"frobnicate"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown command 'frobnicate'"));
  EXPECT_THAT(tune_cli({"analyse", "x"}).err, HasSubstr("unknown command 'analyse' (did you mean 'analyze'?)"));
  EXPECT_EQ(tune_cli({"run"}).code, 2);  // no spec
  EXPECT_EQ(tune_cli({"ls", "/tmp", "--no-such-flag"}).code, 2);
  EXPECT_EQ(tune_cli({"ls", "/tmp", "--limit", "many"}).code, 2);
}

// ---- tune run ----

const char* const kPlainSpec = R"(name: plain
trainable:
  command: [sh, -c, 'for i in 1 2 3; do echo "{\"score\": $(( i * {x} ))}"; done']
  protocol: plain
config:
  x: {grid_search: [1, 2]}
local_dir: results
metric: score
mode: max
verbose: 0
)";

TEST(CliTest, BadSpecExitsTwoNamesTheLineAndMakesNoDirectory) {
  TempDir dir;
  write(dir.path() / "spec.yaml", std::string(kPlainSpec) + "num_sample: 3\n");
  const Outcome o = tune_cli({"run", "spec.yaml"}, dir.path());
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr("spec.yaml:11: unknown key 'num_sample' (did you mean 'num_samples'?)"));
  EXPECT_FALSE(fs::exists(dir.path() / "results"));
}

TEST(CliTest, BadSearchSpaceAndBadOverrideExitTwo) {
  TempDir dir;
  write(dir.path() / "spec.yaml", std::string(kPlainSpec) + "\n");
  const Outcome space = tune_cli({"run", "spec.yaml", "--set", "config.lr={loguniform: [0, 1]}"}, dir.path());
  EXPECT_EQ(space.code, 2);
  EXPECT_THAT(space.err, HasSubstr("--set config.lr={loguniform: [0, 1]}: config/lr: loguniform"));
  const Outcome value = tune_cli({"run", "spec.yaml", "--set", "num_samples=lots"}, dir.path());
  EXPECT_EQ(value.code, 2);
  EXPECT_THAT(value.err, HasSubstr("--set num_samples=lots: num_samples: must be an integer"));
  EXPECT_FALSE(fs::exists(dir.path() / "results"));
}

// A plain program that checkpoints itself; `tune run` is SIGKILLed midway and `tune resume`
// finishes the experiment from the checkpoints, each iteration logged once.
TEST(CliTest, ResumeContinuesAKilledRunFromItsCheckpoints) {
  TempDir dir;
  write(dir.path() / "spec.yaml", R"(name: ck
trainable:
  command:
    - sh
    - -c
    - |
      i=0
      if [ -n "${TUNE_RESTORE_FROM:-}" ]; then i=$(cat "$TUNE_RESTORE_FROM/i"); fi
      while [ $i -lt 8 ]; do
        i=$((i + 1)); sleep 0.1
        mkdir -p "$TUNE_CHECKPOINT_DIR"; echo $i > "$TUNE_CHECKPOINT_DIR/i"
        echo "{\"i\": $i, \"x\": {x}, \"should_checkpoint\": true}"
      done
  protocol: plain
config:
  x: {grid_search: [1, 2]}
stop: {training_iteration: 8}
local_dir: results
verbose: 0
)");
  // Killed once its first checkpoint is journaled (not after a fixed delay: a slow sanitizer
  // build may not have started by then), while each trial still has iterations to go.
  const std::string kill_midway =
      "cd " + quote(dir.str()) + " || exit 9; " + quote(TUNE_CLI_PATH) +
      " run spec.yaml >/dev/null 2>&1 & p=$!; i=0; until grep -q '\"e\":\"ckpt\"' results/ck/experiment_state.jsonl "
      "2>/dev/null || [ $i -ge 1500 ]; do sleep 0.02; i=$((i + 1)); done; kill -9 $p; wait $p";
  EXPECT_NE(std::system(kill_midway.c_str()), 0);
  const fs::path experiment = dir.path() / "results" / "ck";
  ASSERT_TRUE(fs::exists(experiment / "experiment_state.jsonl"));
  const Outcome resumed = tune_cli({"resume", "results/ck"}, dir.path());
  EXPECT_EQ(resumed.code, 0) << resumed.err;
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(experiment);
  ASSERT_EQ(analysis.trials().size(), 2u);
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
    std::ifstream in(trial.logdir() / "result.json");
    int expected = 1;
    for (std::string line; std::getline(in, line); ++expected) {
      const Json result = Json::parse(line);
      EXPECT_EQ(result["training_iteration"], expected) << trial.logdir();
      EXPECT_EQ(result["i"], expected) << "the program did not continue from its checkpoint: " << line;
    }
    EXPECT_EQ(expected, 9) << trial.logdir();
  }
  // Resuming a finished experiment runs nothing and succeeds.
  EXPECT_EQ(tune_cli({"resume", "results/ck"}, dir.path()).code, 0);
  // Not an experiment: a clear usage error.
  const Outcome bad = tune_cli({"resume", "results"}, dir.path());
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("no experiment state"));
}

// Relative paths of a spec are the spec file's: `tune run sub/spec.yaml` from another directory
// finds sub/train.py (not in each trial's directory) and writes into sub/results, and the stored
// spec holds them absolute, so `tune resume` from a third directory reruns a failed trial.
TEST(CliTest, RelativePathsOfASpecResolveAgainstItsDirectoryAndResumeWorksFromAnywhere) {
  if (std::string(TUNE_TEST_PYTHON).empty()) GTEST_SKIP() << "no python3";
  TempDir dir;
  const fs::path sub = dir.path() / "sub";
  for (const fs::path& d : {sub, dir.path() / "first", dir.path() / "second"}) fs::create_directories(d);
  // x = 2 fails its first run (it leaves a marker next to the script), then succeeds.
  write(sub / "train.py", R"(import json, os, sys
x = int(sys.argv[1])
marker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "failed_once")
if x == 2 and not os.path.exists(marker):
    open(marker, "w").close()
    sys.exit(3)
for i in range(3):
    print(json.dumps({"score": x * (i + 1)}), flush=True)
)");
  write(sub / "spec.yaml", R"(name: rel
trainable:
  command: [python3, train.py, "{x}"]
config:
  x: {grid_search: [1, 2]}
local_dir: results
metric: score
mode: max
verbose: 0
)");
  const Outcome first = tune_cli({"run", "../sub/spec.yaml"}, dir.path() / "first");
  EXPECT_EQ(first.code, 1) << first.err;  // x = 2 failed
  const fs::path experiment = sub / "results" / "rel";
  ASSERT_TRUE(fs::exists(experiment / "experiment_state.jsonl")) << first.err;
  EXPECT_FALSE(fs::exists(dir.path() / "first" / "results"));
  {
    const ExperimentAnalysis analysis = ExperimentAnalysis::load(experiment);
    ASSERT_EQ(analysis.trials().size(), 2u);
    int terminated = 0;
    for (const TrialRecord& trial : analysis.trials()) terminated += trial.status() == TrialStatus::kTerminated;
    EXPECT_EQ(terminated, 1) << "train.py was not found from the trial directory";
  }
  const Outcome resumed = tune_cli({"resume", "--errored-only", "../sub/results/rel"}, dir.path() / "second");
  EXPECT_EQ(resumed.code, 0) << resumed.err;
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(experiment);
  ASSERT_EQ(analysis.trials().size(), 2u);
  for (const TrialRecord& trial : analysis.trials()) EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
  EXPECT_EQ(analysis.get_best_trial("score", "max")->last_result()["score"], 6);
  // The stored spec names the script and the results absolutely.
  const std::string state =
      read_text(experiment / "experiment_state.jsonl") + read_text(experiment / "experiment_state.json");
  EXPECT_NE(state.find(Json((sub / "train.py").string()).dump()), std::string::npos);
  EXPECT_NE(state.find(Json((sub / "results").string()).dump()), std::string::npos);
}

TEST(CliTest, NotSupportedYetKeyExitsTwo) {
  TempDir dir;
  write(dir.path() / "spec.yaml", std::string(kPlainSpec) + "scheduler: pb2\n");
  const Outcome o = tune_cli({"run", "spec.yaml"}, dir.path());
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr("spec.yaml:11: not supported yet: scheduler 'pb2'"));
  EXPECT_FALSE(fs::exists(dir.path() / "results"));
}

// A spec's trainable runs as child processes, which reuse_actors cannot reset.
TEST(CliTest, ReuseActorsInASpecExitsTwoSayingWhy) {
  TempDir dir;
  write(dir.path() / "spec.yaml", std::string(kPlainSpec) + "reuse_actors: true\n");
  const Outcome o = tune_cli({"run", "spec.yaml"}, dir.path());
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err, HasSubstr("spec.yaml:11: reuse_actors: true needs an in-process class trainable"));
  EXPECT_FALSE(fs::exists(dir.path() / "results"));
}

TEST(CliTest, CommandThatDoesNotExistExitsTwoBeforeAnythingStarts) {
  TempDir dir;
  write(dir.path() / "spec.yaml", "trainable:\n  command: [no-such-program-for-tune, --x]\nlocal_dir: results\n");
  const Outcome o = tune_cli({"run", "spec.yaml"}, dir.path());
  EXPECT_EQ(o.code, 2);
  EXPECT_THAT(o.err,
              HasSubstr("spec.yaml:2: trainable/command/0: program 'no-such-program-for-tune' not found in PATH"));
  EXPECT_FALSE(fs::exists(dir.path() / "results"));
}

TEST(CliTest, MissingOrBinarySpecFileExitsTwo) {
  TempDir dir;
  const Outcome missing = tune_cli({"run", "nope.yaml"}, dir.path());
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("nope.yaml: cannot read the spec file"));
  write(dir.path() / "spec.yaml", std::string("name: x\n\xff\xfe\n"));
  const Outcome binary = tune_cli({"run", "spec.yaml"}, dir.path());
  EXPECT_EQ(binary.code, 2);
  EXPECT_THAT(binary.err, HasSubstr("spec.yaml:2: invalid UTF-8"));
}

TEST(CliTest, CheckValidatesAndRunsNothing) {
  TempDir dir;
  write(dir.path() / "spec.yaml", kPlainSpec);
  const Outcome o = tune_cli({"run", "spec.yaml", "--check", "--set", "num_samples=2"}, dir.path());
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_THAT(o.out, HasSubstr("\"num_samples\": 2"));
  EXPECT_THAT(o.out, HasSubstr("OK"));
  EXPECT_FALSE(fs::exists(dir.path() / "results"));
}

// Needs the process executor (tune/process.h).
TEST(CliTest, RunsAPlainShellCommandThenListsAndAnalyzesIt) {
  TempDir dir;
  write(dir.path() / "spec.yaml", kPlainSpec);
  const Outcome run = tune_cli({"run", "spec.yaml"}, dir.path());
  ASSERT_EQ(run.code, 0) << run.err;
  const fs::path exp = dir.path() / "results" / "plain";
  ASSERT_TRUE(fs::exists(exp / "experiment_state.json"));

  const Outcome ls = tune_cli({"ls", exp.string(), "--columns", "status,training_iteration,score,config/x", "--sort",
                               "config/x", "-o", "json"});
  ASSERT_EQ(ls.code, 0) << ls.err;
  const Json rows = Json::parse(ls.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["status"], "TERMINATED");
  EXPECT_EQ(rows[0]["training_iteration"], 3);
  EXPECT_EQ(rows[0]["score"], 3);
  EXPECT_EQ(rows[1]["score"], 6);

  // The run's own metric and mode are the defaults.
  const Outcome best = tune_cli({"analyze", exp.string(), "-o", "json"});
  ASSERT_EQ(best.code, 0) << best.err;
  const Json answer = Json::parse(best.out);
  EXPECT_EQ(answer["config"], Json::parse(R"({"x": 2})"));
  EXPECT_EQ(answer["metric"], "score");
  EXPECT_EQ(answer["value"], 6.0);
}

// Uploads to a local "cloud" directory whose name a shell would misread, then resume = REMOTE
// brings the deleted experiment back from it.
TEST(CliTest, SyncConfigUploadsAndResumeRemotePullsItBack) {
  TempDir dir;
  write(dir.path() / "spec.yaml", std::string(kPlainSpec) + R"(sync_config:
  upload_dir: "cloud dir; touch PWNED; rm -rf "
  sync_to_cloud: rsync -a {source} {target}
  sync_period_s: 0.1
)");
  const Outcome first = tune_cli({"run", "spec.yaml"}, dir.path());
  ASSERT_EQ(first.code, 0) << first.err;
  const fs::path uploaded = dir.path() / "cloud dir; touch PWNED; rm -rf " / "plain";
  EXPECT_EQ(read_text(uploaded / "experiment_state.jsonl"),
            read_text(dir.path() / "results" / "plain" / "experiment_state.jsonl"));
  EXPECT_FALSE(fs::exists(dir.path() / "PWNED"));

  fs::remove_all(dir.path() / "results");
  const Outcome again = tune_cli({"run", "spec.yaml", "--set", "resume=REMOTE"}, dir.path());
  ASSERT_EQ(again.code, 0) << again.err;
  const Outcome ls = tune_cli({"ls", (dir.path() / "results" / "plain").string(), "-o", "json"});
  ASSERT_EQ(ls.code, 0) << ls.err;
  const Json rows = Json::parse(ls.out);
  ASSERT_EQ(rows.size(), 2u);
  for (const Json& row : rows) EXPECT_EQ(row["status"], "TERMINATED");
}

// A spec running a plain program (3 results per trial) over x and n with `search_alg`.
std::string search_spec(const std::string& name, const std::string& config_extra, const std::string& search_alg) {
  return "name: " + name + R"(
trainable:
  command: [sh, -c, 'i=1; while [ $i -le 3 ]; do echo "{\"loss\": {x}, \"i\": $i}"; i=$((i+1)); done']
  protocol: plain
config:
  x: {uniform: [0, 10]}
  n: {randint: [1, 4]}
)" + config_extra + R"(num_samples: 8
local_dir: results
metric: loss
mode: min
verbose: 0
)" + search_alg;
}

// Runs the spec and checks its 8 trials: all TERMINATED, integer n, the point x = 5 tried.
void expect_search_run(const std::string& name, const std::string& search_alg) {
  TempDir dir;
  write(dir.path() / "spec.yaml", search_spec(name, "", search_alg));
  const Outcome run = tune_cli({"run", "spec.yaml"}, dir.path());
  ASSERT_EQ(run.code, 0) << run.err;
  const Outcome ls =
      tune_cli({"ls", (dir.path() / "results" / name).string(), "--columns", "status,config/x,config/n", "-o", "json"});
  ASSERT_EQ(ls.code, 0) << ls.err;
  const Json rows = Json::parse(ls.out);
  ASSERT_EQ(rows.size(), 8u);
  bool saw_point = false;
  for (const auto& row : rows) {
    EXPECT_EQ(row["status"], "TERMINATED");
    EXPECT_TRUE(row["config/n"].is_number_integer());
    saw_point = saw_point || row["config/x"] == 5;
  }
  EXPECT_TRUE(saw_point);
}

TEST(CliTest, RunsATpeSearch) {
  expect_search_run("tpe", "search_alg: {type: tpe, n_startup_trials: 3, seed: 1, points_to_evaluate: [{x: 5}]}\n");
  TempDir dir;
  // A searcher cannot take grid_search: refused before anything starts.
  write(dir.path() / "grid.yaml", R"(name: grid
trainable: {command: [sh, -c, 'echo 1'], protocol: plain}
config: {x: {grid_search: [1, 2]}}
search_alg: tpe
metric: loss
mode: min
local_dir: results
)");
  const Outcome grid = tune_cli({"run", "grid.yaml"}, dir.path());
  EXPECT_EQ(grid.code, 2) << grid.err;
  EXPECT_THAT(grid.err, HasSubstr("config/x: grid_search cannot be used"));
  EXPECT_FALSE(fs::exists(dir.path() / "results" / "grid"));
}

TEST(CliTest, RunsAGpSearch) {
  expect_search_run("gp", "search_alg: {type: gp, n_initial_points: 3, seed: 1, acquisition: ucb, "
                          "points_to_evaluate: [{x: 5}]}\n");
}

TEST(CliTest, RunsACmaesSearch) {
  expect_search_run("cmaes", "search_alg: {type: cmaes, seed: 1, sigma0: 0.3, points_to_evaluate: [{x: 5}]}\n");
}

TEST(CliTest, RunsABohbSearch) {
  expect_search_run("bohb", "search_alg: {type: bohb, seed: 1, points_to_evaluate: [{x: 5}]}\n");
}

#ifdef TUNE_TEST_WORKER
// BOHB with the HyperBand it is made for: a registered trainable (checkpoints) paused and resumed.
TEST(CliTest, RunsBohbWithHyperBandForBohb) {
  TempDir dir;
  write(dir.path() / "hb.yaml", "name: hb\ntrainable: {binary: " + Json(TUNE_TEST_WORKER).dump() +
                                    ", name: Climb}\nconfig: {q: {uniform: [0, 1]}}\nnum_samples: 9\n"
                                    "stop: {training_iteration: 9}\nmetric: acc\nmode: max\nlocal_dir: results\n"
                                    "verbose: 0\nsearch_alg: {type: bohb, seed: 2}\n"
                                    "scheduler: {type: hb_bohb, max_t: 9, reduction_factor: 3}\n");
  const Outcome hb = tune_cli({"run", "hb.yaml"}, dir.path());
  ASSERT_EQ(hb.code, 0) << hb.err;
  const Outcome ls = tune_cli({"ls", (dir.path() / "results" / "hb").string(), "-o", "json"});
  ASSERT_EQ(ls.code, 0) << ls.err;
  EXPECT_EQ(Json::parse(ls.out).size(), 9u);
}
#endif

TEST(CliTest, NewSearchersRefuseMisuseBeforeAnythingStarts) {
  TempDir dir;
  // A misspelt key is named with the closest valid one.
  write(dir.path() / "bad.yaml", search_spec("bad", "", "search_alg:\n  type: gp\n  acquisiton: ei\n"));
  const Outcome bad = tune_cli({"run", "bad.yaml"}, dir.path());
  EXPECT_EQ(bad.code, 2) << bad.err;
  EXPECT_THAT(bad.err, HasSubstr("search_alg: unknown key 'acquisiton' (did you mean 'acquisition'?)"));
  // CMA-ES refuses a choice, naming its path.
  write(dir.path() / "choice.yaml", search_spec("choice", "  opt: {choice: [a, b]}\n", "search_alg: cmaes\n"));
  const Outcome choice = tune_cli({"run", "choice.yaml"}, dir.path());
  EXPECT_EQ(choice.code, 2) << choice.err;
  EXPECT_THAT(choice.err, HasSubstr("config/opt: a choice cannot be searched by CMA-ES"));
  EXPECT_FALSE(fs::exists(dir.path() / "results" / "choice"));
}

// Needs the process executor.
TEST(CliTest, FailedTrialExitsOneUnlessRaiseOnFailedTrialIsOff) {
  TempDir dir;
  write(dir.path() / "spec.yaml",
        "trainable:\n  command: [sh, -c, 'echo \"{\\\"a\\\": 1}\"; exit 3']\nlocal_dir: results\nverbose: 0\n");
  const Outcome failed = tune_cli({"run", "spec.yaml", "--set", "name=failing"}, dir.path());
  EXPECT_EQ(failed.code, 1);
  EXPECT_THAT(failed.err, HasSubstr("1 of 1 trials did not complete"));
  EXPECT_THAT(failed.err, HasSubstr("error.txt"));
  const Outcome tolerated =
      tune_cli({"run", "spec.yaml", "--set", "name=tolerated", "--set", "raise_on_failed_trial=false"}, dir.path());
  EXPECT_EQ(tolerated.code, 0) << tolerated.err;
}

#ifdef TUNE_TEST_WORKER
// A trainable registered in another binary (tests/executors/workers/test_worker.cc), each trial
// that binary re-run as a worker.
TEST(CliTest, RunsARegisteredTrainableOfABinary) {
  TempDir dir;
  write(dir.path() / "spec.yaml", "name: counter\ntrainable: {binary: " + Json(TUNE_TEST_WORKER).dump() +
                                      ", name: Counter}\nconfig: {rate: {grid_search: [1, 2]}}\n"
                                      "stop: {training_iteration: 3}\nmetric: score\nmode: max\n"
                                      "local_dir: results\nverbose: 0\n");
  const Outcome run = tune_cli({"run", "spec.yaml"}, dir.path());
  ASSERT_EQ(run.code, 0) << run.err;
  const Outcome best = tune_cli({"analyze", (dir.path() / "results" / "counter").string(), "-o", "json"});
  ASSERT_EQ(best.code, 0) << best.err;
  const Json answer = Json::parse(best.out);
  EXPECT_EQ(answer["config"]["rate"], 2);
  EXPECT_EQ(answer["value"], 6.0);
}

// Through the worker protocol a result must be a JSON object: an array fails the trial.
TEST(CliTest, WorkerResultThatIsAJsonArrayFailsItsTrial) {
  TempDir dir;
  write(dir.path() / "spec.yaml", "name: crash\ntrainable: {binary: " + Json(TUNE_TEST_WORKER).dump() +
                                      ", name: Crasher}\nconfig: {crash: array}\nstop: {training_iteration: 3}\n"
                                      "local_dir: results\nverbose: 0\n");
  const Outcome run = tune_cli({"run", "spec.yaml"}, dir.path());
  EXPECT_EQ(run.code, 1) << run.err;
  const Outcome ls =
      tune_cli({"ls", (dir.path() / "results" / "crash").string(), "-o", "json", "--columns", "status,logdir"});
  ASSERT_EQ(ls.code, 0) << ls.err;
  const Json rows = Json::parse(ls.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["status"], "ERROR");
  EXPECT_THAT(read_text(fs::path(rows[0]["logdir"].get<std::string>()) / "error.txt"),
              HasSubstr("must report a JSON object, got array"));
}
#endif

#ifdef TUNE_TEST_CLIENT_WORKER
// A program speaking the worker protocol through the header-only client.
TEST(CliTest, RunsAClientProtocolCommand) {
  TempDir dir;
  write(dir.path() / "spec.yaml", "name: client\ntrainable:\n  command: [" + Json(TUNE_TEST_CLIENT_WORKER).dump() +
                                      "]\n  protocol: client\nconfig: {steps: 2}\nlocal_dir: results\nverbose: 0\n");
  const Outcome run = tune_cli({"run", "spec.yaml"}, dir.path());
  ASSERT_EQ(run.code, 0) << run.err;
  const Outcome ls = tune_cli({"ls", (dir.path() / "results" / "client").string(), "-o", "csv", "--columns",
                               "status,training_iteration,score"});
  EXPECT_EQ(ls.out, "status,training_iteration,score\nTERMINATED,2,2.0\n");
}
#endif

// Commands that misbehave: each trial ends with a clear outcome, never a crash of `tune`.
// Needs the process executor.
struct Misbehaviour {
  const char* label;
  const char* script;
  int run_code;       // tune run's exit code
  const char* error;  // in error.txt when the trial fails
};

class MisbehavingCommandTest : public ::testing::TestWithParam<Misbehaviour> {};

void PrintTo(const Misbehaviour& m, std::ostream* os) { *os << m.label; }

TEST_P(MisbehavingCommandTest, IsHandledWithAClearMessage) {
  const Misbehaviour& m = GetParam();
  TempDir dir;
  // A JSON string is a YAML double-quoted scalar.
  write(dir.path() / "spec.yaml",
        "name: bad\ntrainable:\n  command: [sh, -c, " + Json(m.script).dump() + "]\nlocal_dir: results\nverbose: 0\n");
  const Outcome run = tune_cli({"run", "spec.yaml"}, dir.path());
  EXPECT_EQ(run.code, m.run_code) << run.err;
  const fs::path exp = dir.path() / "results" / "bad";
  const Outcome ls = tune_cli({"ls", exp.string(), "-o", "json", "--columns", "status,logdir"});
  ASSERT_EQ(ls.code, 0) << ls.err;
  const Json rows = Json::parse(ls.out);
  ASSERT_EQ(rows.size(), 1u);
  if (*m.error) {
    EXPECT_EQ(rows[0]["status"], "ERROR");
    EXPECT_THAT(read_text(fs::path(rows[0]["logdir"].get<std::string>()) / "error.txt"), HasSubstr(m.error));
  } else {
    EXPECT_EQ(rows[0]["status"], "TERMINATED");
  }
  // No finite value of the metric: analyze says so and exits 1.
  const Outcome best = tune_cli({"analyze", exp.string(), "--metric", "loss", "--mode", "min"});
  EXPECT_EQ(best.code, 1);
  EXPECT_THAT(best.err, HasSubstr("no trial of"));
  EXPECT_THAT(best.err, HasSubstr("reported a finite value of 'loss'"));
}

INSTANTIATE_TEST_SUITE_P(
    Cli, MisbehavingCommandTest,
    ::testing::Values(Misbehaviour{"ten_megabyte_line",
                                   "printf '{\"loss\": \"'; head -c 10485760 /dev/zero | tr '\\000' a; printf '\"}\\n'",
                                   1, "max_message_bytes"},
                      Misbehaviour{"invalid_utf8", "printf '{\"loss\": \"\\377\"}\\n'", 1, "not valid UTF-8"},
                      // Plain protocol: a line that is not a JSON object is the program's own output, not a result.
                      Misbehaviour{"json_array", "echo '[1, 2]'", 0, ""},
                      // NaN is a metric value that is never best.
                      Misbehaviour{"nan", "echo '{\"loss\": NaN}'", 0, ""},
                      Misbehaviour{"exits_non_zero", "exit 7", 1, "exited with code 7"}),
    [](const ::testing::TestParamInfo<Misbehaviour>& param) { return std::string(param.param.label); });

// ---- tune ls / tune analyze on experiments made in-process ----

class CliResultsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir();
    RunOptions options;
    options.local_dir = root_->str();
    options.verbose = 0;
    options.name = "sweep";
    options.metric = "loss";
    options.mode = "min";
    options.config = {{"x", grid_search({1, 2, 3})}, {"act", "relu"}};
    run(
        [](const Config& config, Reporter& reporter) {
          const int x = config.at("x").get<int>();
          for (int i = 1; i <= 2; ++i) reporter.report({{"loss", 10.0 * x - i}, {"tag", x == 2 ? "two" : "other"}});
        },
        options);

    RunOptions failing;
    failing.local_dir = root_->str();
    failing.verbose = 0;
    failing.name = "broken";
    failing.raise_on_failed_trial = false;
    failing.config = {{"y", grid_search({1, 2})}};
    run(
        [](const Config& config, Reporter& reporter) {
          reporter.report({{"loss", 1.0}});
          if (config.at("y") == 2) throw std::runtime_error("boom");
        },
        failing);
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  static fs::path root() { return root_->path(); }
  static fs::path sweep() { return root_->path() / "sweep"; }

 private:
  static TempDir* root_;
};

TempDir* CliResultsTest::root_ = nullptr;

TEST_F(CliResultsTest, ResultsRootListsOneRowPerExperiment) {
  const Outcome table = tune_cli({"ls", root().string()});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("name"));
  EXPECT_THAT(table.out, HasSubstr("last_update"));
  EXPECT_THAT(table.out, HasSubstr("sweep"));
  EXPECT_THAT(table.out, HasSubstr("broken"));

  const Outcome json = tune_cli({"ls", root().string(), "-o", "json", "--sort", "name"});
  ASSERT_EQ(json.code, 0) << json.err;
  const Json rows = Json::parse(json.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["name"], "broken");
  EXPECT_EQ(rows[0]["trials"], 2);
  EXPECT_EQ(rows[0]["terminated"], 1);
  EXPECT_EQ(rows[0]["error"], 1);
  EXPECT_EQ(rows[1]["name"], "sweep");
  EXPECT_EQ(rows[1]["terminated"], 3);
  EXPECT_FALSE(rows[1]["last_update"].get<std::string>().empty());

  const Outcome failed = tune_cli({"ls", root().string(), "--filter", "error > 0", "--columns", "name", "-o", "csv"});
  EXPECT_EQ(failed.out, "name\nbroken\n");
}

TEST_F(CliResultsTest, ExperimentListsOneRowPerTrialWithMetricsAndConfig) {
  const Outcome table = tune_cli({"ls", sweep().string()});
  ASSERT_EQ(table.code, 0) << table.err;
  std::istringstream lines(table.out);
  std::string header;
  std::getline(lines, header);
  // Default columns: name, status, iterations, time, the metrics, then the config.
  EXPECT_THAT(header, ::testing::MatchesRegex(
                          "name +status +training_iteration +time_total_s +loss +tag +config/act +config/x"));
  EXPECT_THAT(header, Not(HasSubstr("hostname")));
  int rows = 0;
  for (std::string line; std::getline(lines, line);) rows += line.find("TERMINATED") != std::string::npos;
  EXPECT_EQ(rows, 3);
}

TEST_F(CliResultsTest, FilterSortColumnsLimitAndFormats) {
  const Outcome json = tune_cli({"ls", sweep().string(), "--filter", "config/x >= 2", "--sort", "loss", "--desc",
                                 "--columns", "config/x,loss", "-o", "json"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_EQ(Json::parse(json.out), Json::parse(R"([{"config/x": 3, "loss": 28.0}, {"config/x": 2, "loss": 18.0}])"));

  const Outcome csv = tune_cli(
      {"ls", sweep().string(), "--sort", "loss", "--columns", "config/x,loss,status", "--limit", "2", "-o", "csv"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_EQ(csv.out, "config/x,loss,status\n1,8.0,TERMINATED\n2,18.0,TERMINATED\n");

  // Strings compare as strings; a quoted number too.
  const Outcome strings = tune_cli({"ls", sweep().string(), "--filter", "tag == two", "--filter", "status != ERROR",
                                    "--columns", "config/x", "-o", "csv"});
  EXPECT_EQ(strings.out, "config/x\n2\n");
  const Outcome none = tune_cli({"ls", sweep().string(), "--filter", "loss < 0", "-o", "json"});
  EXPECT_EQ(Json::parse(none.out), Json::array());
}

TEST_F(CliResultsTest, LsMisuseExitsTwoWithTheReason) {
  const Outcome sort = tune_cli({"ls", sweep().string(), "--sort", "los"});
  EXPECT_EQ(sort.code, 2);
  EXPECT_THAT(sort.err, HasSubstr("--sort: no column 'los' (did you mean 'loss'?)"));
  const Outcome filter = tune_cli({"ls", sweep().string(), "--filter", "loss ~ 3"});
  EXPECT_EQ(filter.code, 2);
  EXPECT_THAT(filter.err, HasSubstr("--filter: 'loss ~ 3' is not 'COLUMN OP VALUE'"));
  // Scanned by hand: a 100 kB argument overflowed the stack in std::regex (signal 11). (60 kB here:
  // the test's shell takes a command line of at most 128 kB.)
  const Outcome long_filter = tune_cli({"ls", sweep().string(), "--filter", std::string(60000, ' ') + "loss"});
  EXPECT_EQ(long_filter.code, 2);
  EXPECT_THAT(long_filter.err, HasSubstr("is not 'COLUMN OP VALUE'"));
  const Outcome long_value =
      tune_cli({"ls", sweep().string(), "--filter", "tag  ==  " + std::string(60000, 'x'), "-o", "json"});
  EXPECT_EQ(long_value.code, 0) << long_value.err;
  EXPECT_EQ(Json::parse(long_value.out), Json::array());
  const Outcome no_value = tune_cli({"ls", sweep().string(), "--filter", "loss <=   "});
  EXPECT_EQ(no_value.code, 2);
  const Outcome columns = tune_cli({"ls", sweep().string(), "--columns", "name,nope"});
  EXPECT_EQ(columns.code, 2);
  EXPECT_THAT(columns.err, HasSubstr("--columns: no column 'nope'"));
  const Outcome output = tune_cli({"ls", sweep().string(), "-o", "xml"});
  EXPECT_EQ(output.code, 2);
  EXPECT_THAT(output.err, HasSubstr("--output: must be table, csv or json"));
  const Outcome missing = tune_cli({"ls", (root() / "nope").string()});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("is not a directory"));
}

TEST_F(CliResultsTest, AnalyzePrintsTheBestTrialItsConfigAndLogdir) {
  const Outcome json = tune_cli({"analyze", sweep().string(), "--metric", "loss", "--mode", "min", "-o", "json"});
  ASSERT_EQ(json.code, 0) << json.err;
  const Json best = Json::parse(json.out);
  EXPECT_EQ(best["config"], Json::parse(R"({"x": 1, "act": "relu"})"));
  EXPECT_EQ(best["value"], 8.0);
  EXPECT_EQ(best["scope"], "last");
  EXPECT_TRUE(fs::is_directory(best["logdir"].get<std::string>()));
  EXPECT_EQ(best["last_result"]["loss"], 8.0);

  const Outcome max =
      tune_cli({"analyze", sweep().string(), "--metric", "loss", "--mode", "max", "--scope", "avg", "-o", "json"});
  ASSERT_EQ(max.code, 0) << max.err;
  EXPECT_EQ(Json::parse(max.out)["config"]["x"], 3);
  EXPECT_EQ(Json::parse(max.out)["value"], 28.5);

  const Outcome text = tune_cli({"analyze", sweep().string()});  // the run's metric and mode
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("Best trial: "));
  EXPECT_THAT(text.out, HasSubstr("Metric: loss = 8 (min, scope last)"));
  EXPECT_THAT(text.out, HasSubstr("Logdir: "));
  EXPECT_THAT(text.out, HasSubstr("\"x\": 1"));
}

TEST_F(CliResultsTest, AnalyzeMisuseExitsTwoAndNoFiniteMetricExitsOne) {
  const Outcome scope = tune_cli({"analyze", sweep().string(), "--scope", "best"});
  EXPECT_EQ(scope.code, 2);
  EXPECT_THAT(scope.err, HasSubstr("scope 'best' is invalid"));
  const Outcome mode = tune_cli({"analyze", sweep().string(), "--mode", "maximum"});
  EXPECT_EQ(mode.code, 2);
  EXPECT_THAT(mode.err, HasSubstr("mode 'maximum' is invalid"));
  const Outcome no_metric = tune_cli({"analyze", (root() / "broken").string()});  // the run had none
  EXPECT_EQ(no_metric.code, 2);
  EXPECT_THAT(no_metric.err, HasSubstr("--metric"));
  const Outcome unknown = tune_cli({"analyze", sweep().string(), "--metric", "accuracy"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("reported a finite value of 'accuracy'"));
  const Outcome output = tune_cli({"analyze", sweep().string(), "-o", "yaml"});
  EXPECT_EQ(output.code, 2);
  const Outcome missing = tune_cli({"analyze", (root() / "nope").string()});
  EXPECT_EQ(missing.code, 2);
}

}  // namespace
}  // namespace tune

namespace tune {
namespace {

// Running a spec whose experiment exists is refused (exit 2, naming the ways out) and loses
// nothing; `overwrite: true` in the spec or `tune run --overwrite` start over explicitly.
TEST(CliTest, ARunOverAnExistingExperimentIsRefusedUnlessOverwriteIsSaid) {
  TempDir dir;
  const fs::path spec = dir.path() / "spec.yaml";
  write(spec, "name: again\nlocal_dir: " + dir.str() +
                  "\ntrainable: {command: [sh, -c, 'echo {\"x\": 1}'], protocol: plain}\nstop: {training_iteration: 1}\n"
                  "verbose: 0\n");
  ASSERT_EQ(tune_cli({"run", spec.string()}).code, 0);
  const Outcome refused = tune_cli({"run", spec.string()});
  EXPECT_EQ(refused.code, 2);
  EXPECT_THAT(refused.err, HasSubstr("already holds an experiment"));
  EXPECT_THAT(refused.err, HasSubstr("tune resume"));
  EXPECT_EQ(ExperimentAnalysis::load(dir.path() / "again").trials().size(), 1u);
  EXPECT_EQ(tune_cli({"run", spec.string(), "--overwrite"}).code, 0);
  EXPECT_EQ(tune_cli({"run", spec.string(), "--set", "overwrite=true"}).code, 0);
  EXPECT_EQ(tune_cli({"run", spec.string(), "--set", "overwrite=maybe"}).code, 2);
}

}  // namespace
}  // namespace tune
