// tune/scheduler.h — trial schedulers: decide CONTINUE / PAUSE / STOP after each result.
//
// A scheduler sees read-only trial views and returns decisions; the runner carries them
// out. What a scheduler wants done to trials other than the one reporting (synchronous
// HyperBand stops paused losers, PBT clones a top trial into a bottom one) it hands over
// as SchedulerActions, which the runner also carries out: schedulers never touch the
// executor. Called on the driver thread only; not thread-safe.
//
// The built-in schedulers follow Ray Tune 1.x (ray-tune-semantics.md §5):
//   FIFOScheduler, AsyncHyperBandScheduler (ASHA), HyperBandScheduler, HyperBandForBOHB,
//   MedianStoppingRule, PopulationBasedTraining.
// Their state goes into the experiment state (save/restore), so a resumed experiment
// continues the same rungs, brackets and perturbations.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tune/json.h"
#include "tune/search_space.h"
#include "tune/trial.h"

namespace tune {

enum class Decision { kContinue, kPause, kStop };
std::string_view to_string(Decision decision);

// Something a scheduler asks the runner to do besides its decision on the trial reporting.
struct SchedulerAction {
  enum class Kind {
    // End `trial_id` as TERMINATED (a PAUSED or PENDING trial; a RUNNING one is stopped).
    kStop,
    // Checkpoint `trial_id` now. Only for the trial whose result is being decided.
    kCheckpoint,
    // Restart `trial_id` from `source_trial_id`'s latest checkpoint with `config` (and
    // `experiment_tag` when not empty). Only for the trial whose result is being decided;
    // it replaces that decision. Ignored when the source has no checkpoint.
    kExploit,
    // Continue `trial_id` from where it is with `config` (and `experiment_tag` when not
    // empty): the runner checkpoints it, then restarts it from that checkpoint with the new
    // config. Only for the trial whose result is being decided; it replaces a CONTINUE or
    // PAUSE decision (a STOP stands). PBT's replay uses it.
    kReconfigure,
  };
  Kind kind = Kind::kStop;
  std::string trial_id;
  std::string source_trial_id;
  Config config;
  std::string experiment_tag;
  // kExploit: the iteration of the source's checkpoint to clone (-1: its latest). When that
  // checkpoint is still being written, the trial waits PAUSED until it is committed.
  int64_t source_iteration = -1;
};

// One change to a scheduler's saved state (its save() form), for incremental journaling:
// the experiment journal records these instead of the whole state after every result.
struct StateChange {
  enum class Op {
    kSet,     // the value at `path` becomes `value` (objects along the path are created)
    kErase,   // the object member at `path` is removed
    kAppend,  // `value` is appended to the array at `path` (created when missing)
    kInsert,  // `value` is added to the sorted array of distinct values at `path` (a saved std::set)
    kRemove,  // `value` is removed from the sorted array at `path`
  };
  Op op = Op::kSet;
  Json path = Json::array();  // object keys (strings) and array indices (numbers) from the root
  Json value;
};
// The journal form of changes ([[op, path, value], ...]) and back; from_json throws TuneError
// on a malformed record.
Json state_changes_to_json(const std::vector<StateChange>& changes);
std::vector<StateChange> state_changes_from_json(const Json& json);
// Applies `changes` to `state` in order (what resume does with the journaled changes).
// Throws TuneError when a path does not fit the state.
void apply_state_changes(Json& state, const std::vector<StateChange>& changes);

class TrialScheduler {
 public:
  virtual ~TrialScheduler() = default;
  // Metric and mode of the run, handed once before anything starts. A scheduler that
  // needs a metric and gets none (here or in its own options) throws TuneError.
  virtual void set_search_properties(const std::string& metric, const std::string& mode) {
    (void)metric;
    (void)mode;
  }
  // The result key it decides by, after set_search_properties (empty: none). The runner fails
  // the experiment when a trial's first result lacks it (a typo must not go unnoticed).
  virtual std::string metric() const { return {}; }
  // Also called again for each unfinished trial of a resumed experiment (after restore()).
  virtual void on_trial_add(const TrialView& trial) { (void)trial; }
  virtual Decision on_trial_result(const TrialView& trial, const Result& result) = 0;
  virtual void on_trial_complete(const TrialView& trial, const Result& result) {
    (void)trial;
    (void)result;
  }
  virtual void on_trial_error(const TrialView& trial) { (void)trial; }
  // Picks the next trial to start or resume among `candidates` (PENDING and PAUSED
  // trials that fit the free resources, in creation order); nullopt starts none.
  virtual std::optional<size_t> choose_trial_to_run(const std::vector<TrialView>& candidates);
  // The actions asked for since the last call, in order; the runner calls this after each
  // of the callbacks above and carries them out.
  virtual std::vector<SchedulerAction> take_actions() { return {}; }
  // The scheduler's state line(s) for the status block ("Using FIFO scheduling algorithm.").
  virtual std::string debug_string() const = 0;
  virtual Json save() const { return Json::object(); }
  virtual void restore(const Json& state) { (void)state; }
  // Incremental journaling (optional). A scheduler returning true reports every change to
  // its save() form through take_state_changes(), which the runner calls after each of the
  // callbacks above (and before it writes a snapshot): applied in order to the save() of
  // the last call before, they give save() now. The journal then grows with the changes,
  // and a result costs what it changed. A scheduler returning false (the default) has its
  // whole save() compared and, when changed, journaled after every event.
  virtual bool tracks_state_changes() const { return false; }
  virtual std::vector<StateChange> take_state_changes() { return {}; }
};

// First come, first served: PENDING trials in order, then PAUSED ones. Never stops a trial.
class FIFOScheduler : public TrialScheduler {
 public:
  Decision on_trial_result(const TrialView& trial, const Result& result) override;
  std::string debug_string() const override { return "Using FIFO scheduling algorithm."; }
  bool tracks_state_changes() const override { return true; }  // it has no state
};

// Asynchronous successive halving (ASHA). A trial reaching a rung is stopped when its value
// is below the (1 - 1/reduction_factor) quantile of the values recorded there before it.
class AsyncHyperBandScheduler : public TrialScheduler {
 public:
  struct Options {
    std::string time_attr = "training_iteration";
    std::string metric;  // empty: the run's metric
    std::string mode;    // "min" / "max"; empty: the run's mode
    double max_t = 100;  // a trial reaching it is stopped
    double grace_period = 1;
    double reduction_factor = 4;
    int brackets = 1;
    uint64_t seed = 0;  // bracket choice of each new trial
  };
  explicit AsyncHyperBandScheduler(Options options);
  void set_search_properties(const std::string& metric, const std::string& mode) override;
  std::string metric() const override { return options_.metric; }
  void on_trial_add(const TrialView& trial) override;
  Decision on_trial_result(const TrialView& trial, const Result& result) override;
  void on_trial_complete(const TrialView& trial, const Result& result) override;
  void on_trial_error(const TrialView& trial) override;
  std::string debug_string() const override;
  Json save() const override;
  void restore(const Json& state) override;
  bool tracks_state_changes() const override { return true; }
  std::vector<StateChange> take_state_changes() override;

