// The scheduler's decisions from its saved state (see scheduler_decisions.h). The state is
// untrusted input like every file: each field is checked and a malformed one is skipped.
#include "dashboard/scheduler_decisions.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#include "analysis/state_records.h"
#include "dashboard/experiment_view.h"
#include "schedulers/rung_cutoff.h"

namespace tune::dashboard {
namespace {

constexpr size_t kMaxListed = 200;
constexpr size_t kMaxExploitsShown = 1000;

// Whether the trial `id` ended without an error (a scheduler's stop ends it TERMINATED) with its
// last `time_attr` below max_t (a trial that reached max_t was not cut).
bool ended_before(const ExperimentView& view, const std::string& id, const std::string& time_attr, double max_t) {
  auto it = view.by_id.find(id);
  if (it == view.by_id.end()) return false;
  const TrialRecord& trial = view.disk.trials[it->second];
  if (trial.status() != TrialStatus::kTerminated) return false;
  const Result last = trial.last_result();  // a copy: find_path points into it
  const Json* time = find_path(last, time_attr);
  return !time || !time->is_number() || time->get<double>() < max_t;
}

Json asha(const ExperimentView& view, const Json& state) {
  // ASHA keeps max-is-better values (min negated); its saved mode and factor undo that.
  const Json mode = state.value("mode", Json(view.disk.mode));
  const double sign = mode == "max" ? 1.0 : -1.0;
  const Json rf = state.value("reduction_factor", Json());
  const double reduction_factor = rf.is_number() && rf.get<double>() > 1 ? rf.get<double>() : 4.0;  // ASHA's default
  const std::string time_attr = state.value("time_attr", Json()).is_string() ? state["time_attr"].get<std::string>()
                                                                             : std::string("training_iteration");
  const Json saved_max_t = state.value("max_t", Json());
  const double max_t = saved_max_t.is_number() ? saved_max_t.get<double>() : std::numeric_limits<double>::infinity();
  Json brackets = Json::array();
  const Json& saved = state.contains("brackets") ? state["brackets"] : Json();
  if (!saved.is_array()) return nullptr;
  for (const Json& saved_rungs : saved) {
    if (!saved_rungs.is_array()) continue;
    // The well-formed rungs in milestone order (ASHA keeps them highest first).
    std::vector<std::pair<double, Json>> rungs;
    for (const Json& rung : saved_rungs) {
      if (!rung.is_object() || !rung.value("milestone", Json()).is_number()) continue;
      const Json recorded = rung.value("recorded", Json::object());
      if (recorded.is_object()) rungs.emplace_back(rung["milestone"].get<double>(), recorded);
    }
    std::stable_sort(rungs.begin(), rungs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    // The highest rung each trial reached in this bracket.
    std::map<std::string, size_t> highest;
    for (size_t k = 0; k < rungs.size(); ++k)
      for (const auto& [id, value] : rungs[k].second.items()) highest[id] = k;
    Json out = Json::array();
    for (size_t k = 0; k < rungs.size(); ++k) {
      const Json& recorded = rungs[k].second;
      std::vector<double> values;
      for (const auto& [id, value] : recorded.items())
        if (value.is_number()) values.push_back(value.get<double>());
      const std::optional<double> cut = detail::rung_cutoff(values, reduction_factor);
      Json stopped = Json::array();
      int64_t stopped_count = 0;
      // Cut here: ended (TERMINATED) with this rung the last it reached, before max_t.
      for (const auto& [id, value] : recorded.items()) {
        if (!value.is_number() || highest[id] != k || !ended_before(view, id, time_attr, max_t)) continue;
        ++stopped_count;
        if (stopped.size() < kMaxListed) stopped.push_back(id);
      }
      out.push_back({{"milestone", rungs[k].first},
                     {"recorded", recorded.size()},
                     {"cutoff", cut ? Json(sign * *cut) : Json(nullptr)},
                     {"stopped", stopped_count},
                     {"stopped_trials", std::move(stopped)}});
    }
    brackets.push_back({{"rungs", std::move(out)}});
  }
  const Json num_stopped = state.value("num_stopped", Json());
  return {{"type", "asha"},
          {"reduction_factor", reduction_factor},
          {"num_stopped", num_stopped.is_number_integer() ? num_stopped : Json(nullptr)},
          {"brackets", std::move(brackets)}};
}

Json hyperband(const Json& state) {
  const Json& bands = state.contains("bands") ? state["bands"] : Json();
  if (!bands.is_array()) return nullptr;
  Json out = Json::array();
  for (const Json& band : bands) {
    if (!band.is_array()) continue;
    Json brackets = Json::array();
    for (const Json& b : band) {
      if (!b.is_object()) continue;
      const Json all = b.value("all", Json::array());
      const Json live = b.value("live", Json::object());
      Json trials = Json::array();
      if (all.is_array())
        for (const Json& id : all)
          if (id.is_string() && trials.size() < kMaxListed) trials.push_back(id);
      brackets.push_back({{"size", b.value("n", Json())},
                          {"milestone", b.value("cumul_r", Json())},
                          {"trials", all.is_array() ? all.size() : 0},
                          {"live", live.is_object() ? live.size() : 0},
                          {"trial_ids", std::move(trials)}});
    }
    out.push_back(std::move(brackets));
  }
  const Json num_stopped = state.value("num_stopped", Json());
  return {{"type", "hyperband"},
          {"num_stopped", num_stopped.is_number_integer() ? num_stopped : Json(nullptr)},
          {"bands", std::move(out)}};
}

// PBT's exploits, from the journal's config records: each is a trial taking another's config
// and checkpoint ("from"), written when the exploit happens. The journal is only appended to
// (a snapshot does not rewrite it), so it holds every exploit; the checkpoint a trial cloned is
// the source's latest checkpoint record before it. The most recent kMaxExploitsShown are kept.
Json pbt(const ExperimentView& view, const Json& state) {
  std::ifstream in(view.dir / detail::kJournalFile, std::ios::binary);
  std::map<int64_t, std::string> id_of;         // trial index -> id
  std::map<std::string, Json> last_checkpoint;  // trial id -> iteration of its latest checkpoint
  std::deque<Json> exploits;
  int64_t total = 0;
  std::string line;
  while (in && std::getline(in, line)) {
    Json parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object()) continue;  // a torn last line (or damage the reader reports elsewhere)
    std::vector<detail::StateRecord> records;
    try {
      records = detail::decode_line(parsed);
    } catch (const std::exception&) {
      continue;
    }
    for (detail::StateRecord& record : records) {
      if (auto* add = std::get_if<detail::AddRecord>(&record)) {
        id_of[add->index] = add->trial_id;
      } else if (auto* checkpoint = std::get_if<detail::CheckpointRecord>(&record)) {
        if (auto it = id_of.find(checkpoint->index); it != id_of.end())
          last_checkpoint[it->second] = checkpoint->checkpoint.value("iteration", Json());
      } else if (auto* config = std::get_if<detail::ConfigRecord>(&record); config && !config->from.empty()) {
        auto it = id_of.find(config->index);
        if (it == id_of.end()) continue;
        ++total;
        exploits.push_back(
            {{"trial", it->second},
             {"source", config->from},
             {"source_iteration", last_checkpoint.count(config->from) ? last_checkpoint[config->from] : Json(nullptr)},
             {"tag", config->tag},
             {"config", std::move(config->config)}});
        if (exploits.size() > kMaxExploitsShown) exploits.pop_front();
      }
    }
  }
  const Json count = state.value("num_perturbations", Json());
  return {{"type", "pbt"},
          {"num_perturbations", count.is_number_integer() ? count : Json(nullptr)},
          {"recorded", total},
          {"exploits", Json(std::vector<Json>(exploits.begin(), exploits.end()))}};
}

}  // namespace

Json scheduler_decisions(const ExperimentView& view) {
  const Json& state = view.disk.scheduler_state;
  if (!state.is_object()) return nullptr;
  const Json type = state.value("type", Json());
  if (type == "asha") return asha(view, state);
  if (type == "hyperband") return hyperband(state);
  if (type == "pbt") return pbt(view, state);
  return nullptr;
}

}  // namespace tune::dashboard
