// make_searcher: the spec file's `search_alg: {type: NAME, ...}` to a searcher object.
//
// One row of kTypes per searcher type: its name, its own keys and how to build it. Common keys
// (points_to_evaluate, max_concurrent, batch, repeat) are handled here for every type.
#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "common/plugin_fields.h"
#include "common/strings.h"
#include "tune/error.h"
#include "tune/searchers.h"

namespace tune {
namespace {

using Fields = detail::PluginFields;

using Build = std::function<std::shared_ptr<Searcher>(const Fields&, const SearcherContext&, std::vector<Config>)>;

struct SearcherType {
  std::string name;
  std::vector<std::string> keys;  // besides the common ones
  Build build;                    // nullptr result: the run's own BasicVariantGenerator
};

template <typename S, typename Options>
std::shared_ptr<Searcher> build(Options options) {
  try {
    return std::make_shared<S>(std::move(options));
  } catch (const TuneError& e) {
    throw TuneError(std::string("search_alg/") + e.what());  // "search_alg/n_ei_candidates: must be >= 1"
  }
}

const std::vector<SearcherType>& types() {
  static const std::vector<SearcherType> kTypes = {
      {"variant_generator", {}, [](const Fields&, const SearcherContext&, std::vector<Config>) {
         return std::shared_ptr<Searcher>();
       }},
      {"random", {}, [](const Fields&, const SearcherContext&, std::vector<Config>) {
         return std::shared_ptr<Searcher>();
       }},
      {"tpe",
       {"n_startup_trials", "n_ei_candidates", "prior_weight", "consider_prior", "consider_magic_clip",
        "consider_endpoints", "multivariate", "scott_bandwidth", "constant_liar", "scale_free_kernels", "max_above",
        "seed"},
       [](const Fields& f, const SearcherContext& context, std::vector<Config> points) {
         TPESearcher::Options o;
         o.seed = context.seed;
         f.get("n_startup_trials", o.n_startup_trials);
         f.get("n_ei_candidates", o.n_ei_candidates);
         f.get("prior_weight", o.prior_weight);
         f.get("consider_prior", o.consider_prior);
         f.get("consider_magic_clip", o.consider_magic_clip);
         f.get("consider_endpoints", o.consider_endpoints);
         f.get("multivariate", o.multivariate);
         f.get("scott_bandwidth", o.scott_bandwidth);
         f.get("constant_liar", o.constant_liar);
         f.get("scale_free_kernels", o.scale_free_kernels);
         f.get("max_above", o.max_above);
         f.get("seed", o.seed);
         o.points_to_evaluate = std::move(points);
         return build<TPESearcher>(std::move(o));
       }},
      {"gp",
       {"acquisition", "xi", "kappa", "n_initial_points", "n_candidates", "n_local", "n_restarts", "max_points",
        "fit_noise", "output_transform", "seed"},
       [](const Fields& f, const SearcherContext& context, std::vector<Config> points) {
         GPSearcher::Options o;
         o.seed = context.seed;
         std::string acquisition = GPSearcher::acquisition_name(o.acquisition);
         f.get("acquisition", acquisition);
         try {
           o.acquisition = GPSearcher::acquisition_from_name(acquisition);
         } catch (const TuneError& e) {
           throw TuneError(std::string("search_alg/") + e.what());
         }
         f.get("xi", o.xi);
         f.get("kappa", o.kappa);
         f.get("n_initial_points", o.n_initial_points);
         f.get("n_candidates", o.n_candidates);
         f.get("n_local", o.n_local);
         f.get("n_restarts", o.n_restarts);
         f.get("max_points", o.max_points);
         f.get("fit_noise", o.fit_noise);
         f.get("output_transform", o.output_transform);
         f.get("seed", o.seed);
         o.points_to_evaluate = std::move(points);
         return build<GPSearcher>(std::move(o));
       }},
      {"cmaes",
       {"sigma0", "popsize", "restarts", "seed"},
       [](const Fields& f, const SearcherContext& context, std::vector<Config> points) {
         CMAESSearcher::Options o;
         o.seed = context.seed;
         f.get("sigma0", o.sigma0);
         f.get("popsize", o.popsize);
         f.get("restarts", o.restarts);
         f.get("seed", o.seed);
         o.points_to_evaluate = std::move(points);
         return build<CMAESSearcher>(std::move(o));
       }},
      {"bohb",
       {"time_attr", "min_points_in_model", "top_n_percent", "num_samples", "random_fraction", "bandwidth_factor",
        "min_bandwidth", "seed"},
       [](const Fields& f, const SearcherContext& context, std::vector<Config> points) {
         BOHBSearcher::Options o;
         o.seed = context.seed;
         f.get("time_attr", o.time_attr);
         f.get("min_points_in_model", o.min_points_in_model);
         f.get("top_n_percent", o.top_n_percent);
         f.get("num_samples", o.num_samples);
         f.get("random_fraction", o.random_fraction);
         f.get("bandwidth_factor", o.bandwidth_factor);
         f.get("min_bandwidth", o.min_bandwidth);
         f.get("seed", o.seed);
         o.points_to_evaluate = std::move(points);
         return build<BOHBSearcher>(std::move(o));
       }},
      {"external",
       {"command", "seed", "timeout_s"},
       [](const Fields& f, const SearcherContext& context, std::vector<Config> points) {
         ExternalSearcher::Options o;
         o.seed = context.seed;
         f.get("command", o.argv);
         if (o.argv.empty()) throw TuneError("search_alg/command: the external searcher needs a command to run");
         f.get("seed", o.seed);
         f.get("timeout_s", o.timeout_s);
         if (!(o.timeout_s > 0)) throw TuneError("search_alg/timeout_s: must be > 0");
         o.points_to_evaluate = std::move(points);
         return build<ExternalSearcher>(std::move(o));
       }},
  };
  return kTypes;
}

const std::vector<std::string> kCommonKeys = {"type", "points_to_evaluate", "max_concurrent", "batch", "repeat"};

// Ray Tune's search algorithm names this version knows but does not implement: refused by name.
const std::vector<std::string> kNotSupported = {"ax",       "blendsearch", "cfo",    "dragonfly", "hebo",  "hyperopt",
                                                "nevergrad", "optuna",     "sigopt", "skopt",     "zoopt", "bayesopt"};

const SearcherType& type_of(const std::string& name) {
  for (const auto& t : types()) {
    if (t.name == name) return t;
  }
  const std::vector<std::string> names = searcher_names();
  throw TuneError(fmt::format("search_alg/type: unknown search algorithm '{}'{}; known: {}", name,
                              did_you_mean(name, names), join(names, ", ")));
}

}  // namespace

std::vector<std::string> searcher_names() {
  std::vector<std::string> out;
  for (const auto& t : types()) out.push_back(t.name);
  return out;
}

std::vector<std::string> searcher_keys(const std::string& type) { return type_of(type).keys; }

std::vector<std::string> searcher_common_keys() { return kCommonKeys; }

std::vector<std::string> unsupported_searcher_names() { return kNotSupported; }

std::shared_ptr<Searcher> make_searcher(const Json& spec, const SearcherContext& context) {
  const std::string name = detail::plugin_type_name(spec, "search_alg", "search algorithm");
  const SearcherType& type = type_of(name);
  const Fields f(spec, "search_alg");
  std::vector<std::string> allowed = kCommonKeys;
  allowed.insert(allowed.end(), type.keys.begin(), type.keys.end());
  allowed.erase(allowed.begin());  // "type": allow() adds it
  f.allow(allowed, fmt::format("search_alg '{}'", name));
  std::vector<Config> points;
  if (const Json* p = f.find("points_to_evaluate")) {
    if (!p->is_array()) throw f.error("points_to_evaluate", "must be a list of (partial) configs", *p);
    for (size_t i = 0; i < p->size(); ++i) {
      if (!(*p)[i].is_object()) {
        throw TuneError(fmt::format("search_alg/points_to_evaluate/{}: must be a mapping, got {}", i, (*p)[i].dump()));
      }
      points.push_back((*p)[i]);
    }
  }
  std::shared_ptr<Searcher> searcher = type.build(f, context, std::move(points));
  int repeat = 1;
  int max_concurrent = 0;
  bool batch = false;
  f.get("repeat", repeat);
  f.get("max_concurrent", max_concurrent);
  f.get("batch", batch);
  if (!searcher) {
    if (f.find("repeat") || f.find("max_concurrent") || f.find("batch")) {
      throw TuneError(fmt::format("search_alg/{}: applies to model-based searchers; for '{}' use "
                                  "max_concurrent_trials",
                                  f.find("repeat") ? "repeat" : (f.find("batch") ? "batch" : "max_concurrent"), name));
    }
    return nullptr;
  }
  if (f.find("repeat")) {
    if (repeat < 1) throw f.error("repeat", "must be >= 1", *f.find("repeat"));
    searcher = std::make_shared<Repeater>(searcher, repeat);
  }
  if (f.find("max_concurrent")) {
    if (max_concurrent < 1) throw f.error("max_concurrent", "must be >= 1", *f.find("max_concurrent"));
    searcher = std::make_shared<ConcurrencyLimiter>(searcher, max_concurrent, batch);
  } else if (f.find("batch")) {
    throw TuneError("search_alg/batch: needs max_concurrent (the batch size)");
  }
  return searcher;
}

}  // namespace tune
