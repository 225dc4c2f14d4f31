// The held-out searcher benchmark's problems (bench/e2e_search_suite.cc, docs/search_benchmark.md):
// BBOB noiseless functions (bench/bbob.h) in 2, 3, 5 and 10-D, a mixed integer/categorical space
// and a conditional space, each with a fresh random instance per seed. Every problem belongs to a
// family; defaults are chosen on the tuning families only, and the report is on the others.
// Values are regrets (0 at the optimum). Problems are defined by their search space's JSON form,
// which bench/optuna_suite.py reads too, so both sides search the same space.
#pragma once

#include <fmt/format.h>

#include <array>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bbob.h"
#include "tune/json.h"

namespace tune::bench {

struct SuiteProblem {
  std::string name;    // "f15" / "mixed_ellipsoid" / "conditional"
  std::string family;  // BBOB group, "mixed" or "conditional"
  int dims = 0;        // numeric dimensions (the space's size)
  Json space;          // Space::from_json form
  std::function<double(const Json& config)> regret;
};

// BBOB's five groups; separable and ill-conditioned are tuning families (with mixed_tuning and
// conditional_tuning below).
inline const std::map<int, std::string>& bbob_families() {
  static const std::map<int, std::string> families = {
      {2, "separable"},       {3, "separable"},       {4, "separable"},       {6, "moderate"},
      {7, "moderate"},        {9, "moderate"},        {10, "ill_conditioned"}, {11, "ill_conditioned"},
      {12, "ill_conditioned"}, {13, "ill_conditioned"}, {14, "ill_conditioned"}, {15, "multimodal"},
      {16, "multimodal"},     {17, "multimodal"},     {19, "multimodal"},     {20, "weak_structure"},
      {21, "weak_structure"}, {22, "weak_structure"}, {24, "weak_structure"}};
  return families;
}

// mixed_tuning and conditional_tuning are spaces of the held-out kinds built from tuning-family
// functions, so a choice about categories or conditional parameters is made on the tuning side too.
inline bool is_tuning_family(const std::string& family) {
  return family == "separable" || family == "ill_conditioned" || family == "mixed_tuning" ||
         family == "conditional_tuning";
}

namespace suite_detail {

inline Json box(const std::string& prefix, int n) {
  Json space = Json::object();
  for (int i = 0; i < n; ++i) space[fmt::format("{}{:02d}", prefix, i)] = Json{{"uniform", {-5, 5}}};
  return space;
}

inline Vec read(const Json& config, const std::string& prefix, int n) {
  Vec x;
  for (int i = 0; i < n; ++i) x.push_back(config.at(fmt::format("{}{:02d}", prefix, i)).get<double>());
  return x;
}

inline std::mt19937_64 rng_of(const std::string& name, uint64_t seed) {
  return std::mt19937_64(seed * 7919ULL + std::hash<std::string>{}(name) % 100003ULL);
}

// Six numeric coordinates (three continuous, three integers in [-5, 5]) and two categories: the
// first category moves the numeric optimum and each category adds its own penalty; one
// combination reaches 0. Cores: "ellipsoid" and "rastrigin" (family mixed, held out), "discus"
// and "sphere" (family mixed_tuning).
inline SuiteProblem mixed(const std::string& core, uint64_t seed) {
  auto rng = rng_of("mixed_" + core, seed);
  const BbobInstance rot = make_bbob_instance(10, 6, seed + 17);  // only its rotation is used
  Vec opt(6);
  for (size_t i = 0; i < 6; ++i) {
    opt[i] = i < 3 ? std::uniform_real_distribution<double>(-4, 4)(rng)
                   : static_cast<double>(std::uniform_int_distribution<int>(-4, 4)(rng));
  }
  std::array<double, 4> p0 = {0, 5, 10, 20};
  std::array<double, 3> p1 = {0, 2, 8};
  std::shuffle(p0.begin(), p0.end(), rng);
  std::shuffle(p1.begin(), p1.end(), rng);
  std::array<Vec, 4> shift;  // the best first category does not move the optimum
  for (size_t c = 0; c < 4; ++c) {
    shift[c].resize(6);
    for (double& v : shift[c]) v = p0[c] == 0 ? 0.0 : std::normal_distribution<double>(0, 1.5)(rng);
  }
  Json space = box("x", 3);
  for (int i = 0; i < 3; ++i) space[fmt::format("n{:02d}", i)] = Json{{"randint", {-5, 6}}};
  space["c0"] = Json{{"choice", {"a", "b", "c", "d"}}};
  space["c1"] = Json{{"choice", {"p", "q", "r"}}};
  const bool tuning = core == "discus" || core == "sphere";
  SuiteProblem p{"mixed_" + core, tuning ? "mixed_tuning" : "mixed", 8, space, nullptr};
  p.regret = [=](const Json& config) {
    Vec v = read(config, "x", 3);
    for (int i = 0; i < 3; ++i) v.push_back(config.at(fmt::format("n{:02d}", i)).get<double>());
    const size_t c0 = static_cast<size_t>(config.at("c0").get<std::string>()[0] - 'a');
    const size_t c1 = static_cast<size_t>(config.at("c1").get<std::string>()[0] - 'p');
    Vec d(6);
    for (size_t i = 0; i < 6; ++i) d[i] = v[i] - opt[i] - shift[c0][i];
    const Vec z = bbob_detail::mat_vec(rot.r, d);
    double f = 0;
    if (core == "ellipsoid") {
      for (size_t i = 0; i < 6; ++i) f += std::pow(10.0, 3 * bbob_detail::ramp(i, 6)) * z[i] * z[i];
    } else if (core == "discus") {
      f = 1e3 * z[0] * z[0];
      for (size_t i = 1; i < 6; ++i) f += z[i] * z[i];
    } else if (core == "sphere") {
      for (size_t i = 0; i < 6; ++i) f += z[i] * z[i];
    } else {
      f = bbob_detail::rastrigin_sum(bbob_detail::lambda(z, 10));
    }
    return f + p0[c0] + p1[c1];
  };
  return p;
}

// A choice between three models, each with its own parameters (absent when not chosen), and one
// shared parameter s: model a is a 4-D rotated ellipsoid (f10), b a 6-D rotated Rastrigin (f15)
// plus an integer's distance to its best, c a 3-D separable ellipsoid (f2) plus a category's
// penalty. Each model adds an offset (0, 1 or 3, shuffled per seed). "conditional_tuning" has
// the same shape built from tuning-family functions only: a discus (f11), a separable Rastrigin
// (f3) and a bent cigar (f12).
inline SuiteProblem conditional(uint64_t seed, const std::string& name = "conditional") {
  auto rng = rng_of(name, seed);
  const bool tuning = name == "conditional_tuning";
  const BbobInstance a = make_bbob_instance(tuning ? 11 : 10, 4, seed + 31),
                     b = make_bbob_instance(tuning ? 3 : 15, 6, seed + 37),
                     c = make_bbob_instance(tuning ? 12 : 2, 3, seed + 41);
  std::array<double, 3> offset = {0, 1, 3};
  std::array<double, 4> k_penalty = {0, 1, 2, 4};
  std::shuffle(offset.begin(), offset.end(), rng);
  std::shuffle(k_penalty.begin(), k_penalty.end(), rng);
  const int n_best = std::uniform_int_distribution<int>(-4, 4)(rng);
  Json ma = box("x", 3), mb = box("x", 5), mc = box("x", 2);
  ma["type"] = "a";
  mb["type"] = "b";
  mb["n"] = Json{{"randint", {-5, 6}}};
  mc["type"] = "c";
  mc["k"] = Json{{"choice", {0, 1, 2, 3}}};
  const Json space = {{"s", {{"uniform", {-5, 5}}}}, {"model", {{"choice", {ma, mb, mc}}}}};
  SuiteProblem p{name, name, 0, space, nullptr};
  p.dims = 1 + 1 + 3 + 6 + 3;  // s, the choice, and every branch's parameters
  p.regret = [=](const Json& config) {
    const Json& m = config.at("model");
    const std::string type = m.at("type").get<std::string>();
    const double s = config.at("s").get<double>();
    if (type == "a") {
      Vec x = read(m, "x", 3);
      x.insert(x.begin(), s);
      return bbob_value(a, x) + offset[0];
    }
    if (type == "b") {
      Vec x = read(m, "x", 5);
      x.insert(x.begin(), s);
      return bbob_value(b, x) + std::abs(m.at("n").get<double>() - n_best) + offset[1];
    }
    Vec x = read(m, "x", 2);
    x.insert(x.begin(), s);
    return bbob_value(c, x) + k_penalty[static_cast<size_t>(m.at("k").get<int>())] + offset[2];
  };
  return p;
}

}  // namespace suite_detail

// Problem names: "f<id>" (BBOB, with dims), "mixed_ellipsoid", "mixed_rastrigin", "conditional",
// and on the tuning side "mixed_discus", "mixed_sphere", "conditional_tuning".
inline SuiteProblem make_suite_problem(const std::string& name, int dims, uint64_t seed) {
  for (const char* core : {"ellipsoid", "rastrigin", "discus", "sphere"}) {
    if (name == std::string("mixed_") + core) return suite_detail::mixed(core, seed);
  }
  if (name == "conditional" || name == "conditional_tuning") return suite_detail::conditional(seed, name);
  if (name.size() < 2 || name[0] != 'f') throw std::invalid_argument("no suite problem " + name);
  const int fid = std::stoi(name.substr(1));
  if (!bbob_families().count(fid)) throw std::invalid_argument("no suite problem " + name);
  const BbobInstance instance = make_bbob_instance(fid, dims, seed);
  SuiteProblem p{name, bbob_families().at(fid), dims, suite_detail::box("x", dims), nullptr};
  p.regret = [instance, dims](const Json& config) { return bbob_value(instance, suite_detail::read(config, "x", dims)); };
  return p;
}

// Every (problem, dims) of the suite whose family is in `families` (empty: all). "tuning" and
// "heldout" name every family of that side (is_tuning_family), so no caller lists them again.
inline std::vector<std::pair<std::string, int>> suite_catalog(const std::vector<std::string>& families,
                                                              const std::vector<int>& dims) {
  const auto named = [&](const std::string& name) {
    return std::find(families.begin(), families.end(), name) != families.end();
  };
  const auto wanted = [&](const std::string& f) {
    return families.empty() || named(f) || named(is_tuning_family(f) ? "tuning" : "heldout");
  };
  std::vector<std::pair<std::string, int>> out;
  for (const auto& [fid, family] : bbob_families()) {
    if (!wanted(family)) continue;
    for (int d : dims) out.emplace_back(fmt::format("f{:02d}", fid), d);
  }
  if (wanted("mixed")) {
    out.emplace_back("mixed_ellipsoid", 8);
    out.emplace_back("mixed_rastrigin", 8);
  }
  if (wanted("conditional")) out.emplace_back("conditional", 14);
  if (wanted("mixed_tuning")) {
    out.emplace_back("mixed_discus", 8);
    out.emplace_back("mixed_sphere", 8);
  }
  if (wanted("conditional_tuning")) out.emplace_back("conditional_tuning", 14);
  return out;
}

}  // namespace tune::bench
