// `tune ls` presentation: filtering, sorting and rendering of an analysis table.
#include "cli/table_view.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <string_view>

#include "analysis/table_text.h"
#include "common/strings.h"
#include "tune/error.h"

namespace tune::cli {
namespace {

using detail::cell_text;

size_t column_index(const Table& table, const std::string& name, const std::string& option) {
  if (std::optional<size_t> index = table.column(name)) return *index;
  throw TuneError(fmt::format("{}: no column '{}'{}; columns: {}", option, name, did_you_mean(name, table.columns),
                              join(table.columns, ", ")));
}

std::optional<double> as_number(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

struct Filter {
  size_t column;
  std::string op;
  std::string text;
  std::optional<double> number;  // set when the value is numeric and unquoted
};

std::string_view trim_space(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  const size_t first = text.find_first_not_of(kSpace);
  return first == std::string_view::npos ? std::string_view() : text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

// COLUMN OP VALUE, split at the first operator after the column's first character (scanned by
// hand: std::regex recursed once per character and overflowed the stack on a long argument).
Filter parse_filter(const Table& table, const std::string& expression) {
  static constexpr std::array<std::string_view, 6> kOps = {"==", "!=", "<=", ">=", "<", ">"};
  const std::string_view text = trim_space(expression);
  size_t at = std::string_view::npos;
  std::string_view op;
  for (size_t i = 1; i < text.size() && op.empty(); ++i) {
    for (const std::string_view candidate : kOps) {
      if (text.substr(i, candidate.size()) == candidate) {
        at = i;
        op = candidate;
        break;
      }
    }
  }
  const std::string_view value = op.empty() ? std::string_view() : trim_space(text.substr(at + op.size()));
  if (value.empty()) {
    throw TuneError(
        fmt::format("--filter: '{}' is not 'COLUMN OP VALUE' with OP one of == != < <= > >= "
                    "(e.g. --filter 'loss < 0.5')",
                    utf8_prefix(expression, 200)));
  }
  Filter filter{column_index(table, std::string(trim_space(text.substr(0, at))), "--filter"), std::string(op),
                std::string(value), std::nullopt};
  if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') && value.back() == value.front()) {
    filter.text = std::string(value.substr(1, value.size() - 2));  // quoted: compared as a string
  } else {
    filter.number = as_number(filter.text);
  }
  return filter;
}

template <typename T>
bool compare(const T& a, const std::string& op, const T& b) {
  if (op == "==") return a == b;
  if (op == "!=") return a != b;
  if (op == "<") return a < b;
  if (op == "<=") return a <= b;
  if (op == ">") return a > b;
  return a >= b;
}

// A row without the column never matches: there is nothing to compare.
bool matches(const std::vector<Json>& row, const Filter& filter) {
  const Json& cell = row[filter.column];
  if (cell.is_null()) return false;
  if (filter.number && cell.is_number()) return compare(cell.get<double>(), filter.op, *filter.number);
  return compare(cell_text(cell), filter.op, filter.text);
}

// Sort order of cells: numbers (NaN last among them), then strings, then anything else; null last.
int rank(const Json& cell) {
  if (cell.is_number()) return std::isnan(cell.get<double>()) ? 1 : 0;
  if (cell.is_string()) return 2;
  if (cell.is_null()) return 4;
  return 3;
}

bool less(const Json& a, const Json& b) {
  const int ra = rank(a);
  const int rb = rank(b);
  if (ra != rb) return ra < rb;
  if (ra == 0) return a.get<double>() < b.get<double>();
  if (ra == 2) return a.get_ref<const std::string&>() < b.get_ref<const std::string&>();
  if (ra == 3) return a.dump() < b.dump();
  return false;
}

// Short text for the aligned table: floats to 5 significant digits like Ray's status table.
// A cell as the text table shows it: escaped, since names, config values and results come from
// trials and may hold control characters (an ANSI escape, a carriage return) that fake rows.
std::string display(const Json& cell) {
  if (cell.is_number_float()) {
    const double value = cell.get<double>();
    if (std::isfinite(value)) return format_float(value);
  }
  return escape_for_terminal(cell_text(cell));
}

// Display width of UTF-8 text (code points; good enough for aligned columns).
size_t width(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace

Table apply_view(const Table& table, const std::vector<std::string>& default_columns, const ViewOptions& options) {
  if (options.output != "table" && options.output != "csv" && options.output != "json") {
    throw TuneError(fmt::format("--output: must be table, csv or json, got '{}'", options.output));
  }
  if (options.limit && *options.limit < 0)
    throw TuneError(fmt::format("--limit: must be >= 0, got {}", *options.limit));
  std::vector<Filter> filters;
  for (const std::string& expression : options.filters) filters.push_back(parse_filter(table, expression));
  std::optional<size_t> sort_column;
  if (!options.sort.empty()) sort_column = column_index(table, options.sort, "--sort");
  std::vector<size_t> shown;
  if (options.columns.empty()) {
    for (const std::string& name : default_columns) {
      if (auto index = table.column(name)) shown.push_back(*index);
    }
  } else {
    for (const std::string& name : options.columns) shown.push_back(column_index(table, name, "--columns"));
  }

  std::vector<const std::vector<Json>*> rows;
  for (const auto& row : table.rows) {
    if (std::all_of(filters.begin(), filters.end(), [&](const Filter& f) { return matches(row, f); })) {
      rows.push_back(&row);
    }
  }
  if (sort_column) {
    const size_t c = *sort_column;
    std::stable_sort(rows.begin(), rows.end(), [&](const auto* a, const auto* b) {
      // Missing values stay last in both directions.
      if ((*a)[c].is_null() != (*b)[c].is_null()) return (*b)[c].is_null();
      return options.descending ? less((*b)[c], (*a)[c]) : less((*a)[c], (*b)[c]);
    });
  }
  if (options.limit && rows.size() > static_cast<size_t>(*options.limit))
    rows.resize(static_cast<size_t>(*options.limit));

  Table out;
  for (size_t index : shown) out.columns.push_back(table.columns[index]);
  out.rows.reserve(rows.size());
  for (const auto* row : rows) {
    std::vector<Json> projected;
    projected.reserve(shown.size());
    for (size_t index : shown) projected.push_back((*row)[index]);
    out.rows.push_back(std::move(projected));
  }
  return out;
}

std::string render(const Table& table, const std::string& output) {
  if (output == "csv") return table.to_csv();
  if (output == "json") {
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();  // keys in column order
    for (const auto& row : table.rows) {
      nlohmann::ordered_json object = nlohmann::ordered_json::object();
      for (size_t c = 0; c < table.columns.size(); ++c) object[table.columns[c]] = row[c];
      rows.push_back(std::move(object));
    }
    // Invalid UTF-8 from a trial's own strings is replaced rather than aborting the listing.
    return rows.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  }
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> widths;
  std::vector<bool> numeric(table.columns.size(), true);
  std::vector<std::string> titles;
  for (const std::string& name : table.columns) {
    titles.push_back(escape_for_terminal(name));
    widths.push_back(width(titles.back()));
  }
  for (const auto& row : table.rows) {
    std::vector<std::string> texts;
    for (size_t c = 0; c < table.columns.size(); ++c) {
      texts.push_back(display(row[c]));
      widths[c] = std::max(widths[c], width(texts.back()));
      if (!row[c].is_null() && !row[c].is_number()) numeric[c] = false;
    }
    cells.push_back(std::move(texts));
  }
  auto line = [&](const std::vector<std::string>& texts) {
    std::string out;
    for (size_t c = 0; c < texts.size(); ++c) {
      const std::string pad(widths[c] - width(texts[c]), ' ');
      if (c) out += "  ";
      // Numbers align right so their digits line up; the last column is not padded on the right.
      if (numeric[c])
        out += pad + texts[c];
      else
        out += texts[c] + (c + 1 < texts.size() ? pad : "");
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(titles);
  std::vector<std::string> rules;
  for (size_t w : widths) rules.emplace_back(w, '-');
  out += line(rules);
  for (const auto& texts : cells) out += line(texts);
  return out;
}

}  // namespace tune::cli
