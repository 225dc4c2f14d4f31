// TrialRunner against a fake executor and the in-memory store: the orderings of the event
// loop, pinned without threads or timing. The fake answers each request with the next event
// in a queue (a start or continue with the next result, a save with kSaved) and delivers
// them in order on poll(), so every run here is one fixed interleaving of its trials.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "analysis/state_records.h"
#include "runner/trial_runner.h"
#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "tune/tune.h"

namespace tune {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

class Idle : public Trainable {
 public:
  Result step() override { return Result::object(); }
};

// What the fake executor was asked, in order: "start 0 from=checkpoint_2", "continue 1",
// "save 0", "stop 1".
using CallLog = std::vector<std::string>;

// Scripted trials: a start answers with the result after the restored iteration, a continue
// with the next one, a save writes a file and answers kSaved. `fail_at[key]` fails that trial
// once at that iteration. Results carry "score" = score(key, iteration, config).
class FakeExecutor final : public detail::Executor {
 public:
  struct Script {
    std::function<double(int64_t key, int64_t iteration, const Config& config)> score =
        [](int64_t, int64_t iteration, const Config&) { return static_cast<double>(iteration); };
    std::map<int64_t, int64_t> fail_at;
    // Their events wait while another trial runs: a worker thread starved under load.
    std::set<int64_t> starved;
  };
  FakeExecutor(Sink sink, Script script, CallLog* log) : sink_(std::move(sink)), script_(std::move(script)), log_(log) {}

  void start(detail::StartRequest request) override {
    std::string line = "start " + std::to_string(request.key);
    if (!request.info.restore_from.empty()) line += " from=" + request.info.restore_from.filename().string();
    log_->push_back(line);
    Live& live = trials_[request.key];
    live = Live{request.restore_iteration, request.config, true};
    next_result(request.key);
  }
  void continue_trial(int64_t key) override {
    log_->push_back("continue " + std::to_string(key));
    next_result(key);
  }
  void stop_trial(int64_t key) override {
    auto it = trials_.find(key);
    if (it == trials_.end() || !it->second.running) return;  // idempotent, as the real ones
    it->second.running = false;
    log_->push_back("stop " + std::to_string(key));
  }
  void save_trial(int64_t key, const fs::path& dir) override {
    log_->push_back("save " + std::to_string(key));
    std::ofstream(dir / "iteration") << trials_.at(key).iteration;
    queue_.emplace_back(key, detail::ExecutorEvent::Type::kSaved);
  }
  void poll(std::chrono::milliseconds) override {
    std::deque<detail::ExecutorEvent> ready = std::move(queue_);
    queue_.clear();
    for (detail::ExecutorEvent& event : ready) {
      auto it = trials_.find(event.key);
      if (it == trials_.end() || !it->second.running) continue;  // stopped meanwhile
      if (script_.starved.count(event.key) > 0 && others_running(event.key)) {
        queue_.push_back(std::move(event));
        continue;
      }
      sink_(std::move(event));
    }
  }

 private:
  struct Live {
    int64_t iteration = 0;
    Config config;
    bool running = false;
  };
  bool others_running(int64_t key) const {
    return std::any_of(trials_.begin(), trials_.end(),
                       [&](const auto& entry) { return entry.first != key && entry.second.running; });
  }
  void next_result(int64_t key) {
    Live& live = trials_.at(key);
    ++live.iteration;
    if (auto it = script_.fail_at.find(key); it != script_.fail_at.end() && it->second == live.iteration) {
      script_.fail_at.erase(it);
      queue_.emplace_back(key, detail::ExecutorEvent::Type::kError, Result(), "scripted failure");
      return;
    }
    Result result = {{"training_iteration", live.iteration},
                     {"time_total_s", static_cast<double>(live.iteration)},
                     {"score", script_.score(key, live.iteration, live.config)},
                     {"done", false}};
    queue_.emplace_back(key, detail::ExecutorEvent::Type::kResult, std::move(result));
  }

  Sink sink_;
  Script script_;
  CallLog* log_;
  std::map<int64_t, Live> trials_;
  std::deque<detail::ExecutorEvent> queue_;
};

// Decides by a table: decisions[{trial index, iteration}], and actions to hand out then.
class TableScheduler : public FIFOScheduler {
 public:
  std::map<std::pair<std::string, int64_t>, Decision> decisions;
  std::map<std::pair<std::string, int64_t>, std::vector<SchedulerAction>> actions;

