// End-to-end benchmark of pinned objects (tune/object_store.h): what a large array shared by
// process trials costs in memory. Prints a table.
//
// The driver pins SIZE MiB of floats, then runs TRIALS process trials at once (this binary
// re-run as a worker), each touching every page of the array, then holding it while the others
// do. Memory is measured three ways:
//   * system: the drop of MemAvailable (/proc/meminfo) from before pinning to its lowest point
//     while the trials hold the array, and the growth of Shmem (shared memory) likewise;
//   * per process: the sum of the trials' Pss (each shared page counted 1/n in each of its n
//     users), and the sum of their Rss (what `top` shows: every shared page in full each time).
// --copy then runs the same trials copying the array into their own memory (what loading the
// dataset in every trial costs, here on top of the pinned original): it needs (TRIALS + 1) x
// SIZE of free memory. MemAvailable is the kernel's estimate, machine-wide: other programs move
// it; the Pss sum is exact for the trials.
//
// Usage: e2e_pinned_memory [--quick] [--size-mb N] [--trials N] [--copy] [DIR]
//   defaults: 1024 MiB, 8 trials; --quick: 128 MiB. DIR: where results go (default .).
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tune/tune.h"

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// kB fields of a /proc file of "Name:   123 kB" lines.
std::map<std::string, double> read_kb_fields(const std::string& path) {
  std::map<std::string, double> fields;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    fields[line.substr(0, colon)] = std::strtod(line.c_str() + colon + 1, nullptr);
  }
  return fields;
}

// Touches every page of the pinned array (config "object"), shared or copied (config "copy"),
// then holds it for config "hold_ms" per step; reports its own Rss and Pss in MiB.
class PageToucher : public tune::Trainable {
 public:
  void setup(const tune::Config& config) override {
    view_ = tune::get_pinned_object<float>(config.at("object").get<std::string>());
    copy_ = config.value("copy", false);
    hold_ms_ = config.value("hold_ms", 500);
  }

  tune::Result step() override {
    if (!touched_) {
      if (copy_) {
        private_.assign(view_.begin(), view_.end());
        checksum_ = touch(private_.data(), private_.size());
      } else {
        checksum_ = touch(view_.data(), view_.size());
      }
      touched_ = true;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms_));
    }
    const auto self = read_kb_fields("/proc/self/smaps_rollup");
    return {{"checksum", checksum_},
            {"rss_mib", self.count("Rss") ? self.at("Rss") / 1024 : -1.0},
            {"pss_mib", self.count("Pss") ? self.at("Pss") / 1024 : -1.0},
            {"worker_pid", static_cast<int64_t>(getpid())}};
  }

 private:
  static double touch(const float* data, size_t n) {
    const size_t stride = static_cast<size_t>(::sysconf(_SC_PAGESIZE)) / sizeof(float);
    double sum = 0;
    for (size_t i = 0; i < n; i += stride) sum += data[i];
    return sum;
  }

  tune::PinnedView<float> view_;
  std::vector<float> private_;
  bool copy_ = false;
  bool touched_ = false;
  int hold_ms_ = 500;
  double checksum_ = 0;
};

// Samples system memory at every result; keeps each trial's last Rss/Pss.
class MemoryProbe : public tune::Callback {
 public:
  explicit MemoryProbe(std::map<std::string, double> baseline) : baseline_(std::move(baseline)) {}

  void on_trial_result(const tune::TrialView& trial, const tune::Result& result) override {
    std::lock_guard lock(mutex_);
    const auto now = read_kb_fields("/proc/meminfo");
    min_available_kb_ = std::min(min_available_kb_, now.at("MemAvailable"));
    max_shmem_kb_ = std::max(max_shmem_kb_, now.at("Shmem"));
    last_[trial.trial_id()] = {result.value("rss_mib", 0.0), result.value("pss_mib", 0.0)};
  }

