// Spec files: YAML/JSON -> RunOptions + a process trainable, with every error tied to a line.
//
// The YAML is converted to tune::Json by hand (YAML 1.2 core schema) so that each JSON path
// keeps the line it came from; --set overrides replace subtrees and mark them as coming from
// the override. Checks run key by key in file order, so the first error in the file is the
// one reported. Errors from library validators (Space::from_json, Resources::from_json) name
// a path already; it is mapped back to its line.
#include "tune/spec.h"

#include <fmt/format.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include "common/strings.h"
#include "executors/process_executor.h"
#include "sync/syncer.h"
#include "tune/process.h"
#include "tune/searchers.h"

namespace tune {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Locations: JSON path ("config/lr", "trainable/command/0") -> where it came from.

struct Origin {
  int line = 0;              // 1-based; 0 = unknown
  std::string override_arg;  // non-empty: the --set argument it came from
};

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "/" + key;
}

std::string parent_path(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

class Locations {
 public:
  explicit Locations(std::string source) : source_(std::move(source)) {}

  void set(const std::string& path, Origin origin) { origins_[path] = std::move(origin); }
  // Forgets `path` and everything below it (a subtree replaced by an override).
  void erase_subtree(const std::string& path) {
    for (auto it = origins_.begin(); it != origins_.end();) {
      const std::string& p = it->first;
      const bool below = p == path || (p.size() > path.size() && p.compare(0, path.size(), path) == 0 &&
                                       (path.empty() || p[path.size()] == '/'));
      it = below ? origins_.erase(it) : std::next(it);
    }
  }
  bool has(const std::string& path) const { return origins_.contains(path); }
  // The origin of `path` or of its nearest recorded ancestor.
  Origin origin(std::string path) const {
    while (true) {
      if (auto it = origins_.find(path); it != origins_.end()) return it->second;
      if (path.empty()) return {};
      path = parent_path(path);
    }
  }
  int line(const std::string& path) const { return origin(path).line; }
  // "spec.yaml:12", "--set a=b" or "spec.yaml".
  std::string where(const std::string& path) const {
    const Origin o = origin(path);
    if (!o.override_arg.empty()) return "--set " + o.override_arg;
    if (o.line > 0) return fmt::format("{}:{}", source_, o.line);
    return source_;
  }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::map<std::string, Origin> origins_;
};

[[noreturn]] void throw_at(const Locations& locations, const std::string& path, const std::string& text) {
  const Origin o = locations.origin(path);
  throw SpecError(locations.where(path) + ": " + text,
                  o.override_arg.empty() ? locations.source() : "--set " + o.override_arg, o.line, path);
}

// ---------------------------------------------------------------------------------------------
// Text checks and YAML -> JSON.

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

// Parses one YAML document landing at `base_path` ("" for the spec, the key for an override).
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

// ---------------------------------------------------------------------------------------------
// The schema.

const std::vector<std::string> kTopKeys = {"checkpoint_at_end",
                                           "checkpoint_freq",
                                           "checkpoint_score_attr",
                                           "config",
                                           "custom_resources",
                                           "executor",
                                           "fail_fast",
                                           "keep_checkpoints_num",
                                           "local_dir",
                                           "max_concurrent_trials",
                                           "max_failures",
                                           "metric",
                                           "mode",
                                           "name",
                                           "num_cpus",
                                           "num_gpus",
                                           "num_samples",
                                           "raise_on_failed_trial",
                                           "resources_per_trial",
                                           "restore",
                                           "resume",
                                           "reuse_actors",
                                           "scheduler",
                                           "search_alg",
                                           "seed",
                                           "stop",
                                           "sync_config",
                                           "time_budget_s",
                                           "trainable",
                                           "verbose",
                                           "write_trial_files"};
// Ray's SyncConfig (tune.run(sync_config=...), 1.1+), periods in seconds as everywhere here.
const std::vector<std::string> kSyncKeys = {"upload_dir",    "sync_to_cloud",      "sync_to_driver",
                                            "sync_period_s", "sync_on_checkpoint", "sync_timeout_s"};
const std::vector<std::string> kUnsupportedKeys = {};
const std::vector<std::string> kTrainableKeys = {
    "binary", "command",  "echo_output",    "env",          "launch",     "max_message_bytes",
    "name",   "protocol", "step_timeout_s", "stop_grace_s", "working_dir"};
const std::vector<std::string> kExecutorNames = {"process", "slurm"};
const std::vector<std::string> kSlurmKeys = {"type",        "partition", "account", "time_limit",
                                             "mem_per_cpu", "extra_srun_args", "srun"};
const std::vector<std::string> kResourceKeys = {
    "cpu", "gpu", "memory", "extra_cpu", "extra_gpu", "extra_memory", "custom_resources", "extra_custom_resources"};
std::string describe(const Json& value) {
  if (value.is_null()) return "nothing (null)";
  if (value.is_string()) return fmt::format("'{}' (a string)", value.get_ref<const std::string&>());
  if (value.is_array()) return fmt::format("a list {}", utf8_prefix(value.dump(), 60));
  if (value.is_object()) return fmt::format("a mapping {}", utf8_prefix(value.dump(), 60));
  return value.dump();
}

class SpecChecker {
 public:
  SpecChecker(const Json& spec, const Locations& locations, const fs::path& base_dir)
      : spec_(spec), locations_(locations), base_dir_(base_dir) {}

  RunSpec check();

 private:
  [[noreturn]] void fail(const std::string& path, const std::string& rule) const {
    throw_at(locations_, path, path + ": " + rule);
  }
  // A library validator's message names a path ("config/lr: ...", "resources_per_trial.cpu: ...").
  [[noreturn]] void rethrow(const TuneError& error, const std::string& fallback) const {
    const std::string message = error.what();
    const std::string named = message.substr(0, message.find(": "));
    std::string slashed = named;  // Resources names its fields "resources_per_trial.cpu"
    std::replace(slashed.begin(), slashed.end(), '.', '/');
    for (const std::string& path : {named, slashed}) {
      if (path == fallback || path.starts_with(fallback + "/")) throw_at(locations_, path, message);
    }
    throw_at(locations_, fallback, fallback + ": " + message);
  }

  // Entries of a mapping in file order (overrides last), so the first error in the file wins.
  std::vector<std::pair<std::string, const Json*>> ordered(const Json& object, const std::string& path) const {
    std::vector<std::pair<std::string, const Json*>> items;
    for (const auto& [key, value] : object.items()) items.emplace_back(key, &value);
    auto rank = [&](const std::string& key) {
      const Origin o = locations_.origin(child_path(path, key));
      return o.override_arg.empty() ? o.line : std::numeric_limits<int>::max();
    };
    std::stable_sort(items.begin(), items.end(),
                     [&](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
    return items;
  }

  void check_key(const std::string& key, const std::string& path, const std::vector<std::string>& allowed) const {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) return;
    const std::string hint = did_you_mean(key, allowed);
    const std::string text = fmt::format("unknown key '{}'{}", key,
                                         hint.empty() ? fmt::format("; valid keys: {}", join(allowed, ", ")) : hint);
    throw_at(locations_, child_path(path, key), path.empty() ? text : path + ": " + text);
  }
  void check_keys(const Json& object, const std::string& path, const std::vector<std::string>& allowed) const {
    for (const auto& [key, value] : ordered(object, path)) check_key(key, path, allowed);
  }

  const Json& mapping(const Json& value, const std::string& path) const {
    if (!value.is_object()) fail(path, "must be a mapping, got " + describe(value));
    return value;
  }
  std::string string(const Json& value, const std::string& path) const {
    if (!value.is_string()) fail(path, "must be a string, got " + describe(value));
    return value.get<std::string>();
  }
  bool boolean(const Json& value, const std::string& path) const {
    if (!value.is_boolean()) fail(path, "must be true or false, got " + describe(value));
    return value.get<bool>();
  }
  int64_t integer(const Json& value, const std::string& path, int64_t min, int64_t max, const std::string& rule) const {
    if (!value.is_number_integer()) fail(path, "must be an integer, got " + describe(value));
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(max)) {
      fail(path, fmt::format("{}, got {}", rule, value.dump()));
    }
    const int64_t n = value.get<int64_t>();
    if (n < min || n > max) fail(path, fmt::format("{}, got {}", rule, n));
    return n;
  }
  double number(const Json& value, const std::string& path, double min) const {
    if (!value.is_number()) fail(path, "must be a number, got " + describe(value));
    const double n = value.get<double>();
    if (n < min) fail(path, fmt::format("must be >= {}, got {}", min, value.dump()));
    return n;
  }
  [[noreturn]] void unsupported(const std::string& path, const std::string& what, const std::string& works) const {
    throw_at(locations_, path, fmt::format("not supported yet: {} ({} in this version)", what, works));
  }

  void check_trainable(const Json& value);
  std::vector<std::string> check_command(const Json& value, const std::string& path);
  fs::path resolve_program(const std::string& program, const std::string& path) const;
  void check_config(const Json& value);
  void check_stop(const Json& value);
  void check_resources(const Json& value);
  void check_custom_resources(const Json& value);
  void check_sync_config(const Json& value);
  SyncCommand sync_command(const Json& value, const std::string& path, bool may_disable) const;
  void check_scheduler(const Json& value);
  void check_executor(const Json& value);
  void check_search_alg(const Json& value);
  std::pair<std::string, std::string> plugin_type(const Json& value, const std::string& path, const std::string& what,
                                                  const std::string& example,
                                                  const std::vector<std::string>& known) const;
  void check_placeholders();
  void warn_misspelt_domains(const Json& value, const std::string& path);

  const Json& spec_;
  const Locations& locations_;
  fs::path base_dir_;
  RunSpec out_;
  ProcessSpec process_;
  std::string trainable_name_;
  bool registered_ = false;
  std::vector<Config> points_to_evaluate_;
  bool has_search_alg_points_ = false;
  Json search_alg_;  // as written, when given
};

void SpecChecker::check_trainable(const Json& value) {
  const std::string path = "trainable";
  mapping(value, path);
  check_keys(value, path, kTrainableKeys);  // a misspelt 'command' is better named than missing
  const bool has_command = value.contains("command");
  const bool has_binary = value.contains("binary");
  process_.protocol = ProcessSpec::Protocol::kPlain;  // a command prints result lines unless it says otherwise
  if (has_command == has_binary) {
    fail(path, has_command ? "give either 'command' or 'binary', not both"
                           : "needs 'command' (a program and its arguments: [python3, train.py]) or 'binary' + "
                             "'name' (a trainable registered in a binary built with tune)");
  }
  for (const auto& [key, item] : ordered(value, path)) {
    const std::string item_path = child_path(path, key);
    const Json& v = *item;
    if (key == "command") {
      process_.argv = check_command(v, item_path);
    } else if (key == "binary") {
      const std::string binary = string(v, item_path);
      if (binary.empty()) fail(item_path, "must not be empty");
      process_.argv = {resolve_program(binary, item_path).string()};
      registered_ = true;
    } else if (key == "name") {
      trainable_name_ = string(v, item_path);
      if (trainable_name_.empty() || trainable_name_.find('/') != std::string::npos) {
        fail(item_path, fmt::format("must be a non-empty name without '/', got '{}'", trainable_name_));
      }
    } else if (key == "protocol") {
      if (has_binary)
        fail(item_path, "only applies to 'command' (a registered trainable always speaks the worker protocol)");
      const std::string protocol = string(v, item_path);
      if (protocol == "plain")
        process_.protocol = ProcessSpec::Protocol::kPlain;
      else if (protocol == "client")
        process_.protocol = ProcessSpec::Protocol::kWorker;
      else
        fail(item_path, fmt::format("must be 'plain' or 'client', got '{}'{}", protocol,
                                    did_you_mean(protocol, {"plain", "client"})));
    } else if (key == "env") {
      mapping(v, item_path);
      for (const auto& [name, env_value] : ordered(v, item_path)) {
        const std::string env_path = child_path(item_path, name);
        if (name.empty() || name.find('=') != std::string::npos)
          fail(env_path, "is not a valid environment variable name");
        if (env_value->is_string())
          process_.env[name] = env_value->get<std::string>();
        else if (env_value->is_number() || env_value->is_boolean())
          process_.env[name] = env_value->dump();
        else
          fail(env_path, "must be a string, number or bool, got " + describe(*env_value));
      }
    } else if (key == "launch") {
      if (!has_binary) fail(item_path, "only applies to 'binary' (a command is always started by exec)");
      const std::string launch = string(v, item_path);
      if (launch == "zygote")
        process_.launch = ProcessSpec::Launch::kZygote;
      else if (launch == "exec")
        process_.launch = ProcessSpec::Launch::kExec;
      else
        fail(item_path, fmt::format("must be 'zygote' or 'exec', got '{}'{}", launch,
                                    did_you_mean(launch, {"zygote", "exec"})));
    } else if (key == "working_dir") {
      const std::string dir = string(v, item_path);
      if (dir.empty()) fail(item_path, "must not be empty (leave it out to run in the trial directory)");
      process_.working_dir = fs::path(dir).is_absolute() ? fs::path(dir) : base_dir_ / dir;
    } else if (key == "step_timeout_s") {
      process_.step_timeout_s = number(v, item_path, 0);
    } else if (key == "stop_grace_s") {
      process_.stop_grace_s = number(v, item_path, 0);
    } else if (key == "echo_output") {
      process_.echo_output = boolean(v, item_path);
    } else if (key == "max_message_bytes") {
      process_.max_message_bytes =
          static_cast<size_t>(integer(v, item_path, 1, std::numeric_limits<int64_t>::max(), "must be >= 1"));
    }
  }
  if (registered_) {
    if (trainable_name_.empty()) {
      fail(path, "'binary' needs 'name': the name the trainable was registered under (TUNE_REGISTER_TRAINABLE)");
    }
  } else if (trainable_name_.empty()) {
    trainable_name_ = sanitize_filename(fs::path(process_.argv[0]).filename().string(), 100);
  }
}

std::vector<std::string> SpecChecker::check_command(const Json& value, const std::string& path) {
  if (value.is_string()) {
    fail(path, fmt::format("must be a list (argv), got the string '{}'; no shell is used, so write "
                           "[prog, arg, ...], or [sh, -c, '...'] to get one",
                           value.get<std::string>()));
  }
  if (!value.is_array() || value.empty())
    fail(path, "must be a non-empty list: [program, arg, ...], got " + describe(value));
  std::vector<std::string> argv;
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string item_path = child_path(path, std::to_string(i));
    const Json& arg = value[i];
    if (!arg.is_string()) {
      fail(item_path,
           fmt::format("must be a string, got {}{}", describe(arg),
                       arg.is_number() || arg.is_boolean() ? fmt::format(" (quote it: \"{}\")", arg.dump()) : ""));
    }
    argv.push_back(arg.get<std::string>());
  }
  if (argv[0].empty()) fail(child_path(path, "0"), "the program must not be empty");
  // A relative path names a file next to the spec; the child runs in its trial directory, so
  // it must be made absolute. A bare name is looked up in PATH by the executor.
  const fs::path program = resolve_program(argv[0], child_path(path, "0"));
  if (argv[0].find('/') != std::string::npos) argv[0] = program.string();
  return argv;
}

