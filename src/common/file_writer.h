// Internal: a buffered append-only file whose failures are exceptions naming the file
// and the errno (ENOSPC says "No space left on device"), so a failing write becomes the
// trial's failure instead of silently lost data.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace tune {

class FileWriter {
 public:
  FileWriter() = default;
  // Opens for appending (creating it); throws std::system_error on failure.
  explicit FileWriter(const std::filesystem::path& path, bool truncate = false);
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;
  FileWriter(FileWriter&& other) noexcept;
  FileWriter& operator=(FileWriter&& other) noexcept;
  ~FileWriter();

  void write(std::string_view data);
  void flush();
  // Flushes and fsyncs: the data is on disk when this returns.
  void sync();
  void close();
  bool is_open() const { return file_ != nullptr; }
  const std::filesystem::path& path() const { return path_; }

 private:
  [[noreturn]] void fail(const char* what) const;
  std::FILE* file_ = nullptr;
  std::filesystem::path path_;
};

// Writes a whole file atomically: temp file, fsync, rename.
void write_file_atomic(const std::filesystem::path& path, std::string_view data);
// Reads a whole file; throws std::system_error naming it on failure.
std::string read_file(const std::filesystem::path& path);

}  // namespace tune
