// TFRecord framing (the container of TensorBoard event files) and its CRC32C checksums.
//
// A record is: uint64 length (little-endian), uint32 masked CRC32C of those 8 bytes, the data,
// uint32 masked CRC32C of the data. Writers append whole records only, so a crash leaves at most
// a torn final record; scan_records() stops there and says where the complete records end, which
// is where an append resumes.
// Thread-safety: free functions; no shared state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tune::detail {

// CRC-32C (Castagnoli); `crc` continues an earlier call's result.
uint32_t crc32c(std::string_view data, uint32_t crc = 0);
// The same from tables alone (what crc32c does without the CPU's crc32 instruction).
uint32_t crc32c_portable(std::string_view data, uint32_t crc = 0);
// The masked form TFRecord stores: rotate right 15 bits, add 0xa282ead8.
uint32_t mask_crc(uint32_t crc);
uint32_t masked_crc32c(std::string_view data);

// Appends one framed record holding `data` to `out`.
void append_record(std::string& out, std::string_view data);

struct RecordScan {
  std::vector<std::string> records;  // the data of every complete, checksum-valid record, in order
  uint64_t valid_bytes = 0;          // file offset just past the last of them
  uint64_t file_bytes = 0;           // the file's size; more than valid_bytes when the tail is torn or corrupt
};

// Reads `path` up to the first torn or corrupt record. A missing file reads as empty;
// an unreadable one throws std::system_error.
RecordScan scan_records(const std::filesystem::path& path);
// scan_records(path).records.
std::vector<std::string> read_records(const std::filesystem::path& path);

}  // namespace tune::detail
