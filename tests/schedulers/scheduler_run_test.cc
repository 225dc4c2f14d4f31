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
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
namespace fs = std::filesystem;

// acc grows by config "q" per step; the state (its total) survives checkpoints.
class Climb : public Trainable {
 public:
  void setup(const Config& config) override { q_ = config.value("q", 1.0); }
  Result step() override {
    total_ += q_;
    return {{"acc", total_}};
  }
  void save_checkpoint(const fs::path& dir) override { std::ofstream(dir / "total") << total_; }
  void load_checkpoint(const fs::path& dir) override { std::ifstream(dir / "total") >> total_; }
  bool reset_config(const Config& config) override {
    q_ = config.value("q", 1.0);
    return true;
  }
  double q_ = 1;
  double total_ = 0;
};

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

TEST(SchedulerRunTest, AshaStopsWeakTrialsEarlyAndKeepsTheBest) {
  TempDir dir;
  AsyncHyperBandScheduler::Options o;
  o.max_t = 27;
  o.grace_period = 1;
  o.reduction_factor = 3;
  auto asha = std::make_shared<AsyncHyperBandScheduler>(o);
  RunOptions options = climb_options(dir, asha, 1);
  // Best first: each later trial meets a rung it cannot pass (best last, none would be stopped).
  options.config = Space{{"q", grid_search({0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1})}};
  const ExperimentAnalysis analysis = run<Climb>(std::move(options));
  ASSERT_EQ(analysis.trials().size(), 9u);
  EXPECT_LT(total_iterations(analysis), 9 * 27);
  EXPECT_EQ(analysis.get_best_config().value("q", 0.0), 0.9);
  for (const TrialRecord& t : analysis.trials()) EXPECT_EQ(t.status(), TrialStatus::kTerminated);
  // The state is journaled: a resume would continue these rungs.
  const detail::StoredExperiment stored = detail::read_stored_experiment(dir.path() / "exp");
  EXPECT_EQ(stored.scheduler_state, asha->save());
  EXPECT_EQ(stored.scheduler_state.value("type", ""), "asha");
}

TEST(SchedulerRunTest, HyperBandPausesResumesWinnersFromCheckpointsAndStopsLosers) {
  for (bool local_mode : {false, true}) {
    TempDir dir;
    HyperBandScheduler::Options o;
    o.max_t = 9;
    o.reduction_factor = 3;
    auto hb = std::make_shared<HyperBandScheduler>(o);
    RunOptions options = climb_options(dir, hb, 1);
    options.local_mode = local_mode;
    const ExperimentAnalysis analysis = run<Climb>(std::move(options));
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
    EXPECT_EQ(iterations, (std::vector<int64_t>{3, 3, 3, 6, 6, 6, 9, 9, 9})) << "local_mode=" << local_mode;
    EXPECT_THAT(hb->debug_string(), HasSubstr("num_stopped=3"));
  }
}

TEST(SchedulerRunTest, HyperBandForBohbRunsEveryBracketToTheEnd) {
  TempDir dir;
  HyperBandScheduler::Options o;
  o.max_t = 9;
  o.reduction_factor = 3;
  auto bohb = std::make_shared<HyperBandForBOHB>(o);
  const ExperimentAnalysis analysis = run<Climb>(climb_options(dir, bohb, 1));
  ASSERT_EQ(analysis.trials().size(), 9u);  // the first bracket (s=2) takes all nine
  for (const TrialRecord& t : analysis.trials()) EXPECT_EQ(t.status(), TrialStatus::kTerminated) << t.name();
  EXPECT_EQ(analysis.get_best_config().value("q", 0.0), 0.9);
  EXPECT_LT(total_iterations(analysis), 9 * 9);
}

TEST(SchedulerRunTest, MedianStoppingRuleStopsBelowMedianTrials) {
  TempDir dir;
  MedianStoppingRule::Options o;
  o.time_attr = "training_iteration";
  o.grace_period = 3;
  o.min_samples_required = 2;
  auto median = std::make_shared<MedianStoppingRule>(o);
  const ExperimentAnalysis analysis = run<Climb>(climb_options(dir, median, 1));
  EXPECT_LT(total_iterations(analysis), 9 * 27);
  EXPECT_EQ(analysis.get_best_config().value("q", 0.0), 0.9);
  EXPECT_THAT(median->debug_string(), HasSubstr("num_stopped="));
}

// q's best value changes during training: PBT must move its population to it.
class Shift : public Climb {
 public:
  Result step() override {
    ++steps_;
    const double target = steps_ < 10 ? 1.0 : 0.1;
    total_ += 1.0 - std::abs(q_ - target);
    return {{"acc", total_}};
  }
  void save_checkpoint(const fs::path& dir) override { std::ofstream(dir / "s") << total_ << " " << steps_; }
  void load_checkpoint(const fs::path& dir) override { std::ifstream(dir / "s") >> total_ >> steps_; }
  int steps_ = 0;
};

TEST(SchedulerRunTest, PbtClonesTopCheckpointsIntoBottomTrialsAndLogsThePolicy) {
  TempDir dir;
  PopulationBasedTraining::Options o;
  o.time_attr = "training_iteration";
  o.perturbation_interval = 2;
  o.hyperparam_mutations["q"].domain = uniform(0.0, 1.0);
  o.seed = 3;
  auto pbt = std::make_shared<PopulationBasedTraining>(o);
  RunOptions options = climb_options(dir, pbt, 1);
  options.config = Space{{"q", grid_search({0.1, 0.3, 0.5, 0.9})}};
  options.stop = {{"training_iteration", 20}};
  const ExperimentAnalysis analysis = run<Shift>(std::move(options));
  EXPECT_THAT(pbt->debug_string(), ::testing::ContainsRegex("[1-9][0-9]* perturbs"));
  EXPECT_TRUE(fs::exists(dir.path() / "exp" / "pbt_global.txt"));
  bool perturbed = false;
  for (const TrialRecord& t : analysis.trials()) {
    EXPECT_EQ(t.status(), TrialStatus::kTerminated);
    EXPECT_EQ(t.last_result().value("training_iteration", 0), 20);
    if (fs::exists(dir.path() / "exp" / ("pbt_policy_" + t.trial_id() + ".txt"))) perturbed = true;
  }
  EXPECT_TRUE(perturbed);
  // The exploited trial's new config is in the journal, so a resume restarts it with it.
  const detail::StoredExperiment stored = detail::read_stored_experiment(dir.path() / "exp");
  EXPECT_EQ(stored.scheduler_state, pbt->save());
}

TEST(SchedulerRunTest, SpecFileSelectsAshaForProcessTrials) {
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
