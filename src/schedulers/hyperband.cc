// HyperBandScheduler (synchronous) and HyperBandForBOHB, ray-tune-semantics.md §5.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/saturate.h"
#include "common/strings.h"
#include "schedulers/scheduler_util.h"
#include "tune/error.h"
#include "tune/scheduler.h"

namespace tune {
namespace {

constexpr const char* kName = "HyperBandScheduler";
// The brackets grow with log(max_t); beyond 1e9 (and at inf) they no longer fit the counts.
constexpr double kMaxT = 1e9;

// Saturated: a huge max_t (1e300) makes eta^s overflow int64; the counts clamp instead.
int64_t n0_of(int s_max_1, int s, double eta) {
  return saturate_cast<int64_t>(std::ceil(static_cast<double>(s_max_1) / (s + 1) * std::pow(eta, s)));
}
int64_t r0_of(double max_t, int s, double eta) { return saturate_cast<int64_t>(max_t * std::pow(eta, -s)); }

// The first trial of `bracket` that may run: PENDING, or a PAUSED winner (taken out of
// `to_resume`, since the runner starts what is chosen).
std::optional<size_t> pick_in(const HyperBandScheduler::Bracket& bracket, const std::map<std::string, size_t>& index,
                              const std::vector<TrialView>& candidates, std::set<std::string>& to_resume) {
  for (const auto& [id, seen] : bracket.live) {
    auto it = index.find(id);
    if (it == index.end()) continue;
    const TrialStatus status = candidates[it->second].status();
    if (status == TrialStatus::kPending) return it->second;
    if (status == TrialStatus::kPaused && to_resume.erase(id)) return it->second;
  }
  return std::nullopt;
}

// `path` with `steps` appended.
Json extend(Json path, std::initializer_list<Json> steps) {
  for (const Json& step : steps) path.push_back(step);
  return path;
}

Json seen_json(const HyperBandScheduler::Bracket::Seen& seen) {
  return Json{{"time", seen.time}, {"score", seen.score ? Json(*seen.score) : Json(nullptr)}};
}

Json bracket_json(const HyperBandScheduler::Bracket& b) {
  Json live = Json::object();
  for (const auto& [id, seen] : b.live) live[id] = seen_json(seen);
  return Json{{"s", b.s}, {"n0", b.n0}, {"n", b.n}, {"r0", b.r0}, {"r", b.r}, {"cumul_r", b.cumul_r},
              {"total_work", b.total_work}, {"progress", b.completed_progress}, {"all", b.all},
              {"live", std::move(live)}};
}

}  // namespace

bool HyperBandScheduler::Bracket::cur_iter_done() const {
  return std::all_of(live.begin(), live.end(),
                     [&](const auto& entry) { return entry.second.time >= static_cast<double>(cumul_r); });
}

HyperBandScheduler::HyperBandScheduler(Options options) : options_(std::move(options)) {
  using detail::require;
  require(options_.max_t >= 1 && options_.max_t <= kMaxT, "max_t", "must be >= 1 and <= 1e9", options_.max_t, kName);
  require(options_.reduction_factor > 1, "reduction_factor", "must be > 1", options_.reduction_factor, kName);
  if (options_.time_attr.empty()) throw TuneError(fmt::format("time_attr: must not be empty ({})", kName));
  s_max_1_ = static_cast<int>(std::round(std::log(options_.max_t) / std::log(options_.reduction_factor))) + 1;
  if (!options_.metric.empty() && !options_.mode.empty()) {
    op_ = detail::resolve_metric(options_.metric, options_.mode, "", "", kName);
  }
}

void HyperBandScheduler::set_search_properties(const std::string& metric, const std::string& mode) {
  op_ = detail::resolve_metric(options_.metric, options_.mode, metric, mode, kName);
}

int HyperBandScheduler::next_bracket_s(size_t brackets_in_band) const { return static_cast<int>(brackets_in_band); }

void HyperBandScheduler::on_trial_add(const TrialView& trial) {
  const std::string& id = trial.trial_id();
  if (where_.count(id)) return;  // a resumed trial keeps its bracket
  if (!current_ || bracket_at(*current_).filled()) {
    while (true) {
      if (static_cast<int>(bands_.back().size()) == s_max_1_) {
        bands_.emplace_back();
        changes_.push_back(detail::change_append(Json::array({"bands"}), Json::array()));
      }
      const int s = next_bracket_s(bands_.back().size());
      const double eta = options_.reduction_factor;
      Bracket bracket;
      bracket.s = s;
      bracket.r0 = bracket.r = bracket.cumul_r = r0_of(options_.max_t, s, eta);
      // A bracket too small to run anything stays empty (n0 = 0), as Ray's None.
      bracket.n0 = bracket.n = bracket.r0 == 0 ? 0 : n0_of(s_max_1_, s, eta);
      double n = static_cast<double>(bracket.n0);
      int64_t r = bracket.r0;
      for (int k = 0; k <= s; ++k) {
        bracket.total_work = saturate_cast<int64_t>(static_cast<double>(bracket.total_work) + n * static_cast<double>(r));
        n = std::ceil(n / eta);
        r = saturate_cast<int64_t>(std::min(static_cast<double>(r) * eta, options_.max_t - static_cast<double>(bracket.r0)));
      }
      changes_.push_back(detail::change_append(Json::array({"bands", bands_.size() - 1}), bracket_json(bracket)));
      bands_.back().push_back(std::move(bracket));
      if (bands_.back().back().n0 == 0) continue;
      current_ = Where{bands_.size() - 1, bands_.back().size() - 1};
      changes_.push_back(detail::change_set(Json::array({"current"}), Json::array({current_->band, current_->bracket})));
      break;
    }
  }
  Bracket& bracket = bracket_at(*current_);
  bracket.all.push_back(id);
  bracket.live.emplace(id, Bracket::Seen{});
  where_[id] = *current_;
  const Json path = Json::array({"bands", current_->band, current_->bracket});
  changes_.push_back(detail::change_append(extend(path, {"all"}), id));
  changes_.push_back(detail::change_set(extend(path, {"live", id}), seen_json(Bracket::Seen{})));
}

bool HyperBandScheduler::continue_trial(const Bracket& bracket, const std::string& trial_id) const {
  if (!options_.stop_last_trials && bracket.s == 0) return true;
  auto it = bracket.live.find(trial_id);
  return it != bracket.live.end() && it->second.time < static_cast<double>(bracket.cumul_r);
}

Decision HyperBandScheduler::on_trial_result(const TrialView& trial, const Result& result) {
  auto where = where_.find(trial.trial_id());
  if (where == where_.end()) return Decision::kContinue;
  Bracket& bracket = bracket_at(where->second);
  Bracket::Seen& seen = bracket.live.at(trial.trial_id());
  const double time = detail::number_at(result, options_.time_attr).value_or(seen.time);
  bracket.completed_progress += time - seen.time;
  seen.time = time;
  if (auto value = detail::number_at(result, options_.metric)) seen.score = op_ * *value;
  const Json path = Json::array({"bands", where->second.band, where->second.bracket});
  changes_.push_back(detail::change_set(extend(path, {"progress"}), bracket.completed_progress));
  changes_.push_back(detail::change_set(extend(path, {"live", trial.trial_id()}), seen_json(seen)));
  if (to_resume_.erase(trial.trial_id())) {
    changes_.push_back(detail::change_remove(Json::array({"to_resume"}), trial.trial_id()));
  }
  if (continue_trial(bracket, trial.trial_id())) return Decision::kContinue;
  return process_bracket(bracket, trial.trial_id());
}

Decision HyperBandScheduler::process_bracket(Bracket& bracket, const std::string& reporting) {
  Decision decision = Decision::kPause;
  if (!bracket.cur_iter_done()) return decision;
  // Halving rewrites the bracket, the resume set and the count: journaled whole (rare).
  struct Note {
    HyperBandScheduler& scheduler;
    const Bracket& bracket;
    ~Note() {
      scheduler.note_bracket(bracket);
      scheduler.note_to_resume();
      scheduler.changes_.push_back(detail::change_set(Json::array({"num_stopped"}), scheduler.num_stopped_));
    }
  } note{*this, bracket};
  auto drop = [&](const std::string& id) {
    bracket.live.erase(id);
    where_.erase(id);
    to_resume_.erase(id);
    if (id == reporting) {
      decision = Decision::kStop;
    } else {
      actions_.push_back(SchedulerAction{SchedulerAction::Kind::kStop, id, "", Config(), ""});
    }
  };
  if (options_.stop_last_trials && bracket.s == 0) {
    // The bracket is finished: everything in it stops.
    std::vector<std::string> ids;
    for (const auto& [id, seen] : bracket.live) ids.push_back(id);
    for (const std::string& id : ids) drop(id);
    return Decision::kStop;
  }
  if (bracket.s == 0) return Decision::kContinue;  // stop_last_trials = false: the last ones run on
  // Successive halving: keep the top n at the next milestone.
  const double eta = options_.reduction_factor;
  --bracket.s;
  bracket.n = saturate_cast<int64_t>(std::ceil(static_cast<double>(bracket.n) / eta));
  bracket.r = saturate_cast<int64_t>(
      std::min(static_cast<double>(bracket.r) * eta, options_.max_t - static_cast<double>(bracket.cumul_r)));
  bracket.cumul_r = bracket.r;
  std::vector<std::pair<double, std::string>> ranked;
  for (const auto& [id, seen] : bracket.live) {
    ranked.emplace_back(seen.score.value_or(-std::numeric_limits<double>::infinity()), id);
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = static_cast<size_t>(bracket.n); k < ranked.size(); ++k) {
    ++num_stopped_;
    drop(ranked[k].second);
  }
  for (size_t k = 0; k < ranked.size() && k < static_cast<size_t>(bracket.n); ++k) {
    const std::string& id = ranked[k].second;
    if (!continue_trial(bracket, id)) continue;
    if (id == reporting) {
      decision = Decision::kContinue;
    } else {
      to_resume_.insert(id);
    }
  }
  return decision;
}

void HyperBandScheduler::remove_trial(const std::string& trial_id) {
  auto where = where_.find(trial_id);
  if (where == where_.end()) return;
  Bracket& bracket = bracket_at(where->second);
  bracket.live.erase(trial_id);
  changes_.push_back(
      detail::change_erase(Json::array({"bands", where->second.band, where->second.bracket, "live", trial_id})));
  where_.erase(where);
  if (to_resume_.erase(trial_id)) changes_.push_back(detail::change_remove(Json::array({"to_resume"}), trial_id));
  if (!(options_.stop_last_trials && bracket.s == 0 && bracket.cur_iter_done())) process_bracket(bracket, "");
}

void HyperBandScheduler::on_trial_complete(const TrialView& trial, const Result& result) {
  (void)result;
  remove_trial(trial.trial_id());
}

void HyperBandScheduler::on_trial_error(const TrialView& trial) { remove_trial(trial.trial_id()); }

std::optional<size_t> HyperBandScheduler::choose_trial_to_run(const std::vector<TrialView>& candidates) {
  const size_t resumable = to_resume_.size();
  const std::optional<size_t> chosen = choose(candidates);
  if (to_resume_.size() != resumable) note_to_resume();  // a paused winner was taken
  return chosen;
}

std::optional<size_t> HyperBandScheduler::choose(const std::vector<TrialView>& candidates) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < candidates.size(); ++i) index[candidates[i].trial_id()] = i;
  for (const auto& band : bands_) {
    // Brackets least done first, so that they progress evenly.
    std::vector<const Bracket*> order;
    for (const Bracket& bracket : band) order.push_back(&bracket);
    std::stable_sort(order.begin(), order.end(),
                     [](const Bracket* a, const Bracket* b) { return a->completion() < b->completion(); });
    for (const Bracket* bracket : order) {
      if (auto chosen = pick_in(*bracket, index, candidates, to_resume_)) return chosen;
    }
  }
  // A trial this scheduler does not know (cannot happen) runs FIFO.
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (!where_.count(candidates[i].trial_id()) && candidates[i].status() == TrialStatus::kPending) return i;
  }
  return std::nullopt;
}

