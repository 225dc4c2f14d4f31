#include "searchers/lbfgs.h"

#include <cmath>
#include <deque>

namespace tune::detail {
namespace {

bool finite(double value, const Eigen::VectorXd& gradient) { return std::isfinite(value) && gradient.allFinite(); }

}  // namespace

LbfgsResult minimise_lbfgs(const LbfgsObjective& f, const Eigen::VectorXd& x0, const LbfgsOptions& options) {
  LbfgsResult out;
  const Eigen::Index n = x0.size();
  Eigen::VectorXd x = x0, g(n);
  double value = f(x, g);
  out.evaluations = 1;
  out.x = x;
  out.value = value;
  if (!finite(value, g)) return out;  // nowhere to go from a point the objective cannot evaluate
  std::deque<std::pair<Eigen::VectorXd, Eigen::VectorXd>> pairs;  // (s, y), oldest first
  Eigen::VectorXd x_new(n), g_new(n), direction(n);
  for (int iteration = 0; iteration < options.max_iterations; ++iteration) {
    if (g.lpNorm<Eigen::Infinity>() < options.gradient_tolerance) break;
    // Two-loop recursion: direction = -H g.
    direction = -g;
    std::vector<double> alpha(pairs.size());
    for (size_t k = pairs.size(); k-- > 0;) {
      const auto& [s, y] = pairs[k];
      alpha[k] = s.dot(direction) / y.dot(s);
      direction -= alpha[k] * y;
    }
    if (!pairs.empty()) {
      const auto& [s, y] = pairs.back();
      direction *= s.dot(y) / y.squaredNorm();
    } else {
      direction /= std::max(1.0, g.norm());  // first step: at most unit length
    }
    for (size_t k = 0; k < pairs.size(); ++k) {
      const auto& [s, y] = pairs[k];
      const double beta = y.dot(direction) / y.dot(s);
      direction += (alpha[k] - beta) * s;
    }
    double slope = g.dot(direction);
    if (!(slope < 0)) {  // not a descent direction (numerical trouble): restart from steepest descent
      pairs.clear();
      direction = -g / std::max(1.0, g.norm());
      slope = g.dot(direction);
    }
    // Backtracking until the Armijo condition holds.
    double step = 1.0;
    double value_new = 0;
    bool accepted = false;
    for (int b = 0; b < options.max_backtracks; ++b) {
      x_new = x + step * direction;
      value_new = f(x_new, g_new);
      ++out.evaluations;
      if (finite(value_new, g_new) && value_new <= value + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) break;
    Eigen::VectorXd s = x_new - x;
    Eigen::VectorXd y = g_new - g;
    if (s.dot(y) > 1e-12 * s.norm() * y.norm()) {  // keep only pairs with positive curvature
      pairs.emplace_back(std::move(s), std::move(y));
      if (static_cast<int>(pairs.size()) > options.memory) pairs.pop_front();
    }
    const double improvement = value - value_new;
    x = x_new;
    g = g_new;
    value = value_new;
    out.iterations = iteration + 1;
    if (value < out.value) {
      out.value = value;
      out.x = x;
    }
    if (improvement <= options.value_tolerance * std::max(1.0, std::abs(value))) break;
  }
  return out;
}

}  // namespace tune::detail
