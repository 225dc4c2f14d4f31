// The dashboard's JSON API (see dashboard_api.h, docs/dashboard.md).
#include "dashboard/dashboard_api.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>

#include "analysis/trial_files.h"
#include "dashboard/config_filter.h"
#include "dashboard/experiment_view.h"
#include "dashboard/scheduler_decisions.h"
#include "tune/error.h"

namespace tune::dashboard {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMaxPageRows = 1000;
constexpr size_t kMaxConfigClauses = 16;
constexpr int64_t kMaxResults = 10000;
constexpr int64_t kMaxCurvePoints = 2000;
constexpr size_t kMaxCurveTrials = 50;
constexpr size_t kDefaultCurveTrials = 10;
constexpr int64_t kMaxPoints = 20000;
constexpr size_t kBestSoFarPoints = 500;
constexpr std::streamoff kTailBytes = 16 * 1024;
// A running experiment is re-read at most this often even when its state files did not change
// (its trials' result.json files, which the stamp does not cover, may have).
constexpr auto kLiveRefresh = std::chrono::seconds(1);

// `path` with symlinks resolved, when it exists and lies inside `base` (canonical); else nullopt.
std::optional<fs::path> inside(const fs::path& base, const fs::path& path) {
  std::error_code ec;
  const fs::path resolved = fs::canonical(path, ec);
  if (ec) return std::nullopt;
  const fs::path relative = resolved.lexically_relative(base);
  if (relative.empty() || *relative.begin() == "..") return std::nullopt;
  return resolved;
}

// A directory name that cannot leave the directory it is looked up in.
bool is_plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

Json number_or_null(const std::optional<double>& value) {
  if (!value || !std::isfinite(*value)) return nullptr;
  return *value;
}

// The trial's directory, when it lies inside the experiment's.
std::optional<fs::path> trial_dir(const ExperimentView& view, const TrialRecord& trial) {
  fs::path logdir = trial.logdir();
  if (logdir.empty()) return std::nullopt;
  if (logdir.is_relative()) logdir = view.disk.dir / logdir;
  return inside(view.dir, logdir);
}

// The last `kTailBytes` of a file inside the experiment, or null.
Json tail_of(const ExperimentView& view, const std::optional<fs::path>& dir, const char* file) {
  if (!dir) return nullptr;
  const std::optional<fs::path> path = inside(view.dir, *dir / file);
  std::error_code ec;
  if (!path || !fs::is_regular_file(*path, ec)) return nullptr;
  std::ifstream in(*path, std::ios::binary);
  if (!in) return nullptr;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff start = std::max<std::streamoff>(0, size - kTailBytes);
  in.seekg(start);
  std::string text(static_cast<size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  // The tail may start inside a UTF-8 sequence and logs may hold any bytes: replace what is invalid.
  return Json::parse(Json(text).dump(-1, ' ', false, Json::error_handler_t::replace));
}

const TrialRecord& find_trial(const ExperimentView& view, const std::string& trial_id, size_t* index = nullptr) {
  auto it = view.by_id.find(trial_id);
  if (it == view.by_id.end()) throw ApiError(404, fmt::format("experiment '{}' has no trial '{}'", view.name, trial_id));
  if (index) *index = it->second;
  return view.disk.trials[it->second];
}

// A trial's results (x = training_iteration, else the result's position) of one metric;
// `read` is set to the number of results read (where a live reader's results?since= goes on).
std::vector<std::pair<double, double>> curve_of(const ExperimentView& view, const TrialRecord& trial,
                                                const std::string& metric, int64_t& read) {
  std::vector<std::pair<double, double>> curve;
  read = 0;
  const std::optional<fs::path> dir = trial_dir(view, trial);
  if (!dir) return curve;
  const std::optional<fs::path> file = inside(view.dir, *dir / "result.json");
  if (!file) return curve;
  double position = 0;
  analysis_detail::for_each_result(*file, [&](Json&& result) {
    ++position;
    ++read;
    const Json* value = find_path(result, metric);
    if (!value || !value->is_number()) return;
    const Json* iteration = find_path(result, "training_iteration");
    const double x = iteration && iteration->is_number() ? iteration->get<double>() : position;
    const double y = value->get<double>();
    if (std::isfinite(y)) curve.emplace_back(x, y);
  });
  return curve;
}

// Indexes of the trials ordered best first (trials without a finite score last, in reader order).
std::vector<size_t> best_first(const ExperimentView& view) {
  std::vector<size_t> order(view.disk.trials.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return view.better(a, b); });
  return order;
}

Json best_so_far(const ExperimentView& view) {
  std::vector<std::pair<double, double>> curve;
  std::optional<size_t> best;
  for (size_t i = 0; i < view.scores.size(); ++i) {
    if (!view.scores[i] || !std::isfinite(*view.scores[i])) continue;
    if (!best || view.better(i, *best)) best = i;
    curve.emplace_back(static_cast<double>(i + 1), *view.scores[*best]);
  }
  Json points = Json::array();
  for (const auto& [x, y] : downsample(curve, kBestSoFarPoints)) points.push_back({x, y});
  return points;
}

Json summary(const ExperimentView& view) {
  Json out = {{"name", view.name},
              {"trials", view.disk.trials.size()},
              {"counts", view.counts},
              {"metric", view.disk.metric},
              {"mode", view.disk.mode},
              {"completed", view.disk.completed},
              {"best", nullptr},
              {"best_trial", nullptr},
              {"start_time", number_or_null(view.start_time)},
              {"last_update", nullptr}};
  if (view.best) {
    out["best"] = number_or_null(view.scores[*view.best]);
    out["best_trial"] = view.disk.trials[*view.best].trial_id();
  }
  if (view.disk.last_update) out["last_update"] = to_epoch_seconds(*view.disk.last_update);
  return out;
}

// The sort key of one trial for the trial table: a number (NaN = missing) or a string.
struct SortKey {
  double number = std::numeric_limits<double>::quiet_NaN();
  std::string text;
};

std::vector<SortKey> sort_keys(const ExperimentView& view, const std::string& sort) {
  const std::vector<TrialRecord>& trials = view.disk.trials;
  std::vector<SortKey> keys(trials.size());
  if (sort == "score") {
    for (size_t i = 0; i < trials.size(); ++i)
      if (view.scores[i]) keys[i].number = *view.scores[i];
  } else if (sort == "trial_id" || sort == "name" || sort == "status") {
    for (size_t i = 0; i < trials.size(); ++i) {
      keys[i].text = sort == "trial_id" ? trials[i].trial_id()
                     : sort == "name"   ? trials[i].name()
                                        : std::string(to_string(trials[i].status()));
    }
  } else if (sort.starts_with("config/")) {
    auto column = view.params.find(sort.substr(7));
    if (column == view.params.end()) throw ApiError(400, fmt::format("sort: unknown config key '{}'", sort.substr(7)));
    for (size_t i = 0; i < trials.size(); ++i) {
      const double value = column->second.values[i];
      if (column->second.numeric || std::isnan(value))
        keys[i].number = value;
      else
        keys[i].text = column->second.categories[static_cast<size_t>(value)];
    }
  } else {
    if (std::find(view.metrics.begin(), view.metrics.end(), sort) == view.metrics.end())
      throw ApiError(400, fmt::format("sort: '{}' is not score, trial_id, name, status, config/KEY or a metric", sort));
    for (size_t i = 0; i < trials.size(); ++i) {
      auto stats = trials[i].metric_stats.find(sort);
      if (stats != trials[i].metric_stats.end() && stats->second.count > 0) {
        keys[i].number = stats->second.last;
        continue;
      }
      // A metric the run did not track: decode the last result (kept alive while it is read).
      const Result last = trials[i].last_result();
      if (const Json* value = find_path(last, sort); value && value->is_number()) keys[i].number = value->get<double>();
    }
  }
  return keys;
}

Json trial_row(const ExperimentView& view, size_t i) {
  const TrialRecord& trial = view.disk.trials[i];
  Json metrics = Json::object();
  for (const auto& [metric, stats] : trial.metric_stats) {
    if (stats.count > 0 && std::isfinite(stats.last)) metrics[metric] = stats.last;
  }
  if (trial.metric_stats.empty()) {
    const Json flat = flatten(trial.last_result());
    if (flat.is_object())
      for (const auto& [key, value] : flat.items())
        if (value.is_number()) metrics[key] = value;
  }
  return {{"trial_id", trial.trial_id()}, {"name", trial.name()},
          {"status", to_string(trial.status())}, {"score", number_or_null(view.scores[i])},
          {"config", flatten(trial.config())},   {"metrics", std::move(metrics)}};
}

}  // namespace

