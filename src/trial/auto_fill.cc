// Auto-filled result fields (ray-tune-semantics.md §2).
#include "trial/auto_fill.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <limits>
#include <cmath>
#include <chrono>
#include <string_view>
#include <type_traits>

#include "common/json_writer.h"
#include "common/saturate.h"
#include "common/strings.h"
#include "common/untrusted_json.h"
#include "tune/error.h"

namespace tune::detail {
namespace {

std::string first_ipv4() {
  ifaddrs* list = nullptr;
  std::string ip = "127.0.0.1";
  if (getifaddrs(&list) != 0) return ip;
  for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
    char buffer[INET_ADDRSTRLEN];
    const auto* address = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
    if (inet_ntop(AF_INET, &address->sin_addr, buffer, sizeof buffer) == nullptr) continue;
    if (std::string(buffer).rfind("127.", 0) == 0) continue;
    ip = buffer;
    break;
  }
  freeifaddrs(list);
  return ip;
}

constexpr double kInt64Limit = 9.2e18;  // inside int64's range, exactly representable as a double

// A reported count as an integer: saturated at int64's range, 0 for NaN (a cast out of range
// would be undefined).
int64_t as_int(const Json& value) {
  if (value.is_number_unsigned()) return static_cast<int64_t>(std::min<uint64_t>(value.get<uint64_t>(), INT64_MAX));
  if (value.is_number_integer()) return value.get<int64_t>();
  if (!value.is_number()) return 0;
  const double x = value.get<double>();
  return std::isnan(x) ? 0 : saturate_cast<int64_t>(x);
}

// a + b, saturated at int64's range: the totals add what trials report.
int64_t saturating_add(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

// A flag's value as Ray reads it: true, or a non-zero number (NaN too, as Python's bool()).
bool truthy(const Json& value) {
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_number_unsigned()) return value.get<uint64_t>() != 0;
  if (value.is_number_integer()) return value.get<int64_t>() != 0;
  return value.is_number() && value.get<double>() != 0.0;
}

bool whole_number(const Json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX);
  if (value.is_number_integer()) return value.get<int64_t>() >= 0;
  if (!value.is_number_float()) return false;
  const double x = value.get<double>();
  return x >= 0 && x <= kInt64Limit && x == std::floor(x);
}

std::string wrong_type(std::string_view key, std::string_view expected, const Json& value) {
  const std::string shown =
      value.is_null() ? "" : " " + quoted_excerpt(value.dump(-1, ' ', false, Json::error_handler_t::replace), 80);
  return fmt::format("result: \"{}\" must be {}, got {}{}", key, expected, value.type_name(), shown);
}

// The reported fields tune acts on, checked before any counter moves: the flags become
// booleans and training_iteration an integer; a value that cannot be read as one fails.
void check_reserved_fields(Json::object_t& object) {
  for (const char* key : {"done", "should_checkpoint"}) {
    const auto it = object.find(key);
    if (it == object.end() || it->second.is_boolean()) continue;
    if (!it->second.is_number()) throw TuneError(wrong_type(key, "true or false", it->second));
    it->second = truthy(it->second);
  }
  if (const auto it = object.find("training_iteration"); it != object.end()) {
    if (!whole_number(it->second)) throw TuneError(wrong_type("training_iteration", "a whole number >= 0", it->second));
    it->second = as_int(it->second);
  }
}

}  // namespace

bool result_flag(const Result& result, std::string_view key) {
  if (!result.is_object()) return false;
  const auto it = result.find(key);
  return it != result.end() && truthy(*it);
}

const HostInfo& HostInfo::get() {
  static const HostInfo info = [] {
    HostInfo h;
    char name[256] = {};
    gethostname(name, sizeof name - 1);
    h.hostname = name;
    h.node_ip = first_ipv4();
    h.pid = getpid();
    return h;
  }();
  return info;
}

AutoFiller::AutoFiller(const TrialInfo& info, const Config& config)
    : trial_id_(info.trial_id), experiment_id_(info.experiment_id), config_(config) {}

void AutoFiller::restore(int64_t iteration, double time_total_s, int64_t timesteps_total, int64_t episodes_total) {
  iteration_ = iteration;
  time_total_s_ = time_total_s;
  timesteps_total_ = timesteps_total;
  episodes_total_ = episodes_total;
  iterations_since_restore_ = 0;
  time_since_restore_ = 0;
  timesteps_since_restore_ = 0;
}

