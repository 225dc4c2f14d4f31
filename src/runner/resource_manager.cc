// Resource accounting for the local pool (see resource_manager.h).
#include "runner/resource_manager.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "tune/error.h"

namespace tune::detail {

int64_t ResourceManager::centi(double amount) { return static_cast<int64_t>(std::llround(amount * 100.0)); }

ResourceManager::ResourceManager(ResourcePool pool) : pool_(std::move(pool)) {
  cpu_capacity_ = centi(pool_.cpu);
  memory_capacity_ = static_cast<int64_t>(pool_.memory);
  const int gpus = static_cast<int>(std::floor(pool_.gpu + 1e-9));
  gpu_free_.assign(static_cast<size_t>(std::max(0, gpus)), 100);
  for (const auto& [name, amount] : pool_.custom) custom_capacity_[name] = centi(amount);
}

void ResourceManager::check_feasible(const Resources& request, const std::string& field) const {
  auto fail = [&](const std::string& what) {
    throw TuneError(fmt::format("{}: the request ({}) can never fit the resource pool ({} CPUs, {} GPUs{}): {}",
                                field, request.to_string(), pool_.cpu, pool_.gpu,
                                pool_.custom.empty() ? "" : ", custom " + Json(pool_.custom).dump(), what));
  };
  if (centi(request.total_cpu()) > cpu_capacity_) fail("not enough CPUs");
  if (centi(request.total_gpu()) > static_cast<int64_t>(gpu_free_.size()) * 100) fail("not enough GPUs");
  if (memory_capacity_ > 0 && request.total_memory() > static_cast<double>(memory_capacity_)) fail("not enough memory");
  for (const auto& [name, amount] : request.total_custom()) {
    auto it = custom_capacity_.find(name);
    if (amount > 0 && (it == custom_capacity_.end() || centi(amount) > it->second)) {
      fail(fmt::format("custom resource '{}' is {}", name,
                       it == custom_capacity_.end() ? "not in the pool (declare it with custom_resources)"
                                                    : "too small"));
    }
  }
}

bool ResourceManager::fits(const Resources& request) const {
  if (used_cpu_ + centi(request.total_cpu()) > cpu_capacity_) return false;
  if (memory_capacity_ > 0 && used_memory_ + static_cast<int64_t>(request.total_memory()) > memory_capacity_) {
    return false;
  }
  const int64_t gpu = centi(request.total_gpu());
  if (gpu > 0) {
    if (gpu < 100) {
      if (std::none_of(gpu_free_.begin(), gpu_free_.end(), [gpu](int64_t free) { return free >= gpu; })) return false;
    } else {
      const auto whole = std::count(gpu_free_.begin(), gpu_free_.end(), 100);
      if (whole * 100 < gpu) return false;
    }
  }
  for (const auto& [name, amount] : request.total_custom()) {
    auto cap = custom_capacity_.find(name);
    const int64_t used = custom_used_.count(name) ? custom_used_.at(name) : 0;
    if (centi(amount) > 0 && (cap == custom_capacity_.end() || used + centi(amount) > cap->second)) return false;
  }
  return true;
}

std::vector<int> ResourceManager::commit(const Resources& request) {
  used_cpu_ += centi(request.total_cpu());
  used_memory_ += static_cast<int64_t>(request.total_memory());
  for (const auto& [name, amount] : request.total_custom()) custom_used_[name] += centi(amount);
  std::vector<int> ids;
  const int64_t gpu = centi(request.total_gpu());
  if (gpu > 0 && gpu < 100) {
    int best = -1;
    for (int i = 0; i < static_cast<int>(gpu_free_.size()); ++i) {
      if (gpu_free_[i] >= gpu && (best < 0 || gpu_free_[i] < gpu_free_[best])) best = i;
    }
    gpu_free_[best] -= gpu;
    ids.push_back(best);
  } else if (gpu >= 100) {
    int64_t needed = gpu / 100;
    for (int i = 0; i < static_cast<int>(gpu_free_.size()) && needed > 0; ++i) {
      if (gpu_free_[i] == 100) {
        gpu_free_[i] = 0;
        ids.push_back(i);
        --needed;
      }
    }
  }
  return ids;
}

void ResourceManager::release(const Resources& request, const std::vector<int>& gpu_ids) {
  used_cpu_ -= centi(request.total_cpu());
  used_memory_ -= static_cast<int64_t>(request.total_memory());
  for (const auto& [name, amount] : request.total_custom()) custom_used_[name] -= centi(amount);
  const int64_t gpu = centi(request.total_gpu());
  if (gpu > 0 && gpu < 100 && gpu_ids.size() == 1) {
    gpu_free_[gpu_ids[0]] += gpu;
  } else {
    for (int id : gpu_ids) gpu_free_[id] = 100;
  }
}

double ResourceManager::used_gpu() const {
  int64_t used = 0;
  for (int64_t free : gpu_free_) used += 100 - free;
  return static_cast<double>(used) / 100.0;
}

std::string ResourceManager::usage_string() const {
  std::string s = fmt::format("Resources requested: {:g}/{:g} CPUs, {:g}/{:g} GPUs", used_cpu(), pool_.cpu,
                              used_gpu(), static_cast<double>(gpu_free_.size()));
  if (memory_capacity_ > 0 && used_memory_ > 0) {
    s += fmt::format(", {:.2f}/{:.2f} GiB memory", static_cast<double>(used_memory_) / (1 << 30),
                     static_cast<double>(memory_capacity_) / (1 << 30));
  }
  for (const auto& [name, cap] : custom_capacity_) {
    const int64_t used = custom_used_.count(name) ? custom_used_.at(name) : 0;
    s += fmt::format(", {:g}/{:g} {}", static_cast<double>(used) / 100.0, static_cast<double>(cap) / 100.0, name);
  }
  return s;
}

}  // namespace tune::detail
