// Internal: commits trial requests against the pool and hands out GPU ids.
//
// Amounts are kept in hundredths (Ray's rounding) so fractions pack exactly: two 0.5-GPU
// trials share one GPU, never three. A fractional GPU request goes to the fullest GPU it
// still fits on (best fit), so whole GPUs stay free for whole-GPU requests.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tune/resources.h"

namespace tune::detail {

class ResourceManager {
 public:
  explicit ResourceManager(ResourcePool pool);

  // Throws TuneError naming the request and the pool when it can never fit.
  void check_feasible(const Resources& request, const std::string& field) const;
  bool fits(const Resources& request) const;
  // Commits the request; returns the GPU ids given to it. Precondition: fits().
  std::vector<int> commit(const Resources& request);
  void release(const Resources& request, const std::vector<int>& gpu_ids);

  const ResourcePool& pool() const { return pool_; }
  // "Resources requested: 2/4 CPUs, 0.5/1 GPUs, ..."
  std::string usage_string() const;
  double used_cpu() const { return static_cast<double>(used_cpu_) / 100.0; }
  double used_gpu() const;

 private:
  static int64_t centi(double amount);
  ResourcePool pool_;
  int64_t cpu_capacity_ = 0;
  int64_t memory_capacity_ = 0;
  int64_t used_cpu_ = 0;
  int64_t used_memory_ = 0;
  std::vector<int64_t> gpu_free_;  // per GPU, in hundredths
  std::map<std::string, int64_t> custom_capacity_;
  std::map<std::string, int64_t> custom_used_;
};

}  // namespace tune::detail
