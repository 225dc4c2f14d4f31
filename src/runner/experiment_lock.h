// Internal: one experiment directory, one driver. A driver (run or resume, from C++, the CLI or
// Python) holds an advisory POSIX record lock on <dir>/.driver.lock for as long as it runs;
// a second driver is refused before it writes anything, and is told who holds the directory.
//
// POSIX record locks (fcntl F_SETLK) belong to the process: a trial process forked from the
// driver does not inherit it, so a killed driver's leftover children never keep a resume out,
// and the kernel drops the lock when the driver dies however it dies. Readers (tune ls,
// tune analyze, ExperimentAnalysis::load) take no lock. Two drivers in one process (threads)
// are told apart by a process-wide set of the lock files held.
// Thread-safety: an ExperimentLock is owned by one thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace tune::detail {

class ExperimentLock {
 public:
  // Takes the directory's lock (the directory must exist). Throws TuneError naming the
  // holder's pid and host when another driver holds it, or why the lock file can't be used.
  static ExperimentLock acquire(const std::filesystem::path& experiment_dir);

  ExperimentLock(ExperimentLock&& other) noexcept;
  ExperimentLock& operator=(ExperimentLock&& other) noexcept;
  ExperimentLock(const ExperimentLock&) = delete;
  ExperimentLock& operator=(const ExperimentLock&) = delete;
  ~ExperimentLock();  // releases the lock

 private:
  ExperimentLock(int fd, uint64_t device, uint64_t inode) : fd_(fd), device_(device), inode_(inode) {}
  void release() noexcept;
  int fd_ = -1;
  uint64_t device_ = 0;  // of the lock file, for this process's set of held files
  uint64_t inode_ = 0;
};

// The lock file's name inside an experiment directory.
inline constexpr const char* kDriverLockFile = ".driver.lock";

}  // namespace tune::detail
