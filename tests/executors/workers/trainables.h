// Test support: trainables shared by the process-executor tests (in-process runs) and the test
// worker binary (the same classes run as child processes), so both backends run the same code.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

#include "tune/object_store.h"
#include "tune/trainable.h"

namespace tune::testing {

// score = iteration * rate.
class Counter : public Trainable {
 public:
  void setup(const Config& config) override { rate_ = config.value("rate", 1.0); }
  Result step() override {
    ++iteration_;
    return {{"score", static_cast<double>(iteration_) * rate_}, {"worker_pid", static_cast<int64_t>(getpid())}};
  }

 private:
  double rate_ = 1;
  int64_t iteration_ = 0;
};

// Misbehaves at step `at` (default 2) as config "crash" says: segv, abort, exit3, sigkill, hang,
// throw, array, nan, bigline, kill_parent (SIGKILL to its zygote: only when its parent is not
// config "driver_pid"); anything else behaves. Results carry its parent's pid.
class Crasher : public Trainable {
 public:
  void setup(const Config& config) override {
    mode_ = config.value("crash", std::string("none"));
    at_ = config.value("at", 2);
    driver_pid_ = config.value("driver_pid", int64_t{0});
  }
  Result step() override {
    if (++iteration_ < at_) return {{"score", iteration_}, {"parent_pid", static_cast<int64_t>(getppid())}};
    std::cerr << "crasher: about to " << mode_ << std::endl;
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);  // no core files in the trial directory
    if (mode_ == "segv") {
      std::raise(SIGSEGV);  // a real segfault's signal, without undefined behaviour for UBSan to stop
    } else if (mode_ == "abort") {
      std::abort();
    } else if (mode_ == "exit3") {
      std::exit(3);
    } else if (mode_ == "sigkill") {
      std::raise(SIGKILL);  // what the OOM killer does
    } else if (mode_ == "hang") {
      while (true) std::this_thread::sleep_for(std::chrono::seconds(1));
    } else if (mode_ == "throw") {
      throw std::runtime_error("boom from step " + std::to_string(iteration_));
    } else if (mode_ == "array") {
      return Json::array({1, 2, 3});
    } else if (mode_ == "nan") {
      return {{"score", std::nan("")}, {"big", HUGE_VAL}};
    } else if (mode_ == "bigline") {
      return {{"blob", std::string(10 << 20, 'x')}};
    } else if (mode_ == "kill_parent") {
      if (driver_pid_ <= 1 || getppid() == driver_pid_) throw std::runtime_error("kill_parent: not forked by a zygote");
      ::kill(getppid(), SIGKILL);
      std::this_thread::sleep_for(std::chrono::seconds(30));  // killed with its zygote before this ends
    }
    return {{"score", iteration_}, {"parent_pid", static_cast<int64_t>(getppid())}};
  }

 private:
  std::string mode_;
  int64_t at_ = 2;
  int64_t driver_pid_ = 0;
  int64_t iteration_ = 0;
};

// Reports what its process sees, so both launch paths (exec, zygote) can be compared: some
// environment variables, its working directory, parent, process group, open descriptors and
// where stdout/stderr go.
class EnvReporter : public Trainable {
 public:
  Result step() override {
    Json env = Json::object();
    for (const char* name : {"TUNE_TRIAL_ID", "TUNE_TRIAL_NAME", "TUNE_EXPERIMENT_ID", "TUNE_TRIAL_DIR",
                             "TUNE_CHECKPOINT_DIR", "TUNE_RESTORE_FROM", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS",
                             "TUNE_ZYGOTE", "TUNE_WORKER", "TUNE_PROTOCOL_FDS", "EXTRA_VAR"}) {
      const char* value = std::getenv(name);
      env[name] = value != nullptr ? Json(value) : Json(nullptr);
    }
    Json fds = Json::array();
    for (int fd = 0; fd < 256; ++fd) {
      if (::fcntl(fd, F_GETFD) != -1) fds.push_back(fd);
    }
    auto target = [](int fd) {
      std::error_code ec;
      return std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd), ec).string();
    };
    sigset_t blocked;
    sigprocmask(SIG_SETMASK, nullptr, &blocked);
    std::cout << "env reporter on stdout" << std::endl;
    std::cerr << "env reporter on stderr" << std::endl;
    return {{"env", env},
            {"cwd", std::filesystem::current_path().string()},
            {"worker_pid", static_cast<int64_t>(getpid())},  // "pid" is auto-filled with the driver's
            {"parent_pid", static_cast<int64_t>(getppid())},
            {"pgid", static_cast<int64_t>(getpgid(0))},
            {"fds", fds},
            {"stdin", target(0)},
            {"stdout", target(1)},
            {"stderr", target(2)},
            {"sigchld_blocked", sigismember(&blocked, SIGCHLD) == 1}};
  }
};

