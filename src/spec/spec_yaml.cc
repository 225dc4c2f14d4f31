// The text layer of spec files: UTF-8, YAML -> Json with lines, --set overrides (spec_yaml.h).
//
// The YAML is converted to tune::Json by hand (YAML 1.2 core schema) so that each JSON path
// keeps the line it came from; --set overrides replace subtrees and mark them as coming from
// the override.
#include "spec/spec_yaml.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <regex>
#include <vector>

#include "common/strings.h"

namespace tune::spec_internal {

// Rejects invalid UTF-8 up front: nlohmann::json would throw much later, inside a trial, when
// the value is written to params.json.
void check_utf8(std::string_view text, const std::string& where_prefix, int first_line, std::string source,
                std::string key) {
  int line = first_line;
  size_t line_start = 0;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    uint32_t min_code = 0;
    if (c < 0x80) {
      if (c == '\n') {
        ++line;
        line_start = i + 1;
      }
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0)
      length = 2, min_code = 0x80;
    else if ((c & 0xF0) == 0xE0)
      length = 3, min_code = 0x800;
    else if ((c & 0xF8) == 0xF0)
      length = 4, min_code = 0x10000;
    bool ok = length != 0 && i + length <= text.size();
    uint32_t code = length ? c & (0xFF >> (length + 1)) : 0;
    for (size_t k = 1; ok && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      ok = (next & 0xC0) == 0x80;
      code = (code << 6) | (next & 0x3F);
    }
    ok = ok && code >= min_code && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF);
    if (!ok) {
      const std::string where = first_line > 0 ? fmt::format("{}:{}", where_prefix, line) : where_prefix;
      throw SpecError(fmt::format("{}: invalid UTF-8 (byte 0x{:02x} at column {}); a spec must be UTF-8 text", where, c,
                                  i - line_start + 1),
                      std::move(source), first_line > 0 ? line : 0, std::move(key));
    }
    i += length;
  }
}

namespace {

bool all_of_chars(std::string_view s, std::string_view allowed) {
  return !s.empty() && s.find_first_not_of(allowed) == std::string_view::npos;
}

// YAML 1.2 core schema integer, or nullopt when `s` is not one.
std::optional<Json> parse_yaml_int(std::string_view s) {
  int base = 10;
  std::string_view digits = s;
  bool negative = false;
  if (s.starts_with("0x")) {
    base = 16;
    digits = s.substr(2);
    if (!all_of_chars(digits, "0123456789abcdefABCDEF")) return std::nullopt;
  } else if (s.starts_with("0o")) {
    base = 8;
    digits = s.substr(2);
    if (!all_of_chars(digits, "01234567")) return std::nullopt;
  } else {
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
      negative = digits[0] == '-';
      digits = digits.substr(1);
    }
    if (!all_of_chars(digits, "0123456789")) return std::nullopt;
  }
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec != std::errc() || end != digits.data() + digits.size()) return Json();  // out of range: null marks it
  if (!negative) {
    if (magnitude <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return Json(static_cast<int64_t>(magnitude));
    return Json(magnitude);
  }
  if (magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1) return Json();
  return Json(magnitude == static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1
                  ? std::numeric_limits<int64_t>::min()
                  : -static_cast<int64_t>(magnitude));
}

