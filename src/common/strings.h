// Internal string helpers shared by the modules: splitting, joining, suggestions for
// misspelt keys, filesystem-safe names, terminal-safe text, dates.
#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tune {

std::vector<std::string> split(std::string_view text, char separator);
std::string join(const std::vector<std::string>& parts, std::string_view separator);
// Edit distance (Levenshtein).
size_t edit_distance(std::string_view a, std::string_view b);
// " (did you mean 'x'?)" for the closest candidate within a small distance, else "".
std::string did_you_mean(std::string_view key, const std::vector<std::string>& candidates);
// A single path component that cannot escape its parent: '/' and control characters
// become '_', "." and ".." become "_." / "_..", at most max_bytes bytes (UTF-8 safe cut).
std::string sanitize_filename(std::string_view name, size_t max_bytes = 200);
// Cuts a UTF-8 string to at most max_bytes without splitting a character.
std::string utf8_prefix(std::string_view text, size_t max_bytes);
// The length of the valid UTF-8 sequence at text[i] (1 to 4), or 0 when it is invalid there
// (a stray or cut byte, an overlong form, a surrogate, a code point past U+10FFFF).
size_t utf8_sequence_length(std::string_view text, size_t i);
// Text from outside (results, trial names, config values, error messages) made safe to print on
// a terminal: control characters (C0, DEL, C1, so ESC too) shown visibly as \n, \r, \t or
// \xHH / \u0080..\u009f, invalid UTF-8 bytes replaced by U+FFFD. Printable text is unchanged.
std::string escape_for_terminal(std::string_view text);
// The byte offset of the first control character (C0, DEL, or a UTF-8 encoded C1), or npos.
size_t find_control_character(std::string_view text);
// "~" and "~/x" expanded with $HOME.
std::filesystem::path expand_user(const std::string& path);
// "%Y-%m-%d_%H-%M-%S" in local time.
std::string date_string(std::time_t when);
// Python-like "{:.5}" formatting of a double (5 significant digits, general format).
std::string format_float(double value, int digits = 5);
// 5 random lowercase hex digits, for experiment and trial ids.
std::string random_hex(size_t digits);
// The cells of one CSV row (RFC 4180 quoting; the row may end in a newline).
std::vector<std::string> split_csv_row(std::string_view row);

}  // namespace tune