std::vector<SchedulerAction> HyperBandScheduler::take_actions() { return std::exchange(actions_, {}); }

std::vector<StateChange> HyperBandScheduler::take_state_changes() { return std::exchange(changes_, {}); }

Json HyperBandScheduler::bracket_path(const Bracket& bracket) const {
  for (size_t i = 0; i < bands_.size(); ++i) {
    for (size_t j = 0; j < bands_[i].size(); ++j) {
      if (&bands_[i][j] == &bracket) return Json::array({"bands", i, j});
    }
  }
  return Json();  // not ours (cannot happen)
}

void HyperBandScheduler::note_bracket(const Bracket& bracket) {
  if (Json path = bracket_path(bracket); !path.is_null()) {
    changes_.push_back(detail::change_set(std::move(path), bracket_json(bracket)));
  }
}

void HyperBandScheduler::note_to_resume() { changes_.push_back(detail::change_set(Json::array({"to_resume"}), to_resume_)); }

std::string HyperBandScheduler::debug_string() const {
  size_t total = 0;
  for (const auto& band : bands_) total += band.size();
  std::string out = fmt::format("Using HyperBand: num_stopped={} total_brackets={}", num_stopped_, total);
  for (size_t i = 0; i < bands_.size(); ++i) {
    out += fmt::format("\nRound #{}:", i);
    for (const Bracket& b : bands_[i]) {
      if (b.n0 == 0) continue;
      out += fmt::format("\n  Bracket(Max Size (n)={}, Milestone (r)={}, completed={:.1f}%): {{trials: {}, live: {}}}",
                         b.n, b.cumul_r, 100.0 * b.completion(), b.all.size(), b.live.size());
    }
  }
  return out;
}

