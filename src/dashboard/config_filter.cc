// The trial table's config filter (see config_filter.h).
#include "dashboard/config_filter.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <charconv>
#include <cmath>

#include "dashboard/dashboard_api.h"
#include "tune/json.h"

namespace tune::dashboard {
namespace {

constexpr size_t kMaxClauseBytes = 1024;
constexpr size_t kMaxRegexBytes = 256;

std::optional<double> parse_number(std::string_view text) {
  double value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

// The operator at `at` of `text` ("<=", "<", ...), or "".
std::string_view operator_at(std::string_view text, size_t at) {
  for (std::string_view op : {"<=", ">=", "!=", "<", ">", "=", "~"})
    if (text.substr(at, op.size()) == op) return op;
  return {};
}

// A numeric value as the table prints it, and as a user types it.
bool number_equals(double value, const std::string& wanted) {
  if (Json(value).dump() == wanted || fmt::format("{}", value) == wanted) return true;
  const std::optional<double> number = parse_number(wanted);
  return number && *number == value;
}

}  // namespace

ConfigFilter ConfigFilter::parse(const std::string& clause) {
  auto bad = [&](const std::string& why) {
    return ApiError(400, fmt::format("config: '{}': {}", clause.substr(0, 80), why));
  };
  if (clause.size() > kMaxClauseBytes) throw bad(fmt::format("longer than {} bytes", kMaxClauseBytes));
  ConfigFilter filter;
  filter.clause_ = clause;
  const std::string_view text = clause;
  size_t at = 0;
  while (at < text.size() && operator_at(text, at).empty()) ++at;
  const std::string_view op = operator_at(text, at);
  if (op.empty() || at == 0)
    throw bad(
        "must be KEY=VALUE, KEY!=VALUE, KEY>N (>=, <, <=), N<KEY<M, "
        "KEY~TEXT or KEY~/REGEX/");
  const std::string_view left = text.substr(0, at);
  const std::string_view right = text.substr(at + op.size());
  // N<KEY<M: the left side is a number and a second '<' follows.
  if (op[0] == '<' && parse_number(left)) {
    const size_t second = right.find('<');
    if (second == std::string_view::npos) throw bad("a range is N<KEY<M (or with <=)");
    const std::string_view op2 = operator_at(right, second);
    filter.key_ = std::string(right.substr(0, second));
    const std::optional<double> high = parse_number(right.substr(second + op2.size()));
    if (filter.key_.empty() || !high) throw bad("a range is N<KEY<M (or with <=), N and M numbers");
    filter.op_ = Op::kRange;
    filter.low_ = parse_number(left);
    filter.low_inclusive_ = op == "<=";
    filter.high_ = high;
    filter.high_inclusive_ = op2 == "<=";
    return filter;
  }
  filter.key_ = std::string(left);
  if (op == "=" || op == "!=") {
    filter.op_ = op == "=" ? Op::kEquals : Op::kNotEquals;
    filter.text_ = std::string(right);
  } else if (op == "~") {
    if (right.size() >= 2 && right.front() == '/' && right.back() == '/') {
      const std::string_view pattern = right.substr(1, right.size() - 2);
      if (pattern.size() > kMaxRegexBytes) throw bad(fmt::format("a regex may have at most {} bytes", kMaxRegexBytes));
      // RE2, not std::regex: its time is linear in the text whatever the pattern (no
      // catastrophic backtracking on a pattern like ^(a+)+$), and it does not recurse per
      // character, so a request cannot burn a server thread or overflow its stack.
      RE2::Options options;
      options.set_log_errors(false);
      auto regex = std::make_shared<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
      if (!regex->ok()) throw bad(fmt::format("not a regex: {}", regex->error()));
      filter.regex_ = std::move(regex);
      filter.op_ = Op::kRegex;
    } else {
      filter.op_ = Op::kContains;
      filter.text_ = std::string(right);
    }
  } else {
    const std::optional<double> bound = parse_number(right);
    if (!bound) throw bad(fmt::format("'{}' needs a number after it", op));
    filter.op_ = Op::kRange;
    (op[0] == '>' ? filter.low_ : filter.high_) = bound;
    (op[0] == '>' ? filter.low_inclusive_ : filter.high_inclusive_) = op.size() == 2;
  }
  return filter;
}

bool ConfigFilter::matches_text(const std::string& text) const {
  switch (op_) {
    case Op::kEquals:
      return text == text_;
    case Op::kNotEquals:
      return text != text_;
    case Op::kContains:
      return text.find(text_) != std::string::npos;
    case Op::kRegex:
      return RE2::PartialMatch(text, *regex_);
    case Op::kRange:
      break;
  }
  return false;
}

std::vector<char> ConfigFilter::apply(const ParamColumn& column) const {
  std::vector<char> keep(column.values.size(), 0);
  if (op_ == Op::kRange) {
    if (!column.numeric)
      throw ApiError(400, fmt::format("config: '{}': '{}' is not numeric (use = or ~)", clause_, key_));
    for (size_t i = 0; i < keep.size(); ++i) {
      const double v = column.values[i];
      if (std::isnan(v)) continue;
      const bool above = !low_ || (low_inclusive_ ? v >= *low_ : v > *low_);
      const bool below = !high_ || (high_inclusive_ ? v <= *high_ : v < *high_);
      keep[i] = above && below;
    }
    return keep;
  }
  if (column.numeric) {
    for (size_t i = 0; i < keep.size(); ++i) {
      const double v = column.values[i];
      if (std::isnan(v)) continue;
      if (op_ == Op::kEquals || op_ == Op::kNotEquals) {
        keep[i] = number_equals(v, text_) == (op_ == Op::kEquals);
      } else {
        keep[i] = matches_text(fmt::format("{}", v));
      }
    }
    return keep;
  }
  // Categorical: decide once per category, then look up each trial's.
  std::vector<char> category_matches(column.categories.size());
  for (size_t c = 0; c < column.categories.size(); ++c) category_matches[c] = matches_text(column.categories[c]);
  for (size_t i = 0; i < keep.size(); ++i) {
    const double v = column.values[i];
    if (!std::isnan(v)) keep[i] = category_matches[static_cast<size_t>(v)];
  }
  return keep;
}

}  // namespace tune::dashboard
