// Internal string helpers (see strings.h).
#include "common/strings.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace tune {

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += separator;
    out += parts[i];
  }
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string did_you_mean(std::string_view key, const std::vector<std::string>& candidates) {
  const size_t allowed = std::max<size_t>(2, key.size() / 3);
  size_t best = std::string::npos;
  const std::string* best_name = nullptr;
  for (const auto& candidate : candidates) {
    // The distance is at least the difference in length: a candidate that far off is never the
    // answer, and skipping it keeps a hostile 64 KiB key from costing O(key x candidate) each.
    const size_t gap = key.size() > candidate.size() ? key.size() - candidate.size() : candidate.size() - key.size();
    if (gap > allowed) continue;
    const size_t d = edit_distance(key, candidate);
    if (d < best) {
      best = d;
      best_name = &candidate;
    }
  }
  if (best_name == nullptr || best > allowed) return "";
  return fmt::format(" (did you mean '{}'?)", *best_name);
}

std::string utf8_prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = max_bytes;
  // Step back over continuation bytes so no character is split.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut));
}

std::string sanitize_filename(std::string_view name, size_t max_bytes) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == '\\' || u < 0x20 || u == 0x7F || c == ':' || c == '*' || c == '?' || c == '"' || c == '<' ||
        c == '>' || c == '|' || c == ' ') {
      out += '_';
    } else {
      out += c;
    }
  }
  if (out.empty()) out = "trial";
  if (out.front() == '.') out.insert(out.begin(), '_');  // no hidden files, no "." or ".."
  return utf8_prefix(out, max_bytes);
}

size_t utf8_sequence_length(std::string_view text, size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return 1;
  size_t length = 0;
  uint32_t min_code = 0;
  if ((c & 0xE0) == 0xC0)
    length = 2, min_code = 0x80;
  else if ((c & 0xF0) == 0xE0)
    length = 3, min_code = 0x800;
  else if ((c & 0xF8) == 0xF0)
    length = 4, min_code = 0x10000;
  if (length == 0 || i + length > text.size()) return 0;
  uint32_t code = c & (0xFFu >> (length + 1));
  for (size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3F);
  }
  if (code < min_code || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

namespace {

// A C1 control (U+0080..U+009F) is encoded as C2 80..C2 9F.
bool is_c1(std::string_view text, size_t i) {
  return i + 1 < text.size() && static_cast<unsigned char>(text[i]) == 0xC2 &&
         static_cast<unsigned char>(text[i + 1]) >= 0x80 && static_cast<unsigned char>(text[i + 1]) <= 0x9F;
}

}  // namespace

std::string escape_for_terminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else if (is_c1(text, i)) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(text[i + 1]));
      i += 2;
      continue;
    } else if (const size_t length = utf8_sequence_length(text, i); length > 1) {
      out.append(text, i, length);
      i += length;
      continue;
    } else if (length == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  return out;
}

size_t find_control_character(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F || is_c1(text, i)) return i;
  }
  return std::string_view::npos;
}

std::filesystem::path expand_user(const std::string& path) {
  if (path == "~" || path.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    const std::string base = home && *home ? home : "/tmp";
    return std::filesystem::path(base + path.substr(1));
  }
  return std::filesystem::path(path);
}

std::string date_string(std::time_t when) {
  std::tm tm{};
  localtime_r(&when, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d_%H-%M-%S", &tm);
  return buffer;
}

std::string format_float(double value, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
  return buffer;
}

std::string random_hex(size_t digits) {
  static thread_local std::mt19937_64 engine(std::random_device{}());
  std::string out;
  for (size_t i = 0; i < digits; ++i) out += "0123456789abcdef"[engine() % 16];
  return out;
}

std::vector<std::string> split_csv_row(std::string_view row) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (size_t i = 0; i < row.size(); ++i) {
    const char c = row[i];
    if (quoted) {
      if (c == '"' && i + 1 < row.size() && row[i + 1] == '"') {
        cells.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cells.back().push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.emplace_back();
    } else if (c == '\n' || c == '\r') {
      break;
    } else {
      cells.back().push_back(c);
    }
  }
  return cells;
}

}  // namespace tune