Json HyperBandScheduler::save() const {
  Json bands = Json::array();
  for (const auto& band : bands_) {
    Json list = Json::array();
    for (const Bracket& b : band) list.push_back(bracket_json(b));
    bands.push_back(std::move(list));
  }
  Json current = current_ ? Json::array({current_->band, current_->bracket}) : Json(nullptr);
  return Json{{"type", "hyperband"}, {"bands", std::move(bands)}, {"current", std::move(current)},
              {"to_resume", to_resume_}, {"num_stopped", num_stopped_}};
}

void HyperBandScheduler::restore(const Json& state) {
  if (!state.is_object() || state.value("type", "") != "hyperband") return;
  bands_.clear();
  where_.clear();
  for (const Json& list : state.at("bands")) {
    bands_.emplace_back();
    for (const Json& j : list) {
      Bracket b;
      b.s = j.at("s");
      b.n0 = j.at("n0");
      b.n = j.at("n");
      b.r0 = j.at("r0");
      b.r = j.at("r");
      b.cumul_r = j.at("cumul_r");
      b.total_work = j.at("total_work");
      b.completed_progress = j.at("progress");
      b.all = j.at("all").get<std::vector<std::string>>();
      for (const auto& [id, seen] : j.at("live").items()) {
        const Json& score = seen.at("score");
        b.live[id] = Bracket::Seen{seen.at("time").get<double>(),
                                   score.is_number() ? std::optional<double>(score.get<double>()) : std::nullopt};
        where_[id] = Where{bands_.size() - 1, bands_.back().size()};
      }
      bands_.back().push_back(std::move(b));
    }
  }
  if (bands_.empty()) bands_.emplace_back();
  current_.reset();
  if (const Json& c = state.at("current"); c.is_array()) current_ = Where{c.at(0).get<size_t>(), c.at(1).get<size_t>()};
  to_resume_ = state.value("to_resume", std::set<std::string>{});
  num_stopped_ = state.value("num_stopped", int64_t{0});
}

