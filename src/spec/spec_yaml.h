// Internal to src/spec/: where each value of a spec came from (file line or --set argument),
// and the text layer of a spec: UTF-8 check, YAML (1.2 core schema) -> Json with a line per JSON
// path, and --set overrides. The checks of the values themselves are SpecChecker's
// (spec_checker.h).
#pragma once

#include <fmt/format.h>

#include <map>
#include <string>
#include <string_view>

#include "tune/json.h"
#include "tune/spec.h"

namespace tune::spec_internal {

// ---------------------------------------------------------------------------------------------
// Locations: JSON path ("config/lr", "trainable/command/0") -> where it came from.

struct Origin {
  int line = 0;              // 1-based; 0 = unknown
  std::string override_arg;  // non-empty: the --set argument it came from
};

inline std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "/" + key;
}

inline std::string parent_path(const std::string& path) {
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

[[noreturn]] inline void throw_at(const Locations& locations, const std::string& path, const std::string& text) {
  const Origin o = locations.origin(path);
  throw SpecError(locations.where(path) + ": " + text,
                  o.override_arg.empty() ? locations.source() : "--set " + o.override_arg, o.line, path);
}

// The limits on a spec's text (docs/spec.md): the file, and each --set argument.
inline constexpr size_t kMaxSpecBytes = size_t{4} << 20;
inline constexpr size_t kMaxOverrideBytes = size_t{64} << 10;
// Nesting of mappings and lists in a spec, and path components of a --set key ("config.a.b"
// has 3). yaml-cpp's own parser stops at 2,000.
inline constexpr size_t kMaxSpecDepth = 200;

// Throws SpecError when `text` is not valid UTF-8, naming the line (from `first_line`; 0: none).
void check_utf8(std::string_view text, const std::string& where_prefix, int first_line, std::string source,
                std::string key);

// Parses one YAML document landing at `base_path` ("" for the spec, the key for an override),
// recording each path's line in `locations`.
Json parse_yaml(const std::string& text, const std::string& base_path, Locations& locations, bool is_override,
                const std::string& override_arg);

// Applies one "--set KEY=VALUE" to `spec`; the new subtree's locations point at the argument.
void apply_override(Json& spec, Locations& locations, const std::string& arg);

}  // namespace tune::spec_internal
