#include "executors/flat_json.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <system_error>

namespace tune::detail {
namespace {

struct Cursor {
  const char* p;
  const char* end;

  void skip_space() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  }
  bool eat(char c) {
    skip_space();
    if (p < end && *p == c) {
      ++p;
      return true;
    }
    return false;
  }
  bool word(std::string_view w) {
    if (static_cast<size_t>(end - p) < w.size() || std::string_view(p, w.size()) != w) return false;
    p += w.size();
    return true;
  }
  // A string without escapes or control characters (the line is valid UTF-8 already).
  bool string(std::string_view& out) {
    if (p >= end || *p != '"') return false;
    const char* start = ++p;
    while (p < end && *p != '"') {
      const auto c = static_cast<unsigned char>(*p);
      if (c == '\\' || c < 0x20) return false;
      ++p;
    }
    if (p >= end) return false;
    out = std::string_view(start, static_cast<size_t>(p - start));
    ++p;
    return true;
  }
  // A JSON number, typed as nlohmann types it: no fraction or exponent gives an unsigned
  // (non-negative) or a signed integer, falling back to a double when out of their range.
  bool number(Json& out) {
    const char* start = p;
    if (p < end && *p == '-') ++p;
    if (p >= end) return false;
    if (*p == '0') {
      ++p;
    } else if (*p >= '1' && *p <= '9') {
      while (p < end && *p >= '0' && *p <= '9') ++p;
    } else {
      return false;
    }
    bool integral = true;
    if (p < end && *p == '.') {
      integral = false;
      ++p;
      if (p >= end || *p < '0' || *p > '9') return false;
      while (p < end && *p >= '0' && *p <= '9') ++p;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
      integral = false;
      ++p;
      if (p < end && (*p == '+' || *p == '-')) ++p;
      if (p >= end || *p < '0' || *p > '9') return false;
      while (p < end && *p >= '0' && *p <= '9') ++p;
    }
    if (integral) {
      if (*start == '-') {
        int64_t v = 0;
        const auto [ptr, ec] = std::from_chars(start, p, v);
        if (ec == std::errc() && ptr == p) {
          out = v;
          return true;
        }
      } else {
        uint64_t v = 0;
        const auto [ptr, ec] = std::from_chars(start, p, v);
        if (ec == std::errc() && ptr == p) {
          out = v;
          return true;
        }
      }
    }
    double d = 0;
    const auto [ptr, ec] = std::from_chars(start, p, d);
    if (ec != std::errc() || ptr != p) return false;  // out of range: nlohmann's message, please
    out = d;
    return true;
  }
};

}  // namespace

bool parse_flat_object(std::string_view text, Json& out) {
  Cursor in{text.data(), text.data() + text.size()};
  if (!in.eat('{')) return false;
  out = Json::object();
  in.skip_space();
  if (in.eat('}')) {
    in.skip_space();
    return in.p == in.end;
  }
  while (true) {
    std::string_view key;
    in.skip_space();
    if (!in.string(key) || !in.eat(':')) return false;
    in.skip_space();
    if (in.p >= in.end) return false;
    Json value;
    const char c = *in.p;
    if (c == '"') {
      std::string_view s;
      if (!in.string(s)) return false;
      value = std::string(s);
    } else if (c == 't') {
      if (!in.word("true")) return false;
      value = true;
    } else if (c == 'f') {
      if (!in.word("false")) return false;
      value = false;
    } else if (c == 'n') {
      if (!in.word("null")) return false;
    } else if (!in.number(value)) {
      return false;
    }
    out[std::string(key)] = std::move(value);  // the last of duplicate keys wins, as in nlohmann
    if (in.eat(',')) continue;
    if (!in.eat('}')) return false;
    in.skip_space();
    return in.p == in.end;
  }
}

}  // namespace tune::detail
