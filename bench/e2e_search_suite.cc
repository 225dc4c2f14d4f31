// Held-out searcher benchmark driver (bench/search_suite.sh runs it next to bench/optuna_suite.py;
// method and tables in docs/search_benchmark.md).
//
//   e2e_search_suite run --searcher tpe [--options '{"constant_liar": false}'] [--label NAME]
//                        [--families a,b|tuning|heldout] [--problems f06,f15] [--dims 2,3,5,10] [--seeds N] [--first-seed S]
//                        [--budget B] [--concurrency 1,2,4,8] [--searcher-seed-offset N]
//       one JSON line per (problem, dims, concurrency, seed): the best regret after each
//       completed evaluation ("trace"), and whether the problem's family is a tuning one ("tuning"). With concurrency k the searcher is driven as tune run
//       drives it: k trials are pending at once, the oldest completes first (equal trial
//       durations), and a new one is suggested as soon as one completes. The searcher's seed is
//       the instance's seed plus N (default 0): another N runs the same searcher on the same
//       instances with other random draws, which measures how often a searcher is "no worse"
//       than itself (the noise floor of the report's win rate).
//   e2e_search_suite list [--families a,b|tuning|heldout] [--dims 2,3,5,10]
//       one JSON line per problem: name, family, whether it is a tuning family, dims, and its
//       search space's JSON form.
//   e2e_search_suite eval
//       reads {"problem", "dims", "seed", "config"} lines on stdin and writes each regret on a
//       line: bench/optuna_suite.py evaluates through it, so both sides use one implementation.
//   e2e_search_suite check
//       checks every function: 0 at its optimum, never below 0 (exit status 1 otherwise).
#include <fmt/format.h>

#include <deque>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "bench_cli.h"
#include "search_suite.h"
#include "tune/error.h"
#include "tune/searchers.h"

namespace {

using tune::Json;
using tune::bench::option;
using tune::bench::split;
using tune::bench::SuiteProblem;

std::vector<int> split_ints(const std::string& text) {
  std::vector<int> out;
  for (const auto& s : split(text)) out.push_back(std::stoi(s));
  return out;
}

std::shared_ptr<tune::Searcher> make(const std::string& name, uint64_t seed, int budget, const Json& extra) {
  // Random search: TPE's startup draws (uniform in the unit space, conditional choices resolved),
  // since the variant generator leaves the domains inside a chosen object unsampled.
  if (name == "random") return tune::make_searcher(Json{{"type", "tpe"}, {"seed", seed}, {"n_startup_trials", budget + 1}});
  Json spec = extra.is_object() ? extra : Json::object();
  spec["type"] = name;
  spec["seed"] = seed;
  return tune::make_searcher(spec);
}

// One run with k pending trials; returns the best regret after each completion.
Json drive(tune::Searcher& searcher, const SuiteProblem& problem, int budget, int k) {
  std::deque<std::pair<std::string, tune::Config>> pending;
  Json trace = Json::array();
  double best = INFINITY;
  int started = 0;
  for (int done = 0; done < budget;) {
    while (started < budget && static_cast<int>(pending.size()) < k) {
      const std::string id = std::to_string(started);
      tune::Suggestion s = searcher.suggest(id);
      if (s.kind != tune::Suggestion::Kind::kConfig) break;  // not now (CMA-ES between generations) or done
      pending.emplace_back(id, std::move(s.config));
      ++started;
    }
    if (pending.empty()) break;
    const auto [id, config] = std::move(pending.front());
    pending.pop_front();
    const double y = problem.regret(config);
    searcher.on_trial_complete(id, Json{{"value", y}}, false);
    best = std::min(best, y);
    trace.push_back(best);
    ++done;
  }
  return trace;
}

int run(int argc, char** argv) {
  const std::string name = option(argc, argv, "--searcher", "tpe");
  const Json extra = Json::parse(option(argc, argv, "--options", "{}"));
  const std::string label = option(argc, argv, "--label", name);
  const auto families = split(option(argc, argv, "--families", ""));
  const auto dims = split_ints(option(argc, argv, "--dims", "2,3,5,10"));
  const int seeds = std::stoi(option(argc, argv, "--seeds", "10"));
  const int first_seed = std::stoi(option(argc, argv, "--first-seed", "0"));
  const int budget = std::stoi(option(argc, argv, "--budget", "200"));
  const auto concurrency = split_ints(option(argc, argv, "--concurrency", "1,2"));
  const auto wanted = split(option(argc, argv, "--problems", ""));
  const auto seed_offset = static_cast<uint64_t>(std::stoull(option(argc, argv, "--searcher-seed-offset", "0")));
  for (const auto& [pname, d] : tune::bench::suite_catalog(families, dims)) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), pname) == wanted.end()) continue;
    for (int k : concurrency) {
      for (int seed = first_seed; seed < first_seed + seeds; ++seed) {
        const SuiteProblem problem = tune::bench::make_suite_problem(pname, d, static_cast<uint64_t>(seed));
        const tune::Space space = tune::Space::from_json(problem.space);
        const auto searcher = make(name, static_cast<uint64_t>(seed) + seed_offset, budget, extra);
        try {
          searcher->set_search_properties("value", "min", space);
        } catch (const tune::TuneError& e) {  // CMA-ES and a choice: that problem is left out
          std::cerr << fmt::format("{} on {}: skipped ({})\n", name, pname, e.what());
          break;
        }
        const Json trace = drive(*searcher, problem, budget, k);
        std::cout << Json{{"side", "tune"},
                          {"problem", pname},
                          {"family", problem.family},
                          {"tuning", tune::bench::is_tuning_family(problem.family)},
                          {"dims", d},
                          {"searcher", label},
                          {"concurrency", k},
                          {"seed", seed},
                          {"trace", trace}}
                         .dump()
                  << std::endl;
      }
    }
  }
  return 0;
}

