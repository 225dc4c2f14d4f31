// TFRecord framing and CRC32C: the CPU's crc32 instruction where there is one (x86-64 with
// SSE4.2, checked at run time), else slicing-by-8 over compile-time tables.
#include "callbacks/tfrecord.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

namespace tune::detail {
namespace {

constexpr uint32_t kCastagnoliReflected = 0x82F63B78u;
constexpr uint32_t kMaskDelta = 0xa282ead8u;
constexpr size_t kHeaderBytes = 12;  // length + its CRC
constexpr size_t kFooterBytes = 4;   // the data's CRC

using CrcTables = std::array<std::array<uint32_t, 256>, 8>;

constexpr CrcTables make_crc_tables() {
  CrcTables tables{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ kCastagnoliReflected : crc >> 1;
    tables[0][i] = crc;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (size_t t = 1; t < 8; ++t) tables[t][i] = (tables[t - 1][i] >> 8) ^ tables[0][tables[t - 1][i] & 0xFF];
  }
  return tables;
}

constexpr CrcTables kCrcTables = make_crc_tables();

uint64_t load_le(const unsigned char* p, size_t bytes) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (bytes == 8) {  // one load, not eight shifts
    uint64_t word;
    std::memcpy(&word, p, 8);
    return word;
  }
#endif
  uint64_t value = 0;
  for (size_t i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(p[i]) << (8 * i);
  return value;
}

void store_le(char* p, uint64_t value, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) p[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
}

uint32_t crc32c_tables(std::string_view data, uint32_t crc) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  crc = ~crc;
  while (n >= 8) {
    const uint64_t word = load_le(p, 8) ^ crc;
    crc = kCrcTables[7][word & 0xFF] ^ kCrcTables[6][(word >> 8) & 0xFF] ^ kCrcTables[5][(word >> 16) & 0xFF] ^
          kCrcTables[4][(word >> 24) & 0xFF] ^ kCrcTables[3][(word >> 32) & 0xFF] ^ kCrcTables[2][(word >> 40) & 0xFF] ^
          kCrcTables[1][(word >> 48) & 0xFF] ^ kCrcTables[0][word >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ kCrcTables[0][(crc ^ *p++) & 0xFF];
  return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_hardware(std::string_view data, uint32_t crc) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  uint64_t state = ~crc;
  while (n >= 8) {
    state = _mm_crc32_u64(state, load_le(p, 8));
    p += 8;
    n -= 8;
  }
  auto narrow = static_cast<uint32_t>(state);
  while (n-- > 0) narrow = _mm_crc32_u8(narrow, *p++);
  return ~narrow;
}

bool has_hardware_crc() {
  static const bool supported = __builtin_cpu_supports("sse4.2");
  return supported;
}
#endif

}  // namespace

uint32_t crc32c(std::string_view data, uint32_t crc) {
#if defined(__x86_64__)
  if (has_hardware_crc()) return crc32c_hardware(data, crc);
#endif
  return crc32c_tables(data, crc);
}

uint32_t crc32c_portable(std::string_view data, uint32_t crc) { return crc32c_tables(data, crc); }

uint32_t mask_crc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }

uint32_t masked_crc32c(std::string_view data) { return mask_crc(crc32c(data)); }

void append_record(std::string& out, std::string_view data) {
  char header[kHeaderBytes];
  store_le(header, data.size(), 8);
  store_le(header + 8, masked_crc32c(std::string_view(header, 8)), 4);
  char footer[kFooterBytes];
  store_le(footer, masked_crc32c(data), 4);
  out.reserve(out.size() + kHeaderBytes + data.size() + kFooterBytes);
  out.append(header, kHeaderBytes);
  out.append(data);
  out.append(footer, kFooterBytes);
}

RecordScan scan_records(const std::filesystem::path& path) {
  RecordScan scan;
  std::error_code exists_error;
  if (!std::filesystem::exists(path, exists_error)) return scan;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::system_error(errno, std::generic_category(), "tensorboard: cannot read " + path.string());
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  scan.file_bytes = bytes.size();
  const auto* base = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t pos = 0;
  while (bytes.size() - pos >= kHeaderBytes) {
    const std::string_view length_bytes(bytes.data() + pos, 8);
    if (masked_crc32c(length_bytes) != static_cast<uint32_t>(load_le(base + pos + 8, 4))) break;
    const uint64_t length = load_le(base + pos, 8);
    const size_t remaining = bytes.size() - pos;
    if (remaining < kHeaderBytes + kFooterBytes || length > remaining - kHeaderBytes - kFooterBytes) {
      break;  // torn: the record runs past the end of the file
    }
    const std::string_view data(bytes.data() + pos + kHeaderBytes, length);
    if (masked_crc32c(data) != static_cast<uint32_t>(load_le(base + pos + kHeaderBytes + length, 4))) break;
    scan.records.emplace_back(data);
    pos += kHeaderBytes + length + kFooterBytes;
  }
  scan.valid_bytes = pos;
  return scan;
}

std::vector<std::string> read_records(const std::filesystem::path& path) { return scan_records(path).records; }

}  // namespace tune::detail