// HyperBandForBOHB

int HyperBandForBOHB::next_bracket_s(size_t brackets_in_band) const {
  return s_max_1_ - static_cast<int>(brackets_in_band) - 1;  // largest bracket first
}

std::optional<size_t> HyperBandForBOHB::choose(const std::vector<TrialView>& candidates) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < candidates.size(); ++i) index[candidates[i].trial_id()] = i;
  auto pick = [&]() -> std::optional<size_t> {
    for (const auto& band : bands_) {
      for (const Bracket& bracket : band) {  // bracket order, not completion
        if (auto chosen = pick_in(bracket, index, candidates, to_resume_)) return chosen;
      }
    }
    return std::nullopt;
  };
  if (auto chosen = pick()) return chosen;
  // Nothing to run: a bracket whose live trials all wait PAUSED (its searcher suggested no
  // more, so it never fills) is halved now.
  for (auto& band : bands_) {
    for (Bracket& bracket : band) {
      if (bracket.live.empty()) continue;
      const bool all_paused = std::all_of(bracket.live.begin(), bracket.live.end(), [&](const auto& entry) {
        auto it = index.find(entry.first);
        return it != index.end() && candidates[it->second].status() == TrialStatus::kPaused &&
               !to_resume_.count(entry.first);
      });
      if (!all_paused) continue;
      process_bracket(bracket, "");
      if (auto chosen = pick()) return chosen;
    }
  }
  return std::nullopt;
}

std::string HyperBandForBOHB::debug_string() const {
  std::string line = HyperBandScheduler::debug_string();
  return "Using HyperBandForBOHB" + line.substr(line.find(':'));
}

}  // namespace tune