fs::path SpecChecker::resolve_program(const std::string& program, const std::string& path) const {
  auto executable = [](const fs::path& candidate) {
    std::error_code ec;
    return fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) {
    fs::path candidate = fs::path(program).is_absolute() ? fs::path(program) : base_dir_ / program;
    std::error_code ec;
    candidate = fs::absolute(candidate, ec).lexically_normal();
    if (!fs::exists(candidate, ec))
      fail(path, fmt::format("program '{}' does not exist ({})", program, candidate.string()));
    if (fs::is_directory(candidate, ec)) fail(path, fmt::format("program '{}' is a directory", program));
    if (!executable(candidate)) fail(path, fmt::format("program '{}' is not executable (chmod +x?)", program));
    return candidate;
  }
  const char* env_path = std::getenv("PATH");
  for (const std::string& dir : split(env_path ? env_path : "/usr/local/bin:/usr/bin:/bin", ':')) {
    const fs::path candidate = (dir.empty() ? fs::path(".") : fs::path(dir)) / program;
    if (executable(candidate)) return candidate;
  }
  fail(path, fmt::format("program '{}' not found in PATH", program));
}

void SpecChecker::check_config(const Json& value) {
  if (value.is_null()) return;
  mapping(value, "config");
  try {
    out_.options.config = Space::from_json(value, "config");
  } catch (const TuneError& error) {
    rethrow(error, "config");
  }
  warn_misspelt_domains(value, "config");
}