DashboardApi::DashboardApi(const fs::path& path, bool single_experiment) {
  std::error_code ec;
  const fs::path resolved = fs::canonical(path, ec);
  if (ec || !fs::is_directory(resolved, ec))
    throw TuneError(fmt::format("dashboard: '{}' is not a directory", path.string()));
  if (single_experiment || detail::is_experiment_dir(resolved)) {
    root_ = resolved.parent_path();
    only_ = resolved.filename().string();
  } else {
    root_ = resolved;
  }
}

DashboardApi::~DashboardApi() = default;

fs::path DashboardApi::experiment_dir(const std::string& name) const {
  if (!is_plain_name(name) || (only_ && name != *only_))
    throw ApiError(404, fmt::format("no experiment '{}' under the served root", name));
  const std::optional<fs::path> dir = inside(root_, root_ / name);
  std::error_code ec;
  // The one experiment served is taken as it is (a run may not have written its state yet).
  if (!dir || dir->parent_path() != root_ || !fs::is_directory(*dir, ec) ||
      (!only_ && !detail::is_experiment_dir(*dir)))
    throw ApiError(404, fmt::format("no experiment '{}' under the served root", name));
  return *dir;
}

std::shared_ptr<const ExperimentView> DashboardApi::view(const std::string& name) {
  const fs::path dir = experiment_dir(name);
  using View = std::shared_ptr<const ExperimentView>;
  std::promise<View> promise;
  {
    std::unique_lock lock(mutex_);
    auto it = cache_.find(name);
    if (it != cache_.end()) {
      const ExperimentView& cached = *it->second;
      const bool fresh = cached.disk.completed || std::chrono::steady_clock::now() - cached.loaded < kLiveRefresh;
      if (fresh && cached.stamp == state_stamp(dir)) return it->second;
    }
    // One read per experiment at a time: the page's concurrent first requests of a large
    // experiment wait for the same read instead of each parsing it (and holding it) again.
    auto loading = loading_.find(name);
    if (loading != loading_.end()) {
      std::shared_future<View> pending = loading->second;
      lock.unlock();
      return pending.get();
    }
    loading_.emplace(name, promise.get_future().share());
  }
  // Read outside the lock: other experiments' requests go on meanwhile.
  View built;
  try {
    built = std::make_shared<const ExperimentView>(build_view(name, dir));
  } catch (...) {
    promise.set_exception(std::current_exception());
    std::lock_guard lock(mutex_);
    loading_.erase(name);
    throw;
  }
  promise.set_value(built);
  std::lock_guard lock(mutex_);
  loading_.erase(name);
  cache_[name] = built;
  return built;
}

