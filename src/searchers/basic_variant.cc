// Grid × random variant generation: resolve_config, format_vars and BasicVariantGenerator.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string_view>
#include <utility>

#include "common/mix64.h"
#include "tune/error.h"
#include "tune/searcher.h"

namespace tune {
namespace {

using detail::mix64;

uint64_t fnv1a(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// Each value draws from its own engine keyed by its path, so adding a parameter, or resolving
// sample_from values in another order, leaves every other draw unchanged.
uint64_t value_seed(uint64_t seed, std::string_view path) { return mix64(seed ^ fnv1a(path)); }

uint64_t trial_seed(uint64_t seed, int64_t index) { return mix64(seed ^ mix64(static_cast<uint64_t>(index))); }

std::optional<size_t> parse_index(std::string_view key) {
  if (key.empty() || key.size() > 18 || key.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  size_t index = 0;
  for (const char c : key) index = index * 10 + static_cast<size_t>(c - '0');
  return index;
}

// Walks a `/`-separated path through objects (by key) and arrays (by index); "" is the root.
template <typename J>
J* walk(J& root, std::string_view path) {
  J* node = &root;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    const std::string_view key = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (node->is_object()) {
      const auto it = node->find(key);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      const auto index = parse_index(key);
      if (!index || *index >= node->size()) return nullptr;
      node = &(*node)[*index];
    } else {
      return nullptr;
    }
  }
  return node;
}

// True when one path is the other or lies inside it ("" contains everything).
bool related(std::string_view a, std::string_view b) {
  if (a.size() > b.size()) std::swap(a, b);
  return a.empty() || (b.starts_with(a) && (b.size() == a.size() || b[a.size()] == '/'));
}

// One step of a path: an object key or an array index (format_vars tells them apart).
struct Step {
  std::string_view key;
  int64_t index = -1;
};

// Calls fn(steps, path, domain) for every domain leaf, in sorted path order (objects are
// std::maps, arrays go by index), which is the order Ray sorts its path tuples in.
template <typename Fn>
void visit_domains(const Space& node, std::vector<Step>& steps, std::string& path, Fn&& fn) {
  const size_t mark = path.size();
  if (node.is_object()) {
    for (const auto& [key, child] : node.as_object()) {
      if (mark != 0) path += '/';
      path += key;
      steps.push_back({key, -1});
      visit_domains(child, steps, path, fn);
      steps.pop_back();
      path.resize(mark);
    }
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.as_array().size(); ++i) {
      if (mark != 0) path += '/';
      path += std::to_string(i);
      steps.push_back({{}, static_cast<int64_t>(i)});
      visit_domains(node.as_array()[i], steps, path, fn);
      steps.pop_back();
      path.resize(mark);
    }
  } else if (node.is_domain()) {
    fn(steps, path, node.as_domain());
  }
}

using GridLookup = std::function<const Json*(const std::string& path)>;

// Resolves one config: plain values are copied, grid values looked up, distributions sampled
// while the tree is built; sample_from values are left as null and then resolved lazily, each
// at most once, so that a function reading another value sees the same value as everybody.
class Resolver {
 public:
  Resolver(uint64_t seed, const GridLookup& grid) : seed_(seed), grid_(grid) {}

  // `given` (a possibly partial config, or null) overrides the space where it has a value.
  Config run(const Space& space, const Json* given) {
    std::string path;
    config_ = build(space, given, path);
    for (size_t i = 0; i < pending_.size(); ++i) resolve(i);
    return std::move(config_);
  }

  const Json& config(std::string_view path) {
    for (size_t i = 0; i < pending_.size(); ++i) {
      if (pending_[i].state != State::kDone && related(pending_[i].path, path)) resolve(i);
    }
    if (const Json* value = walk(std::as_const(config_), path)) return *value;
    throw TuneError(fmt::format("config/{}: sample_from reads config path '{}', which does not exist",
                                pending_[stack_.back()].path, path));
  }

 private:
  enum class State { kPending, kRunning, kDone };
  struct Pending {
    std::string path;
    const Domain* domain;
    State state = State::kPending;
  };