  struct Rung {
    double milestone = 0;
    std::map<std::string, double> recorded;  // trial id -> op * metric
  };
  // Rungs of each bracket, highest milestone first (for tests and the status line).
  const std::vector<std::vector<Rung>>& brackets() const { return brackets_; }

 private:
  Decision on_bracket_result(const std::string& trial_id, double time, double value);
  void forget(const std::string& trial_id);
  std::string rng_text() const;

  Options options_;
  double op_ = 1;
  std::vector<std::vector<Rung>> brackets_;
  std::map<std::string, size_t> bracket_of_;
  int64_t num_stopped_ = 0;
  std::mt19937_64 rng_;
  std::vector<StateChange> changes_;
};
using ASHAScheduler = AsyncHyperBandScheduler;

// Synchronous HyperBand: brackets of successive halving. A trial runs to its bracket's
// milestone, then PAUSEs (checkpointed, resources freed); when every live trial of the
// bracket is there, the top 1/reduction_factor continue from their checkpoints and the rest
// are stopped.
class HyperBandScheduler : public TrialScheduler {
 public:
  struct Options {
    std::string time_attr = "training_iteration";
    std::string metric;
    std::string mode;
    double max_t = 81;
    double reduction_factor = 3;
    bool stop_last_trials = true;
  };
  explicit HyperBandScheduler(Options options);
  void set_search_properties(const std::string& metric, const std::string& mode) override;
  std::string metric() const override { return options_.metric; }
  void on_trial_add(const TrialView& trial) override;
  Decision on_trial_result(const TrialView& trial, const Result& result) override;
  void on_trial_complete(const TrialView& trial, const Result& result) override;
  void on_trial_error(const TrialView& trial) override;
  std::optional<size_t> choose_trial_to_run(const std::vector<TrialView>& candidates) override;
  std::vector<SchedulerAction> take_actions() override;
  std::string debug_string() const override;
  Json save() const override;
  void restore(const Json& state) override;
  bool tracks_state_changes() const override { return true; }
  std::vector<StateChange> take_state_changes() override;