// Writes {"pid", "parent_pid"} to $TUNE_TRIAL_DIR/pids.json in setup, then sleeps config
// "sleep_ms" per step: for the tests that kill the driver and look for what is left.
class PidWriter : public Trainable {
 public:
  void setup(const Config& config) override {
    sleep_ms_ = config.value("sleep_ms", 100000);
    const char* dir = std::getenv("TUNE_TRIAL_DIR");
    const std::string path = std::string(dir != nullptr ? dir : ".") + "/pids.json";
    std::ofstream(path + ".tmp") << Json{{"pid", getpid()}, {"parent_pid", getppid()}}.dump() << "\n";
    std::filesystem::rename(path + ".tmp", path);
  }
  Result step() override {
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    return {{"slept", true}};
  }

 private:
  int64_t sleep_ms_ = 100000;
};

// Reads the pinned float array config "object": its sum, size and address, and in a process
// trial what it inherited (the memfd's inode, whether a writable mapping is refused). Sleeps
// config "sleep_ms" per step.
class PinnedReader : public Trainable {
 public:
  void setup(const Config& config) override {
    view_ = get_pinned_object<float>(config.at("object").get<std::string>());
    sleep_ms_ = config.value("sleep_ms", 0);
  }
  Result step() override {
    double sum = 0;
    for (float value : view_) sum += value;
    Result result = {{"sum", sum},
                     {"count", view_.size()},
                     {"address", reinterpret_cast<uintptr_t>(view_.data())},
                     {"worker_pid", static_cast<int64_t>(getpid())}};
    if (const char* env = std::getenv(pinned::kEnvVar); env != nullptr) {
      for (const pinned::Descriptor& d : pinned::decode(env)) {
        if (d.id != view_.id()) continue;
        struct stat st {};
        if (::fstat(d.fd, &st) == 0) result["inode"] = static_cast<uint64_t>(st.st_ino);
        void* writable = ::mmap(nullptr, d.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, d.fd, 0);
        result["write_mapping_refused"] = writable == MAP_FAILED && errno == EPERM;
        if (writable != MAP_FAILED) ::munmap(writable, d.bytes);
      }
    }
    if (sleep_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    return result;
  }

 private:
  PinnedView<float> view_;
  int sleep_ms_ = 0;
};

// Function API: reports config "n" results (score = i), then returns.
inline void count_fn(const Config& config, Reporter& reporter) {
  const int n = config.value("n", 3);
  for (int i = 1; i <= n; ++i) reporter.report({{"score", i}});
}

// acc grows by config "q" per step; the state (its total) survives checkpoints. The
// scheduler tests run it in-process and as a child process.
class Climb : public Trainable {
 public:
  void setup(const Config& config) override { q_ = config.value("q", 1.0); }
  Result step() override {
    total_ += q_;
    return {{"acc", total_}};
  }
  void save_checkpoint(const std::filesystem::path& dir) override {
    std::ofstream(dir / "total") << std::setprecision(17) << total_;
  }
  void load_checkpoint(const std::filesystem::path& dir) override { std::ifstream(dir / "total") >> total_; }
  bool reset_config(const Config& config) override {
    q_ = config.value("q", 1.0);
    return true;
  }

 protected:
  double q_ = 1;
  double total_ = 0;
};

// q's best value changes during training (1.0 for 10 steps, then 0.1): PBT must move its
// population to it.
class Shift : public Climb {
 public:
  Result step() override {
    ++steps_;
    const double target = steps_ < 10 ? 1.0 : 0.1;
    total_ += 1.0 - std::abs(q_ - target);
    return {{"acc", total_}, {"q_now", q_}};
  }
  void save_checkpoint(const std::filesystem::path& dir) override {
    std::ofstream(dir / "s") << std::setprecision(17) << total_ << " " << steps_;
  }
  void load_checkpoint(const std::filesystem::path& dir) override { std::ifstream(dir / "s") >> total_ >> steps_; }

 private:
  int steps_ = 0;
};

// Sleeps `sleep_ms` per step and reports when the step ran (wall-clock seconds), the pid and
// the CUDA_VISIBLE_DEVICES it sees; checkpoints its iteration. The Slurm tests read
// concurrency and GPU placement from its results.
class Sleeper : public Trainable {
 public:
  void setup(const Config& config) override { sleep_ms_ = config.value("sleep_ms", 100); }
  Result step() override {
    const auto now = [] {
      return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    };
    const double start = now();
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    ++iteration_;
    const char* gpus = std::getenv("CUDA_VISIBLE_DEVICES");
    return {{"iter", iteration_},       {"start", start},
            {"end", now()},             {"worker_pid", static_cast<int64_t>(getpid())},
            {"cuda", gpus != nullptr ? gpus : "<unset>"}};
  }
  void save_checkpoint(const std::filesystem::path& dir) override {
    std::ofstream(dir / "iteration") << iteration_ << "\n";
  }
  void load_checkpoint(const std::filesystem::path& dir) override {
    std::ifstream(dir / "iteration") >> iteration_;
  }

 private:
  int64_t sleep_ms_ = 100;
  int64_t iteration_ = 0;
};

}  // namespace tune::testing
