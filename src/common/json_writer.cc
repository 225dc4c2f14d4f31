// Compact JSON text without nlohmann's serializer setup (see json_writer.h).
#include "common/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace tune::detail {
namespace {

// Bytes a JSON string holds as they are: printable ASCII but the quote and the backslash.
// Anything else (control characters, non-ASCII, which may be invalid UTF-8) goes to
// nlohmann's own escaping, so the output stays exactly dump()'s.
constexpr bool is_plain(unsigned char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }

void append_escaped_slow(std::string& out, std::string_view text) {
  out += Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  bool plain = true;
  for (const char c : text) plain &= is_plain(static_cast<unsigned char>(c));  // no branch per byte
  if (!plain) {
    append_escaped_slow(out, text);
    return;
  }
  const size_t at = out.size();
  out.resize(at + text.size() + 2);
  char* p = out.data() + at;
  p[0] = '"';
  if (!text.empty()) std::memcpy(p + 1, text.data(), text.size());
  p[text.size() + 1] = '"';
}

void append_json_double(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buffer[64];
  // nlohmann's own grisu2 formatting: the same digits and exponent style as dump().
  char* end = nlohmann::detail::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, static_cast<size_t>(end - buffer));
}

void append_json_int(std::string& out, int64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, static_cast<size_t>(result.ptr - buffer));
}

void append_json_uint(std::string& out, uint64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, static_cast<size_t>(result.ptr - buffer));
}

void append_json(std::string& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      out += "null";
      return;
    case Json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::number_integer:
      append_json_int(out, value.get_ref<const Json::number_integer_t&>());
      return;
    case Json::value_t::number_unsigned:
      append_json_uint(out, value.get_ref<const Json::number_unsigned_t&>());
      return;
    case Json::value_t::number_float:
      append_json_double(out, value.get_ref<const Json::number_float_t&>());
      return;
    case Json::value_t::string:
      append_json_string(out, value.get_ref<const std::string&>());
      return;
    case Json::value_t::object: {
      const auto& object = value.get_ref<const Json::object_t&>();
      if (object.empty()) {
        out += "{}";
        return;
      }
      char separator = '{';
      for (const auto& [key, child] : object) {
        out += separator;
        separator = ',';
        append_json_string(out, key);
        out += ':';
        append_json(out, child);
      }
      out += '}';
      return;
    }
    case Json::value_t::array: {
      const auto& array = value.get_ref<const Json::array_t&>();
      if (array.empty()) {
        out += "[]";
        return;
      }
      char separator = '[';
      for (const Json& child : array) {
        out += separator;
        separator = ',';
        append_json(out, child);
      }
      out += ']';
      return;
    }
    case Json::value_t::binary:
    case Json::value_t::discarded:
      break;
  }
  out += value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool same_json(const Json& a, const Json& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Json::value_t::object: {
      const auto& x = a.get_ref<const Json::object_t&>();
      const auto& y = b.get_ref<const Json::object_t&>();
      if (x.size() != y.size()) return false;
      for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
        if (i->first != j->first || !same_json(i->second, j->second)) return false;
      }
      return true;
    }
    case Json::value_t::array: {
      const auto& x = a.get_ref<const Json::array_t&>();
      const auto& y = b.get_ref<const Json::array_t&>();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!same_json(x[i], y[i])) return false;
      }
      return true;
    }
    case Json::value_t::number_float: {
      // Bit patterns, not ==: NaN is the same as NaN here, 0.0 is not -0.0.
      const double x = a.get<double>(), y = b.get<double>();
      return std::memcmp(&x, &y, sizeof x) == 0;
    }
    default:
      return a == b;
  }
}

}  // namespace tune::detail
