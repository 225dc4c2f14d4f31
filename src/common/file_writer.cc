// Buffered, failure-reporting file output (see file_writer.h).
#include "common/file_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

namespace tune {

FileWriter::FileWriter(const std::filesystem::path& path, bool truncate) : path_(path) {
  file_ = std::fopen(path.c_str(), truncate ? "wb" : "ab");
  if (file_ == nullptr) fail("cannot open");
  std::setvbuf(file_, nullptr, _IOFBF, 1 << 16);
}

FileWriter::FileWriter(FileWriter&& other) noexcept
    : file_(std::exchange(other.file_, nullptr)), path_(std::move(other.path_)) {}

FileWriter& FileWriter::operator=(FileWriter&& other) noexcept {
  if (this != &other) {
    if (file_) std::fclose(file_);
    file_ = std::exchange(other.file_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

FileWriter::~FileWriter() {
  if (file_) std::fclose(file_);
}

void FileWriter::fail(const char* what) const {
  throw std::system_error(errno, std::generic_category(), std::string(what) + " " + path_.string());
}

void FileWriter::write(std::string_view data) {
  if (file_ == nullptr) return;
  if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) fail("cannot write");
}

void FileWriter::flush() {
  if (file_ != nullptr && std::fflush(file_) != 0) fail("cannot write");
}

void FileWriter::sync() {
  flush();
  if (file_ != nullptr && ::fsync(fileno(file_)) != 0) fail("cannot sync");
}

void FileWriter::close() {
  if (file_ == nullptr) return;
  std::FILE* f = std::exchange(file_, nullptr);
  if (std::fclose(f) != 0) fail("cannot write");
}

void write_file_atomic(const std::filesystem::path& path, std::string_view data) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + tmp.string());
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::system_error(error, std::generic_category(), "cannot write " + tmp.string());
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    throw std::system_error(error, std::generic_category(), "cannot write " + tmp.string());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot rename to " + path.string());
  }
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::system_error(errno, std::generic_category(), "cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace tune
