// Internal: one reply line of an external searcher program (docs/searcher_protocol.md) read
// into a JSON object, or refused with a TuneError that names the program and quotes the line,
// cut and with control bytes escaped. The program is outside input: a reply that is too long,
// not UTF-8, nested deeper than kMaxJsonDepth, not JSON (a number outside double range
// included) or not an object is refused, never a crash. Pure function, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "tune/json.h"

namespace tune::detail {

// The longest reply line accepted: a config, or the history echoed back, is far smaller.
inline constexpr size_t kMaxSearcherReplyBytes = size_t{4} << 20;

// The reply `line` (without its '\n') of `program`; an {"error": ...} reply is refused too,
// with the program's words.
Json read_searcher_reply(std::string_view line, const std::string& program);

}  // namespace tune::detail
