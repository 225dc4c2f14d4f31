// Tests for grid × random variant generation: resolve_config, format_vars, BasicVariantGenerator.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tune/error.h"
#include "tune/searcher.h"

namespace tune {
namespace {

void expect_error(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no TuneError; expected one containing: " << needle;
  } catch (const TuneError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what();
  }
}

std::vector<Suggestion> suggest_all(BasicVariantGenerator& generator, int limit = 100000) {
  std::vector<Suggestion> out;
  for (int i = 0; i < limit; ++i) {
    Suggestion suggestion = generator.suggest("t" + std::to_string(i));
    if (suggestion.kind == Suggestion::Kind::kFinished) break;
    out.push_back(std::move(suggestion));
  }
  return out;
}

// The guide's example: alpha and beta from sample_from, a 3x3 grid over two layer widths.
Space guide_space() {
  return {
      {"alpha", sample_from([](Spec& spec) { return Json(spec.uniform(1, 100)); })},
      // Returns the alpha it saw too, so the test can check it is the config's alpha.
      {"beta", sample_from([](Spec& spec) {
         const double alpha = spec.config("alpha").get<double>();
         return Json{{"alpha_seen", alpha}, {"value", alpha * spec.normal()}};
       })},
      {"nn_layers", {grid_search({16, 64, 256}), grid_search({16, 64, 256})}},
  };
}

TEST(BasicVariantGenerator, GuideExampleGives90Variants) {
  BasicVariantGenerator generator(guide_space(), 10, 1);
  EXPECT_EQ(generator.grid_size(), 9);
  EXPECT_EQ(generator.total_trials(), 90);
  const auto variants = suggest_all(generator);
  ASSERT_EQ(variants.size(), 90u);
  std::map<std::pair<int, int>, int> combos;
  std::set<double> alphas;
  for (const Suggestion& s : variants) {
    ASSERT_EQ(s.kind, Suggestion::Kind::kConfig);
    const Config& c = s.config;
    combos[{c["nn_layers"][0].get<int>(), c["nn_layers"][1].get<int>()}]++;
    const double alpha = c["alpha"].get<double>();
    EXPECT_GE(alpha, 1);
    EXPECT_LT(alpha, 100);
    EXPECT_EQ(c["beta"]["alpha_seen"].get<double>(), alpha);
    alphas.insert(alpha);
  }
  ASSERT_EQ(combos.size(), 9u);
  for (const auto& [combo, count] : combos) EXPECT_EQ(count, 10) << combo.first << "," << combo.second;
  EXPECT_EQ(alphas.size(), 90u);  // fresh random values per grid point and per sample
  EXPECT_EQ(generator.suggest("x").kind, Suggestion::Kind::kFinished);
}

TEST(BasicVariantGenerator, GuideQuxBarFooBazExample) {
  const Space space = {
      {"qux", sample_from([](Spec&) { return Json(2 + 2); })},
      {"bar", grid_search({true, false})},
      {"foo", grid_search({1, 2, 3})},
      {"baz", "asd"},
  };
  BasicVariantGenerator generator(space, 1, 0);
  const auto variants = suggest_all(generator);
  ASSERT_EQ(variants.size(), 6u);
  // Sorted grid paths (bar, foo); the first, bar, varies fastest.
  const std::vector<std::pair<bool, int>> expected = {{true, 1}, {false, 1}, {true, 2},
                                                      {false, 2}, {true, 3}, {false, 3}};
  for (size_t i = 0; i < variants.size(); ++i) {
    const Config& c = variants[i].config;
    EXPECT_EQ(c["qux"], 4);
    EXPECT_EQ(c["baz"], "asd");
    EXPECT_EQ(c["bar"].get<bool>(), expected[i].first) << i;
    EXPECT_EQ(c["foo"].get<int>(), expected[i].second) << i;
  }
  EXPECT_EQ(variants[0].tag, "0_bar=true,foo=1,qux=4");
  EXPECT_EQ(variants[5].tag, "5_bar=false,foo=3,qux=4");
}

TEST(BasicVariantGenerator, FirstSortedPathVariesFastest) {
  const Space space = {{"b", grid_search({"b0", "b1"})}, {"a", {{"x", grid_search({"x0", "x1", "x2"})}}}};
  BasicVariantGenerator generator(space, 2, 3);
  const auto variants = suggest_all(generator);
  ASSERT_EQ(variants.size(), 12u);
  for (size_t i = 0; i < variants.size(); ++i) {
    EXPECT_EQ(variants[i].config["a"]["x"], "x" + std::to_string(i % 3)) << i;
    EXPECT_EQ(variants[i].config["b"], "b" + std::to_string((i / 3) % 2)) << i;
  }
}

TEST(BasicVariantGenerator, ArrayIndicesSortNumerically) {
  // Ray sorts path tuples, so index 2 comes before index 10 (a string sort would flip them).
  Space::Array items(11, Space(0));
  items[2] = grid_search({"p", "q"});
  items[10] = grid_search({"r", "s"});
  BasicVariantGenerator generator(Space{{"list", Space::array(items)}}, 1, 0);
  EXPECT_EQ(generator.generate(0).config["list"][2], "p");
  EXPECT_EQ(generator.generate(1).config["list"][2], "q");
  EXPECT_EQ(generator.generate(1).config["list"][10], "r");
  EXPECT_EQ(generator.generate(2).config["list"][10], "s");
}

TEST(BasicVariantGenerator, SameSeedSameVariantsOtherSeedOthers) {
  BasicVariantGenerator a(guide_space(), 3, 11);
  BasicVariantGenerator b(guide_space(), 3, 11);
  BasicVariantGenerator c(guide_space(), 3, 12);
  const auto va = suggest_all(a);
  const auto vb = suggest_all(b);
  const auto vc = suggest_all(c);
  ASSERT_EQ(va.size(), 27u);
  int differences = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    EXPECT_EQ(va[i].config, vb[i].config);
    EXPECT_EQ(va[i].tag, vb[i].tag);
    differences += va[i].config["alpha"] != vc[i].config["alpha"] ? 1 : 0;
  }
  EXPECT_EQ(differences, 27);
}

