// tune/searchers.h — search algorithms beyond grid/random, and the wrappers that combine them.
//
//   TPESearcher        Tree-structured Parzen Estimator (Optuna's algorithm: univariate or
//                      multivariate, constant liar for running trials)
//   GPSearcher         Gaussian-process Bayesian optimisation (Matérn-5/2 ARD, EI or UCB,
//                      kriging believer for running trials)
//   CMAESSearcher      CMA-ES (Hansen's (mu/mu_w, lambda) with IPOP restarts) for continuous
//                      and integer spaces
//   BOHBSearcher       BOHB's model (Falkner et al. 2018): per-budget KDEs, with
//                      HyperBandForBOHB deciding the budgets
//   ExternalSearcher   any program speaking the ask/tell JSON-lines protocol
//                      (docs/searcher_protocol.md), e.g. python/tune_optuna_bridge.py
//   ConcurrencyLimiter at most N trials of a searcher run at once
//   Repeater           every suggestion is tried N times; the searcher sees the mean
//   make_searcher      the spec file's `search_alg: {type: NAME, ...}` to a searcher
//
// Model-based searchers need metric and mode (RunOptions::metric/mode, handed over once by
// set_search_properties) and a space of distributions: grid_search or sample_from throw a
// TuneError naming the path before anything runs. tune::run asks such a searcher for at most
// num_samples configs (num_samples = number of trials, -1 = until the searcher is finished).
// Thread-safety: searchers are called from the driver thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tune/json.h"
#include "tune/search_space.h"
#include "tune/searcher.h"

namespace tune {

namespace detail {
class UnitSpace;
// A completed trial as a model-based searcher keeps it: its point in [0, 1]^d and its loss
// (the metric, negated for mode max).
struct Observation {
  std::vector<double> u;
  double loss = 0;
};
}

// Tree-structured Parzen Estimator, as Optuna's TPESampler (3.x) does it, on the space mapped
// to [0, 1]^d (log domains on a log axis, integers as equal bins, choices as categories).
// The first n_startup_trials configs are random; after that the completed trials are split
// into the best gamma(n) ("below") and the rest ("above"), a Parzen estimator (by default
// multivariate: one joint truncated-normal kernel per observation, Scott's-rule bandwidths
// with Optuna's magic clip; univariate on request; prior-smoothed counts for
// categories) is fitted to each, n_ei_candidates are drawn from "below" and the one with the
// largest l(x)/g(x) is suggested (by default scored as Optuna 3.1.0 does, see
// Options::scale_free_kernels). Running trials join "above" (constant liar) so concurrent
// suggestions spread out; ERROR trials and results without the metric are left out.
// A dimension an observation lacks (add_evaluated_point with a partial config) is fitted on
// the observations that have it. save() holds the whole history: a restored searcher
// continues with the same suggestions an uninterrupted one would make.
class TPESearcher : public Searcher {
 public:
  struct Options {
    // Random configs before the model is used. 5, not Optuna's 10, since issue 21: chosen on the
    // tuning families of bench/search_suite.sh --select (docs/search_benchmark.md): as good at
    // 1 trial at a time, 10 % lower regret at 2.
    int n_startup_trials = 5;
    int n_ei_candidates = 24;   // candidates drawn from l(x) per suggestion
    // gamma(n): how many of the n completed trials are "good". Default: Optuna's
    // min(ceil(0.1 n), 25).
    std::function<int(int)> gamma;
    // weights(n): the weight of each of n observations, oldest first. Default: Optuna's
    // (1 for n < 25, else a ramp from 1/n to 1 over the oldest n - 25, then 1).
    std::function<std::vector<double>(int)> weights;
    double prior_weight = 1.0;        // weight of the prior kernel (uniform-ish over [0, 1])
    bool consider_prior = true;
    bool consider_magic_clip = true;  // bandwidths at least range / min(100, 1 + n)
    bool consider_endpoints = false;
    // One joint kernel per observation (Optuna's multivariate TPE) instead of independent
    // dimensions. Default since 2026-12-03: with scott_bandwidth it beats Optuna's default
    // (univariate) TPE on more problems and budgets of bench/search_compare.sh (README);
    // false gives the univariate TPE of earlier versions.
    bool multivariate = true;
    // Multivariate bandwidth along each dimension: this x the weighted standard deviation of
    // the group's observations x n^(-1/(d+4)) (Scott's rule, scaled); 0 = Optuna's fixed
    // 0.2 n^(-1/(d+4)) of the range. Unset (the default since issue 21's sixth round):
    // 0.3 sqrt(d), d the number of dimensions a completed trial has on average (inactive
    // conditional ones not counted): 0.42 in 2-D, 0.67 in 5-D, 0.95 in 10-D, where the best
    // fixed factor on the benchmark's tuning families grows with d (docs/search_benchmark.md;
    // it was 0.5 everywhere before). Univariate TPE ignores it (its bandwidths come from
    // neighbour distances).
    std::optional<double> scott_bandwidth;
    bool constant_liar = true;        // running trials count as bad observations
    // Score candidates with kernels lacking their 1/sigma factor, as Optuna 3.1.0 (Debian's)
    // does: sparse regions count more. Better on 4 of the 5 problems of bench/search_compare.sh
    // (README); false gives the textbook Parzen density.
    bool scale_free_kernels = true;
    // "Above" keeps at most this many observations (drawn in proportion to their weights,
    // deterministically); 0 = all. Keeps suggest() cost flat past a few thousand trials.
    int max_above = 1000;
    std::optional<uint64_t> seed;     // none: drawn from std::random_device and kept
    // Configs tried first (possibly partial: the rest is drawn at random); they count as
    // startup trials and their results are learned like any other.
    std::vector<Config> points_to_evaluate;
  };