  // What a sample_from function sees: the shared resolver and an engine of its own.
  class ValueSpec final : public Spec {
   public:
    ValueSpec(Resolver& resolver, uint64_t seed) : resolver_(resolver), seed_(seed) {}
    const Json& config(std::string_view path) override { return resolver_.config(path); }
    std::mt19937_64& random() override {
      if (!engine_) engine_.emplace(seed_);  // seeded only when used: it costs about a microsecond
      return *engine_;
    }

   private:
    Resolver& resolver_;
    uint64_t seed_;
    std::optional<std::mt19937_64> engine_;
  };

  Json build(const Space& node, const Json* given, std::string& path) {
    if (given != nullptr && !(given->is_object() && node.is_object())) return *given;
    const size_t mark = path.size();
    if (node.is_object()) {
      Json out = Json::object();
      for (const auto& [key, child] : node.as_object()) {
        const Json* child_given = nullptr;
        if (given != nullptr) {
          if (const auto it = given->find(key); it != given->end()) child_given = &*it;
        }
        if (mark != 0) path += '/';
        path += key;
        out.emplace(key, build(child, child_given, path));
        path.resize(mark);
      }
      if (given != nullptr) {
        for (const auto& [key, value] : given->items()) {
          if (!out.contains(key)) out.emplace(key, value);  // keys the space lacks are kept as given
        }
      }
      return out;
    }
    if (node.is_array()) {
      Json out = Json::array();
      for (size_t i = 0; i < node.as_array().size(); ++i) {
        if (mark != 0) path += '/';
        path += std::to_string(i);
        out.push_back(build(node.as_array()[i], nullptr, path));
        path.resize(mark);
      }
      return out;
    }
    if (!node.is_domain()) return node.as_value();
    const Domain& domain = node.as_domain();
    switch (domain.type) {
      case Domain::Type::kGridSearch:
        if (const Json* value = grid_(path)) return *value;
        throw TuneError(fmt::format("resolve_config: no value given for the grid_search at config/{}", path));
      case Domain::Type::kSampleFrom:
        pending_.push_back({path, &domain});
        return nullptr;
      default:
        return domain.sample_seeded(value_seed(seed_, path));
    }
  }

  void resolve(size_t i) {
    Pending& pending = pending_[i];  // pending_ no longer grows: the reference stays valid
    if (pending.state == State::kDone) return;
    if (pending.state == State::kRunning) {
      std::string cycle;
      for (auto it = std::find(stack_.begin(), stack_.end(), i); it != stack_.end(); ++it) {
        cycle += "config/" + pending_[*it].path + " -> ";
      }
      throw TuneError("sample_from cycle: " + cycle + "config/" + pending.path);
    }
    pending.state = State::kRunning;
    stack_.push_back(i);
    ValueSpec spec(*this, value_seed(seed_, pending.path));
    Json value;
    try {
      value = pending.domain->fn(spec);
    } catch (const TuneError&) {
      throw;
    } catch (const std::exception& e) {
      throw TuneError(fmt::format("config/{}: the sample_from function threw: {}", pending.path, e.what()));
    }
    stack_.pop_back();
    *walk(config_, pending.path) = std::move(value);  // the null placeholder build() left
    pending.state = State::kDone;
  }

  uint64_t seed_;
  const GridLookup& grid_;
  Json config_;
  std::vector<Pending> pending_;
  std::vector<size_t> stack_;  // sample_from values being computed, outermost first
};

Config resolve(const Space& space, const GridLookup& grid, uint64_t seed, const Json* given) {
  Resolver resolver(seed, grid);
  return resolver.run(space, given);
}

// Python's "{:.5}": 5 significant digits, scientific when the exponent is < -4 or >= 4, trailing
// zeros dropped, and fixed notation keeps one digit after the point ("16.0"). Built from one
// to_chars call (snprintf would dominate the cost of a variant's tag).
std::string format_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific, 4);
  const std::string_view text(buffer, static_cast<size_t>(result.ptr - buffer));  // "-1.2345e-06"
  const size_t e = text.find('e');
  const bool negative = text[0] == '-';
  std::string digits;  // the 5 significant digits
  for (const char c : text.substr(0, e)) {
    if (c >= '0' && c <= '9') digits += c;
  }
  int exponent = 0;
  std::from_chars(text.data() + e + (text[e + 1] == '+' ? 2 : 1), text.data() + text.size(), exponent);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 4) {
    out += digits[0];
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += text.substr(e, 2);  // "e-" or "e+"
    const int magnitude = std::abs(exponent);
    if (magnitude < 10) out += '0';
    out += std::to_string(magnitude);
    return out;
  }
  if (exponent < 0) {
    out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    return out;
  }
  const auto int_digits = static_cast<size_t>(exponent) + 1;
  if (digits.size() < int_digits) digits.append(int_digits - digits.size(), '0');
  out += digits.substr(0, int_digits) + ".";
  out += digits.size() > int_digits ? digits.substr(int_digits) : "0";
  return out;
}

