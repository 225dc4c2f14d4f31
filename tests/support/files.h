// Test support: reading and writing small text files in one call.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

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

}  // namespace tune::testing
