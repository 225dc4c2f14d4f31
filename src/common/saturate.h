// Conversions of user numbers (seconds, counts, indices) that saturate instead of overflowing:
// a double outside a type's range is UB when cast (and 1e10 s in nanoseconds is past int64), so
// every seconds -> std::chrono and double -> integer conversion of a number from outside goes
// through these. NaN is the caller's to refuse (it has no meaningful saturated value); here it
// maps to the lower bound, so it can never mean "forever". Pure functions, thread-safe.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>

namespace tune {

// The longest period any timeout or budget means: about 31.7 years. Larger values (1e10, 1e300,
// inf) mean "never" and are clamped to it, so a deadline now + it fits every clock.
inline constexpr double kMaxSeconds = 1e9;

// `value` cast to Int, truncated toward zero and clamped to [Int's min, Int's max]; NaN gives the min
// (0 for an unsigned Int).
template <typename Int>
Int saturate_cast(double value) {
  constexpr Int kLow = std::numeric_limits<Int>::min();
  constexpr Int kHigh = std::numeric_limits<Int>::max();
  if (std::isnan(value)) return kLow;
  // static_cast<double>(kHigh) may round up past kHigh (2^63 for int64), so compare with >=.
  if (value >= static_cast<double>(kHigh)) return kHigh;
  if (value <= static_cast<double>(kLow)) return kLow;
  return static_cast<Int>(value);
}

// `seconds` as a Duration, clamped to [0, kMaxSeconds] (negative and NaN: zero).
template <typename Duration>
Duration saturating_duration(double seconds) {
  if (!(seconds > 0)) return Duration::zero();
  const double clamped = seconds < kMaxSeconds ? seconds : kMaxSeconds;
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(clamped));
}

// `seconds` clamped to [0, kMaxSeconds] (negative and NaN: zero), for code that adds it to a clock.
inline double saturate_seconds(double seconds) {
  if (!(seconds > 0)) return 0;
  return seconds < kMaxSeconds ? seconds : kMaxSeconds;
}

}  // namespace tune
