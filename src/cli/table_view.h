// Presentation of tune::Table for `tune ls`: --filter, --sort, --columns, --limit and the
// table / csv / json renderings.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tune/analysis.h"
#include "tune/json.h"

namespace tune::cli {

// What the user asked for; every column name may be any column of the table.
struct ViewOptions {
  std::vector<std::string> filters;  // "COLUMN OP VALUE", OP in == != < <= > >=
  std::string sort;                  // column to sort by (empty: keep the order)
  bool descending = false;
  std::vector<std::string> columns;  // empty: the default columns
  std::optional<int64_t> limit;
  std::string output = "table";  // table | csv | json
};

// Filters, sorts, limits and projects `table` (default_columns when options.columns is empty).
// Throws TuneError naming the option for an unknown column, a malformed filter or a bad output.
Table apply_view(const Table& table, const std::vector<std::string>& default_columns, const ViewOptions& options);

// Renders per options.output: an aligned text table, RFC 4180 CSV, or a JSON array of objects.
std::string render(const Table& table, const std::string& output);

}  // namespace tune::cli
