// Auto-filled result fields (ray-tune-semantics.md §2).
#include "trial/auto_fill.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>

#include "common/strings.h"
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

int64_t as_int(const Json& value) {
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number()) return static_cast<int64_t>(value.get<double>());
  return 0;
}

}  // namespace

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

void AutoFiller::fill(Result& result, double measured_seconds) {
  if (result.is_null()) result = Json::object();
  if (!result.is_object()) {
    throw TuneError(fmt::format("result: a trial must report a JSON object, got {}", result.type_name()));
  }
  ++iteration_;
  ++iterations_since_restore_;
  auto set_default = [&result](const char* key, Json value) {
    auto it = result.find(key);
    if (it == result.end()) result.emplace(key, std::move(value));
  };
  double this_iter = measured_seconds;
  if (auto it = result.find("time_this_iter_s"); it != result.end() && it->is_number()) {
    this_iter = it->get<double>();
  } else {
    result["time_this_iter_s"] = measured_seconds;
  }
  time_total_s_ += this_iter;
  time_since_restore_ += this_iter;
  set_default("done", false);
  set_default("training_iteration", iteration_);
  result["time_total_s"] = time_total_s_;
  if (auto it = result.find("timesteps_this_iter"); it != result.end() && it->is_number()) {
    has_timesteps_ = true;
    timesteps_total_ += as_int(*it);
    timesteps_since_restore_ += as_int(*it);
  }
  if (has_timesteps_) {
    set_default("timesteps_total", timesteps_total_);
    result["timesteps_since_restore"] = timesteps_since_restore_;
  }
  if (auto it = result.find("episodes_this_iter"); it != result.end() && it->is_number()) {
    has_episodes_ = true;
    episodes_total_ += as_int(*it);
  }
  if (has_episodes_) set_default("episodes_total", episodes_total_);
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  if (now != date_cached_for_) {
    date_cached_for_ = now;
    date_cached_ = date_string(now);
  }
  const HostInfo& host = HostInfo::get();
  result["timestamp"] = static_cast<int64_t>(now);
  result["date"] = date_cached_;
  result["hostname"] = host.hostname;
  result["node_ip"] = host.node_ip;
  result["pid"] = host.pid;
  result["trial_id"] = trial_id_;
  result["experiment_id"] = experiment_id_;
  result["iterations_since_restore"] = iterations_since_restore_;
  result["time_since_restore"] = time_since_restore_;
  result["config"] = config_;
  if (auto it = result.find("mean_loss"); it != result.end() && it->is_number()) {
    set_default("neg_mean_loss", -it->get<double>());
  }
}

}  // namespace tune::detail