// YAML 1.2 core schema float (finite or not), or nullopt.
std::optional<double> parse_yaml_float(std::string_view s) {
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  static const std::regex kInf(R"([-+]?\.(inf|Inf|INF))");
  static const std::regex kNan(R"(\.(nan|NaN|NAN))");
  const std::string text(s);
  if (std::regex_match(text, kNan)) return std::numeric_limits<double>::quiet_NaN();
  if (std::regex_match(text, kInf)) {
    return text[0] == '-' ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  if (!std::regex_match(text, kFloat)) return std::nullopt;
  return std::strtod(text.c_str(), nullptr);
}

class YamlConverter {
 public:
  // `source` names the text in messages; `has_lines` is false for an override's value (one line
  // of a command line, where a line number means nothing).
  YamlConverter(Locations& locations, std::string source, bool has_lines)
      : locations_(locations), source_(std::move(source)), has_lines_(has_lines) {}

  // Converts `node` found at `path`; `line` is where it sits (the key's line for mapping values,
  // since yaml-cpp gives an empty value the position of the next token).
  Json convert(const YAML::Node& node, const std::string& path, int line) {
    if (path.empty() && has_lines_) locations_.set("", {mark_line(node, line), {}});
    switch (node.Type()) {
      case YAML::NodeType::Map: {
        Json out = Json::object();
        std::map<std::string, int> key_lines;
        for (auto it = node.begin(); it != node.end(); ++it) {
          // Copies: yaml-cpp's iterator hands out a proxy that dies with the expression, so a
          // reference to it->first dangles (ASan: stack-use-after-scope).
          const YAML::Node key_node = it->first;
          const YAML::Node value_node = it->second;
          const int key_line = mark_line(key_node, line);
          if (!key_node.IsScalar()) fail(key_line, path, "a key must be a plain string, not a list or mapping");
          const std::string key = key_node.Scalar();
          const std::string child = child_path(path, key);
          if (auto first = key_lines.find(key); first != key_lines.end()) {
            fail(key_line, path,
                 fmt::format("duplicate key '{}'{}", key,
                             has_lines_ ? fmt::format(" (first at line {})", first->second) : ""));
          }
          key_lines.emplace(key, key_line);
          if (has_lines_) locations_.set(child, {key_line, {}});
          out[key] = convert(value_node, child, key_line);
        }
        return out;
      }
      case YAML::NodeType::Sequence: {
        Json out = Json::array();
        size_t index = 0;
        for (const YAML::Node& item : node) {
          const std::string child = child_path(path, std::to_string(index++));
          const int item_line = item.IsNull() ? line : mark_line(item, line);
          if (has_lines_) locations_.set(child, {item_line, {}});
          out.push_back(convert(item, child, item_line));
        }
        return out;
      }
      case YAML::NodeType::Scalar:
        return scalar(node, path, line);
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return nullptr;
    }
    return nullptr;
  }

 private:
  static int mark_line(const YAML::Node& node, int fallback) {
    const YAML::Mark mark = node.Mark();
    return !mark.is_null() && mark.line >= 0 ? mark.line + 1 : fallback;
  }

  // "<where>: <parent path>: <text>" (the path of the parent: the entry itself is named in `text`).
  [[noreturn]] void fail(int line, const std::string& path, const std::string& text) const {
    const std::string where = has_lines_ && line > 0 ? fmt::format("{}:{}", source_, line) : source_;
    throw SpecError(fmt::format("{}: {}{}", where, path.empty() ? "" : path + ": ", text), source_,
                    has_lines_ ? line : 0, path);
  }

  Json scalar(const YAML::Node& node, const std::string& path, int line) {
    const std::string& text = node.Scalar();
    const std::string& tag = node.Tag();
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return text;  // quoted or !!str: a string
    if (tag == "tag:yaml.org,2002:null") return nullptr;
    if (tag == "tag:yaml.org,2002:bool") {
      if (text == "true" || text == "True" || text == "TRUE") return true;
      if (text == "false" || text == "False" || text == "FALSE") return false;
      fail(line, path, fmt::format("!!bool '{}' is not true or false", text));
    }
    if (tag == "tag:yaml.org,2002:int") {
      if (auto value = parse_yaml_int(text); value && !value->is_null()) return *value;
      fail(line, path, fmt::format("!!int '{}' is not an integer within 64 bits", text));
    }
    if (tag == "tag:yaml.org,2002:float") {
      if (auto value = parse_yaml_int(text); value && !value->is_null())
        return finite(value->get<double>(), text, path, line);
      if (auto value = parse_yaml_float(text)) return finite(*value, text, path, line);
      fail(line, path, fmt::format("!!float '{}' is not a number", text));
    }
    if (tag != "?" && !tag.empty()) {
      fail(line, path,
           fmt::format("unsupported YAML tag '{}' (use plain values, or !!str, !!int, !!float, !!bool)", tag));
    }
    // A plain scalar: resolved by the YAML 1.2 core schema.
    if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    if (std::optional<Json> value = parse_yaml_int(text)) {
      if (value->is_null()) fail(line, path, fmt::format("integer {} does not fit in 64 bits", text));
      return *value;
    }
    if (std::optional<double> value = parse_yaml_float(text)) return finite(*value, text, path, line);
    return text;
  }

  Json finite(double value, const std::string& text, const std::string& path, int line) const {
    if (!std::isfinite(value)) {
      fail(line, path,
           fmt::format("'{}' is not allowed: numbers in a spec must be finite (JSON has no NaN or infinity)", text));
    }
    return value;
  }

  Locations& locations_;
  std::string source_;
  bool has_lines_;
};

}  // namespace

