// Internal: the experiment's append-only journal (experiment_state.jsonl, format in
// analysis/experiment_state.h).
//
// The records of one runner event (a result and what it decided: a checkpoint, the trial's
// end or pause, the scheduler's state changes, a new trial and its searcher state) are
// staged with add() and handed to the kernel together by commit(), with one write(): one
// JSON line when the event made one record, else one compound line
// {"e":"batch","r":[record, ...]}. A line is the unit a crash can tear, so a killed driver
// leaves either all of an event's records or none (the reader cuts a torn last line off):
// the trial's end and the scheduler's rung value that ended it never come apart.
// The cost is one small write per event that changed something — results themselves are not
// journaled: they live in the trial's result.json, which is flushed before any checkpoint or
// end is journaled.
// Thread-safety: runner thread only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "tune/json.h"

namespace tune::detail {

class ExperimentJournal {
 public:
  ExperimentJournal() = default;
  // Opens for appending. `keep_bytes`: the valid length to continue after (a resume cuts a
  // torn tail there); 0 with `fresh` starts the file over. Throws std::system_error.
  ExperimentJournal(const std::filesystem::path& path, bool fresh, uint64_t keep_bytes);
  // A journal whose lines go to memory_text() instead of a file (unit tests of the runner).
  static ExperimentJournal in_memory();
  ExperimentJournal(const ExperimentJournal&) = delete;
  ExperimentJournal& operator=(const ExperimentJournal&) = delete;
  ExperimentJournal(ExperimentJournal&& other) noexcept;
  ExperimentJournal& operator=(ExperimentJournal&& other) noexcept;
  ~ExperimentJournal();

  bool is_open() const { return fd_ >= 0 || in_memory_; }
  // Stages a record for the next commit() (memory only; nothing is written).
  void add(const Json& record);
  // Writes the staged records as one line with one write() (see above); nothing when none is
  // staged. Throws std::system_error naming the file (ENOSPC included), having cut what it
  // wrote of the line off again and dropped the staged records.
  void commit();
  // add() then commit().
  void append(const Json& record) {
    add(record);
    commit();
  }
  bool has_staged() const { return staged_ > 0; }
  // Bytes in the file (every record committed so far is in it; staged ones are not).
  uint64_t bytes() const { return bytes_; }
  // in_memory(): every line committed so far.
  const std::string& memory_text() const { return memory_text_; }

 private:
  void write_line(const char* data, size_t size);

  int fd_ = -1;
  uint64_t bytes_ = 0;
  std::filesystem::path path_;
  // The staged records, comma-separated after the compound record's opening (kBatchOpen).
  std::string pending_;
  size_t staged_ = 0;
  bool in_memory_ = false;
  std::string memory_text_;
};

}  // namespace tune::detail
