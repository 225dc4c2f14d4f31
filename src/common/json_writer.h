// Internal: appends JSON text to a std::string, byte for byte what
// `value.dump(-1, ' ', false, Json::error_handler_t::replace)` writes, without the
// serializer's per-call setup (a locale query and a heap-allocated output adapter) and
// without a temporary string per value. Loggers write every result through it.
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "tune/json.h"

namespace tune::detail {

// Appends the compact serialisation of `value` (as dump(-1, ' ', false, replace)).
void append_json(std::string& out, const Json& value);
// Appends `text` as a quoted JSON string (invalid UTF-8 replaced by U+FFFD, as dump does).
void append_json_string(std::string& out, std::string_view text);
// Appends a number as dump writes a number_float (grisu2, shortest round trip; NaN/inf: null).
void append_json_double(std::string& out, double value);
// Appends an integer in decimal.
void append_json_int(std::string& out, int64_t value);
void append_json_uint(std::string& out, uint64_t value);

// Equal as JSON trees *and* as text: same types everywhere (Json's operator== calls 1 and
// 1.0 equal, which serialise differently). Used to reuse a cached serialisation.
bool same_json(const Json& a, const Json& b);

}  // namespace tune::detail