// {logunifrom: [a, b]} is a valid nested value, but almost certainly a typo of a search space form.
void SpecChecker::warn_misspelt_domains(const Json& value, const std::string& path) {
  if (value.is_object()) {
    if (value.size() == 1 && value.begin().value().is_array()) {
      const std::string& key = value.begin().key();
      std::vector<std::string> forms;
      for (int t = 0; t <= static_cast<int>(Domain::Type::kChoice); ++t)
        forms.push_back(to_string(static_cast<Domain::Type>(t)));
      if (std::find(forms.begin(), forms.end(), key) == forms.end()) {
        if (const std::string hint = did_you_mean(key, forms); !hint.empty()) {
          out_.warnings.push_back(fmt::format("{}: {}: '{}' is no search space form{}; it is kept as a nested value",
                                              locations_.where(child_path(path, key)), path, key, hint));
        }
      }
    }
    for (const auto& [key, child] : value.items()) warn_misspelt_domains(child, child_path(path, key));
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) warn_misspelt_domains(value[i], child_path(path, std::to_string(i)));
  }
}

void SpecChecker::check_stop(const Json& value) {
  if (value.is_null()) return;
  mapping(value, "stop");
  const Json flat = flatten(value);
  for (const auto& [key, threshold] : flat.items()) {
    const std::string path = child_path("stop", key);
    if (!threshold.is_number() && !threshold.is_boolean()) {
      fail(path, "must be a number (stop when the result's value reaches it), got " + describe(threshold));
    }
  }
  out_.options.stop = StopSpec(value);
}

