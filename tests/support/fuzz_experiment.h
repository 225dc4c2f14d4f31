// Test support for the state-file fuzz tests: a small real experiment (tune::run of three
// in-process trials, one failing, with nested results and checkpoints) whose journal,
// snapshot and result.json lines are the realistic seeds the mutator starts from.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/temp_dir.h"
#include "tune/tune.h"

namespace tune::testing {

inline std::vector<std::string> lines_of(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline std::string file_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Where a fuzz test rewrites a state file 100,000 times: in memory (/dev/shm) when there is
// one, since truncating a file on ext4 starts its writeback at every close.
class ScratchDir {
 public:
  ScratchDir() {
    std::error_code ec;
    const std::filesystem::path shm = "/dev/shm";
    const std::filesystem::path root = std::filesystem::is_directory(shm, ec) ? shm : std::filesystem::temp_directory_path();
    path_ = root / ("tune_fuzz_" + std::to_string(::getpid()) + "_" + std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Runs the experiment into dir/exp and returns its directory. Two trials, the second failing:
// seeds stay small, since every input is parsed whole (nlohmann's parser under ASan in a test
// build costs about 1 us a byte).
inline std::filesystem::path make_seed_experiment(const TempDir& dir) {
  RunOptions options;
  options.name = "exp";
  options.local_dir = dir.str();
  options.verbose = 0;
  options.raise_on_failed_trial = false;
  options.metric = "loss";
  options.mode = "min";
  options.config = {{"x", grid_search({1, 3})}, {"model", {{"lr", 0.01}, {"layers", Json::array({64, 32})}}}};
  run(make_trainable("seeded",
                     [](const Config& config, Reporter& reporter) {
                       const double x = config.at("x").get<double>();
                       for (int i = 0; i < 4; ++i) {
                         reporter.report({{"loss", x / (i + 1)}, {"acc", {{"top1", 0.5}, {"top5", 0.9}}},
                                          {"phase", "train \"quoted\" caf\xc3\xa9"}});
                       }
                       if (x == 3) throw std::runtime_error("trial three fails on purpose");
                     }),
      options);
  return std::filesystem::path(dir.str()) / "exp";
}

}  // namespace tune::testing
