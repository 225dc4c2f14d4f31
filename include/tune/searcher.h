// tune/searcher.h — where trial configs come from.
//
// A Searcher suggests one config per trial id, learns from results, and can be saved and
// restored. BasicVariantGenerator is the guide's grid/random search: grid × num_samples
// with fresh random values per trial, generated lazily (10^6 samples never exist at once)
// and deterministically from (seed, trial index).
// Called on the driver thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tune/json.h"
#include "tune/search_space.h"

namespace tune {

struct Suggestion {
  enum class Kind { kConfig, kNotNow, kFinished };
  Kind kind = Kind::kFinished;
  Config config;
  std::string tag;  // "<counter>_<k=v,...>": goes into the trial's name and directory

  static Suggestion finished() { return {}; }
  static Suggestion not_now() { return {Kind::kNotNow, {}, {}}; }
};

class Searcher {
 public:
  virtual ~Searcher() = default;
  // Handed once before anything starts.
  virtual void set_search_properties(const std::string& metric, const std::string& mode, const Space& space) {
    (void)metric;
    (void)mode;
    (void)space;
  }
  // The result key it learns from, after set_search_properties (empty: none). The runner fails
  // the experiment when a trial's first result lacks it (a typo must not go unnoticed).
  virtual std::string metric() const { return {}; }
  virtual Suggestion suggest(const std::string& trial_id) = 0;
  virtual void on_trial_result(const std::string& trial_id, const Result& result) {
    (void)trial_id;
    (void)result;
  }
  // result is the last result (null when none); error is true for an ERROR trial.
  virtual void on_trial_complete(const std::string& trial_id, const Result& result, bool error) {
    (void)trial_id;
    (void)result;
    (void)error;
  }
  // How many trials it will suggest in all, when known (for progress bars).
  virtual std::optional<int64_t> total_trials() const { return std::nullopt; }
  // Whether it decides itself how many trials there are, saying finished() when done, as
  // BasicVariantGenerator does (grid × num_samples). false, the default (model-based searchers):
  // tune::run asks it for at most num_samples configs (Ray's SearchGenerator). A searcher that
  // wraps another returns the inner one's answer, as ConcurrencyLimiter and Repeater do.
  virtual bool counts_trials() const { return false; }
  // Whether its suggestions depend on the results it was told (true, the default: model-based
  // searchers). The runner asks such a searcher for a trial only when one fits the free
  // resources, so a suggestion never waits PENDING while a result that would change it comes in.
  // false (grid/random search): it may be asked ahead. A wrapper returns the inner one's answer.
  virtual bool learns_from_results() const { return true; }
  virtual Json save() const { return Json::object(); }
  virtual void restore(const Json& state) { (void)state; }
};

// Grid search × num_samples with random sampling. num_samples = -1 repeats forever.
// Variant i is sample i / grid_size at grid point i % grid_size (grid paths in sorted order, the
// first varying fastest), resolved from a seed derived from (seed, i). Without a seed one is drawn
// from std::random_device and kept (seed()). points_to_evaluate[i] (a possibly partial config)
// replaces variant i: its keys are used as given, the rest is resolved as usual.
// save() is {"next": n, "seed": s}; restore() continues the same sequence.
class BasicVariantGenerator : public Searcher {
 public:
  BasicVariantGenerator(Space space, int64_t num_samples = 1, std::optional<uint64_t> seed = std::nullopt,
                        std::vector<Config> points_to_evaluate = {});
  Suggestion suggest(const std::string& trial_id) override;
  std::optional<int64_t> total_trials() const override;
  bool counts_trials() const override { return true; }
  bool learns_from_results() const override { return false; }
  Json save() const override;
  void restore(const Json& state) override;

  // The variant at a position (0-based), independent of what was suggested before; finished()
  // past the end. Its tag is "<index>_<format_vars>" ("<index>" when the space has no domains).
  Suggestion generate(int64_t index) const;
  int64_t grid_size() const { return grid_size_; }
  uint64_t seed() const { return seed_; }

 private:
  Space space_;
  int64_t num_samples_;
  uint64_t seed_;
  std::vector<Config> points_;
  std::vector<std::string> grid_paths_;  // sorted
  std::vector<const Domain*> grid_domains_;
  int64_t grid_size_ = 1;
  int64_t next_ = 0;
};

// Resolves one config: grid values are given per path, everything else is sampled with
// per-path random engines derived from `seed`. Throws TuneError on a sample_from cycle or
// a path that does not exist.
Config resolve_config(const Space& space, const std::map<std::string, Json>& grid_values, uint64_t seed);

// Ray's format_vars: "k=v,..." over the space's domain leaves in sorted path order; the key is the
// last name of the path plus its array indices ("nn_layers/0" -> "nn_layers_0"), floats are
// formatted like Python's "{:.5}", bools as true/false, and '/' in keys and values becomes '_'.
std::string format_vars(const Space& space, const Config& config);

}  // namespace tune