  TPESearcher();
  explicit TPESearcher(Options options);
  ~TPESearcher() override;

  void set_search_properties(const std::string& metric, const std::string& mode, const Space& space) override;
  std::string metric() const override { return metric_; }
  Suggestion suggest(const std::string& trial_id) override;
  void on_trial_complete(const std::string& trial_id, const Result& result, bool error) override;
  Json save() const override;
  void restore(const Json& state) override;

  // Learns a config evaluated elsewhere (Ray's add_evaluated_point). Paths the config lacks
  // stay unknown for this observation. Needs set_search_properties first.
  void add_evaluated_point(const Config& config, const Result& result, bool error = false);
  // Completed observations in the model (errors excluded).
  size_t num_observations() const;
  uint64_t seed() const { return seed_; }

 private:
  using Observation = detail::Observation;  // u is NaN where the config lacked the dimension
  std::vector<double> sample_model(uint64_t stream) const;
  void add_observation(std::vector<double> u, double loss);
  double default_scott_factor() const;  // scott_bandwidth when the options leave it unset

  Options options_;
  uint64_t seed_ = 0;
  std::string metric_;
  bool maximize_ = false;
  std::unique_ptr<detail::UnitSpace> space_;
  std::vector<Observation> observations_;       // completion order
  size_t present_dimensions_ = 0;               // over observations_: the dimensions not NaN
  std::vector<size_t> by_loss_;                 // indices into observations_, best first, kept sorted
  std::map<std::string, std::vector<double>> pending_;  // suggested, not completed
  int64_t num_suggested_ = 0;
};

// Gaussian-process Bayesian optimisation on the space mapped to [0, 1]^d (log domains on a log
// axis, integers as equal bins snapped to their centres, a choice as one categorical input whose
// values are equally far apart). The first n_initial_points configs form a Latin hypercube; after
// that a zero-mean GP with a Matérn-5/2 kernel and one length scale per dimension is fitted to
// the standardised metric by maximising the marginal likelihood (with weak priors and a fitted
// noise variance, so noisy metrics are smoothed), warm-started from the previous fit plus
// n_restarts random starts. The next config maximises the acquisition (expected improvement or
// the lower confidence bound) over n_candidates random points and perturbations of the best
// ones, the n_local best of them refined by L-BFGS. Running trials enter the GP at their
// predicted mean (kriging believer): the model is as sure about them as about a measured point,
// so concurrent suggestions go elsewhere. ERROR trials and results without the metric are left
// out. Cost: O(n^3) per suggestion in the n observations used, which max_points caps (the best
// quarter plus an even sample of the rest). save() holds the whole history and the last fit: a
// restored searcher continues with the same suggestions an uninterrupted one would make.
class GPSearcher : public Searcher {
 public:
  enum class Acquisition {
    kExpectedImprovement,     // "ei": E[max(0, best - f(x) - xi)]
    kUpperConfidenceBound,    // "ucb": the optimistic bound mean - kappa * sd (for minimisation)
  };
  struct Options {
    Acquisition acquisition = Acquisition::kExpectedImprovement;
    double xi = 0.0;            // EI: the improvement must exceed xi (in standard deviations of the metric)
    double kappa = 2.576;       // UCB: the bound's width in posterior standard deviations
    int n_initial_points = 10;  // Latin-hypercube configs before the model is used
    int n_candidates = 1000;    // random acquisition candidates per suggestion
    int n_local = 5;            // best candidates refined by L-BFGS
    int n_restarts = 1;         // random hyperparameter starts per fit, besides the previous fit
    int max_points = 300;       // observations the GP uses at most (0 = all)
    bool fit_noise = true;      // false: the noise stays at the 1e-6 jitter (noise-free metrics)
    // What the GP models: "standardize" (the metric, standardised), "log" (the log of its distance
    // above the best) or "copula" (the normal scores of its ranks: only the order counts). On the
    // benchmark's functions spanning six orders of magnitude, standardize beat both
    // (docs/search_benchmark.md, fifth round).
    std::string output_transform = "standardize";
    std::optional<uint64_t> seed;  // none: drawn from std::random_device and kept
    // Configs tried first (possibly partial: the rest is drawn at random); they count as
    // initial points and their results are learned like any other.
    std::vector<Config> points_to_evaluate;
  };

