// Test support: RunOptions for tests that run process trials: silent, results in a scratch
// directory, failed trials kept (the tests look at them) and a 2-CPU pool whatever the machine.
#pragma once

#include <string>
#include <utility>

#include "support/temp_dir.h"
#include "tune/run.h"

namespace tune::testing {

inline RunOptions quiet_options(const TempDir& dir, std::string name = "exp") {
  RunOptions options;
  options.name = std::move(name);
  options.local_dir = dir.str();
  options.verbose = 0;
  options.raise_on_failed_trial = false;
  options.num_cpus = 2;
  return options;
}

}  // namespace tune::testing
