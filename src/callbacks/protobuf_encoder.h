// A minimal protobuf wire-format encoder and reader, so the TensorBoard logger needs no libprotobuf.
//
// Only what event files need: varints, length-delimited fields, fixed32 floats and fixed64
// doubles. Proto3 semantics are the caller's job (a default value may simply be left out).
// Thread-safety: free functions over caller-owned buffers.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace tune::detail::proto {

enum class WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

inline void append_varint(std::string& out, uint64_t value) {
  char buffer[10];
  size_t size = 0;
  while (value >= 0x80) {
    buffer[size++] = static_cast<char>((value & 0x7F) | 0x80);
    value >>= 7;
  }
  buffer[size++] = static_cast<char>(value);
  out.append(buffer, size);
}

inline size_t varint_size(uint64_t value) {
  size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

inline void append_key(std::string& out, uint32_t field, WireType type) {
  append_varint(out, (static_cast<uint64_t>(field) << 3) | static_cast<uint32_t>(type));
}

// int32/int64/enum/bool: negative values take ten bytes, as protobuf writes them.
inline void append_varint_field(std::string& out, uint32_t field, int64_t value) {
  append_key(out, field, WireType::kVarint);
  append_varint(out, static_cast<uint64_t>(value));
}

inline void append_little_endian(std::string& out, uint64_t bits, size_t bytes) {
  char buffer[8];
  for (size_t i = 0; i < bytes; ++i) buffer[i] = static_cast<char>((bits >> (8 * i)) & 0xFF);
  out.append(buffer, bytes);
}

inline void append_double_field(std::string& out, uint32_t field, double value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  append_key(out, field, WireType::kFixed64);
  append_little_endian(out, bits, 8);
}

inline void append_float_field(std::string& out, uint32_t field, float value) {
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  append_key(out, field, WireType::kFixed32);
  append_little_endian(out, bits, 4);
}

// string, bytes and embedded messages (already encoded) alike.
inline void append_bytes_field(std::string& out, uint32_t field, std::string_view bytes) {
  append_key(out, field, WireType::kLengthDelimited);
  append_varint(out, bytes.size());
  out.append(bytes);
}

// One field read back by Reader.
struct Field {
  uint32_t number = 0;
  WireType type = WireType::kVarint;
  uint64_t varint = 0;     // kVarint
  uint64_t fixed = 0;      // kFixed64 / kFixed32 bits
  std::string_view bytes;  // kLengthDelimited
};

// Walks the fields of one encoded message; next() returns false at the end or on malformed input
// (ok() tells which). Used to find what an existing event file already holds when appending to it.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool next(Field& field) {
    if (pos_ >= data_.size() || !ok_) return false;
    uint64_t key = 0;
    if (!read_varint(key)) return fail();
    field.number = static_cast<uint32_t>(key >> 3);
    field.type = static_cast<WireType>(key & 7);
    switch (field.type) {
      case WireType::kVarint:
        return read_varint(field.varint) || fail();
      case WireType::kFixed64:
        return read_fixed(field.fixed, 8) || fail();
      case WireType::kFixed32:
        return read_fixed(field.fixed, 4) || fail();
      case WireType::kLengthDelimited: {
        uint64_t size = 0;
        if (!read_varint(size) || size > data_.size() - pos_) return fail();
        field.bytes = data_.substr(pos_, size);
        pos_ += size;
        return true;
      }
    }
    return fail();  // groups and unknown wire types: not in the messages we read
  }

  bool ok() const { return ok_; }

 private:
  bool fail() {
    ok_ = false;
    return false;
  }

  bool read_varint(uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 64 && pos_ < data_.size(); shift += 7) {
      const auto byte = static_cast<uint8_t>(data_[pos_++]);
      value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }

  bool read_fixed(uint64_t& value, size_t bytes) {
    if (data_.size() - pos_ < bytes) return false;
    value = 0;
    for (size_t i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    pos_ += bytes;
    return true;
  }

  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace tune::detail::proto