  GPSearcher();
  explicit GPSearcher(Options options);
  ~GPSearcher() override;

  void set_search_properties(const std::string& metric, const std::string& mode, const Space& space) override;
  std::string metric() const override { return metric_; }
  Suggestion suggest(const std::string& trial_id) override;
  void on_trial_complete(const std::string& trial_id, const Result& result, bool error) override;
  Json save() const override;
  void restore(const Json& state) override;

  // Learns a config evaluated elsewhere (Ray's add_evaluated_point). The config must set every
  // dimension of the space (TuneError naming the missing path). Needs set_search_properties first.
  void add_evaluated_point(const Config& config, const Result& result, bool error = false);
  size_t num_observations() const { return observations_.size(); }
  uint64_t seed() const { return seed_; }
  // "ei" / "ucb" and back (TuneError naming "acquisition" for anything else).
  static std::string acquisition_name(Acquisition acquisition);
  static Acquisition acquisition_from_name(const std::string& name);

 private:
  using Observation = detail::Observation;
  std::vector<double> model_point(uint64_t stream);

  Options options_;
  uint64_t seed_ = 0;
  std::string metric_;
  bool maximize_ = false;
  std::unique_ptr<detail::UnitSpace> space_;
  std::vector<Observation> observations_;               // completion order
  std::map<std::string, std::vector<double>> pending_;  // suggested, not completed
  std::vector<double> theta_;                           // the last fit's hyperparameters (empty: none yet)
  int64_t num_suggested_ = 0;
};

// CMA-ES (Hansen's (mu/mu_w, lambda)-CMA-ES with rank-one and rank-mu covariance updates and
// cumulative step-size adaptation) on the space mapped to [0, 1]^d; integers are searched as
// reals and snapped to their bins. A generation of lambda configs is handed out one by one
// (concurrent trials are members of the same generation, each a different sample); when all of
// them have completed the mean, step size and covariance are updated. While every member of a
// generation is running, suggest() says "not now". A sample outside the cube is redrawn (10
// times), then clipped, and the clipped point is what the update learns from. A failed member
// (ERROR, or no metric) is replaced by a new sample. With restarts = "ipop" a converged search
// (step size below 1e-12, a flat generation, or a condition number above 1e14) starts again
// from a random mean with lambda doubled. Choices cannot be searched: set_search_properties
// throws TuneError naming the path. points_to_evaluate are tried first; the first one (its
// missing values at the centre) becomes the initial mean. save() holds the whole state.
class CMAESSearcher : public Searcher {
 public:
  struct Options {
    double sigma0 = 1.0 / 6;  // initial step size, in units of the cube (Optuna: a sixth of the range)
    int popsize = 0;          // lambda; 0 = 4 + floor(3 ln d)
    std::string restarts = "ipop";  // "ipop" (a converged search restarts with twice the population) or "none"
    std::optional<uint64_t> seed;
    std::vector<Config> points_to_evaluate;
  };

