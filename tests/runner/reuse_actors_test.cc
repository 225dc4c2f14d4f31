// reuse_actors: a stopped or paused class trial's instance is reset (reset_config) for the
// next trial instead of being made and set up anew; in-process executors only.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include "support/files.h"
#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using testing::quiet_options;
using testing::TempDir;

// What the instances of Counted did, over one test. Counted is made by the library through its
// default constructor, so the counts live at namespace scope; the fixture zeroes them before
// each test, so the tests also hold when one process runs them all (gtest_filter, a debugger).
struct Counts {
  std::atomic<int> made{0};
  std::atomic<int> setups{0};
  std::atomic<int> resets{0};
  std::atomic<int> cleanups{0};
  std::atomic<int> restores{0};
  std::mutex mutex;
  std::set<int> cleaned;  // instance numbers

  void reset() {
    made = setups = resets = cleanups = restores = 0;
    std::lock_guard lock(mutex);
    cleaned.clear();
  }
};
Counts counts;

class ReuseActorsTest : public ::testing::Test {
 protected:
  void SetUp() override { counts.reset(); }
};

// Reports its config's "x" plus its own step count, the trial it believes it runs, and which
// instance it is. `resettable` in the config: whether reset_config agrees; `fail_at`: step()
// throws at that step.
class Counted : public Trainable {
 public:
  Counted() : instance_(++counts.made) {}
  void setup(const Config& config) override {
    ++counts.setups;
    configure(config);
  }
  bool reset_config(const Config& config) override {
    if (!config.value("resettable", true)) return false;
    ++counts.resets;
    configure(config);
    return true;
  }
  Result step() override {
    ++steps_;
    if (steps_ == fail_at_) throw std::runtime_error("failing at step " + std::to_string(steps_));
    return {{"value", x_ * 10 + steps_}, {"seen_trial", trial_info().trial_id}, {"instance", instance_}};
  }
  void save_checkpoint(const std::filesystem::path& dir) override { std::ofstream(dir / "steps") << steps_; }
  void load_checkpoint(const std::filesystem::path& dir) override {
    std::ifstream(dir / "steps") >> steps_;
    ++counts.restores;
  }
  void cleanup() override {
    ++counts.cleanups;
    std::lock_guard lock(counts.mutex);
    EXPECT_TRUE(counts.cleaned.insert(instance_).second) << "instance " << instance_ << " cleaned up twice";
  }

 private:
  void configure(const Config& config) {
    x_ = config.at("x").get<double>();
    fail_at_ = config.value("fail_at", -1);
    steps_ = 0;  // a reset instance starts over, as a new one would
  }
  int instance_;
  double x_ = 0;
  int fail_at_ = -1;
  int steps_ = 0;
};

RunOptions options_for(const TempDir& dir, bool reuse) {
  RunOptions options = quiet_options(dir);
  options.config = Space{{"x", grid_search({1, 2, 3, 4, 5, 6, 7, 8})}};
  options.stop = {{"training_iteration", 3}};
  options.reuse_actors = reuse;
  return options;
}

// Every trial ran on a correctly reset instance: its own config, its own trial id, three steps.
void expect_each_trial_its_own(const ExperimentAnalysis& analysis) {
  ASSERT_EQ(analysis.trials().size(), 8u);
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated) << trial.name();
    const Json& last = trial.last_result();
    EXPECT_EQ(last["value"].get<double>(), trial.config()["x"].get<double>() * 10 + 3) << trial.name();
    EXPECT_EQ(last["seen_trial"], trial.trial_id()) << trial.name();
  }
}

