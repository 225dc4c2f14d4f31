// Each scheduler on real trials through tune::run: decisions carried out by the runner
// (PAUSE and resume from checkpoints, stops of paused losers, PBT's exploit), in-process
// (threads and local mode) and as process trials via the spec file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "analysis/experiment_state.h"
#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "executors/workers/trainables.h"
#include "tune/process.h"
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
namespace fs = std::filesystem;

using tune::testing::Climb;
using tune::testing::Shift;

// Where the trials run: the scheduler's decisions must be carried out the same on each.
// kProcess: trials forked by a zygote; kProcessExec: each trial exec'd.
enum class Backend { kThreads, kLocalMode, kProcess, kProcessExec };

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  switch (info.param) {
    case Backend::kThreads:
      return "Threads";
    case Backend::kLocalMode:
      return "LocalMode";
    case Backend::kProcess:
      return "Process";
    case Backend::kProcessExec:
      return "ProcessExec";
  }
  return "?";
}

// Runs trainable T (also registered in the test worker under `name`) on `backend`.
template <typename T>
ExperimentAnalysis run_on(Backend backend, const std::string& name, RunOptions options) {
  if (backend == Backend::kProcess || backend == Backend::kProcessExec) {
    ProcessSpec spec;
    spec.argv = {TUNE_TEST_WORKER};
    spec.stop_grace_s = 2;
    spec.launch = backend == Backend::kProcess ? ProcessSpec::Launch::kZygote : ProcessSpec::Launch::kExec;
    return run(isolated(name, spec), std::move(options));
  }
  options.local_mode = backend == Backend::kLocalMode;
  return run(make_trainable<T>(name), std::move(options));
}

class SchedulerRunTest : public ::testing::TestWithParam<Backend> {};

RunOptions climb_options(const TempDir& dir, std::shared_ptr<TrialScheduler> scheduler, int samples) {
  RunOptions options = testing::quiet_options(dir);
  options.raise_on_failed_trial = true;
  options.config = Space{{"q", grid_search({0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9})}};
  options.num_samples = samples;
  options.metric = "acc";
  options.mode = "max";
  options.scheduler = std::move(scheduler);
  options.stop = {{"training_iteration", 27}};
  return options;
}

int64_t total_iterations(const ExperimentAnalysis& analysis) {
  int64_t sum = 0;
  for (const TrialRecord& t : analysis.trials()) sum += t.last_result().value("training_iteration", int64_t{0});
  return sum;
}

// The scheduler's journaled state, replayed from the journal alone (its base record and every
// change after it, the snapshot left out), is its state at the end of the run.
void expect_journal_replays(const std::filesystem::path& experiment, const TrialScheduler& scheduler) {
  std::filesystem::remove(experiment / "experiment_state.json");
  EXPECT_EQ(detail::read_stored_experiment(experiment).scheduler_state, scheduler.save());
}

TEST_P(SchedulerRunTest, AshaStopsWeakTrialsEarlyAndKeepsTheBest) {
  TempDir dir;
  AsyncHyperBandScheduler::Options o;
  o.max_t = 27;
  o.grace_period = 1;
  o.reduction_factor = 3;
  auto asha = std::make_shared<AsyncHyperBandScheduler>(o);
  RunOptions options = climb_options(dir, asha, 1);
  // Best first: each later trial meets a rung it cannot pass (best last, none would be stopped).
  options.config = Space{{"q", grid_search({0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1})}};
  const ExperimentAnalysis analysis = run_on<Climb>(GetParam(), "Climb", std::move(options));
  ASSERT_EQ(analysis.trials().size(), 9u);
  EXPECT_LT(total_iterations(analysis), 9 * 27);
  EXPECT_EQ(analysis.get_best_config().value("q", 0.0), 0.9);
  for (const TrialRecord& t : analysis.trials()) EXPECT_EQ(t.status(), TrialStatus::kTerminated);
  // The state is journaled: a resume would continue these rungs.
  const detail::StoredExperiment stored = detail::read_stored_experiment(dir.path() / "exp");
  EXPECT_EQ(stored.scheduler_state, asha->save());
  EXPECT_EQ(stored.scheduler_state.value("type", ""), "asha");
  expect_journal_replays(dir.path() / "exp", *asha);
}