  CMAESSearcher();
  explicit CMAESSearcher(Options options);
  ~CMAESSearcher() override;

  void set_search_properties(const std::string& metric, const std::string& mode, const Space& space) override;
  std::string metric() const override { return metric_; }
  Suggestion suggest(const std::string& trial_id) override;
  void on_trial_complete(const std::string& trial_id, const Result& result, bool error) override;
  Json save() const override;
  void restore(const Json& state) override;

  uint64_t seed() const { return seed_; }
  int64_t generation() const { return generation_; }
  int popsize() const { return lambda_; }
  int restarts() const { return restarts_; }
  double sigma() const { return sigma_; }

 private:
  struct Member {
    std::vector<double> y;  // the step (x - mean) / sigma the update learns from
    std::vector<double> x;  // the point in [0, 1]^d
    std::string trial_id;   // empty: not handed out
    std::optional<double> loss;
  };
  void start(bool restart);
  void new_generation();
  void sample(Member& member);
  void update();
  void decompose();

  Options options_;
  uint64_t seed_ = 0;
  std::string metric_;
  bool maximize_ = false;
  std::unique_ptr<detail::UnitSpace> space_;
  size_t n_ = 0;
  // State (C row-major n x n; B, D derived from C by decompose()).
  int lambda_ = 0;
  std::vector<double> mean_, cov_, ps_, pc_;
  double sigma_ = 0;
  int64_t generation_ = 0;
  int64_t generation_in_run_ = 0;  // since the last restart
  int restarts_ = 0;
  std::vector<double> recent_best_;  // best loss of recent generations (flatness test)
  std::vector<Member> members_;
  std::map<std::string, size_t> member_of_;  // running trial -> member index
  std::set<std::string> points_out_;         // running points_to_evaluate trials
  uint64_t draws_ = 0;
  int64_t num_suggested_ = 0;
  std::vector<double> eigvec_, eigval_;  // B (row-major) and D^2
};

// BOHB's model-based searcher (Falkner, Klein & Hutter 2018), to pair with HyperBandForBOHB,
// which decides how long each trial runs. Every result is an observation of its trial's config
// at budget = result[time_attr]. A config comes from the KDEs of the largest budget that enough
// trials have reached: at least min_points_in_model (default d + 1) of them, of which the best
// top_n_percent (at least min_points_in_model) fit the "good" density l(x) and the next ones
// (more than d) the "bad" g(x); each trial's value at that budget is the last it reported at or
// before it. Densities are product kernels (Gaussian with Scott's bandwidth for numeric
// dimensions, Aitchison-Aitken for choices) with bandwidths at least min_bandwidth. With
// probability random_fraction, and while no budget has enough trials, the config is random;
// otherwise num_samples candidates are drawn from l(x) with bandwidths widened by
// bandwidth_factor and the one with the smallest g(x)/l(x) wins. Concurrent suggestions draw
// from different random streams. save() holds every trial's results, so the state grows with
// the number of results (for HyperBand: its budget in time_attr units).
class BOHBSearcher : public Searcher {
 public:
  struct Options {
    std::string time_attr = "training_iteration";  // the budget axis (HyperBandForBOHB's time_attr)
    int min_points_in_model = 0;   // 0 = d + 1 (smaller values are raised to d + 1)
    double top_n_percent = 15;     // share of the observations in l(x)
    int num_samples = 64;          // candidates drawn from l(x) per suggestion
    double random_fraction = 1.0 / 3;
    double bandwidth_factor = 3;   // candidates are drawn with bandwidths this much wider
    double min_bandwidth = 1e-3;
    std::optional<uint64_t> seed;
    std::vector<Config> points_to_evaluate;
  };

