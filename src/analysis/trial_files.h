// Internal: reading a trial directory's files (result.json, progress.csv, error.txt) tolerantly.
//
// The files may belong to a crashed or still-running trial, so a torn last line is skipped
// rather than treated as an error.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tune/json.h"

namespace tune::analysis_detail {

// Parses one result.json line; nullopt for a blank, torn or non-object line, and for one that
// is not UTF-8, nested deeper than kMaxJsonDepth or holds a number outside double range. Accepts the
// NaN/Infinity tokens Python's json writes (read as null, i.e. "not a finite value").
std::optional<Json> parse_result_line(std::string_view line);

// Calls `on_result` for each parseable result of <logdir>/result.json, oldest first.
// Returns false when the file does not exist or cannot be opened.
bool for_each_result(const std::filesystem::path& result_file, const std::function<void(Json&&)>& on_result);

// The whole file, or nullopt when it cannot be read.
std::optional<std::string> read_text(const std::filesystem::path& file);

// RFC 4180 records: quoted fields may hold commas, doubled quotes and newlines.
std::vector<std::vector<std::string>> parse_csv(std::string_view text);

// A CSV field back to a value: empty -> null, JSON numbers/bools/arrays/objects as such, else a string.
Json csv_cell(const std::string& field);

}  // namespace tune::analysis_detail
