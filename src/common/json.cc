// Flattening and path lookup over JSON trees.
#include "tune/json.h"

namespace tune {
namespace {

void flatten_into(const Json& value, const std::string& prefix, const std::string& separator, Json& out) {
  if (value.is_object() && !value.empty()) {
    for (const auto& [key, child] : value.items()) {
      flatten_into(child, prefix.empty() ? key : prefix + separator + key, separator, out);
    }
    return;
  }
  out[prefix] = value;
}

}  // namespace

Json flatten(const Json& value, const std::string& separator) {
  if (!value.is_object()) return value;
  Json out = Json::object();
  for (const auto& [key, child] : value.items()) flatten_into(child, key, separator, out);
  return out;
}

const Json* find_path(const Json& value, const std::string& path) {
  if (!value.is_object()) return nullptr;
  if (auto it = value.find(path); it != value.end()) return &*it;  // a literal key with '/'
  const Json* node = &value;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string key = path.substr(start, end - start);
    if (node->is_object()) {
      auto it = node->find(key);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array() && !key.empty() && key.find_first_not_of("0123456789") == std::string::npos) {
      const size_t index = std::stoul(key);
      if (index >= node->size()) return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
    start = end + 1;
  }
  return node;
}

}  // namespace tune
