// tune/pinned_memory.h — how pinned objects (tune/object_store.h) reach child processes: the
// TUNE_PINNED_OBJECTS variable, the item formats, and read-only mappings of the inherited
// descriptors. Header-only (POSIX and the standard library), because both the library and the
// header-only client (tune/client.h) use it; users rarely need it directly.
//
// A pinned object is an anonymous memfd, sealed read-only, that the driver's children inherit.
// TUNE_PINNED_OBJECTS lists them, comma-separated, each as
//   <id>:<fd>:<bytes>:<item_size>:<format>
// e.g. "tune-pin-4242-1:5:4000000:4:f". The id is also the memfd's name (so /proc/self/fd/<fd>
// reads "/memfd:<id> (deleted)"); `format` is the item's Python struct character (f, d, b, B,
// h, H, i, I, q, Q, ?), empty for a struct.
// Thread-safety: the functions only touch their arguments; a Mapping is an immutable value.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tune/error.h"

namespace tune::pinned {

inline constexpr const char* kEnvVar = "TUNE_PINNED_OBJECTS";

// One pinned object as a process that inherited it sees it.
struct Descriptor {
  std::string id;        // "tune-pin-<driver pid>-<n>", also the memfd's name
  int fd = -1;           // the inherited memfd (read-only: sealed against writes)
  size_t bytes = 0;      // the object's size
  size_t item_size = 1;  // bytes per item (sizeof the pinned element type)
  char format = '\0';    // Python struct character of an item; '\0' when unknown (a struct)
};

// Items that view any object as its raw bytes.
template <typename T>
inline constexpr bool kByteLike =
    std::is_same_v<T, char> || std::is_same_v<T, unsigned char> || std::is_same_v<T, std::byte>;

// The struct/memoryview format character of T, '\0' for types Python has no name for.
template <typename T>
constexpr char format_of() {
  using U = std::remove_cv_t<T>;
  if constexpr (kByteLike<U>) {
    return 'B';
  } else if constexpr (std::is_same_v<U, bool>) {
    return '?';
  } else if constexpr (std::is_same_v<U, float>) {
    return 'f';
  } else if constexpr (std::is_same_v<U, double>) {
    return 'd';
  } else if constexpr (std::is_integral_v<U> &&
                       (sizeof(U) == 1 || sizeof(U) == 2 || sizeof(U) == 4 || sizeof(U) == 8)) {
    constexpr const char* kSigned = "bh?i???q";  // indexed by size - 1
    constexpr const char* kUnsigned = "BH?I???Q";
    return std::is_signed_v<U> ? kSigned[sizeof(U) - 1] : kUnsigned[sizeof(U) - 1];
  } else {
    return '\0';
  }
}

// Joins message parts (appending, rather than chaining operator+, which GCC 12 misreports).
inline std::string concat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) out += part;
  return out;
}

// "float32 (format 'f')", "a 12-byte item (no format)": for messages.
inline std::string describe_item(size_t item_size, char format) {
  static constexpr std::pair<char, const char*> kNames[] = {
      {'f', "float32"}, {'d', "float64"}, {'b', "int8"},  {'B', "uint8/byte"}, {'h', "int16"}, {'H', "uint16"},
      {'i', "int32"},   {'I', "uint32"},  {'q', "int64"}, {'Q', "uint64"},     {'?', "bool"}};
  for (const auto& [character, name] : kNames) {
    if (character == format) return concat({name, " (format '", std::string_view(&format, 1), "')"});
  }
  return concat({"a ", std::to_string(item_size), "-byte item (no format)"});
}

