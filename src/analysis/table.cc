// Table: the analysis' row/column view and its CSV export (RFC 4180 quoting).
#include <cmath>

#include "analysis/table_text.h"
#include "tune/analysis.h"

namespace tune {
namespace {

void append_field(std::string& out, const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) {
    out += text;
    return;
  }
  out += '"';
  for (char c : text) {
    if (c == '"') out += '"';  // a quote inside a quoted field is doubled
    out += c;
  }
  out += '"';
}

}  // namespace

namespace detail {

std::string cell_text(const Json& cell) {
  if (cell.is_null()) return {};
  if (cell.is_string()) return cell.get_ref<const std::string&>();
  if (cell.is_number_float()) {
    // dump() would print NaN/inf as "null", losing the difference from a missing cell.
    const double value = cell.get<double>();
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  }
  // Numbers, bools, and nested arrays/objects as JSON text; invalid UTF-8 from a trial replaced.
  return cell.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace detail

std::string Table::to_csv() const {
  std::string out;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) out += ',';
    append_field(out, columns[i]);
  }
  out += '\n';
  for (const auto& row : rows) {
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i) out += ',';
      if (i < row.size()) append_field(out, detail::cell_text(row[i]));
    }
    out += '\n';
  }
  return out;
}

std::optional<size_t> Table::column(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return i;
  }
  return std::nullopt;
}

}  // namespace tune