Json DashboardApi::experiments() {
  std::vector<std::string> names;
  if (only_) {
    names.push_back(*only_);
  } else {
    std::error_code ec;
    for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_directory(type_ec) && !it->is_symlink(type_ec) && detail::is_experiment_dir(it->path()))
        names.push_back(it->path().filename().string());
    }
    std::sort(names.begin(), names.end());
  }
  Json list = Json::array();
  for (const std::string& name : names) {
    try {
      list.push_back(summary(*view(name)));
    } catch (const std::exception& error) {
      list.push_back({{"name", name}, {"error", error.what()}});
    }
  }
  return {{"root", root_.string()}, {"experiments", std::move(list)}};
}

Json DashboardApi::experiment(const std::string& name) {
  const std::shared_ptr<const ExperimentView> v = view(name);
  Json out = summary(*v);
  Json params = Json::array();
  for (const auto& [key, column] : v->params)
    params.push_back({{"name", key}, {"numeric", column.numeric}, {"categories", column.categories}});
  out["params"] = std::move(params);
  out["metrics"] = v->metrics;
  out["best_so_far"] = best_so_far(*v);
  Json ended_at = Json::array();
  for (const auto& [iteration, count] : v->ended_at) ended_at.push_back({iteration, count});
  out["ended_at"] = std::move(ended_at);
  out["scheduler"] = scheduler_decisions(*v);
  return out;
}

