// Internal: the bounds every parser of outside JSON text applies before and around
// nlohmann's parser (child results, worker replies, external-searcher replies, journal,
// snapshot and result.json lines). nlohmann parses iteratively, but copying, dumping and
// flattening a tree recurse, so a deeply nested value that parses fine would overflow the
// stack later; and a number outside double range throws out_of_range, not parse_error.
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "tune/json.h"

namespace tune::detail {

// The deepest nesting of arrays and objects accepted from outside: far more than any result,
// config or state record needs, far less than what overflows a stack when a tree is copied.
inline constexpr size_t kMaxJsonDepth = 256;

// Byte offset of the first invalid UTF-8 sequence in `text`, or npos.
size_t invalid_utf8_offset(std::string_view text);

// Byte offset of the bracket that opens level `max_depth + 1` (strings skipped), or npos.
size_t nesting_overflow_offset(std::string_view text, size_t max_depth = kMaxJsonDepth);

// Why `text` is refused before parsing (not UTF-8, nested too deep), or "" when it is not.
std::string untrusted_json_problem(std::string_view text, size_t max_depth = kMaxJsonDepth);

// Parses `text` after the checks above: `error` empty and `value` set, or `error` says why
// (the check's or the parser's words: a syntax error, a number outside double range).
// Never throws for any input. NaN / Infinity outside strings are read as the client protocol
// writes them when `nonfinite` is true.
struct ParsedJson {
  Json value;
  std::string error;
};
ParsedJson parse_untrusted_json(std::string_view text, bool nonfinite = true, size_t max_depth = kMaxJsonDepth);

// `line` cut to `max` bytes with every byte outside printable ASCII as \xNN, for messages.
std::string quoted_excerpt(std::string_view line, size_t max = 200);

}  // namespace tune::detail
