// Test support: a private single-node Slurm cluster (scripts/slurm_cluster.sh) on ports of its
// own, one per test process (ctest runs tests side by side), and a shell helper for the
// commands the Slurm tests run against it. Tests skip without the Slurm packages unless
// TUNE_TEST_REQUIRE_SLURM=1 (scripts/test.sh) makes that a failure.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace tune::testing {

// Runs a shell command line of the test's own making; returns its stdout (stderr with it).
inline std::string sh(const std::string& command, int* code = nullptr) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int status = ::pclose(pipe);
  if (code != nullptr) *code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return out;
}

inline bool slurm_installed() {
  for (const char* program : {"slurmctld", "slurmd", "srun", "munged", "sinfo", "scancel", "squeue"}) {
    int code = 0;
    sh(std::string("PATH=$PATH:/usr/sbin command -v ") + program + " >/dev/null", &code);
    if (code != 0) return false;
  }
  return true;
}

// True when a test without Slurm must fail rather than skip.
inline bool slurm_required() {
  const char* require = std::getenv("TUNE_TEST_REQUIRE_SLURM");
  return require != nullptr && *require == '1';
}

// The cluster: started by start(), stopped and removed by the destructor. While it runs,
// SLURM_CONF points at it and the driver is outside any allocation.
class LocalSlurmCluster {
 public:
  LocalSlurmCluster() = default;
  LocalSlurmCluster(const LocalSlurmCluster&) = delete;
  LocalSlurmCluster& operator=(const LocalSlurmCluster&) = delete;
  ~LocalSlurmCluster() {
    if (dir_.empty()) return;
    sh("bash " + script() + " stop " + dir_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Starts it; false (with the script's output in `out`) when it does not come up.
  bool start(std::string& out) {
    dir_ = (std::filesystem::temp_directory_path() / ("tune-slurm-" + std::to_string(getpid()))).string();
    port_ = 20000 + static_cast<int>(getpid() % 10000) * 2;
    int code = 0;
    out = sh("TUNE_SLURM_PORT=" + std::to_string(port_) + " PATH=$PATH:/usr/sbin bash " + script() + " start " + dir_,
             &code);
    if (code != 0) return false;
    ::setenv("SLURM_CONF", (dir_ + "/slurm.conf").c_str(), 1);
    ::unsetenv("SLURM_JOB_ID");
    ::unsetenv("SLURM_JOBID");
    return true;
  }
  // Where its configuration, logs and pid files are.
  const std::string& dir() const { return dir_; }

 private:
  static std::string script() { return std::string(TUNE_SOURCE_DIR) + "/scripts/slurm_cluster.sh"; }

  std::string dir_;
  int port_ = 0;
};

}  // namespace tune::testing