  Decision on_trial_result(const TrialView& trial, const Result& result) override {
    const auto at = std::make_pair(trial.trial_id(), result.value("training_iteration", int64_t{0}));
    if (auto it = actions.find(at); it != actions.end()) {
      for (SchedulerAction& action : it->second) pending_.push_back(std::move(action));
      actions.erase(it);
    }
    auto it = decisions.find(at);
    return it == decisions.end() ? Decision::kContinue : it->second;
  }
  std::vector<SchedulerAction> take_actions() override { return std::exchange(pending_, {}); }

 private:
  std::vector<SchedulerAction> pending_;
};

struct Harness {
  TempDir dir;
  RunOptions options = testing::quiet_options(dir);
  FakeExecutor::Script script;
  CallLog calls;
  std::string journal;
  // When set, wraps the run's BasicVariantGenerator (the searcher the runner asks).
  std::function<std::shared_ptr<Searcher>(std::shared_ptr<Searcher>)> wrap_searcher;

  Harness() {
    options.metric = "score";
    options.mode = "max";
    options.scheduler = std::make_shared<FIFOScheduler>();
  }
  // Trial ids are "01234_0000<index>".
  static std::string id(int index) { return "01234_0000" + std::to_string(index); }

  ExperimentAnalysis run(int trials, int cpus) {
    return run(std::vector<Json>(static_cast<size_t>(trials), 0.5), cpus);
  }
  // One trial per value of q.
  ExperimentAnalysis run(const std::vector<Json>& qs, int cpus) {
    options.config = Space{{"q", grid_search(qs)}};
    options.search_alg = std::make_shared<BasicVariantGenerator>(options.config, options.num_samples, options.seed);
    if (wrap_searcher) options.search_alg = wrap_searcher(options.search_alg);
    options.scheduler->set_search_properties(options.metric, options.mode);
    options.search_alg->set_search_properties(options.metric, options.mode, options.config);
    std::shared_ptr<Stopper> stopper = options.stop.make_stopper();
    static const TrainableSpec trainable = make_trainable<Idle>("Idle");
    ExperimentInfo experiment;
    experiment.name = "exp";
    experiment.experiment_id = "0123456789";
    experiment.dir = dir.path() / "exp";
    fs::create_directories(experiment.dir);
    ResourcePool pool;
    pool.cpu = cpus;
    detail::TrialRunner::Seams seams;
    seams.make_executor = [this](detail::Executor::Sink sink) {
      return std::make_unique<FakeExecutor>(std::move(sink), script, &calls);
    };
    seams.state = detail::ExperimentStore::Backing::kMemory;
    detail::TrialRunner runner(trainable, options, std::move(experiment), pool, stopper, Json::object(), std::nullopt,
                               std::nullopt, std::move(seams));
    ExperimentAnalysis analysis = runner.run();
    journal = runner.journal_text();
    return analysis;
  }

  // The journal's records as "kind index" (index left out for records without one), one
  // entry per line: records committed together are joined by " + ".
  std::vector<std::string> journal_lines() const {
    std::vector<std::string> out;
    std::istringstream in(journal);
    for (std::string line; std::getline(in, line);) {
      Json parsed = Json::parse(line);
      std::string text;
      for (const detail::StateRecord& record : detail::decode_line(parsed)) {
        const Json encoded = detail::encode(record);
        std::string item = encoded.value("e", "");
        if (encoded.contains("i")) item += " " + std::to_string(encoded["i"].get<int64_t>());
        text += (text.empty() ? "" : " + ") + item;
      }
      out.push_back(text);
    }
    return out;
  }
  // Index of the first call equal to `call`, or -1.
  long position(const std::string& call) const {
    auto it = std::find(calls.begin(), calls.end(), call);
    return it == calls.end() ? -1 : it - calls.begin();
  }
};

TEST(TrialRunnerTest, PausedTrialsAreSavedFirstAndRestartInCreationOrder) {
  Harness h;
  h.options.stop = {{"training_iteration", 3}};
  auto scheduler = std::make_shared<TableScheduler>();
  // Trial 1 is paused before trial 0. Nothing starts while a pause waits for its save; then
  // the PENDING trial 2 starts first, and the paused ones follow in creation order (0 before
  // 1, although 1 was paused first), each from the checkpoint taken at its pause.
  scheduler->decisions[{Harness::id(1), 1}] = Decision::kPause;
  scheduler->decisions[{Harness::id(0), 2}] = Decision::kPause;
  h.options.scheduler = scheduler;
  const ExperimentAnalysis analysis = h.run(3, /*cpus=*/2);

  EXPECT_THAT(h.calls, ElementsAre("start 0", "start 1", "continue 0", "save 1", "save 0", "stop 1", "stop 0",
                                   "start 2", "start 0 from=checkpoint_2", "continue 2", "stop 0",
                                   "start 1 from=checkpoint_1", "continue 2", "continue 1", "stop 2", "stop 1"));
  ASSERT_EQ(analysis.trials().size(), 3u);
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated) << trial.name();
    EXPECT_EQ(trial.last_result().value("training_iteration", 0), 3) << trial.name();
  }
  // Each pause is journaled with the checkpoint it waited for, and while trial 0's pause waited
  // nothing was written: both pauses are one line.
  EXPECT_THAT(h.journal_lines(), ::testing::Contains("ckpt 1 + pause 1 + ckpt 0 + pause 0"));
}

