// The text layer of spec files: UTF-8, YAML -> Json with lines, --set overrides (spec_yaml.h).
//
// The YAML is converted to tune::Json by hand (YAML 1.2 core schema) so that each JSON path
// keeps the line it came from; --set overrides replace subtrees and mark them as coming from
// the override.
#include "spec/spec_yaml.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
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
    const size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      const std::string where = first_line > 0 ? fmt::format("{}:{}", where_prefix, line) : where_prefix;
      throw SpecError(fmt::format("{}: invalid UTF-8 (byte 0x{:02x} at column {}); a spec must be UTF-8 text", where,
                                  static_cast<unsigned char>(text[i]), i - line_start + 1),
                      std::move(source), first_line > 0 ? line : 0, std::move(key));
    }
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
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

// The number of ASCII digits at s[i...], advancing i past them.
size_t skip_digits(std::string_view s, size_t& i) {
  const size_t start = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  return i - start;
}

// YAML 1.2 core schema float (finite or not), or nullopt: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)
// ([eE][-+]?[0-9]+)?, [-+]?\.(inf|Inf|INF), \.(nan|NaN|NAN). Scanned by hand: std::regex
// recurses once per character and overflowed the stack on a scalar of a few hundred kB.
std::optional<double> parse_yaml_float(std::string_view s) {
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  const size_t sign = !s.empty() && (s[0] == '-' || s[0] == '+') ? 1 : 0;
  const std::string_view body = s.substr(sign);
  if (body == ".inf" || body == ".Inf" || body == ".INF") {
    return s[0] == '-' ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  size_t i = sign;
  if (skip_digits(s, i) == 0) {  // \.[0-9]+
    if (i >= s.size() || s[i] != '.') return std::nullopt;
    ++i;
    if (skip_digits(s, i) == 0) return std::nullopt;
  } else if (i < s.size() && s[i] == '.') {
    ++i;
    skip_digits(s, i);
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (skip_digits(s, i) == 0) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  return std::strtod(std::string(s).c_str(), nullptr);
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
    if (!node.IsMap() && !node.IsSequence()) return convert_leaf(node, path, line);
    check_collection_tag(node, path, line);
    if (depth_ >= kMaxSpecDepth) fail(line, path, fmt::format("nested deeper than {} levels", kMaxSpecDepth));
    ++depth_;
    Json out = node.IsMap() ? convert_map(node, path, line) : convert_sequence(node, path, line);
    --depth_;
    return out;
  }

  // Walks the node graph before anything is converted, each node once: refuses an alias to a
  // mapping or list that contains it, and aliases that would expand past kMaxAliasedValues (an
  // alias is the anchored node itself in yaml-cpp, so a node met again was reached by an alias,
  // and adds all it holds). Returns the number of values `node` expands to.
  size_t measure(const YAML::Node& node, const std::string& path, int line) {
    const int position = node.Mark().pos;
    const bool again = !seen_.insert(position).second;
    size_t total = 1;
    if (node.IsMap() || node.IsSequence()) {
      for (const YAML::Node& ancestor : ancestors_) {
        if (ancestor.is(node)) {
          fail(line, path, "a YAML alias refers to a mapping or list that contains it (recursion is not allowed)");
        }
      }
      if (again) {
        if (auto known = sizes_.find(position); known != sizes_.end()) total = known->second;
      } else {
        ancestors_.push_back(node);
        total = measure_children(node, path, line);
        ancestors_.pop_back();
        sizes_[position] = total;
      }
    }
    if (again && (aliased_values_ += total) > kMaxAliasedValues) {
      fail(line, path,
           fmt::format("YAML aliases expand to more than {} values (an alias bomb?); write the values out instead",
                       kMaxAliasedValues));
    }
    return total;
  }

 private:
  // Values reached through aliases, in all: far above any hand-written spec, far below memory
  // trouble ("billion laughs": 700 bytes that would expand to 10^9 values).
  static constexpr size_t kMaxAliasedValues = 100000;

  size_t measure_children(const YAML::Node& node, const std::string& path, int line) {
    size_t total = 1;
    size_t index = 0;
    // No overflow: an alias adding more than the budget fails inside measure().
    auto add = [&](const YAML::Node& child, const std::string& name) {
      total += measure(child, child_path(path, name), mark_line(child, line));
    };
    if (node.IsMap()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        const YAML::Node key = it->first;  // copies: the iterator's proxy dies with the expression
        const YAML::Node value = it->second;
        const std::string name = key.IsScalar() ? key.Scalar() : std::string("?");
        add(key, name);
        add(value, name);
      }
    } else {
      for (const YAML::Node& item : node) add(item, std::to_string(index++));
    }
    return total;
  }

  // Mappings and lists take no tag but their own (!!map, !!seq): `!!python/object` and the like
  // ask for types a spec does not have.
  void check_collection_tag(const YAML::Node& node, const std::string& path, int line) const {
    const std::string& tag = node.Tag();
    const std::string own = node.IsMap() ? "tag:yaml.org,2002:map" : "tag:yaml.org,2002:seq";
    if (tag.empty() || tag == "?" || tag == "!" || tag == own) return;
    fail(line, path, fmt::format("unsupported YAML tag '{}' on a {} (a spec takes plain mappings and lists)",
                                 shown_tag(tag), node.IsMap() ? "mapping" : "list"));
  }

  // "tag:yaml.org,2002:python/object" as it was written: "!!python/object".
  static std::string shown_tag(const std::string& tag) {
    const std::string prefix = "tag:yaml.org,2002:";
    return escape_for_terminal(tag.starts_with(prefix) ? "!!" + tag.substr(prefix.size()) : tag);
  }

  Json convert_map(const YAML::Node& node, const std::string& path, int line) {
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
      if (const size_t at = find_control_character(key); at != std::string::npos) {
        fail(key_line, path,
             fmt::format("key '{}' holds a control character (byte {} of it); keys name paths and columns",
                         escape_for_terminal(key), at + 1));
      }
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

  Json convert_sequence(const YAML::Node& node, const std::string& path, int line) {
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

  Json convert_leaf(const YAML::Node& node, const std::string& path, int line) {
    switch (node.Type()) {
      case YAML::NodeType::Scalar:
        return scalar(node, path, line);
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Map:
      case YAML::NodeType::Sequence:
        return nullptr;
    }
    return nullptr;
  }

  static int mark_line(const YAML::Node& node, int fallback) {
    const YAML::Mark mark = node.Mark();
    return !mark.is_null() && mark.line >= 0 ? mark.line + 1 : fallback;
  }

  // "<where>: <parent path>: <text>" (the path of the parent: the entry itself is named in `text`).
  [[noreturn]] void fail(int line, const std::string& path, const std::string& text) const {
    const std::string where = has_lines_ && line > 0 ? fmt::format("{}:{}", source_, line) : source_;
    throw SpecError(fmt::format("{}: {}{}", where, path.empty() ? "" : escape_for_terminal(path) + ": ", text), source_,
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
           fmt::format("unsupported YAML tag '{}' (use plain values, or !!str, !!int, !!float, !!bool)", shown_tag(tag)));
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
  size_t depth_ = 0;                   // mappings and lists around the node being converted
  // measure():
  std::vector<YAML::Node> ancestors_;  // the mappings and lists around the node being measured
  std::unordered_set<int> seen_;       // text positions of the nodes measured so far
  std::unordered_map<int, size_t> sizes_;  // values each measured mapping or list expands to
  size_t aliased_values_ = 0;              // values reached again through aliases
};

// Ignores the events: parsing into it only counts the documents.
class IgnoreEvents : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// At most two documents (two are already too many): yaml-cpp 0.7's LoadAll never ends on a
// text whose document starts with ',' (",x"), reporting an empty document again and again.
std::vector<YAML::Node> load_documents(const std::string& text) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  IgnoreEvents ignore;
  size_t count = 0;
  while (count < 2 && parser.HandleNextDocument(ignore)) ++count;
  if (count != 1) return std::vector<YAML::Node>(count);
  return {YAML::Load(text)};
}

}  // namespace

Json parse_yaml(const std::string& text, const std::string& base_path, Locations& locations, bool is_override,
                const std::string& override_arg) {
  std::vector<YAML::Node> docs;
  try {
    docs = load_documents(text);
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
  converter.measure(docs[0], base_path, is_override ? 0 : 1);
  return converter.convert(docs[0], base_path, is_override ? 0 : 1);
}

// ---------------------------------------------------------------------------------------------
// --set overrides.

namespace {

// A list index written in a --set key: decimal digits that fit size_t, else nullopt (never an
// exception: "99999999999999999999" is a user's mistake, not an internal error).
std::optional<size_t> list_index(std::string_view text) {
  if (!all_of_chars(text, "0123456789")) return std::nullopt;
  size_t index = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return index;
}

}  // namespace

void apply_override(Json& spec, Locations& locations, const std::string& arg) {
  if (arg.size() > kMaxOverrideBytes) {
    const std::string shown = escape_for_terminal(utf8_prefix(arg, 40));
    throw SpecError(fmt::format("--set {}...: is {} bytes; a --set argument may hold at most {} (put large values "
                                "in the spec file)",
                                shown, arg.size(), kMaxOverrideBytes),
                    "--set " + shown, 0, {});
  }
  const size_t eq = arg.find('=');
  const std::string where = "--set " + escape_for_terminal(arg);
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
  if (parts.size() > kMaxSpecDepth) {
    throw SpecError(fmt::format("{}: the key has {} path components; at most {}", where, parts.size(),
                                kMaxSpecDepth),
                    where, 0, {});
  }

  Json* node = &spec;
  std::string path;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    path = child_path(path, parts[i]);
    if (node->is_null()) *node = Json::object();
    if (node->is_object()) {
      node = &(*node)[parts[i]];
    } else if (node->is_array()) {
      const std::optional<size_t> index = list_index(parts[i]);
      if (!index || *index >= node->size()) {
        throw SpecError(fmt::format("{}: '{}' is a list of {} items; '{}' is no index of it", where, parent_path(path),
                                    node->size(), escape_for_terminal(parts[i])),
                        where, 0, path);
      }
      node = &(*node)[*index];
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
    const std::optional<size_t> parsed = list_index(last);
    if (!parsed || *parsed > node->size()) {
      throw SpecError(fmt::format("{}: '{}' is a list of {} items; '{}' is no index of it (use {} to append)", where,
                                  parent_path(path), node->size(), escape_for_terminal(last), node->size()),
                      where, 0, path);
    }
    const size_t index = *parsed;
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