void SpecChecker::check_resources(const Json& value) {
  const std::string path = "resources_per_trial";
  if (value.is_null()) return;
  mapping(value, path);
  check_keys(value, path, kResourceKeys);
  for (const auto& [key, amount] : ordered(value, path)) {
    const std::string item_path = child_path(path, key);
    if (key == "custom_resources" || key == "extra_custom_resources") {
      mapping(*amount, item_path);
      for (const auto& [name, custom] : ordered(*amount, item_path)) number(*custom, child_path(item_path, name), 0);
    } else {
      number(*amount, item_path, 0);
    }
  }
  try {
    out_.options.resources_per_trial = Resources::from_json(value, path);
  } catch (const TuneError& error) {
    rethrow(error, path);
  }
}

// A sync command: a list of argv strings, or one command line (split without a shell).
SyncCommand SpecChecker::sync_command(const Json& value, const std::string& path, bool may_disable) const {
  if (may_disable && value.is_boolean() && !value.get<bool>()) return SyncCommand::disabled();
  std::vector<std::string> argv;
  if (value.is_string()) {
    try {
      argv = split_command(value.get<std::string>());
    } catch (const TuneError& error) {
      fail(path, error.what());
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) argv.push_back(string(value[i], child_path(path, std::to_string(i))));
  } else {
    fail(path, fmt::format("must be a command: a list like [rsync, -a, \"{{source}}\", \"{{target}}\"] or one string{}, "
                           "got {}",
                           may_disable ? " (or false for none)" : "", describe(value)));
  }
  try {
    detail::fill_sync_argv(argv, "s", "t", path);
  } catch (const TuneError& error) {
    throw_at(locations_, path, error.what());
  }
  return SyncCommand(std::move(argv));
}

