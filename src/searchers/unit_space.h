// Internal: a search space seen by a model-based searcher as the unit cube [0, 1]^d.
//
// Every distribution leaf of a Space is one dimension. A point u in [0, 1]^d maps to a
// config by each dimension's inverse transform:
//   uniform/quniform          lower + u (upper - lower), then quantised
//   loguniform families       exp(log lower + u (log upper - log lower)), then quantised
//   randint families          the same on [lower, upper) / [lower, upper], then rounded to an
//                             allowed integer (every integer gets an equal-width bin)
//   randn/qrandn              mean + sd * Phi^-1(u), u clipped to [1e-6, 1 - 1e-6]
//   choice                    values[floor(u k)] (k bins of width 1/k)
// encode() is the inverse: a value maps to the centre of its bin for integer and choice
// dimensions, so decode(encode(x)) == x for every value the domain can produce.
// Plain values of the space are kept as they are. grid_search and sample_from cannot be
// modelled: the constructor throws TuneError naming the path and the searcher.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tune/json.h"
#include "tune/search_space.h"

namespace tune::detail {

// The standard normal's quantile (|relative error| < 1e-12 after one Halley step) and CDF.
double normal_quantile(double p);
double normal_cdf(double x);

struct Dimension {
  enum class Kind {
    kContinuous,   // a real number (uniform, loguniform, randn and their q-variants)
    kInteger,      // randint families: an ordered, finite set of integers
    kCategorical,  // choice: unordered
  };
  std::string path;  // "/"-separated config path ("model/width")
  Kind kind = Kind::kContinuous;
  bool log = false;         // the transform is logarithmic
  size_t num_choices = 0;   // kCategorical: number of values; kInteger: number of allowed integers
  const Domain* domain = nullptr;  // owned by the UnitSpace's Space
};

class UnitSpace {
 public:
  // `searcher` names who asks, for error messages ("tpe: config/lr: grid_search cannot ...").
  UnitSpace(Space space, std::string_view searcher);

  size_t size() const { return dimensions_.size(); }
  const std::vector<Dimension>& dimensions() const { return dimensions_; }
  const Space& space() const { return space_; }

  // One dimension's value at u (clamped into [0, 1]).
  Json value(size_t dim, double u) const;
  // The u of a value of that dimension (its bin centre for integer and choice dimensions).
  // A value the domain cannot produce is clamped to the nearest end (a choice value that is
  // not among the values throws TuneError naming the path).
  double encode(size_t dim, const Json& value) const;

  // The full config at point u (u.size() == size()).
  Config decode(const std::vector<double>& u) const;
  // The point of a config (missing paths throw TuneError naming them).
  std::vector<double> encode(const Config& config) const;
  // The point of a partial config: dimensions the config does not set are NaN.
  std::vector<double> encode_partial(const Config& config) const;

 private:
  Space space_;
  std::vector<Dimension> dimensions_;
};

}  // namespace tune::detail
