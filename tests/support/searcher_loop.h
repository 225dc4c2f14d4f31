// Helpers of the searcher tests: a sequential ask/tell loop, the best value it found, medians
// over seeds, and a check that misuse throws a TuneError naming the field.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
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

}  // namespace tune::testing