void SpecChecker::check_sync_config(const Json& value) {
  if (value.is_null()) return;
  mapping(value, "sync_config");
  SyncConfig& sync = out_.options.sync_config;
  for (const auto& [key, item] : ordered(value, "sync_config")) {
    check_key(key, "sync_config", kSyncKeys);
    const Json& v = *item;
    const std::string path = child_path("sync_config", key);
    if (v.is_null()) continue;
    if (key == "upload_dir") {
      sync.upload_dir = string(v, path);
    } else if (key == "sync_to_cloud") {
      sync.sync_to_cloud = sync_command(v, path, false);
    } else if (key == "sync_to_driver") {
      sync.sync_to_driver = sync_command(v, path, true);
    } else if (key == "sync_period_s") {
      sync.sync_period_s = number(v, path, 0);
    } else if (key == "sync_on_checkpoint") {
      sync.sync_on_checkpoint = boolean(v, path);
    } else if (key == "sync_timeout_s") {
      sync.sync_timeout_s = number(v, path, 0);
      if (sync.sync_timeout_s == 0) fail(path, "must be > 0");
    }
  }
  try {
    detail::resolve_cloud_target(sync, "");
  } catch (const TuneError& error) {
    rethrow(error, "sync_config");
  }
}

void SpecChecker::check_custom_resources(const Json& value) {
  mapping(value, "custom_resources");
  for (const auto& [name, amount] : ordered(value, "custom_resources")) {
    const std::string path = child_path("custom_resources", name);
    if (name == "cpu" || name == "gpu" || name == "memory") fail(path, "use num_cpus/num_gpus for built-in resources");
    out_.options.custom_resources[name] = number(*amount, path, 0);
  }
}

// A plugin given as "NAME" or {type: NAME, ...}: its type, and the path the type is written at
// (for messages). An unknown NAME is refused naming the closest known one.
std::pair<std::string, std::string> SpecChecker::plugin_type(const Json& value, const std::string& path,
                                                             const std::string& what, const std::string& example,
                                                             const std::vector<std::string>& known) const {
  std::string type;
  std::string type_path = path;
  if (value.is_string()) {
    type = value.get<std::string>();
  } else if (value.is_object()) {
    if (!value.contains("type")) fail(path, fmt::format("needs 'type' (e.g. {{type: {}}})", example));
    type_path = child_path(path, "type");
    type = string(value.at("type"), type_path);
  } else {
    fail(path, fmt::format("must be a {} name or {{type: NAME, ...}}, got {}", what, describe(value)));
  }
  if (std::find(known.begin(), known.end(), type) == known.end()) {
    fail(type_path,
         fmt::format("unknown {} '{}'{}; known: {}", what, type, did_you_mean(type, known), join(known, ", ")));
  }
  return {type, type_path};
}

// "asha" or {type: asha, max_t: 100, ...}: built by make_scheduler, which names the key.
void SpecChecker::check_scheduler(const Json& value) {
  const std::string path = "scheduler";
  if (value.is_null()) return;
  const std::vector<std::string> supported = scheduler_names();
  std::vector<std::string> known = supported;
  for (const auto& name : unsupported_scheduler_names()) known.push_back(name);
  const auto [type, type_path] = plugin_type(value, path, "scheduler", "asha", known);
  if (std::find(supported.begin(), supported.end(), type) == supported.end()) {
    unsupported(type_path, fmt::format("scheduler '{}'", type), fmt::format("{} work", join(supported, ", ")));
  }
  if (value.is_object()) {
    std::vector<std::string> keys = scheduler_keys(type);
    keys.insert(keys.begin(), "type");
    check_keys(value, path, keys);
  }
  Json resolved = value;
  if (type == "pbt_replay" && value.is_object() && value.contains("policy_file") && value["policy_file"].is_string()) {
    // A relative policy file is relative to the spec file, like every other path in it.
    const fs::path file = expand_user(value["policy_file"].get<std::string>());
    resolved["policy_file"] = (file.is_absolute() ? file : base_dir_ / file).string();
  }
  try {
    if (type != "fifo") out_.options.scheduler = make_scheduler(resolved);
  } catch (const TuneError& error) {
    rethrow(error, path);
  }
}

