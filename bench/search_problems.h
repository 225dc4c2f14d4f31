// Test functions for the searcher benchmark (bench/e2e_search.cc), minimised. Definitions,
// domains and optima from the Virtual Library of Simulation Experiments
// (https://www.sfu.ca/~ssurjano/optimization.html); bench/optuna_side.py has the same ones.
#pragma once

#include <cmath>
#include <string>
#include <vector>

namespace tune::bench {

struct Problem {
  std::string name;
  int dims;
  double lower, upper;  // the same box on every dimension, except Branin's (below)
  double optimum;
  double (*f)(const std::vector<double>& x);
  std::vector<std::pair<double, double>> box;  // per-dimension bounds when they differ
};

inline double branin(const std::vector<double>& x) {
  const double a = 1, b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, r = 6, s = 10, t = 1 / (8 * M_PI);
  const double u = x[1] - b * x[0] * x[0] + c * x[0] - r;
  return a * u * u + s * (1 - t) * std::cos(x[0]) + s;
}

inline double hartmann6(const std::vector<double>& x) {
  static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
  static const double A[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                 {0.05, 10, 17, 0.1, 8, 14},
                                 {3, 3.5, 1.7, 10, 17, 8},
                                 {17, 8, 0.05, 10, 0.1, 14}};
  static const double P[4][6] = {{1312, 1696, 5569, 124, 8283, 5886},
                                 {2329, 4135, 8307, 3736, 1004, 9991},
                                 {2348, 1451, 3522, 2883, 3047, 6650},
                                 {4047, 8828, 8732, 5743, 1091, 381}};
  double outer = 0;
  for (int i = 0; i < 4; ++i) {
    double inner = 0;
    for (int j = 0; j < 6; ++j) inner += A[i][j] * (x[j] - 1e-4 * P[i][j]) * (x[j] - 1e-4 * P[i][j]);
    outer += alpha[i] * std::exp(-inner);
  }
  return -outer;
}

inline double rosenbrock(const std::vector<double>& x) {
  double s = 0;
  for (size_t i = 0; i + 1 < x.size(); ++i) s += 100 * std::pow(x[i + 1] - x[i] * x[i], 2) + std::pow(x[i] - 1, 2);
  return s;
}

inline double styblinski_tang(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v * v * v * v - 16 * v * v + 5 * v;
  return s / 2;
}

inline double ackley(const std::vector<double>& x) {
  const double d = static_cast<double>(x.size());
  double s1 = 0, s2 = 0;
  for (double v : x) {
    s1 += v * v;
    s2 += std::cos(2 * M_PI * v);
  }
  return -20 * std::exp(-0.2 * std::sqrt(s1 / d)) - std::exp(s2 / d) + 20 + M_E;
}

inline std::vector<Problem> problems() {
  return {
      {"branin", 2, 0, 0, 0.397887, branin, {{-5, 10}, {0, 15}}},
      {"hartmann6", 6, 0, 1, -3.32237, hartmann6, {}},
      {"rosenbrock10", 10, -5, 10, 0, rosenbrock, {}},
      {"styblinski_tang10", 10, -5, 5, -39.16617 * 10, styblinski_tang, {}},
      {"ackley5", 5, -32.768, 32.768, 0, ackley, {}},
  };
}

}  // namespace tune::bench
