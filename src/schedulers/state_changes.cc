// StateChange: incremental journaling of scheduler states (tune/scheduler.h).
#include <fmt/format.h>

#include <algorithm>

#include "schedulers/scheduler_util.h"
#include "tune/error.h"
#include "tune/scheduler.h"

namespace tune {
namespace {

constexpr const char* kOpNames[] = {"set", "erase", "append", "insert", "remove"};

[[noreturn]] void bad(const Json& path, const std::string& why) {
  throw TuneError(fmt::format("scheduler state change at {}: {}", path.dump(), why));
}

// The value at `path` without its last step, creating objects for missing keys when `create`.
Json* parent_of(Json& state, const Json& path, bool create) {
  Json* node = &state;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    const Json& step = path[i];
    if (step.is_string()) {
      if (node->is_null() && create) *node = Json::object();
      if (!node->is_object()) bad(path, "not an object");
      auto it = node->find(step.get<std::string>());
      if (it == node->end()) {
        if (!create) return nullptr;
        it = node->emplace(step.get<std::string>(), Json::object()).first;
      }
      node = &*it;
    } else if (step.is_number_unsigned() || step.is_number_integer()) {
      const auto index = step.get<int64_t>();
      if (!node->is_array() || index < 0 || static_cast<size_t>(index) >= node->size()) bad(path, "no such index");
      node = &(*node)[static_cast<size_t>(index)];
    } else {
      bad(path, "a path step must be a key or an index");
    }
  }
  return node;
}

// The slot `path` names (its last step applied to the parent); null when absent and not `create`.
Json* slot_of(Json& state, const Json& path, bool create) {
  if (path.empty()) return &state;
  Json* parent = parent_of(state, path, create);
  if (parent == nullptr) return nullptr;
  const Json& last = path.back();
  if (last.is_string()) {
    if (parent->is_null() && create) *parent = Json::object();
    if (!parent->is_object()) bad(path, "not an object");
    auto it = parent->find(last.get<std::string>());
    if (it != parent->end()) return &*it;
    if (!create) return nullptr;
    return &(*parent)[last.get<std::string>()];
  }
  if (!last.is_number_integer() && !last.is_number_unsigned()) bad(path, "a path step must be a key or an index");
  const auto index = last.get<int64_t>();
  if (!parent->is_array() || index < 0 || static_cast<size_t>(index) >= parent->size()) bad(path, "no such index");
  return &(*parent)[static_cast<size_t>(index)];
}

}  // namespace

Json state_changes_to_json(const std::vector<StateChange>& changes) {
  Json out = Json::array();
  for (const StateChange& c : changes) {
    Json entry = Json::array({kOpNames[static_cast<int>(c.op)], c.path});
    if (c.op != StateChange::Op::kErase) entry.push_back(c.value);
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<StateChange> state_changes_from_json(const Json& json) {
  if (!json.is_array()) throw TuneError("scheduler state changes: not a list");
  std::vector<StateChange> out;
  for (const Json& entry : json) {
    if (!entry.is_array() || entry.size() < 2 || !entry[0].is_string() || !entry[1].is_array()) {
      throw TuneError(fmt::format("scheduler state change: malformed {}", entry.dump()));
    }
    const auto name = entry[0].get<std::string>();
    const auto* it = std::find(std::begin(kOpNames), std::end(kOpNames), name);
    if (it == std::end(kOpNames)) throw TuneError(fmt::format("scheduler state change: unknown op '{}'", name));
    StateChange change;
    change.op = static_cast<StateChange::Op>(it - std::begin(kOpNames));
    change.path = entry[1];
    if (entry.size() > 2) change.value = entry[2];
    out.push_back(std::move(change));
  }
  return out;
}

namespace detail {
namespace {

void diff_into(const Json& before, const Json& after, Json& path, std::vector<StateChange>& out) {
  if (before.is_object() && after.is_object()) {
    for (auto it = before.begin(); it != before.end(); ++it) {
      if (!after.contains(it.key())) {
        path.push_back(it.key());
        out.push_back(change_erase(path));
        path.erase(path.size() - 1);
      }
    }
    for (auto it = after.begin(); it != after.end(); ++it) {
      path.push_back(it.key());
      auto old = before.find(it.key());
      if (old == before.end()) {
        out.push_back(change_set(path, *it));
      } else {
        diff_into(*old, *it, path, out);
      }
      path.erase(path.size() - 1);
    }
    return;
  }
  if (before.is_array() && after.is_array() && after.size() >= before.size() &&
      std::equal(before.begin(), before.end(), after.begin())) {
    for (size_t i = before.size(); i < after.size(); ++i) out.push_back(change_append(path, after[i]));
    return;
  }
  if (before != after) out.push_back(change_set(path, after));
}

}  // namespace

std::vector<StateChange> diff_states(const Json& before, const Json& after) {
  std::vector<StateChange> out;
  Json path = Json::array();
  diff_into(before, after, path, out);
  return out;
}

}  // namespace detail

void apply_state_changes(Json& state, const std::vector<StateChange>& changes) {
  for (const StateChange& c : changes) {
    switch (c.op) {
      case StateChange::Op::kSet:
        *slot_of(state, c.path, true) = c.value;
        break;
      case StateChange::Op::kErase: {
        if (c.path.empty() || !c.path.back().is_string()) bad(c.path, "erase needs a key");
        Json* parent = parent_of(state, c.path, false);
        if (parent != nullptr && parent->is_object()) parent->erase(c.path.back().get<std::string>());
        break;
      }
      case StateChange::Op::kAppend: {
        Json* slot = slot_of(state, c.path, true);
        if (slot->is_null()) *slot = Json::array();
        if (!slot->is_array()) bad(c.path, "append needs an array");
        slot->push_back(c.value);
        break;
      }
      case StateChange::Op::kInsert:
      case StateChange::Op::kRemove: {
        Json* slot = slot_of(state, c.path, true);
        if (slot->is_null()) *slot = Json::array();
        if (!slot->is_array()) bad(c.path, "a set change needs an array");
        auto& items = slot->get_ref<Json::array_t&>();
        const auto at = std::lower_bound(items.begin(), items.end(), c.value);
        const bool present = at != items.end() && *at == c.value;
        if (c.op == StateChange::Op::kInsert && !present) items.insert(at, c.value);
        if (c.op == StateChange::Op::kRemove && present) items.erase(at);
        break;
      }
    }
  }
}

}  // namespace tune
