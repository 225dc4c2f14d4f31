// A table cell as text, shared by the CSV export (Table::to_csv) and `tune ls`'s filters and
// rendering, so both spell a value the same way.
#pragma once

#include <string>

#include "tune/json.h"

namespace tune::detail {

// Strings unquoted, null as empty, NaN and infinities as nan/inf/-inf (Json::dump() would
// print them as "null", losing the difference from a missing cell), everything else as JSON.
std::string cell_text(const Json& cell);

}  // namespace tune::detail