TEST_P(SchedulerRunTest, HyperBandPausesResumesWinnersFromCheckpointsAndStopsLosers) {
  {  // NOLINT: one experiment's scope
    TempDir dir;
    HyperBandScheduler::Options o;
    o.max_t = 9;
    o.reduction_factor = 3;
    auto hb = std::make_shared<HyperBandScheduler>(o);
    RunOptions options = climb_options(dir, hb, 1);
    const ExperimentAnalysis analysis = run_on<Climb>(GetParam(), "Climb", std::move(options));
    ASSERT_EQ(analysis.trials().size(), 9u);
    // Bracket s=0 (3 trials to 9), s=1 (5 trials to 3, the top 2 on to 6), s=2 (1 trial, alone, to 6).
    std::vector<int64_t> iterations;
    for (const TrialRecord& t : analysis.trials()) {
      EXPECT_EQ(t.status(), TrialStatus::kTerminated) << t.name();
      iterations.push_back(t.last_result().value("training_iteration", int64_t{0}));
      // acc is q * iterations: a resumed trial continued from its checkpoint, not from zero.
      const double q = t.config().value("q", 0.0);
      EXPECT_NEAR(t.last_result().value("acc", 0.0), q * static_cast<double>(iterations.back()), 1e-9) << t.name();
    }
    std::sort(iterations.begin(), iterations.end());
    EXPECT_EQ(iterations, (std::vector<int64_t>{3, 3, 3, 6, 6, 6, 9, 9, 9}));
    EXPECT_THAT(hb->debug_string(), HasSubstr("num_stopped=3"));
    expect_journal_replays(dir.path() / "exp", *hb);
  }
}

TEST_P(SchedulerRunTest, HyperBandForBohbRunsEveryBracketToTheEnd) {
  TempDir dir;
  HyperBandScheduler::Options o;
  o.max_t = 9;
  o.reduction_factor = 3;
  auto bohb = std::make_shared<HyperBandForBOHB>(o);
  const ExperimentAnalysis analysis = run_on<Climb>(GetParam(), "Climb", climb_options(dir, bohb, 1));
  ASSERT_EQ(analysis.trials().size(), 9u);  // the first bracket (s=2) takes all nine
  for (const TrialRecord& t : analysis.trials()) EXPECT_EQ(t.status(), TrialStatus::kTerminated) << t.name();
  EXPECT_EQ(analysis.get_best_config().value("q", 0.0), 0.9);
  EXPECT_LT(total_iterations(analysis), 9 * 9);
  expect_journal_replays(dir.path() / "exp", *bohb);
}

TEST_P(SchedulerRunTest, MedianStoppingRuleStopsBelowMedianTrials) {
  TempDir dir;
  MedianStoppingRule::Options o;
  o.time_attr = "training_iteration";
  o.grace_period = 3;
  o.min_samples_required = 2;
  auto median = std::make_shared<MedianStoppingRule>(o);
  const ExperimentAnalysis analysis = run_on<Climb>(GetParam(), "Climb", climb_options(dir, median, 1));
  EXPECT_LT(total_iterations(analysis), 9 * 27);
  EXPECT_EQ(analysis.get_best_config().value("q", 0.0), 0.9);
  EXPECT_THAT(median->debug_string(), HasSubstr("num_stopped="));
  expect_journal_replays(dir.path() / "exp", *median);
}

// PBT over q every 2 iterations; four trials of Shift to 20 iterations.
PopulationBasedTraining::Options pbt_options() {
  PopulationBasedTraining::Options o;
  o.time_attr = "training_iteration";
  o.perturbation_interval = 2;
  o.hyperparam_mutations["q"].domain = uniform(0.0, 1.0);
  o.seed = 3;
  return o;
}

RunOptions pbt_run_options(const TempDir& dir, std::shared_ptr<TrialScheduler> pbt) {
  RunOptions options = climb_options(dir, std::move(pbt), 1);
  options.config = Space{{"q", grid_search({0.1, 0.3, 0.5, 0.9})}};
  options.stop = {{"training_iteration", 20}};
  return options;
}

