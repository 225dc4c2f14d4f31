// Helpers of the searcher tests: a sequential ask/tell loop, the best value it found, medians
// over seeds, and a check that misuse throws a TuneError naming the field.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "tune/error.h"
#include "tune/searcher.h"

namespace tune::testing {

inline void expect_error(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no TuneError; expected one containing: " << needle;
  } catch (const TuneError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what();
  }
}

// Sequential optimisation of `f`; returns the configs in order.
inline std::vector<Config> optimise(Searcher& searcher, const std::function<double(const Config&)>& f, int n,
                                    const std::string& metric = "loss") {
  std::vector<Config> configs;
  for (int i = 0; i < n; ++i) {
    const std::string id = "t" + std::to_string(i);
    const Suggestion s = searcher.suggest(id);
    EXPECT_EQ(s.kind, Suggestion::Kind::kConfig);
    searcher.on_trial_complete(id, Json{{metric, f(s.config)}}, false);
    configs.push_back(s.config);
  }
  return configs;
}

inline double best_of(const std::vector<Config>& configs, const std::function<double(const Config&)>& f) {
  double best = INFINITY;
  for (const auto& c : configs) best = std::min(best, f(c));
  return best;
}

// Medians over seeds, so one unlucky seed cannot flip the outcome.
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Suggests six trials, then completes them as failed, without the metric, with NaN, twice, and
// one the searcher never suggested: only the first completion may become an observation.
inline void tell_one_good_and_many_bad(Searcher& searcher) {
  for (int i = 0; i < 6; ++i) searcher.suggest("t" + std::to_string(i));
  searcher.on_trial_complete("t0", Json{{"loss", 1.0}}, false);
  searcher.on_trial_complete("t1", Json{{"loss", 1.0}}, true);
  searcher.on_trial_complete("t2", Json{{"other", 1.0}}, false);
  searcher.on_trial_complete("t3", Json(nullptr), false);
  searcher.on_trial_complete("t4", Json{{"loss", NAN}}, false);
  searcher.on_trial_complete("unknown", Json{{"loss", 1.0}}, false);
  searcher.on_trial_complete("t0", Json{{"loss", 1.0}}, false);  // told twice
}

// A space whose choice holds two sub-spaces (an MLP with a width, a linear model with l2).
inline Space conditional_model_space() {
  return Space::from_json(Json::parse(R"({"lr": {"loguniform": [1e-4, 1]}, "model": {"choice": [
      {"type": "mlp", "width": {"randint": [16, 256]}},
      {"type": "linear", "l2": {"loguniform": [1e-6, 1e-2]}}]}})"));
}

// 20 sequential trials on conditional_model_space(): every config holds exactly the keys of the
// model it chose, inside their domains, and both models are tried.
inline void expect_valid_conditional_configs(Searcher& searcher) {
  searcher.set_search_properties("loss", "min", conditional_model_space());
  std::set<std::string> types;
  for (int i = 0; i < 20; ++i) {
    const std::string id = "c" + std::to_string(i);
    const Config c = searcher.suggest(id).config;
    const Json& m = c["model"];
    types.insert(m["type"].get<std::string>());
    EXPECT_EQ(m.size(), 2U) << m;
    EXPECT_TRUE(m["type"] == "mlp" ? m["width"].is_number_integer() : m["l2"].get<double>() >= 1e-6) << m;
    const double loss = m["type"] == "mlp" ? std::abs(m["width"].get<double>() - 128) / 64 : 2.0;
    searcher.on_trial_complete(id, Json{{"loss", loss}, {"training_iteration", 1}}, false);
  }
  EXPECT_EQ(types.size(), 2U);
}

}  // namespace tune::testing