  BOHBSearcher();
  explicit BOHBSearcher(Options options);
  ~BOHBSearcher() override;

  void set_search_properties(const std::string& metric, const std::string& mode, const Space& space) override;
  std::string metric() const override { return metric_; }
  Suggestion suggest(const std::string& trial_id) override;
  void on_trial_result(const std::string& trial_id, const Result& result) override;
  void on_trial_complete(const std::string& trial_id, const Result& result, bool error) override;
  Json save() const override;
  void restore(const Json& state) override;

  uint64_t seed() const { return seed_; }
  // The budget the next model-based suggestion learns from (nullopt: not enough trials yet).
  std::optional<double> model_budget() const;

 private:
  struct Trace {
    std::string trial_id;
    std::vector<double> u;
    std::vector<double> t, loss;  // results in increasing t
  };
  void record(const std::string& trial_id, const Result& result);
  std::optional<size_t> model_size() const;
  std::vector<double> model_point(uint64_t stream) const;

  Options options_;
  uint64_t seed_ = 0;
  std::string metric_;
  bool maximize_ = false;
  std::unique_ptr<detail::UnitSpace> space_;
  int min_points_ = 0;
  std::vector<Trace> traces_;               // suggestion order
  std::map<std::string, size_t> trace_of_;  // trial id -> index
  int64_t num_suggested_ = 0;
};

// Drives a program that speaks the ask/tell protocol of docs/searcher_protocol.md on its
// stdin/stdout (one JSON object a line). The program is started by set_search_properties
// (argv[0] is looked up in PATH) and gets {"hello": ..., "space": <space JSON>, "metric",
// "mode", "seed"}; suggest() asks it {"ask": trial_id}, on_trial_complete() tells it the
// result. A program that dies, answers garbage or takes longer than timeout_s throws
// TuneError (the run stops with that error). save() is the ask/tell history; restore() sends
// it to the (fresh) program as {"restore": history} so it can rebuild its model.
class ExternalSearcher : public Searcher {
 public:
  struct Options {
    std::vector<std::string> argv;  // the program and its arguments
    std::optional<uint64_t> seed;
    double timeout_s = 600;          // per answer
    std::vector<Config> points_to_evaluate;  // sent in hello: the program tries them first
  };
  explicit ExternalSearcher(Options options);
  ~ExternalSearcher() override;

  void set_search_properties(const std::string& metric, const std::string& mode, const Space& space) override;
  std::string metric() const override { return metric_; }
  Suggestion suggest(const std::string& trial_id) override;
  void on_trial_complete(const std::string& trial_id, const Result& result, bool error) override;
  Json save() const override;
  void restore(const Json& state) override;

 private:
  Json request(const Json& message);
  void start();
  void stop();