TEST(TrialRunnerTest, CheckpointAtEndIsCommittedBeforeTheTrialStops) {
  Harness h;
  h.options.stop = {{"training_iteration", 2}};
  h.options.checkpoint_at_end = true;
  const ExperimentAnalysis analysis = h.run(1, 1);
  EXPECT_THAT(h.calls, ElementsAre("start 0", "continue 0", "save 0", "stop 0"));
  // The end and the checkpoint it was taken at come together, the checkpoint first, and it is
  // marked done (a resume finds the trial finished).
  const std::vector<std::string> lines = h.journal_lines();
  EXPECT_THAT(lines, ::testing::Contains(::testing::StartsWith("ckpt 0 + end 0")));
  ASSERT_EQ(analysis.trials().size(), 1u);
  EXPECT_TRUE(fs::exists(analysis.trials()[0].logdir() / "checkpoint_2" / ".tune_metadata"));
  EXPECT_THAT(h.journal, HasSubstr(R"("done":true,"episodes_total")"));
}

TEST(TrialRunnerTest, AnExploitWaitsForTheSourceCheckpointBeingWritten) {
  Harness h;
  h.options.stop = {{"training_iteration", 4}};
  auto scheduler = std::make_shared<TableScheduler>();
  // At iteration 2, trial 0 (reporting first) is checkpointed; trial 1 then reports and is told
  // to clone trial 0's iteration-2 checkpoint, which is still being saved.
  scheduler->actions[{Harness::id(0), 2}] = {
      SchedulerAction{SchedulerAction::Kind::kCheckpoint, Harness::id(0), "", Config(), ""}};
  scheduler->actions[{Harness::id(1), 2}] = {SchedulerAction{SchedulerAction::Kind::kExploit, Harness::id(1),
                                                             Harness::id(0), Config{{"q", 0.9}}, "cloned", 2}};
  scheduler->decisions[{Harness::id(1), 2}] = Decision::kPause;
  h.options.scheduler = scheduler;
  h.script.score = [](int64_t, int64_t iteration, const Config& config) {
    return config.value("q", 0.0) * static_cast<double>(iteration);
  };
  const ExperimentAnalysis analysis = h.run(2, 2);

  // Trial 1 waits, paused, until trial 0's save is committed, then restarts from the clone.
  const long saved = h.position("save 0");
  const long paused = h.position("stop 1");
  const long restarted = h.position("start 1 from=checkpoint_2");
  ASSERT_GE(saved, 0);
  ASSERT_GE(paused, 0);
  ASSERT_GE(restarted, 0);
  EXPECT_LT(saved, paused);
  EXPECT_LT(paused, restarted);
  const std::vector<std::string> lines = h.journal_lines();
  const auto at = [&](const std::string& line) { return std::find(lines.begin(), lines.end(), line) - lines.begin(); };
  EXPECT_LT(at("pause 1"), at("ckpt 0")) << ::testing::PrintToString(lines);
  EXPECT_LT(at("ckpt 0"), at("ckpt 1 + config 1 + run 1")) << ::testing::PrintToString(lines);
  ASSERT_EQ(analysis.trials().size(), 2u);
  const TrialRecord& clone = analysis.trials()[0].trial_id() == Harness::id(1) ? analysis.trials()[0]
                                                                              : analysis.trials()[1];
  EXPECT_EQ(clone.config().value("q", 0.0), 0.9);
  EXPECT_EQ(clone.last_result().value("training_iteration", 0), 4);
  // Its results after the clone are scored with the new config.
  EXPECT_DOUBLE_EQ(clone.last_result().value("score", 0.0), 0.9 * 4);
}