TEST(BasicVariantGenerator, GenerateIsPureInTheIndex) {
  BasicVariantGenerator generator(guide_space(), 4, 99);
  const Suggestion direct = generator.generate(13);
  const auto all = suggest_all(generator);
  EXPECT_EQ(all[13].config, direct.config);
  EXPECT_EQ(all[13].tag, direct.tag);
  EXPECT_EQ(generator.generate(13).config, direct.config);
  EXPECT_EQ(generator.generate(36).kind, Suggestion::Kind::kFinished);
  expect_error([&] { generator.generate(-1); }, "index must be >= 0");
}

TEST(BasicVariantGenerator, SeedIsPickedWhenNotGiven) {
  BasicVariantGenerator a(Space{{"x", uniform(0, 1)}});
  BasicVariantGenerator b(Space{{"x", uniform(0, 1)}});
  EXPECT_NE(a.seed(), b.seed());  // 64 random bits each
  BasicVariantGenerator replay(Space{{"x", uniform(0, 1)}}, 1, a.seed());
  EXPECT_EQ(replay.generate(0).config, a.generate(0).config);
}

TEST(BasicVariantGenerator, LazyForAMillionSamples) {
  const Space space = {{"lr", loguniform(1e-4, 1e-1)}, {"layers", grid_search({1, 2, 3})}};
  BasicVariantGenerator generator(space, 1'000'000, 5);
  EXPECT_EQ(generator.total_trials(), 3'000'000);
  for (int i = 0; i < 5; ++i) {
    const Suggestion s = generator.suggest("t");
    ASSERT_EQ(s.kind, Suggestion::Kind::kConfig);
    EXPECT_EQ(s.config["layers"], i % 3 + 1);
  }
  EXPECT_EQ(generator.save()["next"], 5);
  EXPECT_EQ(generator.generate(2'999'999).kind, Suggestion::Kind::kConfig);
  EXPECT_EQ(generator.generate(3'000'000).kind, Suggestion::Kind::kFinished);
}

TEST(BasicVariantGenerator, InfiniteSamples) {
  BasicVariantGenerator generator(Space{{"x", randint(0, 10)}, {"g", grid_search({1, 2})}}, -1, 5);
  EXPECT_EQ(generator.total_trials(), std::nullopt);
  const Suggestion far = generator.generate(1'000'000'000'001);
  ASSERT_EQ(far.kind, Suggestion::Kind::kConfig);
  EXPECT_EQ(far.config["g"], 2);
  EXPECT_EQ(suggest_all(generator, 50).size(), 50u);
}

