// tune/resources.h — what a trial asks for, and the pool trials are packed into.
//
// Resources are numbers per name: cpu, gpu (fractions pack: two 0.5-GPU trials share a
// GPU), memory (bytes) and custom names; extra_* reserve amounts for what the trial starts
// itself. Amounts are rounded to 1/100, as in Ray, so fractions pack exactly.
// Thread-safety: value types.
#pragma once

#include <map>
#include <string>

#include "tune/json.h"

namespace tune {

struct Resources {
  double cpu = 1;
  double gpu = 0;
  double memory = 0;  // bytes
  double extra_cpu = 0;
  double extra_gpu = 0;
  double extra_memory = 0;
  std::map<std::string, double> custom = {};        // custom_resources
  std::map<std::string, double> extra_custom = {};  // extra_custom_resources

  // From {"cpu": 2, "gpu": 0.5, "custom_resources": {"tpu": 1}, ...}. An unknown key, a
  // negative or NaN amount is a TuneError naming the key (field is the prefix used).
  static Resources from_json(const Json& json, const std::string& field = "resources_per_trial");
  Json to_json() const;
  // Throws TuneError naming the first negative/NaN/ill-formed amount.
  void validate(const std::string& field = "resources_per_trial") const;

  double total_cpu() const { return cpu + extra_cpu; }
  double total_gpu() const { return gpu + extra_gpu; }
  double total_memory() const { return memory + extra_memory; }
  // custom + extra_custom per name.
  std::map<std::string, double> total_custom() const;
  // "2 CPUs, 0.5 GPUs" style summary.
  std::string to_string() const;
};

// The machine's capacity that trials are packed into.
struct ResourcePool {
  double cpu = 0;
  double gpu = 0;
  double memory = 0;  // bytes; 0 = not accounted
  std::map<std::string, double> custom;

  // The local machine: its cores, GPUs found via CUDA_VISIBLE_DEVICES / /proc/driver/nvidia
  // (or nvidia-smi), total memory.
  static ResourcePool detect();
};

}  // namespace tune