TEST_F(ReuseActorsTest, StoppedInstancesAreResetForTheNextTrialsInsteadOfMadeAnew) {
  TempDir dir;
  const ExperimentAnalysis analysis = run<Counted>(options_for(dir, true));
  expect_each_trial_its_own(analysis);
  // Two trials at a time (a 2-CPU pool): at most as many instances as were live at once.
  EXPECT_LE(counts.made, 2);
  EXPECT_EQ(counts.setups, counts.made.load());
  EXPECT_EQ(counts.setups + counts.resets, 8);
  EXPECT_EQ(counts.cleanups, counts.made.load()) << "every instance is cleaned up once, at the end";
}

TEST_F(ReuseActorsTest, OffEveryTrialGetsANewInstance) {
  TempDir dir;
  expect_each_trial_its_own(run<Counted>(options_for(dir, false)));
  EXPECT_EQ(counts.made, 8);
  EXPECT_EQ(counts.resets, 0);
  EXPECT_EQ(counts.cleanups, 8);
}

TEST_F(ReuseActorsTest, AnInstanceThatDeclinesTheResetIsReplacedByANewOne) {
  TempDir dir;
  RunOptions options = options_for(dir, true);
  options.config = Space{{"x", grid_search({1, 2, 3, 4, 5, 6, 7, 8})}, {"resettable", false}};
  expect_each_trial_its_own(run<Counted>(std::move(options)));
  EXPECT_EQ(counts.made, 8);
  EXPECT_EQ(counts.setups, 8);
  EXPECT_EQ(counts.resets, 0);
  EXPECT_EQ(counts.cleanups, 8);
}

TEST_F(ReuseActorsTest, LocalModeReusesItsOneInstance) {
  TempDir dir;
  RunOptions options = options_for(dir, true);
  options.local_mode = true;
  options.num_cpus = 1;  // local mode interleaves as many trials as the pool holds
  expect_each_trial_its_own(run<Counted>(std::move(options)));
  EXPECT_EQ(counts.made, 1);
  EXPECT_EQ(counts.resets, 7);
  EXPECT_EQ(counts.cleanups, 1);
}

TEST_F(ReuseActorsTest, AFailedTrialsInstanceIsNeverReused) {
  TempDir dir;
  RunOptions options = options_for(dir, true);
  options.config = Space{{"x", grid_search({1, 2, 3, 4, 5, 6})},
                         {"fail_at", sample_from([](Spec& spec) { return spec.config("x") == 2 ? Json(2) : Json(-1); })}};
  options.num_cpus = 1;
  const ExperimentAnalysis analysis = run<Counted>(std::move(options));
  ASSERT_EQ(analysis.trials().size(), 6u);
  Json failed_instance;
  std::set<int> later_instances;
  for (const TrialRecord& trial : analysis.trials()) {
    const Json& last = trial.last_result();
    if (trial.config()["x"] == 2) {
      EXPECT_EQ(trial.status(), TrialStatus::kError);
      failed_instance = last["instance"];
    } else {
      EXPECT_EQ(trial.status(), TrialStatus::kTerminated) << trial.name();
      if (trial.config()["x"].get<int>() > 2) later_instances.insert(last["instance"].get<int>());
    }
  }
  ASSERT_TRUE(failed_instance.is_number());
  EXPECT_FALSE(later_instances.contains(failed_instance.get<int>())) << "the failed trial's instance came back";
  EXPECT_EQ(counts.made, 2) << "one instance until the failure, one after";
  EXPECT_EQ(counts.cleanups, 2);
}