TEST(TrialRunnerTest, AFailureRetriesFromTheLatestCheckpointUntilMaxFailures) {
  Harness h;
  h.options.stop = {{"training_iteration", 4}};
  h.options.checkpoint_freq = 2;
  h.options.max_failures = 1;
  h.script.fail_at = {{0, 3}, {1, 3}};
  const ExperimentAnalysis analysis = h.run(2, 1);
  // Each trial fails once at iteration 3 and restarts from checkpoint_2 (iteration 4 is
  // checkpointed too, before the stop). The retry goes back in line in creation order, so
  // trial 0 runs again before trial 1 starts.
  EXPECT_THAT(h.calls, ElementsAre("start 0", "continue 0", "save 0", "continue 0", "stop 0",
                                   "start 0 from=checkpoint_2", "continue 0", "save 0", "stop 0", "start 1",
                                   "continue 1", "save 1", "continue 1", "stop 1", "start 1 from=checkpoint_2",
                                   "continue 1", "save 1", "stop 1"));
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
    EXPECT_EQ(trial.last_result().value("training_iteration", 0), 4);
  }
  EXPECT_THAT(h.journal_lines(), ::testing::Contains("fail 0"));
}

TEST(TrialRunnerTest, AFailureBeyondMaxFailuresEndsTheTrialInError) {
  Harness h;
  h.options.stop = {{"training_iteration", 4}};
  h.options.checkpoint_freq = 2;
  h.options.max_failures = 0;
  h.script.fail_at = {{0, 3}};
  const ExperimentAnalysis analysis = h.run(1, 1);
  EXPECT_THAT(h.calls, ElementsAre("start 0", "continue 0", "save 0", "continue 0", "stop 0"));
  ASSERT_EQ(analysis.trials().size(), 1u);
  EXPECT_EQ(analysis.trials()[0].status(), TrialStatus::kError);
  EXPECT_THAT(analysis.trials()[0].error(), HasSubstr("scripted failure"));
  EXPECT_THAT(h.journal_lines(), ::testing::Contains(::testing::StartsWith("fail 0 + end 0")));
}

TEST(TrialRunnerTest, TheJournalStartsWithItsHeadAloneAndEndsDone) {
  Harness h;
  h.options.stop = {{"training_iteration", 1}};
  h.run(1, 1);
  const std::vector<std::string> lines = h.journal_lines();
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines.front(), "head");
  EXPECT_EQ(lines.back(), "done");
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "head"), 1);
}

// Passes everything to the inner searcher and counts the suggestions not yet completed: what
// a model-based searcher must treat as pending (its constant liar, its batch rule). It stands
// for a searcher that learns from results (the interface's default) unless told otherwise.
class OutstandingCounter final : public Searcher {
 public:
  explicit OutstandingCounter(std::shared_ptr<Searcher> inner, bool learns = true)
      : inner_(std::move(inner)), learns_(learns) {}
  void set_search_properties(const std::string& metric, const std::string& mode, const Space& space) override {
    inner_->set_search_properties(metric, mode, space);
  }
  Suggestion suggest(const std::string& trial_id) override {
    Suggestion s = inner_->suggest(trial_id);
    if (s.kind == Suggestion::Kind::kConfig) most = std::max(most, ++outstanding);
    return s;
  }
  void on_trial_complete(const std::string& trial_id, const Result& result, bool error) override {
    --outstanding;
    inner_->on_trial_complete(trial_id, result, error);
  }
  std::optional<int64_t> total_trials() const override { return inner_->total_trials(); }
  bool counts_trials() const override { return inner_->counts_trials(); }
  bool learns_from_results() const override { return learns_; }

  int outstanding = 0;
  int most = 0;

 private:
  std::shared_ptr<Searcher> inner_;
  bool learns_;
};