// "process" (the default: children of the driver) or "slurm" / {type: slurm, partition: ...}.
void SpecChecker::check_executor(const Json& value) {
  const std::string path = "executor";
  if (value.is_null()) return;
  const auto [type, type_path] = plugin_type(value, path, "executor", "slurm", kExecutorNames);
  if (type == "process") {
    if (value.is_object()) check_keys(value, path, {"type"});
    out_.options.slurm.reset();
    return;
  }
  SlurmOptions slurm;
  if (value.is_object()) {
    check_keys(value, path, kSlurmKeys);
    for (const auto& [key, item] : ordered(value, path)) {
      const std::string item_path = child_path(path, key);
      if (key == "partition") slurm.partition = string(*item, item_path);
      if (key == "account") slurm.account = string(*item, item_path);
      if (key == "time_limit") {
        // Slurm's minutes, or its text forms ("1:00:00", "2-0").
        slurm.time_limit = item->is_number_integer() ? std::to_string(integer(*item, item_path, 1, 1 << 30, "must be >= 1 minute"))
                                                     : string(*item, item_path);
      }
      if (key == "mem_per_cpu") slurm.mem_per_cpu = string(*item, item_path);
      if (key == "srun") {
        slurm.srun = string(*item, item_path);
        if (slurm.srun.empty()) fail(item_path, "must name the srun program");
      }
      if (key == "extra_srun_args") {
        if (!item->is_array()) fail(item_path, "must be a list of arguments ([--qos=short, ...]), got " + describe(*item));
        for (size_t i = 0; i < item->size(); ++i) slurm.extra_srun_args.push_back(string((*item)[i], child_path(item_path, std::to_string(i))));
      }
    }
  }
  out_.options.slurm = std::move(slurm);
}

// "tpe" / "variant_generator" / ..., or {type: tpe, points_to_evaluate: [...], ...}: the keys are
// checked here (with line numbers); the searcher is built by make_searcher once the seed is known.
void SpecChecker::check_search_alg(const Json& value) {
  const std::string path = "search_alg";
  if (value.is_null()) return;
  const std::vector<std::string> supported = searcher_names();
  std::vector<std::string> known = supported;
  for (const auto& name : unsupported_searcher_names()) known.push_back(name);
  const auto [type, type_path] = plugin_type(value, path, "search algorithm", "tpe", known);
  if (std::find(supported.begin(), supported.end(), type) == supported.end()) {
    unsupported(type_path, fmt::format("search_alg '{}'", type), fmt::format("{} work", join(supported, ", ")));
  }
  search_alg_ = value;
  if (!value.is_object()) return;
  std::vector<std::string> keys = searcher_common_keys();
  const std::vector<std::string> own = searcher_keys(type);
  keys.insert(keys.end(), own.begin(), own.end());
  check_keys(value, path, keys);
  if (const auto it = value.find("points_to_evaluate"); it != value.end()) {
    const std::string points_path = child_path(path, "points_to_evaluate");
    if (!it->is_array()) fail(points_path, "must be a list of (partial) configs, got " + describe(*it));
    for (size_t i = 0; i < it->size(); ++i) {
      points_to_evaluate_.push_back(mapping((*it)[i], child_path(points_path, std::to_string(i))));
    }
    has_search_alg_points_ = true;
  }
}

// "--lr={lr}" must name a config path: every trial resolves the same paths, so a typo there would
// fail every trial at its start. Checked with the executor's own substitution on variant 0.
void SpecChecker::check_placeholders() {
  if (registered_) return;  // a worker's arguments are its own
  Config sample;
  try {
    sample = BasicVariantGenerator(out_.options.config, 1, 0).generate(0).config;
  } catch (const TuneError& error) {
    rethrow(error, "config");
  }
  try {
    detail::substitute_argv(process_.argv, sample);
  } catch (const TuneError& error) {
    // "argv[2]: ..." -> trainable/command/2
    const std::string message = error.what();
    std::string path = "trainable/command";
    if (message.starts_with("argv[")) path += "/" + message.substr(5, message.find(']') - 5);
    throw_at(locations_, path,
             fmt::format("trainable/command: {} (write '{{{{' and '}}}}' for literal braces)", message));
  }
}

