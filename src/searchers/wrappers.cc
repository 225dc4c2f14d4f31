// ConcurrencyLimiter and Repeater: searchers wrapping a searcher (Ray's rules).
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "searchers/searcher_util.h"
#include "tune/error.h"
#include "tune/searchers.h"

namespace tune {

// ---- ConcurrencyLimiter ----

ConcurrencyLimiter::ConcurrencyLimiter(std::shared_ptr<Searcher> searcher, int max_concurrent, bool batch)
    : searcher_(std::move(searcher)), max_concurrent_(max_concurrent), batch_(batch) {
  if (!searcher_) throw TuneError("ConcurrencyLimiter: searcher must not be null");
  if (max_concurrent_ < 1) throw TuneError(fmt::format("max_concurrent: must be >= 1 (got {})", max_concurrent_));
}

void ConcurrencyLimiter::set_search_properties(const std::string& metric, const std::string& mode,
                                               const Space& space) {
  searcher_->set_search_properties(metric, mode, space);
}

Suggestion ConcurrencyLimiter::suggest(const std::string& trial_id) {
  if (static_cast<int>(live_.size()) >= max_concurrent_) return Suggestion::not_now();
  Suggestion s = searcher_->suggest(trial_id);
  if (s.kind == Suggestion::Kind::kConfig) live_.insert(trial_id);
  return s;
}

void ConcurrencyLimiter::on_trial_result(const std::string& trial_id, const Result& result) {
  if (live_.count(trial_id)) searcher_->on_trial_result(trial_id, result);
}

void ConcurrencyLimiter::on_trial_complete(const std::string& trial_id, const Result& result, bool error) {
  if (!live_.count(trial_id)) return;
  if (!batch_) {
    searcher_->on_trial_complete(trial_id, result, error);
    live_.erase(trial_id);
    return;
  }
  for (const auto& cached : cached_) {
    if (cached.first == trial_id) return;  // told twice
  }
  // Batch: completed trials stay live (so nothing new starts) until the whole batch is in.
  cached_.push_back({trial_id, {result, error}});
  if (static_cast<int>(cached_.size()) < max_concurrent_) return;
  for (const auto& [id, told] : cached_) {
    searcher_->on_trial_complete(id, told.first, told.second);
    live_.erase(id);
  }
  cached_.clear();
}

Json ConcurrencyLimiter::save() const {
  Json cached = Json::array();
  for (const auto& [id, told] : cached_) cached.push_back(Json{id, told.first, told.second});
  return Json{{"type", "concurrency_limiter"}, {"live", live_}, {"cached", std::move(cached)},
              {"searcher", searcher_->save()}};
}

void ConcurrencyLimiter::restore(const Json& state) {
  live_ = state.at("live").get<std::set<std::string>>();
  cached_.clear();
  for (const auto& c : state.at("cached")) cached_.push_back({c.at(0).get<std::string>(), {c.at(1), c.at(2).get<bool>()}});
  searcher_->restore(state.at("searcher"));
}

// ---- Repeater ----

Repeater::Repeater(std::shared_ptr<Searcher> searcher, int repeat, bool set_index)
    : searcher_(std::move(searcher)), repeat_(repeat), set_index_(set_index) {
  if (!searcher_) throw TuneError("Repeater: searcher must not be null");
  if (repeat_ < 1) throw TuneError(fmt::format("repeat: must be >= 1 (got {})", repeat_));
}

void Repeater::set_search_properties(const std::string& metric, const std::string& mode, const Space& space) {
  metric_ = metric;
  searcher_->set_search_properties(metric, mode, space);
}

Suggestion Repeater::suggest(const std::string& trial_id) {
  const auto open = groups_.find(next_group_ - 1);
  if (open == groups_.end() || open->second.handed_out >= repeat_) {
    Suggestion s = searcher_->suggest(trial_id);
    if (s.kind != Suggestion::Kind::kConfig) return s;
    Group group;
    group.primary = trial_id;
    group.suggestion = std::move(s);
    groups_.emplace(next_group_++, std::move(group));
  }
  Group& group = groups_.at(next_group_ - 1);
  Suggestion s = group.suggestion;
  if (set_index_) {
    if (!s.config.is_object()) s.config = Json::object();
    s.config["__trial_index__"] = group.handed_out;
  }
  if (group.handed_out > 0) s.tag += fmt::format(",__trial_index__={}", group.handed_out);
  ++group.handed_out;
  group.members.push_back(trial_id);
  group_of_[trial_id] = next_group_ - 1;
  return s;
}

void Repeater::on_trial_complete(const std::string& trial_id, const Result& result, bool error) {
  const auto it = group_of_.find(trial_id);
  if (it == group_of_.end()) return;
  const int64_t number = it->second;
  Group& group = groups_.at(number);
  group_of_.erase(it);
  const auto value = error ? std::nullopt : detail::metric_of(result, metric_);
  group.scores.push_back(value ? *value : std::numeric_limits<double>::quiet_NaN());
  if (static_cast<int>(group.scores.size()) < repeat_) return;
  // All repeats are in: the searcher sees the nanmean (an error when every one failed).
  double sum = 0;
  int count = 0;
  for (double v : group.scores) {
    if (!std::isnan(v)) {
      sum += v;
      ++count;
    }
  }
  if (count == 0) {
    searcher_->on_trial_complete(group.primary, Json(nullptr), true);
  } else {
    Result mean = Json::object();
    mean[metric_] = sum / count;
    searcher_->on_trial_complete(group.primary, mean, false);
  }
  groups_.erase(number);  // every repeat was handed out and is in: nothing refers to it any more
}

std::optional<int64_t> Repeater::total_trials() const {
  const auto inner = searcher_->total_trials();
  if (!inner) return std::nullopt;
  return *inner * repeat_;
}

Json Repeater::save() const {
  Json groups = Json::array();
  for (const auto& [number, g] : groups_) {
    groups.push_back(Json{{"number", number},
                          {"primary", g.primary},
                          {"config", g.suggestion.config},
                          {"tag", g.suggestion.tag},
                          {"handed_out", g.handed_out},
                          {"members", g.members},
                          {"scores", detail::to_json(g.scores)}});
  }
  Json open = Json::object();
  for (const auto& [id, index] : group_of_) open[id] = index;
  return Json{{"type", "repeater"}, {"groups", std::move(groups)}, {"open", std::move(open)}, {"next", next_group_},
              {"searcher", searcher_->save()}};
}

void Repeater::restore(const Json& state) {
  groups_.clear();
  group_of_.clear();
  for (const auto& g : state.at("groups")) {
    Group group;
    group.primary = g.at("primary").get<std::string>();
    group.suggestion.kind = Suggestion::Kind::kConfig;
    group.suggestion.config = g.at("config");
    group.suggestion.tag = g.at("tag").get<std::string>();
    group.handed_out = g.at("handed_out").get<int>();
    group.members = g.at("members").get<std::vector<std::string>>();
    group.scores = detail::from_json(g.at("scores"));
    groups_.emplace(g.at("number").get<int64_t>(), std::move(group));
  }
  next_group_ = state.at("next").get<int64_t>();
  for (const auto& [id, number] : state.at("open").items()) group_of_[id] = number.get<int64_t>();
  searcher_->restore(state.at("searcher"));
}

}  // namespace tune
