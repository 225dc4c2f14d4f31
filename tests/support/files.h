// Test support: reading and writing small text files in one call, a trial's results, and
// quoting a path or word for a shell command line.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tune/json.h"

namespace tune::testing {

// The whole file; empty when it does not exist.
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `text`, creating the parent directories.
inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// The results a trial's result.json holds, one per line.
inline std::vector<Json> results_of(const std::filesystem::path& logdir) {
  std::vector<Json> out;
  std::ifstream in(logdir / "result.json");
  for (std::string line; std::getline(in, line);) out.push_back(Json::parse(line));
  return out;
}

// `arg` as one word of a POSIX shell command line, whatever it holds.
inline std::string shell_quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace tune::testing
