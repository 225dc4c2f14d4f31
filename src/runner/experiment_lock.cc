#include "runner/experiment_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "tune/error.h"

namespace tune::detail {
namespace {

std::string host_name() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') return "an unknown host";
  return name.data();
}

// What the holder wrote into the file: "pid host". Bounded and printable, since a file in the
// directory is untrusted.
std::string read_holder(int fd) {
  std::array<char, 300> buffer{};
  const ssize_t n = ::pread(fd, buffer.data(), buffer.size() - 1, 0);
  std::string text;
  for (ssize_t i = 0; i < n; ++i) {
    const char c = buffer[static_cast<size_t>(i)];
    if (c == '\n') break;
    text += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return text;
}

// POSIX record locks belong to the process, so two drivers in one process (two threads
// calling tune::run on one directory) would both get one; this set of the lock files this
// process holds (device, inode) refuses the second.
struct HeldFiles {
  std::mutex mutex;
  std::set<std::pair<dev_t, ino_t>> files;
};

HeldFiles& held_files() {
  static HeldFiles held;
  return held;
}

std::string describe_holder(int fd, std::optional<pid_t> pid) {
  const std::string written = read_holder(fd);
  const size_t space = written.find(' ');
  if (space != std::string::npos && space > 0) {
    return fmt::format("the driver with pid {} on {}", written.substr(0, space), written.substr(space + 1));
  }
  if (pid) return fmt::format("the driver with pid {} on this host", *pid);
  return "another driver";
}

}  // namespace

ExperimentLock ExperimentLock::acquire(const std::filesystem::path& experiment_dir) {
  const std::filesystem::path path = experiment_dir / kDriverLockFile;
  int fd = -1;
  do {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    throw TuneError(fmt::format("local_dir: cannot open the lock file {}: {}", path.string(), std::strerror(errno)));
  }
  const auto refuse = [&](std::optional<pid_t> pid) {
    const std::string who = describe_holder(fd, pid);
    ::close(fd);
    return TuneError(fmt::format("{} is in use by {}: one experiment directory takes one driver at a time (let it "
                                 "end, or stop it and resume)",
                                 experiment_dir.string(), who));
  };
  struct stat file{};
  if (::fstat(fd, &file) != 0) {
    const int error = errno;
    ::close(fd);
    throw TuneError(fmt::format("local_dir: cannot stat {}: {}", path.string(), std::strerror(error)));
  }
  HeldFiles& held = held_files();
  std::lock_guard guard(held.mutex);
  if (held.files.count({file.st_dev, file.st_ino}) != 0) throw refuse(::getpid());
  struct flock lock{};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (::fcntl(fd, F_SETLK, &lock) != 0) {
    const int error = errno;
    if (error != EACCES && error != EAGAIN) {
      ::close(fd);
      throw TuneError(fmt::format("local_dir: cannot lock {}: {}", path.string(), std::strerror(error)));
    }
    struct flock holder{};
    holder.l_type = F_WRLCK;
    holder.l_whence = SEEK_SET;
    std::optional<pid_t> pid;
    if (::fcntl(fd, F_GETLK, &holder) == 0 && holder.l_type != F_UNLCK) pid = holder.l_pid;
    throw refuse(pid);
  }
  held.files.insert({file.st_dev, file.st_ino});
  // Ours: say who holds it, for the next one that is refused.
  const std::string text = fmt::format("{} {}\n", ::getpid(), host_name());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    // The lock holds without its note; the refusal then names the pid only.
  }
  return ExperimentLock(fd, file.st_dev, file.st_ino);
}

ExperimentLock::ExperimentLock(ExperimentLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), device_(other.device_), inode_(other.inode_) {}

ExperimentLock& ExperimentLock::operator=(ExperimentLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
    device_ = other.device_;
    inode_ = other.inode_;
  }
  return *this;
}

ExperimentLock::~ExperimentLock() { release(); }

void ExperimentLock::release() noexcept {
  if (fd_ < 0) return;
  HeldFiles& held = held_files();
  std::lock_guard guard(held.mutex);
  ::close(std::exchange(fd_, -1));  // closing drops the record lock
  held.files.erase({static_cast<dev_t>(device_), static_cast<ino_t>(inode_)});
}

}  // namespace tune::detail