TEST_P(SchedulerRunTest, PbtClonesTopCheckpointsIntoBottomTrialsAndLogsThePolicy) {
  TempDir dir;
  auto pbt = std::make_shared<PopulationBasedTraining>(pbt_options());
  RunOptions options = pbt_run_options(dir, pbt);
  const ExperimentAnalysis analysis = run_on<Shift>(GetParam(), "Shift", std::move(options));
  EXPECT_THAT(pbt->debug_string(), ::testing::ContainsRegex("[1-9][0-9]* perturbs"));
  EXPECT_TRUE(fs::exists(dir.path() / "exp" / "pbt_global.txt"));
  bool perturbed = false;
  for (const TrialRecord& t : analysis.trials()) {
    EXPECT_EQ(t.status(), TrialStatus::kTerminated);
    EXPECT_EQ(t.last_result().value("training_iteration", 0), 20);
    if (!fs::exists(dir.path() / "exp" / ("pbt_policy_" + t.trial_id() + ".txt"))) continue;
    perturbed = true;
    // The new config is what the trial ran with last, and params.json records it.
    EXPECT_DOUBLE_EQ(t.last_result().value("q_now", -1.0), t.config().value("q", -2.0)) << t.name();
    std::ifstream params(t.logdir() / "params.json");
    EXPECT_EQ(Json::parse(params), t.config()) << t.name();
  }
  EXPECT_TRUE(perturbed);
  // The exploited trial's new config is in the journal, so a resume restarts it with it.
  const detail::StoredExperiment stored = detail::read_stored_experiment(dir.path() / "exp");
  EXPECT_EQ(stored.scheduler_state, pbt->save());
  expect_journal_replays(dir.path() / "exp", *pbt);
}

// The schedule PBT gave a trial, replayed on one trial: the recorded config at every step,
// training that continues across each config change, and the PBT trial's final value.
TEST_P(SchedulerRunTest, PbtReplayFollowsTheRecordedScheduleOfATrial) {
  TempDir dir;
  RunOptions options = pbt_run_options(dir, std::make_shared<PopulationBasedTraining>(pbt_options()));
  options.max_concurrent_trials = 2;
  // On the driver thread, round-robin: whether PBT perturbs anyone depends on how far each
  // running trial has got when another reports (it ranks only unfinished trials that have
  // reported; a trial whose worker thread is starved until the other finished is ranked alone),
  // and on worker threads that is a race. Local mode fixes the order (trial_runner_test.cc
  // pins both cases). Only the replay varies by backend.
  options.local_mode = true;
  const ExperimentAnalysis pbt = run<Shift>(std::move(options));
  // The trial with the longest lineage.
  std::optional<TrialRecord> winner;
  size_t most = 0;
  for (const TrialRecord& t : pbt.trials()) {
    std::ifstream in(dir.path() / "exp" / ("pbt_policy_" + t.trial_id() + ".txt"));
    size_t lines = 0;
    for (std::string line; std::getline(in, line);) ++lines;
    if (lines > most) {
      most = lines;
      winner = t;
    }
  }
  ASSERT_TRUE(winner.has_value()) << "PBT perturbed nobody";
  const std::string policy = (dir.path() / "exp" / ("pbt_policy_" + winner->trial_id() + ".txt")).string();
  auto replay = std::make_shared<PopulationBasedTrainingReplay>(policy);
  ASSERT_EQ(replay->changes().size(), most);

  RunOptions again = testing::quiet_options(dir);
  again.name = "replay";
  again.raise_on_failed_trial = true;
  again.scheduler = replay;
  again.stop = {{"training_iteration", 20}};
  const ExperimentAnalysis replayed = run_on<Shift>(GetParam(), "Shift", std::move(again));
  ASSERT_EQ(replayed.trials().size(), 1u);
  const TrialRecord& trial = replayed.trials()[0];
  EXPECT_EQ(trial.config(), replay->changes().back().second);
  // Step by step: q_now is the recorded config's q from the step after each change.
  std::vector<Result> results;
  std::ifstream lines(trial.logdir() / "result.json");
  for (std::string line; std::getline(lines, line);) results.push_back(Json::parse(line));
  ASSERT_EQ(results.size(), 20u);
  double expected_acc = 0;
  for (const Result& r : results) {
    const int64_t step = r.value("training_iteration", int64_t{0});
    double q = replay->config().value("q", -1.0);
    for (const auto& [at, config] : replay->changes()) {
      if (step > at) q = config.value("q", -1.0);
    }
    EXPECT_DOUBLE_EQ(r.value("q_now", -2.0), q) << "step " << step;
    expected_acc += 1.0 - std::abs(q - (step < 10 ? 1.0 : 0.1));  // Shift's objective
  }
  // Its training continued across each restart: the value is the whole schedule's.
  EXPECT_NEAR(trial.last_result().value("acc", 0.0), expected_acc, 1e-9);
  // And it is the training the PBT trial had.
  EXPECT_NEAR(trial.last_result().value("acc", 0.0), winner->last_result().value("acc", 1.0), 1e-9);
  EXPECT_THAT(replay->debug_string(), HasSubstr(fmt::format("{} of {} config changes made", most, most)));
}