  struct Bracket {
    int s = 0;                 // halvings left
    int64_t n0 = 0, n = 0;     // trials at the start / to keep
    int64_t r0 = 0, r = 0;     // first milestone / current step
    int64_t cumul_r = 0;       // the current milestone
    int64_t total_work = 0;
    double completed_progress = 0;
    struct Seen {
      double time = 0;             // time_attr of its last result (0 before the first)
      std::optional<double> score;  // op * metric of its last result
    };
    std::vector<std::string> all;       // every trial added, in order
    std::map<std::string, Seen> live;   // trials not stopped or finished
    double completion() const { return total_work == 0 ? 0.0 : completed_progress / static_cast<double>(total_work); }
    bool filled() const { return static_cast<int64_t>(all.size()) >= n0; }
    bool cur_iter_done() const;
  };
  const std::vector<std::vector<Bracket>>& bands() const { return bands_; }

 protected:
  struct Where {
    size_t band = 0;
    size_t bracket = 0;
  };
  // The bracket size s for the next new bracket of a band holding `brackets_in_band`.
  virtual int next_bracket_s(size_t brackets_in_band) const;
  Decision process_bracket(Bracket& bracket, const std::string& reporting);
  void remove_trial(const std::string& trial_id);
  bool continue_trial(const Bracket& bracket, const std::string& trial_id) const;
  Bracket& bracket_at(const Where& where) { return bands_[where.band][where.bracket]; }
  // choose_trial_to_run without journaling what it changed.
  virtual std::optional<size_t> choose(const std::vector<TrialView>& candidates);

  Options options_;
  double op_ = 1;
  int s_max_1_ = 0;
  std::vector<std::vector<Bracket>> bands_{1};
  std::optional<Where> current_;              // the bracket new trials join
  std::map<std::string, Where> where_;        // live trial -> its bracket
  std::set<std::string> to_resume_;           // PAUSED winners allowed to run again
  std::vector<SchedulerAction> actions_;
  int64_t num_stopped_ = 0;
  std::vector<StateChange> changes_;
  // Changes that rewrite a whole bracket (halving) or the resume set.
  void note_bracket(const Bracket& bracket);
  void note_to_resume();
  Json bracket_path(const Bracket& bracket) const;
};

// The bracket logic BOHB uses: largest bracket first, trials run in bracket order, and a
// bracket whose live trials all wait PAUSED is halved even when it is not full.
class HyperBandForBOHB : public HyperBandScheduler {
 public:
  using HyperBandScheduler::HyperBandScheduler;
  std::string debug_string() const override;