  double available_drop_mib() const { return (baseline_.at("MemAvailable") - min_available_kb_) / 1024; }
  double shmem_growth_mib() const { return (max_shmem_kb_ - baseline_.at("Shmem")) / 1024; }
  double sum_rss_mib() const { return sum(0); }
  double sum_pss_mib() const { return sum(1); }

 private:
  double sum(int which) const {
    double total = 0;
    for (const auto& [id, values] : last_) total += which == 0 ? values.first : values.second;
    return total;
  }

  std::mutex mutex_;
  std::map<std::string, double> baseline_;
  double min_available_kb_ = 1e300;
  double max_shmem_kb_ = 0;
  std::map<std::string, std::pair<double, double>> last_;
};

struct Row {
  std::string mode;
  double available_drop = 0, shmem_growth = 0, sum_rss = 0, sum_pss = 0;
};

Row measure(bool copy, size_t size_mib, int trials, const std::filesystem::path& dir) {
  const auto baseline = read_kb_fields("/proc/meminfo");
  const size_t count = size_mib * (1 << 20) / sizeof(float);
  const tune::PinnedObject object = tune::pin_in_object_store<float>(count, [](std::span<float> out) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(i % 997);
  });
  auto probe = std::make_shared<MemoryProbe>(baseline);
  tune::RunOptions options;
  options.name = copy ? "pinned_copy" : "pinned_shared";
  options.local_dir = dir.string();
  options.verbose = 0;
  options.num_cpus = trials;  // all at once: their memory adds up
  options.num_samples = trials;
  options.config = {{"object", object.id()}, {"copy", copy}, {"hold_ms", 500}};
  options.stop = {{"training_iteration", 3}};
  options.callbacks = {probe};
  tune::run("PageToucher", std::move(options));
  return {copy ? "copy in each trial" : "pinned, shared", probe->available_drop_mib(), probe->shmem_growth_mib(),
          probe->sum_rss_mib(), probe->sum_pss_mib()};
}

}  // namespace

TUNE_REGISTER_TRAINABLE(PageToucher);

int main(int argc, char** argv) {
  if (int rc = tune::worker_main(argc, argv); rc >= 0) return rc;
  size_t size_mib = 1024;
  int trials = 8;
  bool copy = false;
  std::filesystem::path dir = ".";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      size_mib = 128;
    } else if (arg == "--size-mb" && i + 1 < argc) {
      size_mib = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--trials" && i + 1 < argc) {
      trials = std::atoi(argv[++i]);
    } else if (arg == "--copy") {
      copy = true;
    } else if (!arg.empty() && arg[0] != '-') {
      dir = arg;
    } else {
      std::cerr << "usage: e2e_pinned_memory [--quick] [--size-mb N] [--trials N] [--copy] [DIR]\n";
      return 2;
    }
  }
  if (size_mib == 0 || trials < 1) {
    std::cerr << "e2e_pinned_memory: --size-mb and --trials must be >= 1\n";
    return 2;
  }
  try {
    std::vector<Row> rows = {measure(false, size_mib, trials, dir)};
    if (copy) rows.push_back(measure(true, size_mib, trials, dir));
    std::cout << fmt::format("pinned {} MiB of float32, {} process trials at once, each touching every page\n\n",
                             size_mib, trials);
    std::cout << "| trials read the array | extra memory (MemAvailable drop) | Shmem growth | sum of trials' Pss | "
                 "sum of trials' Rss | vs. a copy per trial |\n|---|---|---|---|---|---|\n";
    const double copies = static_cast<double>(size_mib) * trials;
    for (const Row& row : rows) {
      std::cout << fmt::format("| {} | {:.0f} MiB | {:.0f} MiB | {:.0f} MiB | {:.0f} MiB | {:.0f} MiB = {:.2f}x |\n",
                               row.mode, row.available_drop, row.shmem_growth, row.sum_pss, row.sum_rss, copies,
                               row.available_drop / copies);
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "e2e_pinned_memory: " << e.what() << "\n";
    return 1;
  }
}
