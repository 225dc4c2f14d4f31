// Internal: the trial table's config filter (docs/dashboard.md, `config=` of /trials): one clause
// over one flattened config key, parsed from untrusted text and applied to a column.
//
//   KEY=VALUE, KEY!=VALUE      the value prints as VALUE (numbers as JSON or shortest form)
//   KEY>N, KEY>=N, KEY<N, KEY<=N, N<KEY<M, N<=KEY<=M (any mix of < and <=)   numeric ranges
//   KEY~TEXT                   the printed value contains TEXT
//   KEY~/REGEX/                the printed value matches REGEX (RE2 syntax, searched; linear time)
// A trial without the key never matches. Regexes are bounded (kMaxRegexBytes) and run once per
// distinct value of a categorical column, so a request cannot cost more than its column.
// Thread-safety: a ConfigFilter is immutable once parsed.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dashboard/experiment_view.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace tune::dashboard {

class ConfigFilter {
 public:
  // Throws ApiError(400) naming the clause and what is wrong with it.
  static ConfigFilter parse(const std::string& clause);

  const std::string& key() const { return key_; }
  // One flag per trial of the column: whether it passes. Throws ApiError(400) for a range over a
  // column that is not numeric.
  std::vector<char> apply(const ParamColumn& column) const;

 private:
  enum class Op { kEquals, kNotEquals, kRange, kContains, kRegex };
  bool matches_text(const std::string& text) const;

  std::string clause_;
  std::string key_;
  Op op_ = Op::kEquals;
  std::string text_;                         // kEquals, kNotEquals, kContains
  std::shared_ptr<const re2::RE2> regex_;  // kRegex
  std::optional<double> low_, high_;         // kRange bounds
  bool low_inclusive_ = false, high_inclusive_ = false;
};

}  // namespace tune::dashboard