RunSpec SpecChecker::check() {
  if (spec_.is_null()) {
    throw SpecError(fmt::format("{}: the spec is empty; it needs at least 'trainable'", locations_.source()),
                    locations_.source(), 0, {});
  }
  if (!spec_.is_object()) {
    throw_at(
        locations_, "",
        fmt::format("a spec must be a mapping of options (name, trainable, config, ...), got {}", describe(spec_)));
  }
  RunOptions& options = out_.options;
  std::optional<std::string> metric;
  std::optional<std::string> mode;
  for (const auto& [key, item] : ordered(spec_, "")) {
    check_key(key, "", kTopKeys);
    const Json& v = *item;
    const std::string& path = key;
    if (key == "name") {
      if (v.is_null()) continue;
      options.name = string(v, path);
      if (options.name.find('/') != std::string::npos || options.name == "." || options.name == "..") {
        fail(path, fmt::format("'{}' must be a single directory name (no '/', not . or ..)", options.name));
      }
    } else if (key == "trainable") {
      check_trainable(v);
    } else if (key == "config") {
      check_config(v);
    } else if (key == "num_samples") {
      options.num_samples =
          integer(v, path, -1, std::numeric_limits<int64_t>::max(), "must be >= 1, or -1 for no limit");
      if (options.num_samples == 0) fail(path, "must be >= 1, or -1 for no limit, got 0");
    } else if (key == "stop") {
      check_stop(v);
    } else if (key == "resources_per_trial") {
      check_resources(v);
    } else if (key == "local_dir") {
      options.local_dir = string(v, path);
      if (options.local_dir.empty()) fail(path, "must not be empty");
    } else if (key == "scheduler") {
      check_scheduler(v);
    } else if (key == "executor") {
      check_executor(v);
    } else if (key == "search_alg") {
      check_search_alg(v);
    } else if (key == "checkpoint_freq") {
      options.checkpoint_freq =
          static_cast<int>(integer(v, path, 0, std::numeric_limits<int>::max(), "must be >= 0 (0 = off)"));
    } else if (key == "checkpoint_at_end") {
      options.checkpoint_at_end = boolean(v, path);
    } else if (key == "keep_checkpoints_num") {
      if (!v.is_null()) {
        options.keep_checkpoints_num = static_cast<int>(
            integer(v, path, 1, std::numeric_limits<int>::max(), "must be >= 1 (or null to keep all)"));
      }
    } else if (key == "checkpoint_score_attr") {
      options.checkpoint_score_attr = string(v, path);
      if (options.checkpoint_score_attr.empty() || options.checkpoint_score_attr == "min-") {
        fail(path, "must name a result key (\"min-\" + key when lower is better)");
      }
    } else if (key == "max_failures") {
      options.max_failures = static_cast<int>(
          integer(v, path, -1, std::numeric_limits<int>::max(), "must be >= 0, or -1 to retry forever"));
    } else if (key == "fail_fast") {
      options.fail_fast = boolean(v, path);
    } else if (key == "resume") {
      if (v.is_null() || (v.is_boolean() && !v.get<bool>())) continue;
      if (v.is_boolean()) {
        options.resume = true;
        continue;
      }
      if (!v.is_string()) fail(path, "must be true/false or a resume mode, got " + describe(v));
      const std::string resume_mode = v.get<std::string>();
      static const std::vector<std::string> kResumeModes = {"LOCAL", "PROMPT", "ERRORED_ONLY", "REMOTE"};
      if (std::find(kResumeModes.begin(), kResumeModes.end(), resume_mode) == kResumeModes.end()) {
        fail(path, fmt::format("'{}' is not a resume mode; use true, false, LOCAL, PROMPT, ERRORED_ONLY or REMOTE{}",
                               resume_mode, did_you_mean(resume_mode, kResumeModes)));
      }
      options.resume = resume_mode;
    } else if (key == "restore") {
      if (v.is_null()) continue;
      options.restore = string(v, path);
    } else if (key == "reuse_actors") {
      if (boolean(v, path)) {
        fail(path, "true needs an in-process class trainable (RunOptions::reuse_actors in the C++ API); a spec's "
                   "trainable runs each trial as a child process, which cannot be reset for another trial");
      }
    } else if (key == "metric") {
      if (v.is_null()) continue;
      metric = string(v, path);
      if (metric->empty()) fail(path, "must not be empty (leave it out for none)");
    } else if (key == "mode") {
      if (v.is_null()) continue;
      mode = string(v, path);
      if (*mode != "min" && *mode != "max") fail(path, fmt::format("must be 'min' or 'max', got '{}'", *mode));
    } else if (key == "seed") {
      if (v.is_number_unsigned())
        options.seed = v.get<uint64_t>();
      else
        options.seed = static_cast<uint64_t>(integer(v, path, 0, std::numeric_limits<int64_t>::max(), "must be >= 0"));
    } else if (key == "max_concurrent_trials") {
      options.max_concurrent_trials =
          static_cast<int>(integer(v, path, 0, std::numeric_limits<int>::max(), "must be >= 1 (or 0 for no limit)"));
    } else if (key == "time_budget_s") {
      if (!v.is_null()) options.time_budget_s = number(v, path, 0);
    } else if (key == "verbose") {
      options.verbose = static_cast<int>(integer(v, path, 0, 3, "must be 0, 1, 2 or 3"));
    } else if (key == "raise_on_failed_trial") {
      options.raise_on_failed_trial = boolean(v, path);
    } else if (key == "num_cpus") {
      if (!v.is_null()) options.num_cpus = number(v, path, 0);
    } else if (key == "num_gpus") {
      if (!v.is_null()) options.num_gpus = number(v, path, 0);
    } else if (key == "custom_resources") {
      if (!v.is_null()) check_custom_resources(v);
    } else if (key == "write_trial_files") {
      options.write_trial_files = boolean(v, path);
    } else if (key == "sync_config") {
      check_sync_config(v);
    }
  }

  if (!spec_.contains("trainable")) {
    throw SpecError(fmt::format("{}: missing key 'trainable' (e.g. trainable: {{command: [python3, train.py]}})",
                                locations_.source()),
                    locations_.source(), 0, "trainable");
  }
  // Checks across keys.
  if (metric.has_value() != mode.has_value()) {
    if (metric) fail("metric", "is given without 'mode' (min or max)");
    fail("mode", "is given without 'metric'");
  }
  options.metric = metric.value_or("");
  options.mode = mode.value_or("");
  if (options.fail_fast && options.max_failures != 0) {
    fail("fail_fast", "cannot be combined with max_failures (fail_fast stops at the first failure)");
  }
  if (options.resume.value == "REMOTE" && options.sync_config.upload_dir.empty()) {
    fail("resume", "REMOTE pulls the experiment from sync_config/upload_dir, which is not given");
  }
  if (options.resume.value == "REMOTE" && options.name.empty()) {
    fail("resume", "REMOTE needs 'name' (the experiment to pull from sync_config/upload_dir)");
  }
  check_placeholders();
  if (!search_alg_.is_null()) {
    try {
      SearcherContext context;
      context.seed = options.seed;
      options.search_alg = make_searcher(search_alg_, context);
    } catch (const TuneError& error) {
      rethrow(error, "search_alg");  // "search_alg/n_ei_candidates: ..." at that key's line
    }
  }
  if (has_search_alg_points_ && !options.search_alg) {
    try {
      options.search_alg = std::make_shared<BasicVariantGenerator>(options.config, options.num_samples, options.seed,
                                                                   points_to_evaluate_);
    } catch (const TuneError& error) {
      rethrow(error, "search_alg/points_to_evaluate");
    }
  }

  try {
    // A registered trainable: the binary re-run as a worker (its main() calls tune::worker_main).
    out_.trainable = registered_ ? isolated(trainable_name_, process_) : process_trainable(trainable_name_, process_);
  } catch (const TuneError& error) {
    rethrow(error, "trainable");
  }
  out_.json = spec_;
  return std::move(out_);
}

}  // namespace

