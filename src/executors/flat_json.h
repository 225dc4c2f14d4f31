// Internal: a fast path for parsing the JSON of a result, which is nearly always one flat
// object of numbers, strings and booleans ({"loss": 0.25, "acc": 0.9}). nlohmann's parser
// spends most of a lockstep step's parsing on its general machinery (lexer states, locale,
// strtod); this one reads just that shape and builds the same value nlohmann would.
#pragma once

#include <string_view>

#include "tune/json.h"

namespace tune::detail {

// Parses `text` when it is exactly one JSON object whose values are numbers, strings without
// escapes, true, false or null (whitespace allowed where JSON allows it), into `out`: the
// value Json::parse(text) gives, types included (unsigned / integer / float, the last of
// duplicate keys). Returns false, leaving `out` unspecified, for anything else — nesting,
// escapes, NaN, a number out of range, a syntax error — which the caller parses in full.
bool parse_flat_object(std::string_view text, Json& out);

}  // namespace tune::detail
