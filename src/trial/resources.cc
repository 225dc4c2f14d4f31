// Resources: parsing, validation and the local pool.
#include "tune/resources.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/strings.h"
#include "tune/error.h"

namespace tune {
namespace {

double parse_amount(const Json& value, const std::string& field) {
  if (!value.is_number()) throw TuneError(fmt::format("{}: must be a number, got {}", field, value.dump()));
  return value.get<double>();
}

void check_amount(double amount, const std::string& field) {
  if (std::isnan(amount)) throw TuneError(fmt::format("{}: must not be NaN", field));
  if (std::isinf(amount)) throw TuneError(fmt::format("{}: must be finite", field));
  if (amount < 0) throw TuneError(fmt::format("{}: must be >= 0, got {}", field, amount));
}

const std::vector<std::string> kResourceKeys = {"cpu",       "gpu",       "memory",           "extra_cpu",
                                                "extra_gpu", "extra_memory", "custom_resources", "extra_custom_resources"};

}  // namespace

Resources Resources::from_json(const Json& json, const std::string& field) {
  if (!json.is_object()) throw TuneError(fmt::format("{}: must be an object like {{\"cpu\": 1}}", field));
  Resources r;
  for (const auto& [key, value] : json.items()) {
    const std::string name = field + "." + key;
    if (key == "cpu") r.cpu = parse_amount(value, name);
    else if (key == "gpu") r.gpu = parse_amount(value, name);
    else if (key == "memory") r.memory = parse_amount(value, name);
    else if (key == "extra_cpu") r.extra_cpu = parse_amount(value, name);
    else if (key == "extra_gpu") r.extra_gpu = parse_amount(value, name);
    else if (key == "extra_memory") r.extra_memory = parse_amount(value, name);
    else if (key == "custom_resources" || key == "extra_custom_resources") {
      if (!value.is_object()) throw TuneError(fmt::format("{}: must be an object of name -> amount", name));
      auto& target = key == "custom_resources" ? r.custom : r.extra_custom;
      for (const auto& [custom, amount] : value.items()) target[custom] = parse_amount(amount, name + "." + custom);
    } else {
      throw TuneError(fmt::format("{}: unknown resource key '{}'{}; valid keys: {} (custom names go under "
                                  "custom_resources)",
                                  field, key, did_you_mean(key, kResourceKeys), join(kResourceKeys, ", ")));
    }
  }
  r.validate(field);
  return r;
}

Json Resources::to_json() const {
  Json j = {{"cpu", cpu}, {"gpu", gpu}};
  if (memory) j["memory"] = memory;
  if (extra_cpu) j["extra_cpu"] = extra_cpu;
  if (extra_gpu) j["extra_gpu"] = extra_gpu;
  if (extra_memory) j["extra_memory"] = extra_memory;
  if (!custom.empty()) j["custom_resources"] = custom;
  if (!extra_custom.empty()) j["extra_custom_resources"] = extra_custom;
  return j;
}

void Resources::validate(const std::string& field) const {
  check_amount(cpu, field + ".cpu");
  check_amount(gpu, field + ".gpu");
  check_amount(memory, field + ".memory");
  check_amount(extra_cpu, field + ".extra_cpu");
  check_amount(extra_gpu, field + ".extra_gpu");
  check_amount(extra_memory, field + ".extra_memory");
  for (const auto& [name, amount] : custom) check_amount(amount, field + ".custom_resources." + name);
  for (const auto& [name, amount] : extra_custom) check_amount(amount, field + ".extra_custom_resources." + name);
  const double total = total_gpu();
  if (total > 1.0 && std::abs(total - std::round(total)) > 1e-9) {
    throw TuneError(fmt::format("{}.gpu: a request above one GPU must be a whole number of GPUs (gpu + extra_gpu = {})",
                                field, total));
  }
}

std::map<std::string, double> Resources::total_custom() const {
  std::map<std::string, double> total = custom;
  for (const auto& [name, amount] : extra_custom) total[name] += amount;
  return total;
}

std::string Resources::to_string() const {
  std::string s = fmt::format("{:g} CPUs, {:g} GPUs", total_cpu(), total_gpu());
  if (total_memory() > 0) s += fmt::format(", {:.2f} GiB memory", total_memory() / (1024.0 * 1024 * 1024));
  for (const auto& [name, amount] : total_custom()) s += fmt::format(", {:g} {}", amount, name);
  return s;
}

namespace {

int count_gpus() {
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) {
    std::string ids(visible);
    if (ids.empty() || ids == "NoDevFiles" || ids == "-1") return 0;
    return static_cast<int>(split(ids, ',').size());
  }
  std::error_code ec;
  int count = 0;
  const std::filesystem::path proc("/proc/driver/nvidia/gpus");
  if (std::filesystem::is_directory(proc, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(proc, ec)) {
      (void)entry;
      ++count;
    }
  }
  return count;
}

double total_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page_size > 0 ? static_cast<double>(pages) * static_cast<double>(page_size) : 0.0;
}

}  // namespace

ResourcePool ResourcePool::detect() {
  ResourcePool pool;
  pool.cpu = std::max(1u, std::thread::hardware_concurrency());
  pool.gpu = count_gpus();
  pool.memory = total_memory_bytes();
  return pool;
}

}  // namespace tune
