#include "common/result_keys.h"

namespace tune::detail {

std::string available_keys(const Json& result) {
  const Json flat = flatten(result);
  if (!flat.is_object() || flat.empty()) return "(none)";
  std::string keys;
  for (const auto& [key, unused] : flat.items()) {
    if (!keys.empty()) keys += ", ";
    keys += key;
  }
  return keys;
}

}  // namespace tune::detail
