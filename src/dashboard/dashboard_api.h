// Internal: the JSON API of `tune dashboard` (docs/dashboard.md), independent of HTTP.
//
// A DashboardApi serves one results root (a directory of experiments) or one experiment
// directory. Every experiment is read through the one reader of experiment directories
// (analysis/experiment_reader.h), the same as `tune ls` and `tune analyze`, and kept in a
// cache that is re-read when its state files change (or, while the run is not completed,
// at most once a second), so a poll of a 100,000-trial experiment costs a lookup, not a parse.
//
// Safety: the API never takes a path from a request. Experiments are named by a single
// directory name that must be a child of the root; trials by their trial id. Every file it
// opens (result.json, error.txt, stdout.log, stderr.log) is resolved with symlinks followed
// and must lie inside the experiment's directory. Nothing is ever written.
// Thread-safety: all methods may be called concurrently (the cache is guarded by a mutex).
#pragma once

#include <cstdint>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tune/json.h"

namespace tune::dashboard {

// A request the API refuses: `status` is the HTTP status to answer with (400, 404).
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

// Query of the trial table.
struct TrialQuery {
  std::string sort = "score";        // score, trial_id, name, status, or a config key ("config/lr")
  bool descending = false;           // default: the best first (ascending for min, descending for max)
  std::vector<std::string> status;   // keep only these statuses (empty: all)
  // Clauses over the flattened config, all of which a trial must pass (config_filter.h):
  // KEY=VALUE, KEY!=VALUE, KEY>N, N<=KEY<M, KEY~TEXT, KEY~/REGEX/.
  std::vector<std::string> config_filters;
  int64_t offset = 0;
  int64_t limit = 50;                // at most 1000
};

struct ExperimentView;  // the cached, indexed form of one experiment (dashboard_api.cc)

class DashboardApi {
 public:
  // `path`: a results root or one experiment directory (`single_experiment`: one experiment
  // even before it holds any state, as a run's directory at its start). Throws TuneError when
  // it is not a directory.
  explicit DashboardApi(const std::filesystem::path& path, bool single_experiment = false);
  ~DashboardApi();

  // GET /api/experiments: name, status counts, best metric, start time of each experiment.
  Json experiments();
  // GET /api/experiments/NAME: the summary, its parameters and metrics, best-so-far curve.
  Json experiment(const std::string& name);
  // GET /api/experiments/NAME/trials: one page of the trial table.
  Json trials(const std::string& name, const TrialQuery& query);
  // GET /api/experiments/NAME/trials/ID: config, last result, error.txt, checkpoints, log tails.
  Json trial(const std::string& name, const std::string& trial_id);
  // GET /api/experiments/NAME/trials/ID/results?since=N: the results after the first N.
  Json results(const std::string& name, const std::string& trial_id, int64_t since, int64_t limit);
  // GET /api/experiments/NAME/curves?metric=M&trials=A,B&points=P: downsampled learning curves
  // of the given trials (default: the 10 best).
  Json curves(const std::string& name, const std::string& metric, const std::vector<std::string>& trial_ids,
              int64_t points);
  // GET /api/experiments/NAME/points?limit=N: config values and score of up to N trials (the
  // best half and an even sample of the rest), for parallel coordinates and scatter plots.
  Json points(const std::string& name, int64_t limit);
  // GET /api/experiments/NAME/importance: parameter importance (correlation ratio, see .cc).
  Json importance(const std::string& name);

  const std::filesystem::path& root() const { return root_; }

 private:
  std::shared_ptr<const ExperimentView> view(const std::string& name);
  std::filesystem::path experiment_dir(const std::string& name) const;

  std::filesystem::path root_;      // canonical
  std::optional<std::string> only_;  // serving one experiment: its directory name
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const ExperimentView>> cache_;
  // Reads in progress, by experiment name: later requests wait for them.
  std::map<std::string, std::shared_future<std::shared_ptr<const ExperimentView>>> loading_;
};

// The correlation ratio (eta squared) of `scores` grouped by `groups` (one group id per score):
// the share of the scores' variance explained by the group means, in [0, 1]. 0 for fewer than
// two groups or no variance.
double correlation_ratio(const std::vector<double>& scores, const std::vector<int64_t>& groups);

// Groups of a parameter's values for correlation_ratio: a categorical parameter's categories,
// a numeric one's distinct values when there are at most 10, else 10 equal-count bins by rank.
std::vector<int64_t> parameter_groups(const std::vector<double>& values, bool numeric);

// Keeps at most about `points` of a curve: the first and last point and, per bucket, the
// points holding the bucket's minimum and maximum (so spikes survive), in x order.
std::vector<std::pair<double, double>> downsample(const std::vector<std::pair<double, double>>& curve,
                                                  int64_t points);

}  // namespace tune::dashboard