// With no concurrency limit, the runner asks a searcher that learns from results for a trial
// only when one more fits the free resources: it never has more suggestions outstanding than
// trials can run at once (it once had 3 on 2 CPUs: a third trial suggested while two ran,
// waiting PENDING for a core). Grid/random search is still asked ahead (the other tests).
TEST(TrialRunnerTest, SuggestionsOutstandingNeverExceedWhatTheResourcesRun) {
  struct Case {
    int cpus;
    double cpu_per_trial;
    int expected;
  };
  for (const Case& c : {Case{2, 1, 2}, Case{4, 2, 2}, Case{3, 2, 1}, Case{2, 0.5, 4}, Case{1, 1, 1}}) {
    SCOPED_TRACE(fmt::format("{} CPUs, {} per trial", c.cpus, c.cpu_per_trial));
    Harness h;
    h.options.stop = {{"training_iteration", 3}};
    h.options.max_concurrent_trials = 0;
    h.options.resources_per_trial = Resources{};
    h.options.resources_per_trial->cpu = c.cpu_per_trial;
    std::shared_ptr<OutstandingCounter> counter;
    h.wrap_searcher = [&](std::shared_ptr<Searcher> inner) {
      counter = std::make_shared<OutstandingCounter>(std::move(inner));
      return counter;
    };
    const ExperimentAnalysis analysis = h.run(9, c.cpus);
    ASSERT_EQ(analysis.trials().size(), 9u);
    for (const TrialRecord& trial : analysis.trials()) EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
    EXPECT_EQ(counter->most, c.expected);
    EXPECT_EQ(counter->outstanding, 0);
  }
}

// Grid/random search is asked ahead (a third trial waits PENDING while two run on 2 CPUs) whether
// or not a wrapper stands between it and the runner: the runner asks the searcher, not its type.
TEST(TrialRunnerTest, GridSearchIsAskedAheadWrappedOrNot) {
  for (const bool wrapped : {false, true}) {
    SCOPED_TRACE(wrapped ? "in a ConcurrencyLimiter" : "bare");
    Harness h;
    h.options.stop = {{"training_iteration", 3}};
    h.options.max_concurrent_trials = 0;
    std::shared_ptr<OutstandingCounter> counter;
    h.wrap_searcher = [&](std::shared_ptr<Searcher> inner) {
      if (wrapped) inner = std::make_shared<ConcurrencyLimiter>(std::move(inner), 100);
      counter = std::make_shared<OutstandingCounter>(inner, inner->learns_from_results());
      return counter;
    };
    h.run(6, /*cpus=*/2);
    EXPECT_EQ(counter->most, 3);
    EXPECT_EQ(counter->outstanding, 0);
  }
}

// The default request ({cpu: 1}, no resources_per_trial) is known before the config too.
TEST(TrialRunnerTest, DefaultRequestAlsoBoundsTheSuggestionsOutstanding) {
  Harness h;
  h.options.stop = {{"training_iteration", 2}};
  std::shared_ptr<OutstandingCounter> counter;
  h.wrap_searcher = [&](std::shared_ptr<Searcher> inner) {
    counter = std::make_shared<OutstandingCounter>(std::move(inner));
    return counter;
  };
  h.run(5, /*cpus=*/2);
  EXPECT_EQ(counter->most, 2);
}

// Why Backends/SchedulerRunTest.PbtReplayFollowsTheRecordedScheduleOfATrial/Threads once found
// nobody perturbed: PBT ranks the unfinished trials that have reported, so whether a bottom
// trial clones a top one depends on how far each has got, not only on the scores. Trials that
// report side by side are perturbed; a trial whose thread is starved until the other finished
// is ranked alone, and nobody is. The code is right (Ray's PBT behaves the same); a test that
// needs a perturbation must fix the order (local mode does).
TEST(TrialRunnerTest, PbtPerturbsTrialsThatReportSideBySideButNotAStarvedOne) {
  auto run_pbt = [](bool starve_the_top_trial) {
    Harness h;
    h.options.stop = {{"training_iteration", 6}};
    PopulationBasedTraining::Options o;
    o.time_attr = "training_iteration";
    o.perturbation_interval = 2;
    o.hyperparam_mutations["q"].domain = uniform(0.0, 1.0);
    o.seed = 3;
    h.options.scheduler = std::make_shared<PopulationBasedTraining>(o);
    h.script.score = [](int64_t, int64_t iteration, const Config& config) {
      return config.value("q", 0.0) * static_cast<double>(iteration);
    };
    if (starve_the_top_trial) h.script.starved = {1};
    h.run(std::vector<Json>{0.1, 0.9}, 2);
    return h.calls;
  };
  // Side by side: at iteration 4 trial 0 (q=0.1) is the bottom and clones trial 1's checkpoint
  // of iteration 2, then restarts from it.
  EXPECT_THAT(run_pbt(false), ::testing::Contains("start 0 from=checkpoint_2"));
  // Trial 1 starved: trial 0 runs its 6 iterations ranked alone, then trial 1 does; no clone.
  const CallLog starved = run_pbt(true);
  EXPECT_THAT(starved, ::testing::Not(::testing::Contains(::testing::HasSubstr("from="))));
  EXPECT_THAT(starved, ::testing::Contains("start 1"));
}

}  // namespace
}  // namespace tune