Json DashboardApi::trials(const std::string& name, const TrialQuery& query) {
  if (query.offset < 0) throw ApiError(400, "offset: must be >= 0");
  if (query.limit < 1 || query.limit > kMaxPageRows)
    throw ApiError(400, fmt::format("limit: must be in [1, {}]", kMaxPageRows));
  if (query.config_filters.size() > kMaxConfigClauses)
    throw ApiError(400, fmt::format("config: at most {} clauses", kMaxConfigClauses));
  std::vector<ConfigFilter> filters;
  for (const std::string& clause : query.config_filters) filters.push_back(ConfigFilter::parse(clause));
  for (const std::string& status : query.status)
    if (!trial_status_from_string(status)) throw ApiError(400, fmt::format("status: unknown status '{}'", status));
  const std::shared_ptr<const ExperimentView> v = view(name);
  const std::vector<SortKey> keys = sort_keys(*v, query.sort);
  // Every clause as a flag per trial; a key no trial has keeps none.
  std::vector<std::vector<char>> passes;
  for (const ConfigFilter& filter : filters) {
    auto column = v->params.find(filter.key());
    passes.push_back(column == v->params.end() ? std::vector<char>(v->disk.trials.size(), 0)
                                               : filter.apply(column->second));
  }
  std::vector<size_t> rows;
  rows.reserve(v->disk.trials.size());
  for (size_t i = 0; i < v->disk.trials.size(); ++i) {
    const std::string_view status = to_string(v->disk.trials[i].status());
    if (!query.status.empty() && std::find(query.status.begin(), query.status.end(), status) == query.status.end())
      continue;
    if (std::any_of(passes.begin(), passes.end(), [i](const std::vector<char>& pass) { return !pass[i]; })) continue;
    rows.push_back(i);
  }
  // Best first by default: a score sort follows the mode; `descending` flips any order.
  const bool flip = query.descending != (query.sort == "score" && v->disk.mode == "max");
  auto less = [&](size_t a, size_t b) {
    const SortKey& x = keys[a];
    const SortKey& y = keys[b];
    const bool x_missing = std::isnan(x.number) && x.text.empty();
    const bool y_missing = std::isnan(y.number) && y.text.empty();
    if (x_missing || y_missing) return !x_missing && y_missing;  // missing values last either way
    if (!std::isnan(x.number) && !std::isnan(y.number)) return flip ? x.number > y.number : x.number < y.number;
    return flip ? x.text > y.text : x.text < y.text;
  };
  const size_t end = std::min(rows.size(), static_cast<size_t>(query.offset + query.limit));
  const size_t begin = std::min(rows.size(), static_cast<size_t>(query.offset));
  // Only the page needs ordering: O(n log(page end)), not a full sort of 100,000 rows.
  std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(end), rows.end(), less);
  Json page = Json::array();
  for (size_t r = begin; r < end; ++r) page.push_back(trial_row(*v, rows[r]));
  return {{"total", rows.size()}, {"offset", query.offset}, {"limit", query.limit},
          {"sort", query.sort},   {"metric", v->disk.metric}, {"mode", v->disk.mode},
          {"trials", std::move(page)}};
}

Json DashboardApi::trial(const std::string& name, const std::string& trial_id) {
  const std::shared_ptr<const ExperimentView> v = view(name);
  size_t index = 0;
  const TrialRecord& record = find_trial(*v, trial_id, &index);
  const std::optional<fs::path> dir = trial_dir(*v, record);
  Json checkpoints = Json::array();
  if (dir) {
    std::error_code ec;
    std::vector<std::string> names;
    for (fs::directory_iterator it(*dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string entry = it->path().filename().string();
      std::error_code type_ec;
      if (entry.starts_with("checkpoint_") && it->is_directory(type_ec)) names.push_back(entry);
    }
    std::sort(names.begin(), names.end());
    checkpoints = names;
  }
  Json error = tail_of(*v, dir, "error.txt");
  if (error.is_null() && !record.error().empty()) error = record.error();
  return {{"trial_id", record.trial_id()},
          {"name", record.name()},
          {"status", to_string(record.status())},
          {"score", number_or_null(v->scores[index])},
          {"metric", v->disk.metric},
          {"logdir", dir ? dir->lexically_relative(v->dir).string() : std::string()},
          {"config", record.config()},
          {"last_result", record.last_result()},
          {"error", std::move(error)},
          {"checkpoints", std::move(checkpoints)},
          {"stdout_tail", tail_of(*v, dir, "stdout.log")},
          {"stderr_tail", tail_of(*v, dir, "stderr.log")}};
}

Json DashboardApi::results(const std::string& name, const std::string& trial_id, int64_t since, int64_t limit) {
  if (since < 0) throw ApiError(400, "since: must be >= 0");
  if (limit < 1 || limit > kMaxResults) throw ApiError(400, fmt::format("limit: must be in [1, {}]", kMaxResults));
  const std::shared_ptr<const ExperimentView> v = view(name);
  const TrialRecord& record = find_trial(*v, trial_id);
  Json results = Json::array();
  int64_t seen = 0;
  if (const std::optional<fs::path> dir = trial_dir(*v, record)) {
    if (const std::optional<fs::path> file = inside(v->dir, *dir / "result.json")) {
      analysis_detail::for_each_result(*file, [&](Json&& result) {
        if (seen++ >= since && static_cast<int64_t>(results.size()) < limit) results.push_back(std::move(result));
      });
    }
  }
  const int64_t next = std::min(seen, since + static_cast<int64_t>(results.size()));
  return {{"trial_id", trial_id},
          {"since", since},
          {"next", std::max(next, since)},
          {"total", seen},
          {"finished", is_finished(record.status())},
          {"results", std::move(results)}};
}

Json DashboardApi::curves(const std::string& name, const std::string& metric, const std::vector<std::string>& trial_ids,
                          int64_t points) {
  if (points < 2 || points > kMaxCurvePoints)
    throw ApiError(400, fmt::format("points: must be in [2, {}]", kMaxCurvePoints));
  if (trial_ids.size() > kMaxCurveTrials) throw ApiError(400, fmt::format("trials: at most {}", kMaxCurveTrials));
  const std::shared_ptr<const ExperimentView> v = view(name);
  const std::string wanted = metric.empty() ? v->disk.metric : metric;
  if (wanted.empty()) throw ApiError(400, "metric: the run has no metric; name one");
  std::vector<size_t> chosen;
  if (trial_ids.empty()) {
    const std::vector<size_t> order = best_first(*v);
    chosen.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), kDefaultCurveTrials)));
  } else {
    for (const std::string& id : trial_ids) {
      size_t index = 0;
      find_trial(*v, id, &index);
      chosen.push_back(index);
    }
  }
  Json series = Json::array();
  for (size_t index : chosen) {
    const TrialRecord& record = v->disk.trials[index];
    Json xy = Json::array();
    int64_t read = 0;
    for (const auto& [x, y] : downsample(curve_of(*v, record, wanted, read), points)) xy.push_back({x, y});
    series.push_back({{"trial_id", record.trial_id()},
                      {"status", to_string(record.status())},
                      {"next", read},
                      {"points", std::move(xy)}});
  }
  return {{"metric", wanted}, {"x", "training_iteration"}, {"series", std::move(series)}};
}

