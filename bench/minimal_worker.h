// Shared by the process and Slurm benchmarks: the clock helper and the minimal worker (one
// cheap result per step), registered by each benchmark binary that re-runs itself as a worker.
#pragma once

#include <chrono>
#include <cstdint>

#include "tune/trainable.h"

namespace tune_bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The minimal worker: one cheap result per step.
class Minimal : public tune::Trainable {
 public:
  tune::Result step() override { return {{"score", static_cast<double>(++i_)}}; }

 private:
  int64_t i_ = 0;
};

}  // namespace tune_bench
