// Searcher benchmark driver (bench/search_compare.sh runs it next to bench/optuna_side.py).
//
//   e2e_search compare [--problems a,b] [--searchers tpe,random] [--seeds N] [--first-seed S] [--budget B]
//       one JSON line per (problem, searcher, seed S..S+N-1): the best value after each evaluation
//       ("trace"), so every budget up to B is read off one run (all samplers here are
//       sequential and do not know the budget). --options '{"multivariate": true}' adds
//       search_alg keys, --label names the result.
//   e2e_search latency [--searchers tpe,gp,cmaes] [--history 100,1000,5000] [--dims 10] [--repeats 20]
//                      [--multivariate true|false]   (TPE: its default unless given)
//       suggest + tell CPU time with that many completed trials already in the model.
// Searchers are every make_searcher type that works in a plain ask/tell loop (searcher_names()),
// so a newly registered one is benchmarked without touching this file.
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "bench_cli.h"
#include "search_problems.h"
#include "tune/searchers.h"

namespace {

using tune::Json;
using tune::bench::option;
using tune::bench::split;

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

tune::Space space_of(const tune::bench::Problem& p) {
  tune::Space space;
  for (int i = 0; i < p.dims; ++i) {
    const auto [lo, hi] = p.box.empty() ? std::pair(p.lower, p.upper) : p.box[static_cast<size_t>(i)];
    space.set(fmt::format("x{:02d}", i), tune::uniform(lo, hi));
  }
  return space;
}

std::shared_ptr<tune::Searcher> make(const std::string& name, const tune::Space& space, uint64_t seed, int budget,
                                     const Json& extra) {
  if (name == "random" || name == "variant_generator") {
    return std::make_shared<tune::BasicVariantGenerator>(space, budget, seed);
  }
  Json spec = extra.is_object() ? extra : Json::object();
  spec["type"] = name;
  spec["seed"] = seed;
  return tune::make_searcher(spec);
}

int compare(int argc, char** argv) {
  std::vector<std::string> searchers = split(option(argc, argv, "--searchers", ""));
  if (searchers.empty()) {
    for (const auto& name : tune::searcher_names()) {
      if (name != "variant_generator" && name != "external" && name != "bohb") searchers.push_back(name);
    }
  }
  const auto wanted = split(option(argc, argv, "--problems", ""));
  const int seeds = std::stoi(option(argc, argv, "--seeds", "20"));
  const int first_seed = std::stoi(option(argc, argv, "--first-seed", "0"));
  const int budget = std::stoi(option(argc, argv, "--budget", "200"));
  const Json extra = Json::parse(option(argc, argv, "--options", "{}"));  // more search_alg keys
  const std::string label = option(argc, argv, "--label", "");
  for (const auto& problem : tune::bench::problems()) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), problem.name) == wanted.end()) continue;
    const tune::Space space = space_of(problem);
    for (const auto& name : searchers) {
      for (int seed = first_seed; seed < first_seed + seeds; ++seed) {
        std::shared_ptr<tune::Searcher> searcher;
        try {
          searcher = make(name, space, static_cast<uint64_t>(seed), budget, extra);
          searcher->set_search_properties("value", "min", space);
        } catch (const std::exception& e) {
          std::cerr << fmt::format("{}: skipped ({})\n", name, e.what());
          break;
        }
        Json trace = Json::array();
        double best = INFINITY;
        const double start = cpu_seconds();
        for (int i = 0; i < budget; ++i) {
          const std::string id = std::to_string(i);
          const tune::Suggestion s = searcher->suggest(id);
          if (s.kind != tune::Suggestion::Kind::kConfig) break;
          std::vector<double> x;
          for (int d = 0; d < problem.dims; ++d) x.push_back(s.config[fmt::format("x{:02d}", d)].get<double>());
          const double y = problem.f(x);
          searcher->on_trial_complete(id, Json{{"value", y}}, false);
          best = std::min(best, y);
          trace.push_back(best);
        }
        const double seconds = cpu_seconds() - start;
        std::cout << Json{{"side", "tune"}, {"problem", problem.name}, {"searcher", label.empty() ? name : label}, {"seed", seed},
                          {"optimum", problem.optimum}, {"seconds", seconds}, {"trace", trace}}
                         .dump()
                  << std::endl;
      }
    }
  }
  return 0;
}

int latency(int argc, char** argv) {
  const auto histories = split(option(argc, argv, "--history", "100,1000,5000"));
  const int dims = std::stoi(option(argc, argv, "--dims", "10"));
  const int repeats = std::stoi(option(argc, argv, "--repeats", "20"));
  const std::string multivariate = option(argc, argv, "--multivariate", "");  // "": TPE's default
  const auto searchers = split(option(argc, argv, "--searchers", "tpe"));
  tune::Space space;
  for (int d = 0; d < dims; ++d) space.set(fmt::format("x{:02d}", d), tune::uniform(-5, 5));
  const auto objective = [&](const tune::Config& config) {
    std::vector<double> x(static_cast<size_t>(dims));
    for (int d = 0; d < dims; ++d) x[static_cast<size_t>(d)] = config[fmt::format("x{:02d}", d)].get<double>();
    return tune::bench::styblinski_tang(x);
  };
  for (const auto& name : searchers) {
    for (const auto& h : histories) {
      const int n = std::stoi(h);
      Json spec = {{"type", name}, {"seed", 1}};
      if (name == "tpe" && !multivariate.empty()) spec["multivariate"] = multivariate == "true";
      const std::shared_ptr<tune::Searcher> searcher = tune::make_searcher(spec);
      searcher->set_search_properties("value", "min", space);
      // The history: random configs through add_evaluated_point where the searcher has it (TPE,
      // GP); CMA-ES keeps no history, so it runs n trials of its own first.
      std::mt19937_64 rng(7);
      std::uniform_real_distribution<double> u(-5, 5);
      for (int i = 0; i < n; ++i) {
        Json config = Json::object();
        for (int d = 0; d < dims; ++d) config[fmt::format("x{:02d}", d)] = u(rng);
        const Json result = {{"value", objective(config)}};
        if (auto* tpe = dynamic_cast<tune::TPESearcher*>(searcher.get())) {
          tpe->add_evaluated_point(config, result);
        } else if (auto* gp = dynamic_cast<tune::GPSearcher*>(searcher.get())) {
          gp->add_evaluated_point(config, result);
        } else {
          const std::string id = "h" + std::to_string(i);
          const auto s = searcher->suggest(id);
          searcher->on_trial_complete(id, Json{{"value", objective(s.config)}}, false);
        }
      }
      // CPU time of this process: the machine may be shared, and Optuna's side measures the same.
      const double start = cpu_seconds();
      for (int r = 0; r < repeats; ++r) {
        const std::string id = "r" + std::to_string(r);
        const auto s = searcher->suggest(id);
        searcher->on_trial_complete(id, Json{{"value", objective(s.config)}}, false);
      }
      const double ms = (cpu_seconds() - start) * 1000 / repeats;
      const std::string label =
          name != "tpe" || multivariate.empty() ? name : multivariate == "true" ? "tpe_multivariate" : "tpe_univariate";
      std::cout << Json{{"side", "tune"}, {"sampler", label}, {"history", n}, {"dims", dims}, {"ms_per_trial", ms}}.dump()
                << std::endl;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "compare") return compare(argc, argv);
  if (mode == "latency") return latency(argc, argv);
  std::cerr << "usage: e2e_search compare|latency [options] (see the comment at the top of bench/e2e_search.cc)\n";
  return 2;
}