TEST(BasicVariantGenerator, InvalidArguments) {
  expect_error([] { BasicVariantGenerator(Space{{"x", 1}}, 0, 1); }, "num_samples must be >= 1, or -1");
  expect_error([] { BasicVariantGenerator(Space{{"x", 1}}, -2, 1); }, "num_samples must be >= 1, or -1");
  expect_error([] { BasicVariantGenerator(Space{{"x", 1}}, 1, 1, {Json{{"x", 2}}, Json{{"x", 3}}}); },
               "points_to_evaluate has 2 points but there are only 1 variants");
  expect_error([] { BasicVariantGenerator(Space{{"x", 1}}, 1, 1, {Json(3)}); },
               "points_to_evaluate[0] must be an object");
  expect_error([] { BasicVariantGenerator(Space{{"g", grid_search({1, 2})}}, INT64_MAX / 2 + 1, 1); },
               "exceeds 2^63 trials");
}

TEST(BasicVariantGenerator, SaveRestoreContinuesExactly) {
  BasicVariantGenerator uninterrupted(guide_space(), 2, 77);
  const auto all = suggest_all(uninterrupted);
  ASSERT_EQ(all.size(), 18u);

  BasicVariantGenerator first(guide_space(), 2, 77);
  for (int i = 0; i < 7; ++i) first.suggest("t");
  const Json state = first.save();
  EXPECT_EQ(state, (Json{{"next", 7}, {"seed", 77}}));

  BasicVariantGenerator resumed(guide_space(), 2);  // a random seed of its own, replaced by restore
  resumed.restore(Json::parse(state.dump()));
  EXPECT_EQ(resumed.seed(), 77u);
  const auto rest = suggest_all(resumed);
  ASSERT_EQ(rest.size(), 11u);
  for (size_t i = 0; i < rest.size(); ++i) {
    EXPECT_EQ(rest[i].config, all[7 + i].config) << i;
    EXPECT_EQ(rest[i].tag, all[7 + i].tag) << i;
  }
}

TEST(BasicVariantGenerator, RestoreRejectsBadState) {
  BasicVariantGenerator generator(Space{{"x", 1}}, 3, 1);
  expect_error([&] { generator.restore(Json{{"seed", 1}}); }, "state.next must be an integer >= 0");
  expect_error([&] { generator.restore(Json{{"next", -1}, {"seed", 1}}); }, "state.next must be an integer >= 0");
  expect_error([&] { generator.restore(Json{{"next", 1}, {"seed", "x"}}); }, "state.seed must be an unsigned");
  expect_error([&] { generator.restore(Json{{"next", 4}, {"seed", 1}}); }, "past the last variant (3)");
  generator.restore(Json{{"next", 3}, {"seed", 1}});
  EXPECT_EQ(generator.suggest("t").kind, Suggestion::Kind::kFinished);
}

TEST(BasicVariantGenerator, PointsToEvaluateReplaceTheFirstVariants) {
  const Space space = {
      {"a", uniform(0, 1)},
      {"b", grid_search({1, 2})},
      {"c", sample_from([](Spec& spec) { return Json(spec.config("a").get<double>() * 10); })},
      {"m", {{"x", uniform(0, 1)}, {"y", randint(0, 1000000)}}},
  };
  const std::vector<Config> points = {Json{{"a", 0.5}}, Json{{"b", 7}, {"extra", "e"}, {"m", {{"x", 2}}}}};
  BasicVariantGenerator plain(space, 2, 8);
  BasicVariantGenerator with_points(space, 2, 8, points);
  EXPECT_EQ(with_points.total_trials(), 4);
  const auto p = suggest_all(plain);
  const auto w = suggest_all(with_points);
  ASSERT_EQ(w.size(), 4u);
  // Point 0: a given; the grid and everything else resolved as usual (c sees the given a).
  EXPECT_EQ(w[0].config["a"], 0.5);
  EXPECT_EQ(w[0].config["b"], 1);
  EXPECT_EQ(w[0].config["c"], 5.0);
  EXPECT_EQ(w[0].config["m"], p[0].config["m"]);
  EXPECT_EQ(w[0].tag.substr(0, 8), "0_a=0.5,");
  // Point 1: a grid value and part of a nested object given; keys the space lacks kept.
  EXPECT_EQ(w[1].config["b"], 7);
  EXPECT_EQ(w[1].config["extra"], "e");
  EXPECT_EQ(w[1].config["m"]["x"], 2);
  EXPECT_EQ(w[1].config["m"]["y"], p[1].config["m"]["y"]);
  EXPECT_EQ(w[1].config["a"], p[1].config["a"]);
  // Later variants are untouched.
  EXPECT_EQ(w[2].config, p[2].config);
  EXPECT_EQ(w[3].config, p[3].config);
}

