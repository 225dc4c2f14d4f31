// Internal: the keys a result has, for messages about a key it lacks ("it has: a, b/c, ...").
#pragma once

#include <string>

#include "tune/json.h"

namespace tune::detail {

// The result's flattened keys ("a/b" for nested ones), comma-separated; "(none)" when empty.
std::string available_keys(const Json& result);

}  // namespace tune::detail