RunSpec parse_run_spec(const std::string& text, const SpecSource& source) {
  Locations locations(source.name);
  check_utf8(text, source.name, 1, source.name, {});
  Json spec = parse_yaml(text, "", locations, /*is_override=*/false, {});
  for (const std::string& arg : source.overrides) {
    if (spec.is_null()) spec = Json::object();
    if (!spec.is_object()) break;  // the checker reports a non-mapping spec
    apply_override(spec, locations, arg);
  }
  std::error_code ec;
  fs::path base = source.base_dir.empty() ? fs::current_path(ec) : fs::absolute(source.base_dir, ec);
  return SpecChecker(spec, locations, base).check();
}

RunSpec load_run_spec(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  const std::string name = file.string();
  std::error_code ec;
  if (fs::is_directory(file, ec))
    throw SpecError(fmt::format("{}: is a directory, not a spec file", name), name, 0, {});
  std::ifstream in(file, std::ios::binary);
  if (!in) throw SpecError(fmt::format("{}: cannot read the spec file (does it exist?)", name), name, 0, {});
  std::ostringstream text;
  text << in.rdbuf();
  SpecSource source;
  source.name = name;
  source.base_dir = file.parent_path();
  source.overrides = overrides;
  return parse_run_spec(text.str(), source);
}

const std::vector<std::string>& run_spec_keys() { return kTopKeys; }
const std::vector<std::string>& unsupported_spec_keys() { return kUnsupportedKeys; }

}  // namespace tune
