// Bounds around nlohmann's parser for JSON text from outside (see untrusted_json.h).
#include "common/untrusted_json.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>

#include "tune/client.h"

namespace tune::detail {

size_t invalid_utf8_offset(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // Fast path: eight ASCII bytes at once.
    while (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, s + i, 8);
      if ((word & 0x8080808080808080ULL) != 0) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t min;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, min = 0x10000, cp = c & 0x07;
    } else {
      return i;
    }
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

size_t nesting_overflow_offset(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

std::string untrusted_json_problem(std::string_view text, size_t max_depth) {
  if (const size_t bad = invalid_utf8_offset(text); bad != std::string_view::npos) {
    return fmt::format("not valid UTF-8 (byte 0x{:02x} at offset {})", static_cast<unsigned char>(text[bad]), bad);
  }
  if (const size_t deep = nesting_overflow_offset(text, max_depth); deep != std::string_view::npos) {
    return fmt::format("nested deeper than {} levels (at offset {})", max_depth, deep);
  }
  return {};
}

ParsedJson parse_untrusted_json(std::string_view text, bool nonfinite, size_t max_depth) {
  ParsedJson out;
  out.error = untrusted_json_problem(text, max_depth);
  if (!out.error.empty()) return out;
  try {
    out.value = nonfinite ? client::wire::parse_line(text) : Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {  // parse_error, and out_of_range for 1e309
    out.value = Json();
    out.error = fmt::format("not valid JSON ({})", e.what());
  }
  return out;
}

std::string quoted_excerpt(std::string_view line, size_t max) {
  std::string cut(line.substr(0, max));
  std::string out;
  for (unsigned char c : cut) {
    if (c >= 0x20 && c < 0x7f)
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  return out + (line.size() > max ? "..." : "");
}

}  // namespace tune::detail
