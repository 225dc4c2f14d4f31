// tune/stopper.h — custom stopping criteria.
//
// A Stopper is asked after every result whether that trial should stop, and whether the
// whole experiment should (stop_all: no new trial starts, running trials end after their
// current step). The built-ins follow Ray Tune's. Stoppers are called on the driver thread
// only (not thread-safe); a TimeoutStopper takes an injectable clock for exact tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <string>
#include <vector>

#include "tune/error.h"
#include "tune/json.h"

namespace tune {

class Stopper {
 public:
  virtual ~Stopper() = default;
  // Called with every result; true stops that trial.
  virtual bool operator()(const std::string& trial_id, const Result& result) = 0;
  // True stops the experiment.
  virtual bool stop_all() { return false; }
};

// Never stops anything.
class NoopStopper : public Stopper {
 public:
  bool operator()(const std::string& /*trial_id*/, const Result& /*result*/) override { return false; }
};

using StopFunction = std::function<bool(const std::string& trial_id, const Result& result)>;

// Stops when `fn(trial_id, result)` is true.
class FunctionStopper : public Stopper {
 public:
  explicit FunctionStopper(StopFunction fn) : fn_(std::move(fn)) {
    if (!fn_) throw TuneError("stop: the stop function is empty");
  }
  bool operator()(const std::string& trial_id, const Result& result) override { return fn_(trial_id, result); }

 private:
  StopFunction fn_;
};

// Stops a trial when its result has done=true or any key (nested keys as "a/b") reaches its
// value (>=). Nested criteria objects are flattened at construction; a non-object criteria or
// a non-numeric threshold (bools count as 0/1) is a TuneError. A key that a result does not
// carry is a TuneError naming it and the result's keys. NaN (or null) values never trigger.
class DictStopper : public Stopper {
 public:
  explicit DictStopper(Json criteria);
  // DictStopper({{"training_iteration", 10}}): a lone braced pair is ambiguous through Json.
  DictStopper(std::initializer_list<std::pair<const std::string, Json>> criteria);
  bool operator()(const std::string& trial_id, const Result& result) override;
  const Json& criteria() const { return criteria_; }

 private:
  Json criteria_;  // flat: "a/b" -> threshold
};

// Stops a trial after max_iter results (counted per trial id); max_iter >= 1.
class MaximumIterationStopper : public Stopper {
 public:
  explicit MaximumIterationStopper(int64_t max_iter);
  bool operator()(const std::string& trial_id, const Result& result) override;

 private:
  int64_t max_iter_;
  std::map<std::string, int64_t> counts_;
};

// Stops a trial when the standard deviation of its last num_results values of metric is
// below std (after grace_period results); metric_threshold optionally gates it by mode
// (min: only when the current value <= threshold; max: >=). As Ray 1.x; population std.
class TrialPlateauStopper : public Stopper {
 public:
  TrialPlateauStopper(std::string metric, double std = 0.01, int num_results = 4, int grace_period = 4,
                      std::optional<double> metric_threshold = std::nullopt, std::string mode = "min");
  bool operator()(const std::string& trial_id, const Result& result) override;

 private:
  std::string metric_;
  double std_;
  int num_results_;
  int grace_period_;
  std::optional<double> metric_threshold_;
  std::string mode_;
  std::map<std::string, std::deque<double>> window_;
  std::map<std::string, int64_t> iterations_;
};

// Stops the experiment when the top `top` values of metric (smallest for min, largest for max)
// have a std <= std for more than `patience` consecutive results. NaN values are not ranked.
// operator() returns stop_all().
class ExperimentPlateauStopper : public Stopper {
 public:
  ExperimentPlateauStopper(std::string metric, double std = 0.001, int top = 10, std::string mode = "min",
                           int patience = 0);
  bool operator()(const std::string& trial_id, const Result& result) override;
  bool stop_all() override { return should_stop_; }

 private:
  std::string metric_;
  double std_;
  int top_;
  std::string mode_;
  int patience_;
  std::vector<double> top_values_;
  int iterations_ = 0;
  bool should_stop_ = false;
};

// Stops the experiment once `timeout` has elapsed since construction (the clock defaults to
// std::chrono::steady_clock::now). operator() returns stop_all().
class TimeoutStopper : public Stopper {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  explicit TimeoutStopper(std::chrono::duration<double> timeout, Clock clock = {});
  bool operator()(const std::string& trial_id, const Result& result) override;
  bool stop_all() override;

 private:
  std::chrono::duration<double> timeout_;
  Clock clock_;
  std::chrono::steady_clock::time_point start_;
};

// Any of its stoppers; every stopper is called on every result so their state advances.
class CombinedStopper : public Stopper {
 public:
  explicit CombinedStopper(std::vector<std::shared_ptr<Stopper>> stoppers);
  bool operator()(const std::string& trial_id, const Result& result) override;
  bool stop_all() override;

 private:
  std::vector<std::shared_ptr<Stopper>> stoppers_;
};

// What RunOptions::stop accepts: a dict of criteria, a function, a Stopper, or a list of
// stoppers (combined).
class StopSpec {
 public:
  StopSpec() = default;
  StopSpec(Json criteria) : criteria_(std::move(criteria)) {}  // NOLINT: implicit by design
  StopSpec(std::initializer_list<std::pair<const std::string, Json>> criteria)
      : criteria_(Json::object()) {
    for (const auto& [key, value] : criteria) criteria_[key] = value;
  }
  StopSpec(std::shared_ptr<Stopper> stopper) : stopper_(std::move(stopper)) {}  // NOLINT
  // A pointer to a Stopper subclass (shared_ptr<MyStopper> -> shared_ptr<Stopper> would be a
  // second user conversion, which copy-initialisation does not allow).
  template <typename S, typename = std::enable_if_t<std::is_base_of_v<Stopper, S>>>
  StopSpec(std::shared_ptr<S> stopper) : stopper_(std::move(stopper)) {}  // NOLINT
  StopSpec(std::vector<std::shared_ptr<Stopper>> stoppers);  // NOLINT: a CombinedStopper
  // A callable. A Stopper object by value is refused: the copy would hide its state
  // (stop_all) from the caller; pass a std::shared_ptr instead.
  template <typename F, typename = std::enable_if_t<!std::is_base_of_v<Stopper, std::decay_t<F>> &&
                                                    std::is_invocable_r_v<bool, F, const std::string&, const Result&>>>
  StopSpec(F fn) : stopper_(std::make_shared<FunctionStopper>(StopFunction(std::move(fn)))) {}  // NOLINT

  bool empty() const { return stopper_ == nullptr && (criteria_.is_null() || criteria_.empty()); }
  // The criteria dict (null when a function or stopper was given).
  const Json& criteria() const { return criteria_; }
  // The stopper to use: a DictStopper over the criteria, or the given one; null if empty.
  std::shared_ptr<Stopper> make_stopper() const;

 private:
  Json criteria_;
  std::shared_ptr<Stopper> stopper_;
};

}  // namespace tune
