// Internal: splitmix64's finaliser, the one stable 64-bit mixer of the project. It turns
// (seed, counter) into independent streams (searchers, variant generation) and is the output
// step of the SplitMix64 engine that samples config values. std::hash is neither stable
// across standard libraries nor well mixed, so seeds never go through it.
// Header-only: the sampling engine calls it once per drawn number.
#pragma once

#include <cstdint>

namespace tune::detail {

// The golden-ratio increment splitmix64 adds before mixing.
inline constexpr uint64_t kSplitMix64Gamma = 0x9e3779b97f4a7c15ULL;

constexpr uint64_t mix64(uint64_t x) {
  uint64_t z = x + kSplitMix64Gamma;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace tune::detail
