// Internal: helpers shared by the metric-driven schedulers.
#pragma once

#include <optional>
#include <string>

#include "tune/json.h"
#include "tune/scheduler.h"

namespace tune::detail {

// The number at `path` ("a/b") of a result, nullopt when absent or not a number.
std::optional<double> number_at(const Result& result, const std::string& path);

// Fills a scheduler's metric and mode from the run's when it has none of its own and
// returns the sign that makes bigger better (+1 for max, -1 for min). Throws TuneError
// naming `scheduler` when either is still missing or the mode is not min/max.
double resolve_metric(std::string& metric, std::string& mode, const std::string& run_metric,
                      const std::string& run_mode, const std::string& scheduler);

// Throws TuneError "<field>: <rule>, got <value> (<scheduler>)" unless `ok`.
void require(bool ok, const std::string& field, const std::string& rule, double value, const std::string& scheduler);

}  // namespace tune::detail

namespace tune::detail {

// Shorthands for the StateChanges a scheduler records (tune/scheduler.h).
inline StateChange change_set(Json path, Json value) {
  return {StateChange::Op::kSet, std::move(path), std::move(value)};
}
inline StateChange change_erase(Json path) { return {StateChange::Op::kErase, std::move(path), Json()}; }
inline StateChange change_append(Json path, Json value) {
  return {StateChange::Op::kAppend, std::move(path), std::move(value)};
}
inline StateChange change_insert(Json path, Json value) {
  return {StateChange::Op::kInsert, std::move(path), std::move(value)};
}
inline StateChange change_remove(Json path, Json value) {
  return {StateChange::Op::kRemove, std::move(path), std::move(value)};
}

// The changes that turn `before` into `after` (apply_state_changes(before, ...) == after), for
// a state whose owner does not track its changes (the runner journals searcher states so):
// objects are compared key by key, an array that only grew becomes appends, anything else that
// differs is set whole. O(size of the states) to compute; O(what differs) to journal.
std::vector<StateChange> diff_states(const Json& before, const Json& after);

}  // namespace tune::detail
