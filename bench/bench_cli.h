// Command-line helpers shared by the searcher benchmark drivers (e2e_search, e2e_search_suite).
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace tune::bench {

// "a,b,,c" -> {"a", "b", "c"}.
inline std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// The value after `name` among argv[2..] (argv[1] is the mode), or `fallback`.
inline std::string option(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 2; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

}  // namespace tune::bench
