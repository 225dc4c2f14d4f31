// The fuzz harness's one mutator, shared by every parser's fuzz test (tests/fuzz/*_fuzz_test.cc).
//
// Each fuzz test feeds a parser at least kFuzzInputs inputs (issue 17: >= 100,000 per parser) made
// from its seeds: valid inputs mutated byte-wise (flip, insert, delete, duplicate a chunk, splice
// two seeds) and with hostile fragments spliced in (huge numbers, deep nesting, invalid UTF-8,
// control bytes, NULs, YAML aliases). The run is deterministic: a failure names the input's
// index, and `TUNE_FUZZ_SEED` / `TUNE_FUZZ_INPUTS` reproduce or lengthen it. The test passes when
// every input is either accepted or refused the documented way, and ASan/UBSan report nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tune::testing {

// How many inputs each parser gets: 100,000 unless TUNE_FUZZ_INPUTS says otherwise.
inline std::size_t fuzz_input_count() {
  if (const char* text = std::getenv("TUNE_FUZZ_INPUTS"); text != nullptr && *text != '\0') {
    return static_cast<std::size_t>(std::strtoull(text, nullptr, 10));
  }
  return 100000;
}

inline std::uint64_t fuzz_seed() {
  if (const char* text = std::getenv("TUNE_FUZZ_SEED"); text != nullptr && *text != '\0') {
    return std::strtoull(text, nullptr, 10);
  }
  return 17;
}

// Fragments that break parsers: spliced into inputs at random places.
inline const std::vector<std::string>& hostile_fragments() {
  static const std::vector<std::string> fragments = {
      "1e309", "-1e309", "1e-400", "NaN", "Infinity", "-0", "18446744073709551616", "-9223372036854775809",
      "99999999999999999999999999999999", "0x1p9999", "\"\\ud800\"", "\"\\u0000\"", "\xff", "\xc3", "\xed\xa0\x80",
      "\xf4\x90\x80\x80", std::string("\0", 1), "\x1b[2J", "\r", "\x7f", "\t", "\\", "\"", "{", "}", "[", "]", ":",
      ",", "null", "true", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "{\"a\":{\"a\":{\"a\":{\"a\":", "&a", "*a", "<<: *a",
      "!!binary", "!custom", "---", "...", "- ", ": ", "'", "%YAML 1.2", "../../", "/etc/passwd", "~",
  };
  return fragments;
}

class Mutator {
 public:
  explicit Mutator(std::vector<std::string> seeds, std::uint64_t seed = fuzz_seed())
      : seeds_(std::move(seeds)), rng_(seed) {}

  // The index-th input: a seed with 1-8 mutations. Every 64th input is nested deeply instead.
  std::string next() {
    ++count_;
    std::string input = seeds_[pick(seeds_.size())];
    if (count_ % 64 == 0) return nest_deeply(input);
    const std::size_t edits = 1 + pick(8);
    for (std::size_t e = 0; e < edits; ++e) mutate(input);
    return input;
  }

  std::size_t count() const { return count_; }

 private:
  std::size_t pick(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng_() % n); }

  void mutate(std::string& input) {
    const std::size_t at = pick(input.size() + 1);
    switch (pick(7)) {
      case 0:
        if (!input.empty()) input[pick(input.size())] = static_cast<char>(rng_() & 0xff);
        break;
      case 1: input.insert(at, 1, static_cast<char>(rng_() & 0xff)); break;
      case 2:
        if (!input.empty()) input.erase(pick(input.size()), 1 + pick(8));
        break;
      case 3: {  // duplicate a chunk of itself
        if (input.empty() || input.size() > 1 << 16) break;
        const std::size_t from = pick(input.size());
        input.insert(at, input.substr(from, 1 + pick(32)));
        break;
      }
      case 4: {  // splice the tail of another seed
        const std::string& other = seeds_[pick(seeds_.size())];
        input = input.substr(0, at) + other.substr(pick(other.size() + 1));
        break;
      }
      default: {
        const auto& fragments = hostile_fragments();
        input.insert(at, fragments[pick(fragments.size())]);
        break;
      }
    }
  }

  std::string nest_deeply(const std::string& input) {
    const std::size_t depth = 1000 + pick(30000);
    const bool arrays = pick(2) == 0;
    const std::string open = arrays ? "[" : "{\"k\":";
    std::string nested;
    nested.reserve(input.size() + depth * (open.size() + 1));
    const std::size_t at = pick(input.size() + 1);
    nested.append(input, 0, at);
    for (std::size_t i = 0; i < depth; ++i) nested += open;
    nested += "1";
    if (pick(2) == 0) nested.append(depth, arrays ? ']' : '}');  // balanced half of the time
    nested.append(input, at);
    return nested;
  }

  std::vector<std::string> seeds_;
  std::mt19937_64 rng_;
  std::size_t count_ = 0;
};

}  // namespace tune::testing