// Ray's _clean_value: floats to 5 digits, anything else as text with '/' made '_'.
std::string clean_value(const Json& value) {
  std::string text;
  if (value.is_number_float()) return format_float(value.get<double>());
  if (value.is_number_unsigned()) return std::to_string(value.get<uint64_t>());
  if (value.is_number_integer()) return std::to_string(value.get<int64_t>());  // dump() is slow
  if (value.is_string()) {
    text = value.get<std::string>();
  } else if (value.is_boolean()) {
    text = value.get<bool>() ? "true" : "false";
  } else {
    text = value.dump();
  }
  std::replace(text.begin(), text.end(), '/', '_');
  return text;
}

// Ray's key: the last string of the path plus every integer index, joined by '_'
// (("a", "b", 0) -> "b_0"; ("nn_layers", 0) -> "nn_layers_0").
std::string var_key(const std::vector<Step>& steps) {
  size_t first = 0;  // steps before the last string are skipped, except indices
  for (size_t i = steps.size(); i-- > 0;) {
    if (steps[i].index < 0) {
      first = i;
      break;
    }
  }
  std::string key;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].index < 0 && i != first) continue;
    if (!key.empty()) key += '_';
    if (steps[i].index >= 0) {
      key += std::to_string(steps[i].index);
    } else {
      key += steps[i].key;
    }
  }
  std::replace(key.begin(), key.end(), '/', '_');
  return key;
}

const Json* find_steps(const Json& config, const std::vector<Step>& steps) {
  const Json* node = &config;
  for (const Step& step : steps) {
    if (step.index >= 0) {
      if (!node->is_array() || static_cast<size_t>(step.index) >= node->size()) return nullptr;
      node = &(*node)[static_cast<size_t>(step.index)];
    } else {
      if (!node->is_object()) return nullptr;
      const auto it = node->find(step.key);
      if (it == node->end()) return nullptr;
      node = &*it;
    }
  }
  return node;
}

}  // namespace

Config resolve_config(const Space& space, const std::map<std::string, Json>& grid_values, uint64_t seed) {
  const GridLookup lookup = [&](const std::string& path) -> const Json* {
    const auto it = grid_values.find(path);
    return it == grid_values.end() ? nullptr : &it->second;
  };
  return resolve(space, lookup, seed, nullptr);
}

std::string format_vars(const Space& space, const Config& config) {
  std::string out;
  std::vector<Step> steps;
  std::string path;
  visit_domains(space, steps, path, [&](const std::vector<Step>& at, const std::string&, const Domain&) {
    const Json* value = find_steps(config, at);
    if (value == nullptr) return;
    if (!out.empty()) out += ',';
    out += var_key(at);
    out += '=';
    out += clean_value(*value);
  });
  return out;
}

