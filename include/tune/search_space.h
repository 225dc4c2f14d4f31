// tune/search_space.h — the search space: a config tree holding domains.
//
// A Space is a tree of plain JSON values, objects and arrays whose leaves may be
// domains: grid_search(list), sample_from(fn) and the distributions (uniform,
// loguniform, choice, ...). It is written either in C++
//
//   tune::Space space = {
//       {"lr", tune::loguniform(1e-4, 1e-1)},
//       {"layers", tune::grid_search({16, 64, 256})},
//       {"beta", tune::sample_from([](tune::Spec& spec) {
//            return spec.config("lr").get<double>() * 2; })},
//   };
//
// or in its JSON/YAML form ({"grid_search": [...]}, {"loguniform": [a, b]}, ...), see
// Space::from_json. Domain constructors validate their arguments and throw TuneError
// naming the rule (uniform(5, 1), a loguniform bound <= 0, an empty grid ...).
// Thread-safety: a Space is immutable once built and may be shared between threads;
// sample_from functions are called from the driver thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tune/json.h"

namespace tune {

class Spec;
// A function computing one config value; it may read other values via spec.config(path).
using SampleFn = std::function<Json(Spec& spec)>;

// One leaf of the space that is not a plain value.
struct Domain {
  enum class Type {
    kGridSearch,
    kSampleFrom,
    kUniform,
    kQUniform,
    kLogUniform,
    kQLogUniform,
    kRandn,
    kQRandn,
    kRandint,
    kQRandint,
    kLogRandint,
    kQLogRandint,
    kChoice,
  };
  Type type = Type::kUniform;
  double lower = 0;  // uniform/log/int families
  double upper = 0;  // exclusive for randint/lograndint, inclusive for q-variants
  double q = 0;      // quantisation step (q-variants)
  double base = 10;  // loguniform base
  double mean = 0;   // randn
  double sd = 1;     // randn
  std::vector<Json> values;  // grid_search / choice
  SampleFn fn;               // sample_from

  // Draws one value (not for grid_search or sample_from: those throw TuneError).
  // Integer domains give JSON integers, the others JSON floats (choice: one of `values`).
  Json sample(std::mt19937_64& rng) const;
  // The same from a cheap private engine seeded with `seed`: what resolve_config uses, since
  // seeding an mt19937_64 per value would dominate the cost of a variant.
  Json sample_seeded(uint64_t seed) const;
  // The JSON form ({"loguniform": [a, b]} ...); sample_from becomes {"sample_from": "<function>"}.
  Json to_json() const;
  bool is_grid() const { return type == Type::kGridSearch; }
  // True for integer-valued domains (randint families).
  bool is_integer() const;
  // True for numeric domains sampled on a log scale (the loguniform and lograndint families).
  bool is_log() const;
};

// The JSON form's name of a type ("grid_search", "loguniform" ...) and back (nullopt if unknown).
std::string to_string(Domain::Type type);
std::optional<Domain::Type> domain_type_from_string(std::string_view name);

class Space {
 public:
  using Object = std::map<std::string, Space>;  // sorted: paths are visited in order
  using Array = std::vector<Space>;

  Space();  // JSON null
  // Any plain value: numbers, strings, bools, tune::Json.
  template <typename T,
            typename = std::enable_if_t<!std::is_same_v<std::decay_t<T>, Space> &&
                                        !std::is_same_v<std::decay_t<T>, Domain> &&
                                        std::is_constructible_v<Json, T>>>
  Space(T&& value) : Space(Json(std::forward<T>(value)), LeafTag{}) {}  // NOLINT: implicit by design
  Space(Domain domain);  // NOLINT: implicit by design
  // Like nlohmann::json: a list of [string, value] pairs is an object, otherwise an array.
  Space(std::initializer_list<Space> items);
  static Space object(Object entries);
  static Space array(Array items);

  // Parses the JSON form: {"grid_search": [...]}, {"uniform": [lo, hi]}, {"quniform": [lo, hi, q]},
  // {"loguniform": [lo, hi(, base)]}, {"qloguniform": [lo, hi, q]}, {"randn": [mean, sd]},
  // {"qrandn": [mean, sd, q]}, {"randint": [lo, hi]}, {"qrandint": [lo, hi, q]},
  // {"lograndint": [lo, hi]}, {"qlograndint": [lo, hi, q]}, {"choice": [...]}.
  // Objects with any other keys (or more than one) recurse; {"sample_from": ...} is an error
  // since a function cannot come from JSON. Integer forms take integer arguments.
  // Errors name the path ("config/lr: loguniform: lower bound must be > 0 (got 0)").
  static Space from_json(const Json& json, const std::string& path = "config");
  Json to_json() const;

  bool is_object() const { return kind_ == Kind::kObject; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_domain() const { return kind_ == Kind::kDomain; }
  bool is_value() const { return kind_ == Kind::kValue; }
  const Object& as_object() const { return object_; }
  const Array& as_array() const { return array_; }
  const Domain& as_domain() const { return *domain_; }
  const Json& as_value() const { return value_; }
  // True for null and for an object or array with no entries.
  bool empty() const;

  // Sets a key of an object space (a null space becomes an object; anything else throws).
  Space& set(const std::string& key, Space value);
  // Finds a `/`-separated path ("a/b/0", array elements by index); "" is this; nullptr if absent.
  const Space* find(std::string_view path) const;

 private:
  struct LeafTag {};
  enum class Kind { kValue, kObject, kArray, kDomain };
  Space(Json value, LeafTag);  // JSON objects/arrays become object/array spaces

  Kind kind_ = Kind::kValue;
  Json value_;
  Object object_;
  Array array_;
  std::shared_ptr<const Domain> domain_;
};

// What a sample_from function sees: the config being resolved and a random source.
class Spec {
 public:
  virtual ~Spec() = default;
  // The resolved value at a `/`-separated path of the config ("alpha", "model/width").
  // Resolves it first if needed; a cycle between sample_from functions is a TuneError.
  virtual const Json& config(std::string_view path) = 0;
  // A random engine private to this value of this trial (reproducible under a seed).
  virtual std::mt19937_64& random() = 0;
  double uniform(double lower, double upper);
  double normal(double mean = 0.0, double sd = 1.0);
};

// ---- domain constructors (validate their arguments, throw TuneError) ----
Domain grid_search(std::vector<Json> values);
Domain sample_from(SampleFn fn);
Domain uniform(double lower, double upper);
Domain quniform(double lower, double upper, double q);
Domain loguniform(double lower, double upper, double base = 10);
Domain qloguniform(double lower, double upper, double q, double base = 10);
Domain randn(double mean = 0, double sd = 1);
Domain qrandn(double mean, double sd, double q);
Domain randint(int64_t lower, int64_t upper);
Domain qrandint(int64_t lower, int64_t upper, int64_t q = 1);
Domain lograndint(int64_t lower, int64_t upper, double base = 10);
Domain qlograndint(int64_t lower, int64_t upper, int64_t q, double base = 10);
Domain choice(std::vector<Json> values);

}  // namespace tune