TEST(SchedulerSpecRunTest, PbtReplayIsRefusedWithAConfigOrSeveralSamplesAndABadFileIsNamed) {
  TempDir dir;
  {
    std::ofstream(dir.path() / "policy.txt") << R"(["a", "b", 2, 2, {"q": 0.5}, {"q": 0.6}])" << "\n";
  }
  auto replay = std::make_shared<PopulationBasedTrainingReplay>((dir.path() / "policy.txt").string());
  RunOptions options = testing::quiet_options(dir);
  options.scheduler = replay;
  options.config = Space{{"q", 1}};
  EXPECT_THROW(run<Climb>(options), TuneError);
  options.config = Space();
  options.num_samples = 2;
  try {
    run<Climb>(options);
    FAIL();
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("num_samples"));
  }
  {
    std::ofstream(dir.path() / "bad.txt") << R"(["a", "b", 2, 2, {"q": 0.5}, {"q": 0.6}])" << "\n[1, 2]\n";
  }
  try {
    parse_run_spec(fmt::format("trainable: {{command: [/bin/true]}}\nscheduler: {{type: pbt_replay, policy_file: {}}}\n",
                               (dir.path() / "bad.txt").string()));
    FAIL();
  } catch (const SpecError& e) {
    EXPECT_THAT(e.what(), HasSubstr("scheduler/policy_file"));
    EXPECT_THAT(e.what(), HasSubstr("bad.txt:2"));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, SchedulerRunTest,
                         ::testing::Values(Backend::kThreads, Backend::kLocalMode, Backend::kProcess,
                                           Backend::kProcessExec),
                         backend_name);

TEST(SchedulerSpecRunTest, SpecFileSelectsAshaForPlainProgramTrials) {
  TempDir dir;
  // A plain program: acc = q * i for i = 1..27, one JSON line each ("{{" is tune's literal brace).
  const std::string spec = fmt::format(R"(
name: exp
local_dir: {}
verbose: 0
num_cpus: 2
trainable:
  command: [/bin/sh, -c, 'i=1; while [ $i -le 27 ]; do echo "{{{{\"acc\": $((i * {{q}}))}}}}"; i=$((i+1)); done']
config:
  q: {{grid_search: [9, 8, 7, 6, 5, 4, 3, 2, 1]}}
metric: acc
mode: max
scheduler: {{type: asha, max_t: 27, grace_period: 1, reduction_factor: 3}}
)",
                                       dir.str());
  RunSpec run_spec = parse_run_spec(spec);
  ASSERT_NE(dynamic_cast<AsyncHyperBandScheduler*>(run_spec.options.scheduler.get()), nullptr);
  const ExperimentAnalysis analysis = run(run_spec.trainable, std::move(run_spec.options));
  ASSERT_EQ(analysis.trials().size(), 9u);
  EXPECT_LT(total_iterations(analysis), 9 * 27);
  EXPECT_EQ(analysis.get_best_config().value("q", 0), 9);
  // A bad scheduler key is refused before anything runs, naming it and its line.
  try {
    parse_run_spec(std::string("trainable: {command: [/bin/true]}\nscheduler: {type: asha, grace_period: 0}\n"));
    FAIL();
  } catch (const SpecError& e) {
    EXPECT_THAT(e.what(), HasSubstr("scheduler/grace_period: must be > 0"));
  }
}

}  // namespace
}  // namespace tune