TEST(BasicVariantGenerator, TagWithoutDomainsIsTheIndex) {
  BasicVariantGenerator generator(Space{{"x", 1}}, 2, 1);
  EXPECT_EQ(generator.suggest("t").tag, "0");
  EXPECT_EQ(generator.suggest("t").tag, "1");
}

// ---- resolve_config ----

TEST(ResolveConfig, DependencyDeclaredBeforeItsSource) {
  int b_calls = 0;
  const Space space = {
      {"a", sample_from([](Spec& spec) { return Json(spec.config("b").get<double>() * 2); })},
      {"b", sample_from([&](Spec& spec) {
         ++b_calls;
         return Json(spec.uniform(0, 1));
       })},
      {"c", sample_from([](Spec& spec) { return Json(spec.config("b").get<double>() + 1); })},
  };
  const Config config = resolve_config(space, {}, 3);
  EXPECT_EQ(b_calls, 1);  // memoised: everyone sees the same b
  EXPECT_DOUBLE_EQ(config["a"].get<double>(), config["b"].get<double>() * 2);
  EXPECT_DOUBLE_EQ(config["c"].get<double>(), config["b"].get<double>() + 1);
}

TEST(ResolveConfig, DrawsDoNotDependOnResolutionOrderOrOtherParameters) {
  const auto b_fn = [](Spec& spec) { return Json(spec.normal()); };
  const Space reads_b = {{"a", sample_from([](Spec& spec) { return spec.config("b"); })},
                         {"b", sample_from(b_fn)},
                         {"x", uniform(0, 1)}};
  const Space alone = {{"b", sample_from(b_fn)}, {"x", uniform(0, 1)}, {"z", randint(0, 5)}};
  const Config first = resolve_config(reads_b, {}, 21);
  const Config second = resolve_config(alone, {}, 21);
  EXPECT_EQ(first["b"], second["b"]);
  EXPECT_EQ(first["a"], first["b"]);
  EXPECT_EQ(first["x"], second["x"]);
  EXPECT_NE(resolve_config(alone, {}, 22)["x"], second["x"]);
}

TEST(ResolveConfig, GridValuesByPath) {
  const Space space = {{"a", {{"b", grid_search({1, 2})}}}, {"nn_layers", {grid_search({16, 64}), 8}}};
  const Config config = resolve_config(space, {{"a/b", 2}, {"nn_layers/0", 64}}, 1);
  EXPECT_EQ(config, (Json{{"a", {{"b", 2}}}, {"nn_layers", {64, 8}}}));
  expect_error([&] { resolve_config(space, {{"a/b", 2}}, 1); },
               "no value given for the grid_search at config/nn_layers/0");
}

TEST(ResolveConfig, CycleIsAnErrorListingIt) {
  const Space space = {
      {"a", sample_from([](Spec& spec) { return spec.config("b"); })},
      {"b", sample_from([](Spec& spec) { return spec.config("a"); })},
  };
  expect_error([&] { resolve_config(space, {}, 1); }, "sample_from cycle: config/a -> config/b -> config/a");
  const Space self = {{"s", sample_from([](Spec& spec) { return spec.config("s"); })}};
  expect_error([&] { resolve_config(self, {}, 1); }, "sample_from cycle: config/s -> config/s");
}

TEST(ResolveConfig, MissingPathIsAnError) {
  const Space space = {{"beta", sample_from([](Spec& spec) { return spec.config("gamma"); })}};
  expect_error([&] { resolve_config(space, {}, 1); },
               "config/beta: sample_from reads config path 'gamma', which does not exist");
}

