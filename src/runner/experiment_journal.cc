// The experiment journal (see experiment_journal.h).
#include "runner/experiment_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <system_error>
#include <utility>

#include "analysis/state_records.h"

namespace tune::detail {

ExperimentJournal::ExperimentJournal(const std::filesystem::path& path, bool fresh, uint64_t keep_bytes)
    : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (fresh ? O_TRUNC : 0), 0644);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + path.string());
  if (!fresh) {
    // Cut what follows the last whole record (a torn line from a crash).
    if (::ftruncate(fd_, static_cast<off_t>(keep_bytes)) != 0) {
      const int error = errno;
      ::close(fd_);
      fd_ = -1;
      throw std::system_error(error, std::generic_category(), "cannot truncate " + path.string());
    }
    bytes_ = keep_bytes;
  }
  // O_APPEND is not used: the offset is ours alone, and pwrite-free appends keep it simple.
  if (::lseek(fd_, static_cast<off_t>(bytes_), SEEK_SET) < 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::system_error(error, std::generic_category(), "cannot seek in " + path.string());
  }
}

ExperimentJournal::ExperimentJournal(ExperimentJournal&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      bytes_(other.bytes_),
      path_(std::move(other.path_)),
      pending_(std::move(other.pending_)),
      staged_(std::exchange(other.staged_, 0)),
      in_memory_(std::exchange(other.in_memory_, false)),
      memory_text_(std::move(other.memory_text_)) {}

ExperimentJournal& ExperimentJournal::operator=(ExperimentJournal&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    bytes_ = other.bytes_;
    path_ = std::move(other.path_);
    pending_ = std::move(other.pending_);
    staged_ = std::exchange(other.staged_, 0);
    in_memory_ = std::exchange(other.in_memory_, false);
    memory_text_ = std::move(other.memory_text_);
  }
  return *this;
}

ExperimentJournal::~ExperimentJournal() {
  if (fd_ >= 0) ::close(fd_);
}

ExperimentJournal ExperimentJournal::in_memory() {
  ExperimentJournal journal;
  journal.in_memory_ = true;
  return journal;
}

void ExperimentJournal::add(const Json& record) {
  if (!is_open()) return;
  if (pending_.empty()) pending_ = kBatchOpen;
  if (staged_ > 0) pending_ += ',';
  pending_ += record.dump(-1, ' ', false, Json::error_handler_t::replace);
  ++staged_;
}

void ExperimentJournal::commit() {
  if (!is_open() || staged_ == 0) return;
  if (staged_ == 1) {
    // One record: the plain line, without the compound record around it.
    pending_ += '\n';
    write_line(pending_.data() + kBatchOpen.size(), pending_.size() - kBatchOpen.size());
  } else {
    pending_ += "]}\n";
    write_line(pending_.data(), pending_.size());
  }
}

void ExperimentJournal::write_line(const char* data, size_t size) {
  staged_ = 0;
  if (in_memory_) {
    memory_text_.append(data, size);
    bytes_ += size;
    pending_.clear();
    return;
  }
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd_, data + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      pending_.clear();
      // Undo a partial line so the journal stays a sequence of whole ones.
      if (done > 0 && ::ftruncate(fd_, static_cast<off_t>(bytes_)) == 0) {
        (void)::lseek(fd_, static_cast<off_t>(bytes_), SEEK_SET);
      }
      throw std::system_error(error, std::generic_category(), "cannot append to " + path_.string());
    }
    done += static_cast<size_t>(n);
  }
  bytes_ += size;
  pending_.clear();  // keeps its capacity: the next event's records reuse it
}

}  // namespace tune::detail
