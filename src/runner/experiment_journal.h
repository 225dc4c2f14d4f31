// Internal: the experiment's append-only journal (experiment_state.jsonl, format in
// analysis/experiment_state.h).
//
// Each record is one JSON line handed to the kernel with one write() as it happens, so a
// killed driver loses nothing it journaled, and a torn last line is recognised and cut off.
// The cost is one small write per trial event (added, started, checkpointed, failed,
// ended) — results themselves are not journaled: they live in the trial's result.json,
// which is flushed before any checkpoint or end is journaled.
// Thread-safety: runner thread only.
#pragma once

#include <cstdint>
#include <filesystem>

#include "tune/json.h"

namespace tune::detail {

class ExperimentJournal {
 public:
  ExperimentJournal() = default;
  // Opens for appending. `keep_bytes`: the valid length to continue after (a resume cuts a
  // torn tail there); 0 with `fresh` starts the file over. Throws std::system_error.
  ExperimentJournal(const std::filesystem::path& path, bool fresh, uint64_t keep_bytes);
  ExperimentJournal(const ExperimentJournal&) = delete;
  ExperimentJournal& operator=(const ExperimentJournal&) = delete;
  ExperimentJournal(ExperimentJournal&& other) noexcept;
  ExperimentJournal& operator=(ExperimentJournal&& other) noexcept;
  ~ExperimentJournal();

  bool is_open() const { return fd_ >= 0; }
  // Appends one record; throws std::system_error naming the file (ENOSPC included).
  void append(const Json& record);
  // Bytes in the file (every record appended so far is in it).
  uint64_t bytes() const { return bytes_; }

 private:
  int fd_ = -1;
  uint64_t bytes_ = 0;
  std::filesystem::path path_;
  std::string line_;
};

}  // namespace tune::detail