Json parse_yaml(const std::string& text, const std::string& base_path, Locations& locations, bool is_override,
                const std::string& override_arg) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& error) {
    if (is_override) {
      throw SpecError(fmt::format("--set {}: the value is not valid YAML: {}", override_arg, error.msg),
                      "--set " + override_arg, 0, base_path);
    }
    throw SpecError(fmt::format("{}:{}: YAML syntax error at column {}: {}", locations.source(), error.mark.line + 1,
                                error.mark.column + 1, error.msg),
                    locations.source(), error.mark.line + 1, {});
  }
  if (docs.size() > 1) {
    if (is_override) {
      throw SpecError(fmt::format("--set {}: the value holds several YAML documents", override_arg),
                      "--set " + override_arg, 0, base_path);
    }
    throw SpecError(
        fmt::format("{}: holds {} YAML documents ('---'); a spec is one mapping", locations.source(), docs.size()),
        locations.source(), 0, {});
  }
  if (docs.empty()) return nullptr;
  YamlConverter converter(locations, is_override ? "--set " + override_arg : locations.source(), !is_override);
  return converter.convert(docs[0], base_path, is_override ? 0 : 1);
}

// ---------------------------------------------------------------------------------------------
// --set overrides.

void apply_override(Json& spec, Locations& locations, const std::string& arg) {
  const size_t eq = arg.find('=');
  const std::string where = "--set " + arg;
  if (eq == std::string::npos || eq == 0) {
    throw SpecError(fmt::format("{}: expected KEY=VALUE (e.g. --set num_samples=10 or --set config.lr=0.01)", where),
                    where, 0, {});
  }
  check_utf8(arg, where, 0, where, {});
  const std::string key = arg.substr(0, eq);
  const std::string value_text = arg.substr(eq + 1);
  const std::vector<std::string> parts = split(key, key.find('/') != std::string::npos ? '/' : '.');
  for (const std::string& part : parts) {
    if (part.empty()) throw SpecError(fmt::format("{}: '{}' has an empty path component", where, key), where, 0, {});
  }

  Json* node = &spec;
  std::string path;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    path = child_path(path, parts[i]);
    if (node->is_null()) *node = Json::object();
    if (node->is_object()) {
      node = &(*node)[parts[i]];
    } else if (node->is_array()) {
      const std::string& index_text = parts[i];
      if (!all_of_chars(index_text, "0123456789") || std::stoull(index_text) >= node->size()) {
        throw SpecError(fmt::format("{}: '{}' is a list of {} items; '{}' is no index of it", where, parent_path(path),
                                    node->size(), index_text),
                        where, 0, path);
      }
      node = &(*node)[std::stoull(index_text)];
    } else {
      throw SpecError(fmt::format("{}: '{}' is {}, not a mapping, so it has no '{}'", where, parent_path(path),
                                  node->dump(), parts[i]),
                      where, 0, path);
    }
  }
  const std::string& last = parts.back();
  path = child_path(path, last);
  Json value = parse_yaml(value_text, path, locations, /*is_override=*/true, arg);
  if (node->is_null()) *node = Json::object();
  if (node->is_object()) {
    (*node)[last] = std::move(value);
  } else if (node->is_array()) {
    if (!all_of_chars(last, "0123456789") || std::stoull(last) > node->size()) {
      throw SpecError(fmt::format("{}: '{}' is a list of {} items; '{}' is no index of it (use {} to append)", where,
                                  parent_path(path), node->size(), last, node->size()),
                      where, 0, path);
    }
    const size_t index = std::stoull(last);
    if (index == node->size())
      node->push_back(std::move(value));
    else
      (*node)[index] = std::move(value);
  } else {
    throw SpecError(fmt::format("{}: '{}' is {}, not a mapping, so it has no '{}'", where,
                                parent_path(path).empty() ? "the spec" : parent_path(path), node->dump(), last),
                    where, 0, path);
  }
  // Intermediate mappings made by the override and the new subtree all point at the override.
  locations.erase_subtree(path);
  std::string made = path;
  while (!made.empty() && !locations.has(made)) {
    locations.set(made, {0, arg});
    made = parent_path(made);
  }
}

}  // namespace tune::spec_internal