Json DashboardApi::points(const std::string& name, int64_t limit) {
  if (limit < 1 || limit > kMaxPoints) throw ApiError(400, fmt::format("limit: must be in [1, {}]", kMaxPoints));
  const std::shared_ptr<const ExperimentView> v = view(name);
  const std::vector<size_t> order = best_first(*v);
  std::vector<size_t> chosen;
  const size_t wanted = std::min(order.size(), static_cast<size_t>(limit));
  const size_t best_half = wanted / 2;
  chosen.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(best_half));
  const size_t rest = order.size() - best_half;
  const size_t more = wanted - best_half;
  for (size_t k = 0; k < more; ++k) chosen.push_back(order[best_half + k * rest / more]);
  Json params = Json::array();
  for (const auto& [key, column] : v->params)
    params.push_back({{"name", key}, {"numeric", column.numeric}, {"categories", column.categories}});
  Json rows = Json::array();
  for (size_t index : chosen) {
    Json values = Json::array();
    for (const auto& [key, column] : v->params) {
      const double value = column.values[index];
      values.push_back(std::isnan(value) ? Json(nullptr) : Json(value));
    }
    rows.push_back({{"trial_id", v->disk.trials[index].trial_id()},
                    {"score", number_or_null(v->scores[index])},
                    {"values", std::move(values)}});
  }
  return {{"metric", v->disk.metric}, {"mode", v->disk.mode}, {"total", order.size()},
          {"params", std::move(params)}, {"rows", std::move(rows)}};
}

Json DashboardApi::importance(const std::string& name) {
  const std::shared_ptr<const ExperimentView> v = view(name);
  Json out = Json::array();
  for (const auto& [key, column] : v->params) {
    // Trials with a finite score and a value of this parameter.
    std::vector<double> scores;
    std::vector<double> values;
    for (size_t i = 0; i < v->scores.size(); ++i) {
      if (!v->scores[i] || !std::isfinite(*v->scores[i]) || std::isnan(column.values[i])) continue;
      scores.push_back(*v->scores[i]);
      values.push_back(column.values[i]);
    }
    out.push_back({{"param", key}, {"importance", correlation_ratio(scores, parameter_groups(values, column.numeric))},
                   {"trials", scores.size()}});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Json& a, const Json& b) { return a["importance"].get<double>() > b["importance"].get<double>(); });
  return {{"metric", v->disk.metric}, {"method", "correlation_ratio"}, {"params", std::move(out)}};
}

}  // namespace tune::dashboard