TEST_F(ReuseActorsTest, PausedTrialsRestartOnAResetInstanceFromTheirCheckpoint) {
  TempDir dir;
  RunOptions options = options_for(dir, true);
  options.config = Space{{"x", grid_search({1, 2, 3, 4, 5, 6, 7, 8, 9})}};
  options.stop = {{"training_iteration", 27}};
  options.metric = "value";
  options.mode = "max";
  // Synchronous HyperBand pauses trials at its milestones and resumes the winners later.
  options.scheduler = make_scheduler(Json{{"type", "hyperband"}, {"max_t", 9}, {"reduction_factor", 3}});
  const ExperimentAnalysis analysis = run<Counted>(std::move(options));
  EXPECT_GT(counts.restores, 0) << "some trial paused and came back";
  EXPECT_LE(counts.made, 2);
  EXPECT_EQ(counts.cleanups, counts.made.load());
  for (const TrialRecord& trial : analysis.trials()) {
    const Json& last = trial.last_result();
    // Restored, it continued its own steps: value = 10 x + its iteration.
    EXPECT_EQ(last["value"].get<double>(),
              trial.config()["x"].get<double>() * 10 + last["training_iteration"].get<double>())
        << trial.name();
    EXPECT_EQ(last["seen_trial"], trial.trial_id()) << trial.name();
  }
}

// PBT, one trial at a time so the run is deterministic: with reuse, exploits reset the
// running instance to the explored config and load the cloned checkpoint; the results are
// the same as with new instances.
std::map<std::string, std::vector<double>> pbt_histories(bool reuse) {
  TempDir dir;
  RunOptions options = options_for(dir, reuse);
  options.config = Space{{"x", grid_search({0.1, 0.4, 0.7, 0.9})}};
  options.num_cpus = 1;
  options.stop = {{"training_iteration", 12}};
  options.metric = "value";
  options.mode = "max";
  PopulationBasedTraining::Options pbt;
  pbt.time_attr = "training_iteration";
  pbt.perturbation_interval = 3;
  pbt.hyperparam_mutations["x"].domain = uniform(0.0, 1.0);
  pbt.seed = 4;
  auto scheduler = std::make_shared<PopulationBasedTraining>(pbt);
  options.scheduler = scheduler;
  const ExperimentAnalysis analysis = run<Counted>(std::move(options));
  EXPECT_THAT(scheduler->debug_string(), ::testing::ContainsRegex("[1-9][0-9]* perturbs"));
  std::map<std::string, std::vector<double>> out;
  for (const TrialRecord& trial : analysis.trials()) {
    for (const Json& r : testing::results_of(trial.logdir())) out[trial.name()].push_back(r["value"].get<double>());
  }
  return out;
}

TEST_F(ReuseActorsTest, PbtExploitsOnResetInstancesGiveTheSameResults) {
  const auto fresh = pbt_histories(false);
  const int made_fresh = counts.made.exchange(0);
  counts.resets = 0;
  counts.cleaned.clear();
  const auto reused = pbt_histories(true);
  // Keyed by trial name without the experiment id: Counted_<id>_00001 -> 00001.
  auto by_number = [](const std::map<std::string, std::vector<double>>& histories) {
    std::map<std::string, std::vector<double>> out;
    for (const auto& [name, history] : histories) out[name.substr(name.rfind('_') + 1)] = history;
    return out;
  };
  EXPECT_EQ(by_number(reused), by_number(fresh));
  EXPECT_GT(made_fresh, 4) << "without reuse every restart makes an instance";
  EXPECT_EQ(counts.made, 1);
  EXPECT_GT(counts.resets, 3);
}

TEST_F(ReuseActorsTest, ProcessTrainablesAndSpecFilesRefuseItNamingTheOption) {
  TempDir dir;
  RunOptions options = options_for(dir, true);
  ProcessSpec spec;
  spec.argv = {"/bin/true"};
  try {
    run(process_trainable("true", spec), std::move(options));
    FAIL() << "expected a TuneError";
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("reuse_actors"));
    EXPECT_THAT(e.what(), HasSubstr("child process"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "exp")) << "refused before anything started";
  try {
    parse_run_spec("trainable: {command: [/bin/true]}\nreuse_actors: true\n");
    FAIL() << "expected a SpecError";
  } catch (const SpecError& e) {
    EXPECT_THAT(e.what(), HasSubstr("reuse_actors"));
    EXPECT_THAT(e.what(), HasSubstr(":2: reuse_actors"));
  }
}

}  // namespace
}  // namespace tune