namespace {

// Sets keys of a result in ascending order: one merge pass over the result's sorted keys
// instead of a tree search (and a key string) per field. A field the result lacks takes its
// map node from `spare` (a spent result) when it has one, so steady-state filling allocates
// nothing: the node, the key and, for strings, the buffer are reused.
class SortedSetter {
 public:
  SortedSetter(Json::object_t& object, Json::object_t& spare)
      : object_(object), at_(object.begin()), spare_(spare), spare_at_(spare.begin()) {}
  // Adds or replaces `key`.
  template <typename V>
  void set(std::string_view key, V&& value) {
    if (seek(key)) {
      assign(at_->second, std::forward<V>(value));
    } else if (auto node = take_spare(key)) {
      assign(node.mapped(), std::forward<V>(value));
      at_ = object_.insert(at_, std::move(node));
    } else {
      at_ = object_.emplace_hint(at_, std::string(key), std::forward<V>(value));
    }
    ++at_;
  }
  // Adds `key` unless the result has it.
  template <typename V>
  void set_default(std::string_view key, V&& value) {
    if (!seek(key)) {
      if (auto node = take_spare(key)) {
        assign(node.mapped(), std::forward<V>(value));
        at_ = object_.insert(at_, std::move(node));
      } else {
        at_ = object_.emplace_hint(at_, std::string(key), std::forward<V>(value));
      }
    }
    ++at_;
  }

 private:
  // Moves to the first key >= `key`; true when it is `key`.
  bool seek(std::string_view key) {
    assert(last_.empty() || last_ < key);  // callers go in ascending order
    last_ = key;
    while (at_ != object_.end() && std::string_view(at_->first) < key) ++at_;
    return at_ != object_.end() && at_->first == key;
  }
  Json::object_t::node_type take_spare(std::string_view key) {
    while (spare_at_ != spare_.end() && std::string_view(spare_at_->first) < key) ++spare_at_;
    if (spare_at_ == spare_.end() || spare_at_->first != key) return {};
    return spare_.extract(spare_at_++);
  }
  // Assignments that keep the slot's memory where they can.
  template <typename V>
  static void assign(Json& slot, V&& value) {
    using T = std::remove_cvref_t<V>;
    if constexpr (std::is_same_v<T, std::string>) {
      if (slot.is_string()) {
        slot.get_ref<std::string&>() = value;  // reuses the buffer
        return;
      }
    } else if constexpr (std::is_same_v<T, Json>) {
      if (same_json(slot, value)) return;  // usually the very same config: kept as it is
    }
    slot = std::forward<V>(value);
  }

  Json::object_t& object_;
  Json::object_t::iterator at_;
  Json::object_t& spare_;
  Json::object_t::iterator spare_at_;
  std::string_view last_;
};

const Json* find_number(const Json::object_t& object, std::string_view key) {
  const auto it = object.find(key);
  return it != object.end() && it->second.is_number() ? &it->second : nullptr;
}

}  // namespace

void AutoFiller::fill(Result& result, double measured_seconds) {
  if (result.is_null()) result = Json::object();
  if (!result.is_object()) {
    throw TuneError(fmt::format("result: a trial must report a JSON object, got {}", result.type_name()));
  }
  Json::object_t& object = result.get_ref<Json::object_t&>();
  check_reserved_fields(object);
  ++iteration_;
  ++iterations_since_restore_;
  // What the trial reported that the filled fields depend on.
  const Json* reported_time = find_number(object, "time_this_iter_s");
  const double this_iter = reported_time ? reported_time->get<double>() : measured_seconds;
  if (const Json* steps = find_number(object, "timesteps_this_iter")) {
    has_timesteps_ = true;
    timesteps_total_ = saturating_add(timesteps_total_, as_int(*steps));
    timesteps_since_restore_ = saturating_add(timesteps_since_restore_, as_int(*steps));
  }
  if (const Json* episodes = find_number(object, "episodes_this_iter")) {
    has_episodes_ = true;
    episodes_total_ = saturating_add(episodes_total_, as_int(*episodes));
  }
  const Json* mean_loss = find_number(object, "mean_loss");
  const double neg_mean_loss = mean_loss ? -mean_loss->get<double>() : 0.0;
  time_total_s_ += this_iter;
  time_since_restore_ += this_iter;
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  if (now != date_cached_for_) {
    date_cached_for_ = now;
    date_cached_ = date_string(now);
  }
  const HostInfo& host = HostInfo::get();
  // In ascending key order (SortedSetter).
  SortedSetter fields(object, spare_);
  fields.set("config", config_);
  fields.set("date", date_cached_);
  fields.set_default("done", false);
  if (has_episodes_) fields.set_default("episodes_total", episodes_total_);
  fields.set("experiment_id", experiment_id_);
  fields.set("hostname", host.hostname);
  fields.set("iterations_since_restore", iterations_since_restore_);
  if (mean_loss) fields.set_default("neg_mean_loss", neg_mean_loss);
  fields.set("node_ip", host.node_ip);
  fields.set("pid", host.pid);
  fields.set("time_since_restore", time_since_restore_);
  if (!reported_time) fields.set("time_this_iter_s", measured_seconds);
  fields.set("time_total_s", time_total_s_);
  fields.set("timestamp", static_cast<int64_t>(now));
  if (has_timesteps_) {
    fields.set("timesteps_since_restore", timesteps_since_restore_);
    fields.set_default("timesteps_total", timesteps_total_);
  }
  fields.set_default("training_iteration", iteration_);
  fields.set("trial_id", trial_id_);
  spare_.clear();  // what is left of it is not needed
}

void AutoFiller::give_spare(Result&& spent) {
  if (!spent.is_object()) return;
  spare_ = std::move(spent.get_ref<Json::object_t&>());
}

}  // namespace tune::detail
