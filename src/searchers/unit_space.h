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
// A choice value that is an object (or array) holding distributions in their JSON form
// ({"choice": [{"type": "mlp", "width": {"randint": [16, 256]}}, {"type": "linear"}]}) is a
// conditional sub-space: its distributions are dimensions too, active only while the choice
// takes that value (and its own choice is active). Their u is NaN when inactive (encode,
// deactivate); decode ignores inactive dimensions.
// Plain values of the space are kept as they are. grid_search and sample_from cannot be
// modelled: the constructor throws TuneError naming the path and the searcher.
#pragma once

#include <cstddef>
#include <deque>
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
  // A conditional dimension: active when dimension `parent` (a choice) takes value `option`.
  int parent = -1;
  size_t option = 0;
  // kCategorical: the sub-space of each value (nullptr for a plain value).
  std::vector<const Space*> option_spaces;
};

class UnitSpace {
 public:
  // `searcher` names who asks, for error messages ("tpe: config/lr: grid_search cannot ...").
  UnitSpace(Space space, std::string_view searcher);
  UnitSpace(const UnitSpace&) = delete;  // dimensions point into the spaces it owns
  UnitSpace& operator=(const UnitSpace&) = delete;

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
  // True when the conditions of dimension `dim` hold at u (always, for an unconditional one).
  bool active(size_t dim, const std::vector<double>& u) const;
  // Sets the inactive dimensions of u to NaN.
  void deactivate(std::vector<double>& u) const;
  // True when some dimension is conditional.
  bool conditional() const { return conditional_; }

 private:
  Space space_;
  std::deque<Space> option_spaces_;  // parsed sub-spaces of choices (stable addresses)
  std::vector<Dimension> dimensions_;
  bool conditional_ = false;
};

}  // namespace tune::detail
