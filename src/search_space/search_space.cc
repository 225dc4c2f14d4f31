// The search space: domain constructors (validation), sampling, the config tree and its JSON form.
#include "tune/search_space.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numbers>

#include "common/mix64.h"
#include "tune/error.h"

namespace tune {
namespace {

// Integer bounds are stored as doubles; beyond 2^53 they would silently lose precision.
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

// A tiny, fast engine for per-value sampling (seeding an mt19937_64 costs ~1 µs per value).
class SplitMix64 {
 public:
  using result_type = uint64_t;
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()() {
    const uint64_t z = detail::mix64(state_);  // mixes state_ + gamma, the new state
    state_ += detail::kSplitMix64Gamma;
    return z;
  }

 private:
  uint64_t state_;
};

// Our own distributions rather than std::*_distribution: their output is implementation-defined,
// and a seed should give the same configs with any standard library. Engines give 64 random bits.
template <typename Engine>
double unit(Engine& engine) {  // [0, 1)
  return static_cast<double>(static_cast<uint64_t>(engine()) >> 11) * 0x1.0p-53;
}

template <typename Engine>
uint64_t below(Engine& engine, uint64_t n) {  // uniform in [0, n), n >= 1, without modulo bias
  const uint64_t threshold = (0 - n) % n;
  for (;;) {
    const uint64_t r = engine();
    if (r >= threshold) return r % n;
  }
}

template <typename Engine>
int64_t int_between(Engine& engine, int64_t lower, int64_t upper) {  // inclusive
  const uint64_t span = static_cast<uint64_t>(upper) - static_cast<uint64_t>(lower);
  const uint64_t offset =
      span == std::numeric_limits<uint64_t>::max() ? static_cast<uint64_t>(engine()) : below(engine, span + 1);
  return static_cast<int64_t>(static_cast<uint64_t>(lower) + offset);
}

template <typename Engine>
double real_between(Engine& engine, double lower, double upper) {  // [lower, upper)
  const double t = unit(engine);
  double x = lower * (1 - t) + upper * t;  // never overflows, unlike lower + t * (upper - lower)
  if (x >= upper) x = std::nextafter(upper, lower);
  return std::max(x, lower);
}

template <typename Engine>
double standard_normal(Engine& engine) {  // Box-Muller
  const double u1 = 1.0 - unit(engine);   // (0, 1]: log stays finite
  const double u2 = unit(engine);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

template <typename Engine>
double log_between(Engine& engine, double lower, double upper, double base) {
  // Ray's form, base^U(log_b l, log_b u); clipped because pow/log round.
  const double log_base = std::log(base);
  const double x = std::pow(base, real_between(engine, std::log(lower) / log_base, std::log(upper) / log_base));
  return std::clamp(x, lower, upper);
}

int64_t floor_div(int64_t a, int64_t b) {  // b > 0
  return a / b - ((a % b != 0 && a < 0) ? 1 : 0);
}
int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

// round(x/q)*q, kept on a multiple of q inside [lower, upper] when one exists, then clipped
// (the clip absorbs float noise such as 3 * 0.1 = 0.30000000000000004 > 0.3).
double quantize_real(double x, double q, double lower, double upper) {
  double k = std::round(x / q);
  const double k_min = std::ceil(lower / q - 1e-9);
  const double k_max = std::floor(upper / q + 1e-9);
  if (k_min <= k_max) k = std::clamp(k, k_min, k_max);
  return std::clamp(k * q, lower, upper);
}

int64_t quantize_int(double x, int64_t q, int64_t lower, int64_t upper) {
  int64_t k = static_cast<int64_t>(std::llround(x / static_cast<double>(q)));
  k = std::clamp(k, ceil_div(lower, q), floor_div(upper, q));  // validation ensured a multiple exists
  return k * q;
}

template <typename Engine>
Json sample_with(const Domain& d, Engine& engine) {
  const auto lower = static_cast<int64_t>(d.lower);
  const auto upper = static_cast<int64_t>(d.upper);
  const auto q = static_cast<int64_t>(d.q);
  switch (d.type) {
    case Domain::Type::kUniform:
      return real_between(engine, d.lower, d.upper);
    case Domain::Type::kQUniform:
      return quantize_real(real_between(engine, d.lower, d.upper), d.q, d.lower, d.upper);
    case Domain::Type::kLogUniform:
      return log_between(engine, d.lower, d.upper, d.base);
    case Domain::Type::kQLogUniform:
      return quantize_real(log_between(engine, d.lower, d.upper, d.base), d.q, d.lower, d.upper);
    case Domain::Type::kRandn:
      return d.mean + d.sd * standard_normal(engine);
    case Domain::Type::kQRandn:
      return std::round((d.mean + d.sd * standard_normal(engine)) / d.q) * d.q;
    case Domain::Type::kRandint:
      return int_between(engine, lower, upper - 1);
    case Domain::Type::kQRandint:
      // Uniform over the multiples of q in [lower, upper]; Ray's round(randint/q)*q gives the
      // end points half the weight of the others, which nobody wants.
      return q * int_between(engine, ceil_div(lower, q), floor_div(upper, q));
    case Domain::Type::kLogRandint: {
      const auto x = static_cast<int64_t>(std::floor(log_between(engine, d.lower, d.upper, d.base)));
      return std::clamp(x, lower, upper - 1);
    }
    case Domain::Type::kQLogRandint:
      return quantize_int(log_between(engine, d.lower, d.upper, d.base), q, lower, upper);
    case Domain::Type::kChoice:
      return d.values[below(engine, d.values.size())];
    case Domain::Type::kGridSearch:
    case Domain::Type::kSampleFrom:
      break;
  }
  throw TuneError(fmt::format("Domain::sample: {} is not a distribution (it is resolved by the variant generator)",
                              to_string(d.type)));
}

// ---- validation ----

void require_finite(std::string_view fn, std::string_view name, double value) {
  if (!std::isfinite(value)) throw TuneError(fmt::format("{}: {} must be finite (got {})", fn, name, value));
}

void require_less(std::string_view fn, double lower, double upper) {
  if (!(lower < upper)) {
    throw TuneError(fmt::format("{}: lower ({}) must be less than upper ({})", fn, lower, upper));
  }
}

void require_positive(std::string_view fn, std::string_view name, double value) {
  if (!(value > 0)) throw TuneError(fmt::format("{}: {} must be > 0 (got {})", fn, name, value));
}

void require_base(std::string_view fn, double base) {
  require_finite(fn, "base", base);
  if (!(base > 0) || base == 1) throw TuneError(fmt::format("{}: base must be > 0 and != 1 (got {})", fn, base));
}

void require_exact(std::string_view fn, std::string_view name, int64_t value) {
  if (std::abs(static_cast<double>(value)) > kMaxExactInteger) {
    throw TuneError(fmt::format("{}: {} must be within +-2^53 (got {})", fn, name, value));
  }
}

void require_multiple(std::string_view fn, int64_t lower, int64_t upper, int64_t q) {
  if (ceil_div(lower, q) > floor_div(upper, q)) {
    throw TuneError(fmt::format("{}: no multiple of q ({}) lies in [{}, {}]", fn, q, lower, upper));
  }
}

Domain make(Domain::Type type) {
  Domain d;
  d.type = type;
  return d;
}

// ---- the JSON form ----

struct Form {
  Domain::Type type;
  std::string_view name;
  size_t min_args;
  size_t max_args;
  std::string_view usage;
  bool integer;  // numeric arguments must be integers
};

constexpr std::array<Form, 13> kForms = {{
    {Domain::Type::kGridSearch, "grid_search", 0, SIZE_MAX, "[value, ...]", false},
    {Domain::Type::kSampleFrom, "sample_from", 0, 0, "", false},
    {Domain::Type::kUniform, "uniform", 2, 2, "[lower, upper]", false},
    {Domain::Type::kQUniform, "quniform", 3, 3, "[lower, upper, q]", false},
    {Domain::Type::kLogUniform, "loguniform", 2, 3, "[lower, upper] or [lower, upper, base]", false},
    {Domain::Type::kQLogUniform, "qloguniform", 3, 4, "[lower, upper, q] or [lower, upper, q, base]", false},
    {Domain::Type::kRandn, "randn", 2, 2, "[mean, sd]", false},
    {Domain::Type::kQRandn, "qrandn", 3, 3, "[mean, sd, q]", false},
    {Domain::Type::kRandint, "randint", 2, 2, "[lower, upper]", true},
    {Domain::Type::kQRandint, "qrandint", 3, 3, "[lower, upper, q]", true},
    {Domain::Type::kLogRandint, "lograndint", 2, 3, "[lower, upper] or [lower, upper, base]", true},
    {Domain::Type::kQLogRandint, "qlograndint", 3, 4, "[lower, upper, q] or [lower, upper, q, base]", true},
    {Domain::Type::kChoice, "choice", 0, SIZE_MAX, "[value, ...]", false},
}};

const Form& form_of(Domain::Type type) {
  for (const Form& form : kForms) {
    if (form.type == type) return form;
  }
  throw TuneError("unknown Domain::Type");  // unreachable with a valid enum value
}

double number_arg(const Json& args, size_t i, const Form& form, const std::string& path) {
  const Json& arg = args[i];
  // The base of the log families is a real number even there.
  const bool is_base =
      (form.type == Domain::Type::kLogRandint && i == 2) || (form.type == Domain::Type::kQLogRandint && i == 3);
  if (!arg.is_number()) {
    throw TuneError(fmt::format("{}: {} argument {} must be a number (got {})", path, form.name, i + 1, arg.dump()));
  }
  const double value = arg.get<double>();
  if (form.integer && !is_base &&
      ((!arg.is_number_integer() && value != std::floor(value)) || !(std::abs(value) <= kMaxExactInteger))) {
    throw TuneError(fmt::format("{}: {} argument {} must be an integer within +-2^53 (got {})", path, form.name, i + 1,
                                arg.dump()));
  }
  return value;
}

Domain domain_from_json(const Form& form, const Json& args, const std::string& path) {
  if (form.type == Domain::Type::kSampleFrom) {
    throw TuneError(fmt::format("{}: sample_from cannot be read from JSON (it needs a C++ function)", path));
  }
  if (!args.is_array()) {
    throw TuneError(fmt::format("{}: {} expects a list {}, got {}", path, form.name, form.usage, args.dump()));
  }
  if (args.size() < form.min_args || args.size() > form.max_args) {
    throw TuneError(fmt::format("{}: {} expects {}, got {} argument(s)", path, form.name, form.usage, args.size()));
  }
  std::vector<double> n;
  if (form.type != Domain::Type::kGridSearch && form.type != Domain::Type::kChoice) {
    for (size_t i = 0; i < args.size(); ++i) n.push_back(number_arg(args, i, form, path));
  }
  const auto i = [&](size_t k) { return static_cast<int64_t>(n[k]); };
  try {
    switch (form.type) {
      case Domain::Type::kGridSearch:
        return grid_search(args.get<std::vector<Json>>());
      case Domain::Type::kChoice:
        return choice(args.get<std::vector<Json>>());
      case Domain::Type::kUniform:
        return uniform(n[0], n[1]);
      case Domain::Type::kQUniform:
        return quniform(n[0], n[1], n[2]);
      case Domain::Type::kLogUniform:
        return loguniform(n[0], n[1], n.size() > 2 ? n[2] : 10);
      case Domain::Type::kQLogUniform:
        return qloguniform(n[0], n[1], n[2], n.size() > 3 ? n[3] : 10);
      case Domain::Type::kRandn:
        return randn(n[0], n[1]);
      case Domain::Type::kQRandn:
        return qrandn(n[0], n[1], n[2]);
      case Domain::Type::kRandint:
        return randint(i(0), i(1));
      case Domain::Type::kQRandint:
        return qrandint(i(0), i(1), i(2));
      case Domain::Type::kLogRandint:
        return lograndint(i(0), i(1), n.size() > 2 ? n[2] : 10);
      case Domain::Type::kQLogRandint:
        return qlograndint(i(0), i(1), i(2), n.size() > 3 ? n[3] : 10);
      case Domain::Type::kSampleFrom:
        break;
    }
  } catch (const TuneError& e) {
    throw TuneError(fmt::format("{}: {}", path, e.what()));
  }
  throw TuneError(fmt::format("{}: unsupported form {}", path, form.name));
}

}  // namespace

// ---- Domain ----

Json Domain::sample(std::mt19937_64& rng) const { return sample_with(*this, rng); }

Json Domain::sample_seeded(uint64_t seed) const {
  SplitMix64 engine(seed);
  return sample_with(*this, engine);
}

bool Domain::is_integer() const {
  return type == Type::kRandint || type == Type::kQRandint || type == Type::kLogRandint || type == Type::kQLogRandint;
}

bool Domain::is_log() const {
  return type == Type::kLogUniform || type == Type::kQLogUniform || type == Type::kLogRandint ||
         type == Type::kQLogRandint;
}

Json Domain::to_json() const {
  const auto i = [](double v) { return Json(static_cast<int64_t>(v)); };
  Json args = Json::array();
  switch (type) {
    case Type::kGridSearch:
    case Type::kChoice:
      args = values;
      break;
    case Type::kSampleFrom:
      return Json{{"sample_from", "<function>"}};
    case Type::kUniform:
      args = {lower, upper};
      break;
    case Type::kQUniform:
      args = {lower, upper, q};
      break;
    case Type::kLogUniform:
      args = {lower, upper};
      if (base != 10) args.push_back(base);
      break;
    case Type::kQLogUniform:
      args = {lower, upper, q};
      if (base != 10) args.push_back(base);
      break;
    case Type::kRandn:
      args = {mean, sd};
      break;
    case Type::kQRandn:
      args = {mean, sd, q};
      break;
    case Type::kRandint:
      args = {i(lower), i(upper)};
      break;
    case Type::kQRandint:
      args = {i(lower), i(upper), i(q)};
      break;
    case Type::kLogRandint:
      args = {i(lower), i(upper)};
      if (base != 10) args.push_back(base);
      break;
    case Type::kQLogRandint:
      args = {i(lower), i(upper), i(q)};
      if (base != 10) args.push_back(base);
      break;
  }
  Json out = Json::object();
  out[to_string(type)] = std::move(args);
  return out;
}

std::string to_string(Domain::Type type) { return std::string(form_of(type).name); }

std::optional<Domain::Type> domain_type_from_string(std::string_view name) {
  for (const Form& form : kForms) {
    if (form.name == name) return form.type;
  }
  return std::nullopt;
}

// ---- constructors ----

Domain grid_search(std::vector<Json> values) {
  if (values.empty()) throw TuneError("grid_search: the list of values must not be empty");
  Domain d = make(Domain::Type::kGridSearch);
  d.values = std::move(values);
  return d;
}

Domain sample_from(SampleFn fn) {
  if (!fn) throw TuneError("sample_from: the function must not be empty");
  Domain d = make(Domain::Type::kSampleFrom);
  d.fn = std::move(fn);
  return d;
}

Domain uniform(double lower, double upper) {
  require_finite("uniform", "lower", lower);
  require_finite("uniform", "upper", upper);
  require_less("uniform", lower, upper);
  Domain d = make(Domain::Type::kUniform);
  d.lower = lower;
  d.upper = upper;
  return d;
}

Domain quniform(double lower, double upper, double q) {
  require_finite("quniform", "lower", lower);
  require_finite("quniform", "upper", upper);
  require_finite("quniform", "q", q);
  require_less("quniform", lower, upper);
  require_positive("quniform", "q", q);
  Domain d = make(Domain::Type::kQUniform);
  d.lower = lower;
  d.upper = upper;
  d.q = q;
  return d;
}

Domain loguniform(double lower, double upper, double base) {
  require_finite("loguniform", "lower", lower);
  require_finite("loguniform", "upper", upper);
  require_positive("loguniform", "lower bound", lower);
  require_less("loguniform", lower, upper);
  require_base("loguniform", base);
  Domain d = make(Domain::Type::kLogUniform);
  d.lower = lower;
  d.upper = upper;
  d.base = base;
  return d;
}

Domain qloguniform(double lower, double upper, double q, double base) {
  require_finite("qloguniform", "lower", lower);
  require_finite("qloguniform", "upper", upper);
  require_finite("qloguniform", "q", q);
  require_positive("qloguniform", "lower bound", lower);
  require_less("qloguniform", lower, upper);
  require_positive("qloguniform", "q", q);
  require_base("qloguniform", base);
  Domain d = make(Domain::Type::kQLogUniform);
  d.lower = lower;
  d.upper = upper;
  d.q = q;
  d.base = base;
  return d;
}

Domain randn(double mean, double sd) {
  require_finite("randn", "mean", mean);
  require_finite("randn", "sd", sd);
  require_positive("randn", "sd", sd);
  Domain d = make(Domain::Type::kRandn);
  d.mean = mean;
  d.sd = sd;
  return d;
}

Domain qrandn(double mean, double sd, double q) {
  require_finite("qrandn", "mean", mean);
  require_finite("qrandn", "sd", sd);
  require_finite("qrandn", "q", q);
  require_positive("qrandn", "sd", sd);
  require_positive("qrandn", "q", q);
  Domain d = make(Domain::Type::kQRandn);
  d.mean = mean;
  d.sd = sd;
  d.q = q;
  return d;
}

Domain randint(int64_t lower, int64_t upper) {
  require_exact("randint", "lower", lower);
  require_exact("randint", "upper", upper);
  require_less("randint", static_cast<double>(lower), static_cast<double>(upper));
  Domain d = make(Domain::Type::kRandint);
  d.lower = static_cast<double>(lower);
  d.upper = static_cast<double>(upper);
  return d;
}

Domain qrandint(int64_t lower, int64_t upper, int64_t q) {
  require_exact("qrandint", "lower", lower);
  require_exact("qrandint", "upper", upper);
  require_less("qrandint", static_cast<double>(lower), static_cast<double>(upper));
  require_positive("qrandint", "q", static_cast<double>(q));
  require_multiple("qrandint", lower, upper, q);
  Domain d = make(Domain::Type::kQRandint);
  d.lower = static_cast<double>(lower);
  d.upper = static_cast<double>(upper);
  d.q = static_cast<double>(q);
  return d;
}

Domain lograndint(int64_t lower, int64_t upper, double base) {
  require_exact("lograndint", "lower", lower);
  require_exact("lograndint", "upper", upper);
  require_positive("lograndint", "lower bound", static_cast<double>(lower));
  require_less("lograndint", static_cast<double>(lower), static_cast<double>(upper));
  require_base("lograndint", base);
  Domain d = make(Domain::Type::kLogRandint);
  d.lower = static_cast<double>(lower);
  d.upper = static_cast<double>(upper);
  d.base = base;
  return d;
}

Domain qlograndint(int64_t lower, int64_t upper, int64_t q, double base) {
  require_exact("qlograndint", "lower", lower);
  require_exact("qlograndint", "upper", upper);
  require_positive("qlograndint", "lower bound", static_cast<double>(lower));
  require_less("qlograndint", static_cast<double>(lower), static_cast<double>(upper));
  require_positive("qlograndint", "q", static_cast<double>(q));
  require_multiple("qlograndint", lower, upper, q);
  require_base("qlograndint", base);
  Domain d = make(Domain::Type::kQLogRandint);
  d.lower = static_cast<double>(lower);
  d.upper = static_cast<double>(upper);
  d.q = static_cast<double>(q);
  d.base = base;
  return d;
}

Domain choice(std::vector<Json> values) {
  if (values.empty()) throw TuneError("choice: the list of values must not be empty");
  Domain d = make(Domain::Type::kChoice);
  d.values = std::move(values);
  return d;
}

// ---- Spec ----

double Spec::uniform(double lower, double upper) { return real_between(random(), lower, upper); }

double Spec::normal(double mean, double sd) { return mean + sd * standard_normal(random()); }

// ---- Space ----

Space::Space() = default;

Space::Space(Domain domain) : kind_(Kind::kDomain), domain_(std::make_shared<const Domain>(std::move(domain))) {}

Space::Space(Json value, LeafTag) {
  if (value.is_object()) {
    kind_ = Kind::kObject;
    for (auto& [key, child] : value.items()) object_.emplace(key, Space(std::move(child), LeafTag{}));
  } else if (value.is_array()) {
    kind_ = Kind::kArray;
    array_.reserve(value.size());
    for (Json& child : value) array_.push_back(Space(std::move(child), LeafTag{}));
  } else {
    value_ = std::move(value);
  }
}

Space::Space(std::initializer_list<Space> items) {
  const bool pairs = std::all_of(items.begin(), items.end(), [](const Space& item) {
    return item.is_array() && item.array_.size() == 2 && item.array_[0].is_value() && item.array_[0].value_.is_string();
  });
  if (pairs) {
    kind_ = Kind::kObject;
    for (const Space& item : items) {
      const auto& key = item.array_[0].value_.get_ref<const std::string&>();
      if (!object_.emplace(key, item.array_[1]).second) {
        throw TuneError(fmt::format("Space: duplicate key '{}' in an initializer list", key));
      }
    }
  } else {
    kind_ = Kind::kArray;
    array_.assign(items.begin(), items.end());
  }
}

Space Space::object(Object entries) {
  Space space;
  space.kind_ = Kind::kObject;
  space.object_ = std::move(entries);
  return space;
}

Space Space::array(Array items) {
  Space space;
  space.kind_ = Kind::kArray;
  space.array_ = std::move(items);
  return space;
}

Space Space::from_json(const Json& json, const std::string& path) {
  if (json.is_object()) {
    if (json.size() == 1) {
      const auto it = json.begin();
      if (const auto type = domain_type_from_string(it.key())) {
        return Space(domain_from_json(form_of(*type), it.value(), path));
      }
    }
    Object entries;
    for (const auto& [key, child] : json.items()) entries.emplace(key, from_json(child, path + "/" + key));
    return object(std::move(entries));
  }
  if (json.is_array()) {
    Array items;
    items.reserve(json.size());
    for (size_t i = 0; i < json.size(); ++i) items.push_back(from_json(json[i], path + "/" + std::to_string(i)));
    return array(std::move(items));
  }
  return Space(json, LeafTag{});
}

Json Space::to_json() const {
  switch (kind_) {
    case Kind::kObject: {
      Json out = Json::object();
      for (const auto& [key, child] : object_) out[key] = child.to_json();
      return out;
    }
    case Kind::kArray: {
      Json out = Json::array();
      for (const Space& child : array_) out.push_back(child.to_json());
      return out;
    }
    case Kind::kDomain:
      return domain_->to_json();
    case Kind::kValue:
      break;
  }
  return value_;
}

bool Space::empty() const {
  switch (kind_) {
    case Kind::kObject:
      return object_.empty();
    case Kind::kArray:
      return array_.empty();
    case Kind::kDomain:
      return false;
    case Kind::kValue:
      break;
  }
  return value_.is_null();
}

Space& Space::set(const std::string& key, Space value) {
  if (kind_ == Kind::kValue && value_.is_null()) kind_ = Kind::kObject;
  if (kind_ != Kind::kObject) throw TuneError(fmt::format("Space::set('{}'): the space is not an object", key));
  object_.insert_or_assign(key, std::move(value));
  return *this;
}

const Space* Space::find(std::string_view path) const {
  const Space* node = this;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    const std::string_view key = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (node->is_object()) {
      const auto it = node->object_.find(std::string(key));
      if (it == node->object_.end()) return nullptr;
      node = &it->second;
    } else if (node->is_array()) {
      if (key.empty() || key.size() > 18 || key.find_first_not_of("0123456789") != std::string_view::npos) {
        return nullptr;
      }
      const size_t index = std::stoull(std::string(key));
      if (index >= node->array_.size()) return nullptr;
      node = &node->array_[index];
    } else {
      return nullptr;
    }
  }
  return node;
}

}  // namespace tune