TEST(ResolveConfig, NestedPathsAndAnyJson) {
  const Space space = {
      {"model", sample_from([](Spec&) { return Json{{"width", 32}, {"names", {"p", "q"}}}; })},
      {"w2", sample_from([](Spec& spec) { return Json(spec.config("model/width").get<int>() * 2); })},
      {"name", sample_from([](Spec& spec) { return spec.config("model/names/1"); })},
      {"layers", {grid_search({3, 4}), sample_from([](Spec& spec) { return spec.config("layers/0"); })}},
      {"whole", sample_from([](Spec& spec) { return Json(spec.config("opt").size()); })},
      {"opt", {{"lr", uniform(0, 1)}, {"mom", sample_from([](Spec&) { return Json(0.9); })}}},
  };
  const Config config = resolve_config(space, {{"layers/0", 4}}, 2);
  EXPECT_EQ(config["w2"], 64);
  EXPECT_EQ(config["name"], "q");
  EXPECT_EQ(config["layers"], (Json{4, 4}));
  EXPECT_EQ(config["whole"], 2);
  EXPECT_EQ(config["opt"]["mom"], 0.9);
}

TEST(ResolveConfig, ExceptionsFromFunctionsNameThePath) {
  const Space space = {{"f", sample_from([](Spec&) -> Json { throw std::runtime_error("boom"); })}};
  expect_error([&] { resolve_config(space, {}, 1); }, "config/f: the sample_from function threw: boom");
}

TEST(ResolveConfig, IntegerDomainsGiveIntegers) {
  const Space space = {{"i", randint(0, 5)}, {"f", uniform(0, 5)}, {"q", qrandint(0, 10, 5)}};
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const Config config = resolve_config(space, {}, seed);
    EXPECT_TRUE(config["i"].is_number_integer());
    EXPECT_TRUE(config["q"].is_number_integer());
    EXPECT_TRUE(config["f"].is_number_float());
  }
}

// ---- format_vars ----

TEST(FormatVars, FloatsLikePython) {
  const Space space = {{"a", uniform(0, 1)}, {"b", uniform(0, 1)}, {"c", uniform(0, 1)},
                       {"d", uniform(0, 1)}, {"e", uniform(0, 1)}, {"f", uniform(0, 1)}};
  const Config config = {{"a", 0.0115384615}, {"b", 1e-5}, {"c", 3.14159265}, {"d", 16.0}, {"e", 12345.6},
                         {"f", 100000.0}};
  EXPECT_EQ(format_vars(space, config), "a=0.011538,b=1e-05,c=3.1416,d=16.0,e=1.2346e+04,f=1e+05");
  // Python: '{:.5}'.format(x) for each of these.
  const std::vector<std::pair<double, std::string>> cases = {
      {1.0, "1.0"},         {-0.0, "-0.0"},      {0.0, "0.0"},         {1234.5, "1234.5"},
      {0.0001, "0.0001"},   {99999.9, "1e+05"},  {-2.5e-7, "-2.5e-07"}, {1e-300, "1e-300"},
      {123.456789, "123.46"}, {0.1 + 0.2, "0.3"}, {1e16, "1e+16"},     {9.99999, "10.0"},
  };
  for (const auto& [value, text] : cases) {
    EXPECT_EQ(format_vars(Space{{"x", uniform(0, 1)}}, Json{{"x", value}}), "x=" + text) << value;
  }
}

TEST(FormatVars, ValuesOfEveryKind) {
  const Space space = {{"i", randint(0, 5)}, {"s", choice({"x/y"})}, {"t", grid_search({true})},
                       {"l", sample_from([](Spec&) { return Json{1, 2}; })}, {"plain", 3}};
  const Config config = {{"i", 4}, {"s", "x/y"}, {"t", true}, {"l", {1, 2}}, {"plain", 3}};
  EXPECT_EQ(format_vars(space, config), "i=4,l=[1,2],s=x_y,t=true");  // plain values are not vars
}

TEST(FormatVars, KeysKeepTheLastNameAndIndices) {
  const Space space = {
      {"a", {{"b", {grid_search({1}), 5}}}},
      {"nn_layers", {grid_search({16}), grid_search({64})}},
      {"layers", {{{"units", choice({8})}}}},
  };
  const Config config = {{"a", {{"b", {1, 5}}}}, {"nn_layers", {16, 64}}, {"layers", {{{"units", 8}}}}};
  // Ray keeps every integer index and only the last string: ("layers", 0, "units") -> "0_units".
  EXPECT_EQ(format_vars(space, config), "b_0=1,0_units=8,nn_layers_0=16,nn_layers_1=64");
}

TEST(FormatVars, EmptyWithoutDomains) { EXPECT_EQ(format_vars(Space{{"x", 1}}, Json{{"x", 1}}), ""); }

}  // namespace
}  // namespace tune