BasicVariantGenerator::BasicVariantGenerator(Space space, int64_t num_samples, std::optional<uint64_t> seed,
                                             std::vector<Config> points_to_evaluate)
    : space_(std::move(space)), num_samples_(num_samples), points_(std::move(points_to_evaluate)) {
  if (num_samples_ < 1 && num_samples_ != -1) {
    throw TuneError(fmt::format("num_samples must be >= 1, or -1 to repeat forever (got {})", num_samples_));
  }
  if (seed) {
    seed_ = *seed;
  } else {
    std::random_device device;
    seed_ = (static_cast<uint64_t>(device()) << 32) ^ device();
  }
  std::vector<Step> steps;
  std::string path;
  visit_domains(space_, steps, path, [&](const std::vector<Step>&, const std::string& at, const Domain& domain) {
    if (!domain.is_grid()) return;
    const auto size = static_cast<int64_t>(domain.values.size());
    if (grid_size_ > std::numeric_limits<int64_t>::max() / size) {
      throw TuneError("grid_search: the grid has more than 2^63 points");
    }
    grid_size_ *= size;
    grid_paths_.push_back(at);         // visited in sorted order already
    grid_domains_.push_back(&domain);  // owned by space_ through a shared_ptr: stable
  });
  if (num_samples_ > 0 && num_samples_ > std::numeric_limits<int64_t>::max() / grid_size_) {
    throw TuneError(fmt::format("num_samples ({}) x grid size ({}) exceeds 2^63 trials", num_samples_, grid_size_));
  }
  for (size_t i = 0; i < points_.size(); ++i) {
    if (!points_[i].is_object()) {
      throw TuneError(fmt::format("points_to_evaluate[{}] must be an object (got {})", i, points_[i].dump()));
    }
  }
  if (const auto total = total_trials(); total && static_cast<int64_t>(points_.size()) > *total) {
    throw TuneError(
        fmt::format("points_to_evaluate has {} points but there are only {} variants "
                    "(num_samples x grid size); raise num_samples",
                    points_.size(), *total));
  }
}

Suggestion BasicVariantGenerator::generate(int64_t index) const {
  if (index < 0) throw TuneError(fmt::format("BasicVariantGenerator::generate: index must be >= 0 (got {})", index));
  if (const auto total = total_trials(); total && index >= *total) return Suggestion::finished();
  // index = sample * grid_size + grid point; within a grid point the first path varies fastest.
  std::vector<const Json*> chosen(grid_domains_.size());
  int64_t rest = index % grid_size_;
  for (size_t j = 0; j < grid_domains_.size(); ++j) {
    const auto size = static_cast<int64_t>(grid_domains_[j]->values.size());
    chosen[j] = &grid_domains_[j]->values[static_cast<size_t>(rest % size)];
    rest /= size;
  }
  const GridLookup lookup = [&](const std::string& path) -> const Json* {
    for (size_t j = 0; j < grid_paths_.size(); ++j) {
      if (grid_paths_[j] == path) return chosen[j];
    }
    return nullptr;
  };
  const Json* given = static_cast<size_t>(index) < points_.size() ? &points_[static_cast<size_t>(index)] : nullptr;
  Suggestion suggestion;
  suggestion.kind = Suggestion::Kind::kConfig;
  suggestion.config = resolve(space_, lookup, trial_seed(seed_, index), given);
  suggestion.tag = std::to_string(index);
  if (std::string vars = format_vars(space_, suggestion.config); !vars.empty()) suggestion.tag += "_" + vars;
  return suggestion;
}

Suggestion BasicVariantGenerator::suggest(const std::string& trial_id) {
  (void)trial_id;
  Suggestion suggestion = generate(next_);
  if (suggestion.kind == Suggestion::Kind::kConfig) ++next_;
  return suggestion;
}

std::optional<int64_t> BasicVariantGenerator::total_trials() const {
  if (num_samples_ < 0) return std::nullopt;
  return num_samples_ * grid_size_;
}

Json BasicVariantGenerator::save() const { return Json{{"next", next_}, {"seed", seed_}}; }

void BasicVariantGenerator::restore(const Json& state) {
  const Json* next = state.is_object() ? find_path(state, "next") : nullptr;
  const Json* seed = state.is_object() ? find_path(state, "seed") : nullptr;
  if (next == nullptr || !next->is_number_integer() || next->get<int64_t>() < 0) {
    throw TuneError("BasicVariantGenerator::restore: state.next must be an integer >= 0 (got " + state.dump() + ")");
  }
  if (seed == nullptr || !seed->is_number_integer() || (!seed->is_number_unsigned() && seed->get<int64_t>() < 0)) {
    throw TuneError("BasicVariantGenerator::restore: state.seed must be an unsigned integer (got " + state.dump() +
                    ")");
  }
  if (const auto total = total_trials(); total && next->get<int64_t>() > *total) {
    throw TuneError(fmt::format("BasicVariantGenerator::restore: state.next ({}) is past the last variant ({})",
                                next->get<int64_t>(), *total));
  }
  next_ = next->get<int64_t>();
  seed_ = seed->get<uint64_t>();
}

}  // namespace tune