inline bool valid_id(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

inline std::string encode(const std::vector<Descriptor>& objects) {
  std::string out;
  for (const Descriptor& d : objects) {
    if (!out.empty()) out += ',';
    out += concat({d.id, ":", std::to_string(d.fd), ":", std::to_string(d.bytes), ":", std::to_string(d.item_size), ":",
                   d.format == '\0' ? std::string_view() : std::string_view(&d.format, 1)});
  }
  return out;
}

// Parses a TUNE_PINNED_OBJECTS value; throws TuneError naming the entry that is malformed.
inline std::vector<Descriptor> decode(std::string_view text) {
  std::vector<Descriptor> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view entry = text.substr(start, end - start);
    start = end + 1;
    if (entry.empty()) continue;
    std::vector<std::string_view> fields;
    for (size_t from = 0;;) {
      const size_t colon = entry.find(':', from);
      fields.push_back(entry.substr(from, colon == std::string_view::npos ? std::string_view::npos : colon - from));
      if (colon == std::string_view::npos) break;
      from = colon + 1;
    }
    auto fail = [&](const std::string& why) {
      throw TuneError(
          concat({kEnvVar, ": entry '", entry, "' ", why, " (expected <id>:<fd>:<bytes>:<item_size>:<format>)"}));
    };
    if (fields.size() != 5) fail(concat({"has ", std::to_string(fields.size()), " fields, not 5"}));
    auto number = [&](std::string_view field, const char* what, unsigned long long min, unsigned long long max) {
      unsigned long long value = 0;
      const auto [end_ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
      if (ec != std::errc() || end_ptr != field.data() + field.size() || value < min || value > max) {
        fail(concat({"has a bad ", what, " '", field, "'"}));
      }
      return value;
    };
    Descriptor d;
    d.id = std::string(fields[0]);
    if (!valid_id(d.id)) fail("has a bad id (letters, digits, '-', '_' and '.' only)");
    d.fd = static_cast<int>(number(fields[1], "fd", 0, INT_MAX));
    d.bytes = static_cast<size_t>(number(fields[2], "size", 0, SIZE_MAX));
    d.item_size = static_cast<size_t>(number(fields[3], "item size", 1, SIZE_MAX));
    if (fields[4].size() > 1) fail(concat({"has a bad format '", fields[4], "' (one character or none)"}));
    d.format = fields[4].empty() ? '\0' : fields[4][0];
    out.push_back(std::move(d));
  }
  return out;
}

// The descriptor of `id`, or TuneError (from `what`) listing what there is.
inline const Descriptor& find(const std::vector<Descriptor>& objects, std::string_view id, const char* what) {
  for (const Descriptor& d : objects) {
    if (d.id == id) return d;
  }
  std::string known;
  for (const Descriptor& d : objects) known += concat({known.empty() ? "" : ", ", d.id});
  if (known.empty()) known = concat({"none: ", kEnvVar, " is empty or not set"});
  throw TuneError(concat({what, ": no pinned object '", id, "' (this process inherited ", known, ")"}));
}

// Throws TuneError unless items of `item_size` bytes and `format` may view the object `id`:
// byte-like items view anything; other items must have the pinned item's size and, when both
// are known, its format.
inline void check_item_type(const std::string& id, size_t object_item_size, char object_format, size_t item_size,
                            char format, bool byte_like) {
  if (byte_like) return;
  const bool size_differs = item_size != object_item_size;
  if (size_differs || (format != '\0' && object_format != '\0' && format != object_format)) {
    throw TuneError(concat(
        {"get_pinned_object: '", id, "' holds items of type ", describe_item(object_item_size, object_format), ", ",
         std::to_string(object_item_size), " bytes each; asked for ", describe_item(item_size, format), ", ",
         std::to_string(item_size), " bytes", size_differs ? " (the sizes differ)" : " (the formats differ)"}));
  }
}

// A read-only shared mapping of a whole pinned object; unmapped on destruction.
class Mapping {
 public:
  Mapping() = default;
  Mapping(const void* data, size_t bytes) : data_(data), bytes_(bytes) {}
  Mapping(Mapping&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  Mapping& operator=(Mapping&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { release(); }

  const void* data() const { return data_; }
  size_t size() const { return bytes_; }

 private:
  void release() {
    if (data_ != nullptr) ::munmap(const_cast<void*>(data_), bytes_);
    data_ = nullptr;
  }
  const void* data_ = nullptr;  // null for an empty object (nothing can be mapped)
  size_t bytes_ = 0;
};

// Maps `fd` read-only (MAP_SHARED: the pages are the driver's, never copied); `id` names it in
// errors. Throws TuneError when the mapping fails.
inline Mapping map_read_only(int fd, size_t bytes, const std::string& id) {
  if (bytes == 0) return {};
  void* data = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    throw TuneError(concat(
        {"pinned object '", id, "': cannot map ", std::to_string(bytes), " bytes read-only: ", std::strerror(errno)}));
  }
  return Mapping(data, bytes);
}

// Maps an inherited object after checking that its fd really is that object: the memfd named
// by the id (so a descriptor closed and reused for something else is never mapped), at least
// `bytes` long. Throws TuneError saying what does not match.
inline Mapping attach(const Descriptor& d) {
  const std::string where = concat({kEnvVar, " names fd ", std::to_string(d.fd), " for '", d.id, "'"});
  char link[512];
  const std::string proc = concat({"/proc/self/fd/", std::to_string(d.fd)});
  const ssize_t n = ::readlink(proc.c_str(), link, sizeof link - 1);
  if (n >= 0) {
    const std::string_view target(link, static_cast<size_t>(n));
    const std::string expected = concat({"/memfd:", d.id});
    if (!target.starts_with(expected) || (target.size() > expected.size() && target[expected.size()] != ' ')) {
      throw TuneError(
          concat({where, ", but that fd is ", target, " (a process between tune and this one closed or replaced it)"}));
    }
  } else if (errno == ENOENT) {
    throw TuneError(concat({where,
                            ", but this process does not have it open (a process between tune and this one closed "
                            "it, e.g. Python's subprocess with close_fds=True)"}));
  }  // no /proc: fstat below still checks the size
  struct stat st {};
  if (::fstat(d.fd, &st) != 0) throw TuneError(concat({where, ", but fstat fails: ", std::strerror(errno)}));
  if (static_cast<unsigned long long>(st.st_size) < d.bytes) {
    throw TuneError(
        concat({where, " of ", std::to_string(d.bytes), " bytes, but the file has ", std::to_string(st.st_size)}));
  }
  return map_read_only(d.fd, d.bytes, d.id);
}

}  // namespace tune::pinned
