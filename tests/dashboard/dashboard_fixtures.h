// Test support for the dashboard tests: experiments on disk, finished (a real tune::run) and
// running (the files a live or killed run leaves).
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "tune/run.h"

namespace tune::testing {

// Runs a grid of six function trials into <root>/<name>, metric loss (min), `steps` results
// each; `train` is the trainable.
inline void run_grid(const TempDir& root, const std::string& name, Space space, int steps, TrainFunction train) {
  RunOptions options = quiet_options(root, name);
  options.config = std::move(space);
  options.stop = {{"training_iteration", steps}};
  options.metric = "loss";
  options.mode = "min";
  run(std::move(train), options);
}

// A run that is still going (or was killed: the files are the same): a journal without its end,
// RUNNING trials run0 and run1 with four results each (loss 1/(step + i)), PENDING run2.
inline void write_running_experiment(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::ofstream journal(dir / "experiment_state.jsonl");
  journal << Json{{"e", "head"}, {"version", 2}, {"name", "live"}, {"metric", "loss"}, {"mode", "min"}}.dump() << "\n";
  for (int i = 0; i < 3; ++i) {
    const std::string id = "run" + std::to_string(i);
    journal << Json{{"e", "add"}, {"i", i}, {"id", id}, {"name", "T_" + id}, {"config", {{"x", i}}}}.dump() << "\n";
    if (i == 2) continue;
    journal << Json{{"e", "dir"}, {"i", i}, {"dir", "T_" + id}}.dump() << "\n";
    std::filesystem::create_directories(dir / ("T_" + id));
    std::ofstream results(dir / ("T_" + id) / "result.json");
    for (int step = 1; step <= 4; ++step)
      results << Json{{"loss", 1.0 / (step + i)}, {"training_iteration", step}}.dump() << "\n";
  }
}

}  // namespace tune::testing