  Options options_;
  std::string metric_, mode_;
  Json space_json_;
  int pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string buffer_;
  Json history_ = Json::array();  // [{"ask": id, "config": c}, {"tell": id, ...}] in order
  std::set<std::string> asked_;   // trial ids it suggested and has not been told about
  bool finished_ = false;
};

// At most max_concurrent of the searcher's trials are live; suggest() says "not now" when the
// limit is reached. With batch = true, completions are handed to the searcher only once
// max_concurrent of them are in, all together (a synchronous batch).
class ConcurrencyLimiter : public Searcher {
 public:
  ConcurrencyLimiter(std::shared_ptr<Searcher> searcher, int max_concurrent, bool batch = false);
  void set_search_properties(const std::string& metric, const std::string& mode, const Space& space) override;
  std::string metric() const override { return searcher_->metric(); }
  Suggestion suggest(const std::string& trial_id) override;
  void on_trial_result(const std::string& trial_id, const Result& result) override;
  void on_trial_complete(const std::string& trial_id, const Result& result, bool error) override;
  std::optional<int64_t> total_trials() const override { return searcher_->total_trials(); }
  bool counts_trials() const override { return searcher_->counts_trials(); }
  bool learns_from_results() const override { return searcher_->learns_from_results(); }
  Json save() const override;
  void restore(const Json& state) override;
  const Searcher& searcher() const { return *searcher_; }

 private:
  std::shared_ptr<Searcher> searcher_;
  int max_concurrent_;
  bool batch_;
  std::set<std::string> live_;
  std::vector<std::pair<std::string, std::pair<Result, bool>>> cached_;  // batch: completed, not yet handed on
};

// Each suggestion of the searcher runs `repeat` times: the trials share the config (with
// config["__trial_index__"] = 0..repeat-1 when set_index), and once all of them completed
// the searcher is told the mean of their metric (NaN and ERROR trials left out; all of them
// failing is an error for the searcher). Use num_samples as a multiple of repeat.
class Repeater : public Searcher {
 public:
  Repeater(std::shared_ptr<Searcher> searcher, int repeat, bool set_index = true);
  void set_search_properties(const std::string& metric, const std::string& mode, const Space& space) override;
  std::string metric() const override { return searcher_->metric(); }
  Suggestion suggest(const std::string& trial_id) override;
  void on_trial_complete(const std::string& trial_id, const Result& result, bool error) override;
  std::optional<int64_t> total_trials() const override;
  bool counts_trials() const override { return searcher_->counts_trials(); }
  bool learns_from_results() const override { return searcher_->learns_from_results(); }
  Json save() const override;
  void restore(const Json& state) override;
  const Searcher& searcher() const { return *searcher_; }

 private:
  struct Group {
    std::string primary;  // the trial id the searcher suggested for
    Suggestion suggestion;
    int handed_out = 0;
    std::vector<std::string> members;
    std::vector<double> scores;  // NaN for failed members
  };
  std::shared_ptr<Searcher> searcher_;
  int repeat_;
  bool set_index_;
  std::string metric_;
  std::map<int64_t, Group> groups_;          // open groups by number (finished ones are dropped)
  int64_t next_group_ = 0;
  std::map<std::string, int64_t> group_of_;  // trial id -> its group's number
};

// What make_searcher needs besides the spec: the run's seed when the spec gives none.
struct SearcherContext {
  std::optional<uint64_t> seed;
};

// A searcher from its spec-file form: "tpe" or {type: tpe, n_startup_trials: 5, seed: 1,
// points_to_evaluate: [...], max_concurrent: 4, batch: false, repeat: 3}. Types:
// searcher_names() ("variant_generator"/"random" give nullptr: the run's own
// BasicVariantGenerator). max_concurrent wraps the result in a ConcurrencyLimiter, repeat in
// a Repeater (inside the limiter). Throws TuneError naming "search_alg/<key>".
std::shared_ptr<Searcher> make_searcher(const Json& spec, const SearcherContext& context = {});
// The types make_searcher knows, in registry order.
std::vector<std::string> searcher_names();
// The keys a type accepts besides type, points_to_evaluate, max_concurrent, batch and repeat.
std::vector<std::string> searcher_keys(const std::string& type);
// The keys every type accepts: type, points_to_evaluate, max_concurrent, batch, repeat.
std::vector<std::string> searcher_common_keys();
// Ray Tune's search algorithm names this version knows but does not implement: a spec naming
// one is refused as "not supported yet" rather than as a typo.
std::vector<std::string> unsupported_searcher_names();

}  // namespace tune