 protected:
  int next_bracket_s(size_t brackets_in_band) const override;
  std::optional<size_t> choose(const std::vector<TrialView>& candidates) override;
};

// Stops a trial whose best value so far is worse than the median of the other trials'
// running means over the same time range.
class MedianStoppingRule : public TrialScheduler {
 public:
  struct Options {
    std::string time_attr = "time_total_s";
    std::string metric;
    std::string mode;
    double grace_period = 60;
    int min_samples_required = 3;
    double min_time_slice = 0;  // a trial short of samples yields at most this often
    bool hard_stop = true;      // false: PAUSE instead of STOP
  };
  explicit MedianStoppingRule(Options options);
  void set_search_properties(const std::string& metric, const std::string& mode) override;
  std::string metric() const override { return options_.metric; }
  void on_trial_add(const TrialView& trial) override;
  Decision on_trial_result(const TrialView& trial, const Result& result) override;
  void on_trial_complete(const TrialView& trial, const Result& result) override;
  void on_trial_error(const TrialView& trial) override;
  std::optional<size_t> choose_trial_to_run(const std::vector<TrialView>& candidates) override;
  std::string debug_string() const override;
  Json save() const override;
  void restore(const Json& state) override;
  bool tracks_state_changes() const override { return true; }
  std::vector<StateChange> take_state_changes() override;

 private:
  struct Point {
    double time = 0;
    double value = 0;
  };
  double running_mean(const std::vector<Point>& points, double time) const;

  Options options_;
  bool max_ = true;
  std::map<std::string, std::vector<Point>> results_;
  std::set<std::string> stopped_;
  std::set<std::string> not_started_;  // added, no result yet: they wait for a slot
  std::set<std::string> paused_;       // paused by this rule and not back yet
  std::map<std::string, double> last_pause_;
  std::vector<StateChange> changes_;
  void unpause(const std::string& trial_id);
};

// Population based training: every perturbation_interval, a trial in the bottom quantile
// clones the latest checkpoint of one in the top quantile and explores its config.
class PopulationBasedTraining : public TrialScheduler {
 public:
  // A mutation: a list of values, a distribution (a Space domain), or a function.
  struct Mutation {
    std::vector<Json> values;                        // categorical / neighbouring values
    std::optional<Domain> domain;                    // resampled from
    std::function<Json(std::mt19937_64&)> sample;    // resampled by calling it
  };
  struct Options {
    std::string time_attr = "time_total_s";
    std::string metric;
    std::string mode;
    double perturbation_interval = 60;
    std::map<std::string, Mutation> hyperparam_mutations;  // config path ("a/b") -> mutation
    double quantile_fraction = 0.25;
    double resample_probability = 0.25;
    std::function<Config(const Config&)> custom_explore_fn;
    bool log_config = true;  // pbt_global.txt and pbt_policy_<trial_id>.txt in the experiment dir
    uint64_t seed = 0;
  };
  explicit PopulationBasedTraining(Options options);
  void set_search_properties(const std::string& metric, const std::string& mode) override;
  std::string metric() const override { return options_.metric; }
  void on_trial_add(const TrialView& trial) override;
  Decision on_trial_result(const TrialView& trial, const Result& result) override;
  void on_trial_complete(const TrialView& trial, const Result& result) override;
  void on_trial_error(const TrialView& trial) override;
  std::optional<size_t> choose_trial_to_run(const std::vector<TrialView>& candidates) override;
  std::vector<SchedulerAction> take_actions() override;
  std::string debug_string() const override;
  Json save() const override;
  void restore(const Json& state) override;
  bool tracks_state_changes() const override { return true; }
  std::vector<StateChange> take_state_changes() override;

  // The explore step alone (public for tests): a new config from `config`.
  Config explore(const Config& config);