int list(int argc, char** argv) {
  const auto families = split(option(argc, argv, "--families", ""));
  const auto dims = split_ints(option(argc, argv, "--dims", "2,3,5,10"));
  for (const auto& [pname, d] : tune::bench::suite_catalog(families, dims)) {
    const SuiteProblem p = tune::bench::make_suite_problem(pname, d, 0);
    std::cout << Json{{"problem", pname},
                      {"family", p.family},
                      {"tuning", tune::bench::is_tuning_family(p.family)},
                      {"dims", d},
                      {"space", p.space}}
                     .dump()
              << '\n';
  }
  return 0;
}

// Self-check of the functions: 0 at each BBOB instance's optimum, >= 0 at random points of every
// problem (mixed and conditional: their optimum is a combination, covered by the random points'
// lower bound only). Prints the failures; exit status 1 if any.
int check() {
  int failures = 0;
  for (const auto& [pname, d] : tune::bench::suite_catalog({}, {2, 3, 5, 10})) {
    for (uint64_t seed = 0; seed < 3; ++seed) {
      const SuiteProblem p = tune::bench::make_suite_problem(pname, d, seed);
      if (pname[0] == 'f') {
        const auto instance = tune::bench::make_bbob_instance(std::stoi(pname.substr(1)), d, seed);
        const double at_opt = tune::bench::bbob_value(instance, instance.xopt);
        if (std::abs(at_opt) > 1e-6) {
          std::cerr << fmt::format("{}-{}D seed {}: {} at the optimum\n", pname, d, seed, at_opt);
          ++failures;
        }
      }
      const tune::Space space = tune::Space::from_json(p.space);
      const auto random = make("random", seed, 100, Json::object());
      random->set_search_properties("value", "min", space);
      for (int i = 0; i < 100; ++i) {
        const double y = p.regret(random->suggest(std::to_string(i)).config);
        if (!(y >= -1e-6)) {
          std::cerr << fmt::format("{}-{}D seed {}: {} at a random point\n", pname, d, seed, y);
          ++failures;
        }
      }
    }
  }
  std::cout << (failures ? "check failed\n" : "check passed\n");
  return failures ? 1 : 0;
}

int eval() {
  std::map<std::tuple<std::string, int, uint64_t>, SuiteProblem> cache;
  for (std::string line; std::getline(std::cin, line);) {
    const Json request = Json::parse(line);
    const auto key = std::make_tuple(request.at("problem").get<std::string>(), request.at("dims").get<int>(),
                                     request.at("seed").get<uint64_t>());
    auto it = cache.find(key);
    if (it == cache.end()) {
      it = cache.emplace(key, tune::bench::make_suite_problem(std::get<0>(key), std::get<1>(key), std::get<2>(key))).first;
    }
    std::cout << fmt::format("{:.17g}", it->second.regret(request.at("config"))) << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "run") return run(argc, argv);
    if (mode == "list") return list(argc, argv);
    if (mode == "eval") return eval();
    if (mode == "check") return check();
  } catch (const std::exception& e) {
    std::cerr << "e2e_search_suite: " << e.what() << '\n';
    return 1;
  }
  std::cerr << "usage: e2e_search_suite run|list|eval|check [options] (see the comment at the top of bench/e2e_search_suite.cc)\n";
  return 2;
}
