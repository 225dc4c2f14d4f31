// Internal: a small unconstrained L-BFGS minimiser (Nocedal & Wright, algorithm 7.5, with a
// backtracking Armijo line search), for the GP searcher's hyperparameters and acquisition.
// Bounds are the caller's business (optimise in a transformed, unbounded coordinate).
// A non-finite value or gradient counts as "too far": the step is shortened.
#pragma once

#include <Eigen/Core>
#include <functional>

namespace tune::detail {

struct LbfgsOptions {
  int max_iterations = 50;
  int memory = 8;                    // correction pairs kept
  double gradient_tolerance = 1e-6;  // stop when |g|_inf falls below
  double value_tolerance = 1e-10;    // stop when an iteration improves less (relative)
  int max_backtracks = 25;
};

struct LbfgsResult {
  Eigen::VectorXd x;
  double value = 0;
  int iterations = 0;
  int evaluations = 0;
};

// f(x, gradient) returns the value at x and writes the gradient (same size as x).
using LbfgsObjective = std::function<double(const Eigen::VectorXd& x, Eigen::VectorXd& gradient)>;

// Minimises f from x0; returns the best point seen (x0 itself when nothing better was found).
LbfgsResult minimise_lbfgs(const LbfgsObjective& f, const Eigen::VectorXd& x0, const LbfgsOptions& options = {});

}  // namespace tune::detail