 private:
  struct State {
    double last_perturbation_time = 0;
    std::optional<double> last_score;  // op * metric
    std::optional<int64_t> last_checkpoint;  // iteration of the checkpoint we asked for
    int64_t iteration = 0;             // training_iteration at the last perturbation
    bool finished = false;
    bool running = false;              // reported since it was added / paused
    Config config;
    std::string tag;
    std::string policy;  // this trial's policy history, one JSON line per exploit
  };
  void log_exploit(const TrialView& trial, const State& source, const Config& new_config);
  // After restore(): the policy logs in `dir` may hold exploits decided after the state was
  // last saved (the driver died in between); cut them back to the restored state.
  void reconcile_logs(const std::filesystem::path& dir);

  Options options_;
  double op_ = 1;
  std::map<std::string, State> states_;
  std::vector<SchedulerAction> actions_;
  int64_t num_perturbations_ = 0;
  std::string last_perturbation_;
  std::mt19937_64 rng_;
  Json state_json(const State& state) const;
  std::set<std::string> dirty_;  // trials whose saved state changed since take_state_changes()
  bool dirty_globals_ = false;   // perturbation count, last perturbation, rng
  bool logs_restored_ = true;    // false after restore() until reconcile_logs ran
};

// Replays the config schedule PBT gave one trial, from its pbt_policy_<trial_id>.txt: the
// experiment runs one trial, started with config() (the lineage's first config), and when it
// reaches each recorded step its config changes as PBT changed it then (the runner
// checkpoints the trial and restarts it from there with the new config). Use it to retrain
// the winner of a PBT run with its schedule, e.g. longer or with more data.
//   tune::PopulationBasedTrainingReplay replay("~/tune_results/exp/pbt_policy_ab_00003.txt");
//   options.config = replay.config();
//   options.scheduler = std::make_shared<tune::PopulationBasedTrainingReplay>(replay);
// The constructor reads and checks the file (TuneError naming it and the line).
class PopulationBasedTrainingReplay : public TrialScheduler {
 public:
  explicit PopulationBasedTrainingReplay(const std::string& policy_file);
  // The config the replayed trial starts with.
  const Config& config() const { return initial_config_; }
  // (step, config) of each change, in order.
  const std::vector<std::pair<int64_t, Config>>& changes() const { return changes_; }

  void on_trial_add(const TrialView& trial) override;
  Decision on_trial_result(const TrialView& trial, const Result& result) override;
  std::vector<SchedulerAction> take_actions() override { return std::exchange(actions_, {}); }
  std::string debug_string() const override;
  Json save() const override;
  void restore(const Json& state) override;

 private:
  std::string policy_file_;
  Config initial_config_;
  std::vector<std::pair<int64_t, Config>> changes_;
  size_t next_ = 0;  // the next change to make
  std::string trial_id_;
  std::vector<SchedulerAction> actions_;
};

// A scheduler from its spec-file form: "asha" or {type: asha, max_t: 100, ...} (Ray's
// names: fifo, async_hyperband/asha, hyperband, hb_bohb, median_stopping_rule, pbt).
// Throws TuneError naming "scheduler/<key>" on a bad type, key or value.
std::shared_ptr<TrialScheduler> make_scheduler(const Json& spec);
// The types make_scheduler knows, in registry order (aliases are names of their own).
std::vector<std::string> scheduler_names();
// The keys a type accepts besides `type`. Throws TuneError for an unknown type.
std::vector<std::string> scheduler_keys(const std::string& type);
// A type's defaults, key -> value, from its default Options; keys without one (metric and mode:
// the run's; pbt's hyperparam_mutations and pbt_replay's policy_file: required) are absent.
Json scheduler_defaults(const std::string& type);
// Ray Tune's scheduler names this version knows but does not implement: a spec naming one is
// refused as "not supported yet" rather than as a typo.
std::vector<std::string> unsupported_scheduler_names();

}  // namespace tune
