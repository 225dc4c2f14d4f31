// Tolerant readers of per-trial files (see trial_files.h).
#include "analysis/trial_files.h"

#include <fstream>
#include <limits>
#include <sstream>

#include "common/untrusted_json.h"

namespace tune::analysis_detail {
namespace {

// Replaces NaN, Infinity and -Infinity outside strings with null so nlohmann can parse the line.
std::string replace_non_finite_tokens(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  bool in_string = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < line.size()) {
        out += line[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    bool replaced = false;
    for (std::string_view token :
         {std::string_view("-Infinity"), std::string_view("Infinity"), std::string_view("NaN")}) {
      if (line.substr(i, token.size()) == token) {
        out += "null";
        i += token.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += c;
  }
  return out;
}

}  // namespace

std::optional<Json> parse_result_line(std::string_view line) {
  if (line.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::nullopt;
  // Bounded before parsing, as everything read back from disk (common/untrusted_json.h).
  if (!detail::untrusted_json_problem(line).empty()) return std::nullopt;
  Json parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() &&
      (line.find("NaN") != std::string_view::npos || line.find("Infinity") != std::string_view::npos)) {
    parsed = Json::parse(replace_non_finite_tokens(line), nullptr, /*allow_exceptions=*/false);
  }
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  return parsed;
}

bool for_each_result(const std::filesystem::path& result_file, const std::function<void(Json&&)>& on_result) {
  std::ifstream in(result_file, std::ios::binary);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    if (std::optional<Json> result = parse_result_line(line)) on_result(std::move(*result));
  }
  return true;
}

std::optional<std::string> read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return std::move(buffer).str();
}

std::vector<std::vector<std::string>> parse_csv(std::string_view text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool in_quotes = false;
  bool record_started = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        field += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_quotes = true;
        record_started = true;
        break;
      case ',':
        record.push_back(std::move(field));
        field.clear();
        record_started = true;
        break;
      case '\r':
        break;
      case '\n':
        if (record_started || !field.empty()) {
          record.push_back(std::move(field));
          records.push_back(std::move(record));
        }
        field.clear();
        record.clear();
        record_started = false;
        break;
      default:
        field += c;
        record_started = true;
    }
  }
  if (record_started || !field.empty()) {
    record.push_back(std::move(field));
    records.push_back(std::move(record));
  }
  return records;
}

Json csv_cell(const std::string& field) {
  if (field.empty()) return nullptr;
  if (field == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (field == "inf") return std::numeric_limits<double>::infinity();
  if (field == "-inf") return -std::numeric_limits<double>::infinity();
  if (detail::nesting_overflow_offset(field) != std::string::npos) return field;
  Json parsed = Json::parse(field, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || parsed.is_string()) return field;
  return parsed;
}

}  // namespace tune::analysis_detail
