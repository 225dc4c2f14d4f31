// BBOB/COCO noiseless test functions for the held-out searcher benchmark (bench/e2e_search_suite.cc).
// Written from the definitions in N. Hansen, S. Finck, R. Ros, A. Auger, "Real-Parameter Black-Box
// Optimization Benchmarking 2009: Noiseless Functions Definitions", INRIA RR-6829: the same
// transformations (T_osz, T_asy, Lambda^alpha, f_pen) and per-instance random shift x_opt and
// rotations R, Q, drawn here from our own seeded generator (instances differ from COCO's, the
// functions do not). f_opt is 0: every value is a regret, >= 0 up to rounding (f20's optimum
// is the published one, accurate to about 1e-9). The domain is [-5, 5]^D.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace tune::bench {

using Vec = std::vector<double>;
using Mat = std::vector<Vec>;  // row-major, D x D

// One instance of one function: everything random about it, drawn from (fid, D, seed).
struct BbobInstance {
  int fid = 0;
  int d = 0;
  Vec xopt;
  Mat r, q;                 // random rotations
  Vec sign;                 // random +-1 vector (f20, f24)
  std::vector<Vec> peaks;   // Gallagher's local optima y_i (f21, f22)
  std::vector<Vec> scales;  // their diagonal C_i (already divided by alpha_i^(1/4))
  Vec weights;              // their heights w_i
};

namespace bbob_detail {

inline Vec mat_vec(const Mat& m, const Vec& x) {
  Vec y(x.size(), 0.0);
  for (size_t i = 0; i < x.size(); ++i) {
    for (size_t j = 0; j < x.size(); ++j) y[i] += m[i][j] * x[j];
  }
  return y;
}

inline Mat random_rotation(int d, std::mt19937_64& rng) {  // Gram-Schmidt of a Gaussian matrix
  std::normal_distribution<double> n01;
  Mat m(static_cast<size_t>(d), Vec(static_cast<size_t>(d)));
  for (auto& row : m) {
    for (double& v : row) v = n01(rng);
  }
  for (size_t i = 0; i < m.size(); ++i) {
    for (size_t k = 0; k < i; ++k) {
      const double dot = std::inner_product(m[i].begin(), m[i].end(), m[k].begin(), 0.0);
      for (size_t j = 0; j < m.size(); ++j) m[i][j] -= dot * m[k][j];
    }
    const double norm = std::sqrt(std::inner_product(m[i].begin(), m[i].end(), m[i].begin(), 0.0));
    for (double& v : m[i]) v /= norm;
  }
  return m;
}

inline double t_osz(double x) {
  if (x == 0) return 0;
  const double xh = std::log(std::abs(x));
  const double c1 = x > 0 ? 10 : 5.5, c2 = x > 0 ? 7.9 : 3.1;
  return (x > 0 ? 1 : -1) * std::exp(xh + 0.049 * (std::sin(c1 * xh) + std::sin(c2 * xh)));
}

inline Vec t_osz(Vec x) {
  for (double& v : x) v = t_osz(v);
  return x;
}

inline double ramp(size_t i, size_t d) { return d > 1 ? static_cast<double>(i) / static_cast<double>(d - 1) : 0.0; }

inline Vec t_asy(Vec x, double beta) {
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] > 0) x[i] = std::pow(x[i], 1 + beta * ramp(i, x.size()) * std::sqrt(x[i]));
  }
  return x;
}

inline Vec lambda(Vec x, double alpha) {  // Lambda^alpha x
  for (size_t i = 0; i < x.size(); ++i) x[i] *= std::pow(alpha, 0.5 * ramp(i, x.size()));
  return x;
}

inline double f_pen(const Vec& x) {
  double s = 0;
  for (double v : x) s += std::pow(std::max(0.0, std::abs(v) - 5), 2);
  return s;
}

inline Vec minus(const Vec& a, const Vec& b) {
  Vec y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] - b[i];
  return y;
}

inline double rastrigin_sum(const Vec& z) {
  double c = 0, s = 0;
  for (double v : z) {
    c += std::cos(2 * M_PI * v);
    s += v * v;
  }
  return 10 * (static_cast<double>(z.size()) - c) + s;
}

inline double rosenbrock_sum(const Vec& z) {
  double s = 0;
  for (size_t i = 0; i + 1 < z.size(); ++i) s += 100 * std::pow(z[i] * z[i] - z[i + 1], 2) + std::pow(z[i] - 1, 2);
  return s;
}

inline double ellipsoid_sum(const Vec& z) {
  double s = 0;
  for (size_t i = 0; i < z.size(); ++i) s += std::pow(10.0, 6 * ramp(i, z.size())) * z[i] * z[i];
  return s;
}

}  // namespace bbob_detail

// The functions this benchmark implements (BBOB numbering).
inline const std::vector<int>& bbob_function_ids() {
  static const std::vector<int> ids = {2, 3, 4, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 24};
  return ids;
}

inline BbobInstance make_bbob_instance(int fid, int d, uint64_t seed) {
  using namespace bbob_detail;
  if (std::find(bbob_function_ids().begin(), bbob_function_ids().end(), fid) == bbob_function_ids().end()) {
    throw std::invalid_argument("bbob: no function f" + std::to_string(fid));
  }
  std::mt19937_64 rng(seed * 1000003ULL + static_cast<uint64_t>(fid) * 101ULL + static_cast<uint64_t>(d));
  std::uniform_real_distribution<double> u(-4, 4);
  BbobInstance in;
  in.fid = fid;
  in.d = d;
  const size_t n = static_cast<size_t>(d);
  in.xopt.resize(n);
  for (double& v : in.xopt) v = u(rng);
  in.r = random_rotation(d, rng);
  in.q = random_rotation(d, rng);
  in.sign.resize(n);
  for (double& v : in.sign) v = std::bernoulli_distribution(0.5)(rng) ? 1.0 : -1.0;
  if (fid == 4) {
    for (size_t i = 0; i < n; i += 2) in.xopt[i] = std::abs(in.xopt[i]);  // odd coordinates (1-based) positive
  }
  if (fid == 20) {
    for (size_t i = 0; i < n; ++i) in.xopt[i] = 4.2096874633 / 2 * in.sign[i];
  }
  if (fid == 24) {
    for (size_t i = 0; i < n; ++i) in.xopt[i] = 2.5 / 2 * in.sign[i];
  }
  if (fid == 9 || fid == 19) {  // no shift: the optimum is where c R x + 1/2 = 1
    const double c = std::max(1.0, std::sqrt(static_cast<double>(d)) / 8);
    for (size_t j = 0; j < n; ++j) {
      in.xopt[j] = 0;
      for (size_t i = 0; i < n; ++i) in.xopt[j] += in.r[i][j] * 0.5 / c;
    }
  }
  if (fid == 21 || fid == 22) {
    const int m = fid == 21 ? 101 : 21;
    const double first = fid == 21 ? 4 : 3.92, rest = fid == 21 ? 5 : 4.9;
    std::vector<double> alphas;  // condition numbers of the other peaks, shuffled
    for (int j = 0; j < m - 1; ++j) alphas.push_back(std::pow(1000.0, 2.0 * j / (m - 2)));
    std::shuffle(alphas.begin(), alphas.end(), rng);
    for (int i = 0; i < m; ++i) {
      const double bound = i == 0 ? first : rest;
      Vec y(n);
      for (double& v : y) v = std::uniform_real_distribution<double>(-bound, bound)(rng);
      const double alpha = i == 0 ? (fid == 21 ? 1000.0 : 1e6) : alphas[static_cast<size_t>(i - 1)];
      Vec c = lambda(Vec(n, 1.0), alpha);
      std::shuffle(c.begin(), c.end(), rng);
      for (double& v : c) v /= std::pow(alpha, 0.25);
      in.peaks.push_back(std::move(y));
      in.scales.push_back(std::move(c));
      in.weights.push_back(i == 0 ? 10.0 : 1.1 + 8.0 * (i - 1) / (m - 2));
    }
    in.xopt = in.peaks[0];
  }
  return in;
}

// One function per BBOB group (the families of bench/search_suite.h).
namespace bbob_detail {

inline double separable(const BbobInstance& in, const Vec& x) {
  const size_t n = x.size();
  [[maybe_unused]] const double dd = static_cast<double>(n);
  switch (in.fid) {
    case 2:
      return ellipsoid_sum(t_osz(minus(x, in.xopt)));
    case 3:
      return rastrigin_sum(lambda(t_asy(t_osz(minus(x, in.xopt)), 0.2), 10));
    case 4: {
      Vec z = t_osz(minus(x, in.xopt));
      for (size_t i = 0; i < n; ++i) {
        const double s = std::pow(10.0, 0.5 * ramp(i, n));
        z[i] *= (z[i] > 0 && i % 2 == 0) ? 10 * s : s;
      }
      return rastrigin_sum(z) + 100 * f_pen(x);
    }
    default:
      throw std::invalid_argument("bbob: no function f" + std::to_string(in.fid));
  }
}

inline double moderate(const BbobInstance& in, const Vec& x) {
  const size_t n = x.size();
  [[maybe_unused]] const double dd = static_cast<double>(n);
  switch (in.fid) {
    case 6: {
      const Vec z = mat_vec(in.q, lambda(mat_vec(in.r, minus(x, in.xopt)), 10));
      double s = 0;
      for (size_t i = 0; i < n; ++i) s += std::pow((z[i] * in.xopt[i] > 0 ? 100 : 1) * z[i], 2);
      return std::pow(t_osz(s), 0.9);
    }
    case 7: {
      const Vec zh = lambda(mat_vec(in.r, minus(x, in.xopt)), 10);
      Vec zt(n);
      for (size_t i = 0; i < n; ++i) {
        zt[i] = std::abs(zh[i]) > 0.5 ? std::floor(0.5 + zh[i]) : std::floor(0.5 + 10 * zh[i]) / 10;
      }
      const Vec z = mat_vec(in.q, zt);
      double s = 0;
      for (size_t i = 0; i < n; ++i) s += std::pow(10.0, 2 * ramp(i, n)) * z[i] * z[i];
      return 0.1 * std::max(std::abs(zh[0]) / 1e4, s) + f_pen(x);
    }
    case 9: {
      Vec z = mat_vec(in.r, x);
      for (double& v : z) v = std::max(1.0, std::sqrt(dd) / 8) * v + 0.5;
      return rosenbrock_sum(z);
    }
    default:
      throw std::invalid_argument("bbob: no function f" + std::to_string(in.fid));
  }
}

inline double ill_conditioned(const BbobInstance& in, const Vec& x) {
  const size_t n = x.size();
  [[maybe_unused]] const double dd = static_cast<double>(n);
  switch (in.fid) {
    case 10:
      return ellipsoid_sum(t_osz(mat_vec(in.r, minus(x, in.xopt))));
    case 11: {
      const Vec z = t_osz(mat_vec(in.r, minus(x, in.xopt)));
      double s = 1e6 * z[0] * z[0];
      for (size_t i = 1; i < n; ++i) s += z[i] * z[i];
      return s;
    }
    case 12: {
      const Vec z = mat_vec(in.r, t_asy(mat_vec(in.r, minus(x, in.xopt)), 0.5));
      double s = z[0] * z[0];
      for (size_t i = 1; i < n; ++i) s += 1e6 * z[i] * z[i];
      return s;
    }
    case 13: {
      const Vec z = mat_vec(in.q, lambda(mat_vec(in.r, minus(x, in.xopt)), 10));
      double s = 0;
      for (size_t i = 1; i < n; ++i) s += z[i] * z[i];
      return z[0] * z[0] + 100 * std::sqrt(s);
    }
    case 14: {
      const Vec z = mat_vec(in.r, minus(x, in.xopt));
      double s = 0;
      for (size_t i = 0; i < n; ++i) s += std::pow(std::abs(z[i]), 2 + 4 * ramp(i, n));
      return std::sqrt(s);
    }
    default:
      throw std::invalid_argument("bbob: no function f" + std::to_string(in.fid));
  }
}

inline double multimodal(const BbobInstance& in, const Vec& x) {
  const size_t n = x.size();
  [[maybe_unused]] const double dd = static_cast<double>(n);
  switch (in.fid) {
    case 15:
      return rastrigin_sum(
          mat_vec(in.r, lambda(mat_vec(in.q, t_asy(t_osz(mat_vec(in.r, minus(x, in.xopt))), 0.2)), 10)));
    case 16: {
      const Vec z = mat_vec(in.r, lambda(mat_vec(in.q, t_osz(mat_vec(in.r, minus(x, in.xopt)))), 0.01));
      double f0 = 0, s = 0;
      for (int k = 0; k < 12; ++k) f0 += std::pow(0.5, k) * std::cos(M_PI * std::pow(3.0, k));
      for (double v : z) {
        for (int k = 0; k < 12; ++k) s += std::pow(0.5, k) * std::cos(2 * M_PI * std::pow(3.0, k) * (v + 0.5));
      }
      return 10 * std::pow(s / dd - f0, 3) + 10 / dd * f_pen(x);
    }
    case 17: {
      const Vec z = lambda(mat_vec(in.q, t_asy(mat_vec(in.r, minus(x, in.xopt)), 0.5)), 10);
      double s = 0;
      for (size_t i = 0; i + 1 < n; ++i) {
        const double si = std::sqrt(z[i] * z[i] + z[i + 1] * z[i + 1]);
        s += std::sqrt(si) + std::sqrt(si) * std::pow(std::sin(50 * std::pow(si, 0.2)), 2);
      }
      return std::pow(s / (dd - 1), 2) + 10 * f_pen(x);
    }
    case 19: {
      Vec z = mat_vec(in.r, x);
      for (double& v : z) v = std::max(1.0, std::sqrt(dd) / 8) * v + 0.5;
      double s = 0;
      for (size_t i = 0; i + 1 < n; ++i) {
        const double si = 100 * std::pow(z[i] * z[i] - z[i + 1], 2) + std::pow(z[i] - 1, 2);
        s += si / 4000 - std::cos(si);
      }
      return 10 / (dd - 1) * s + 10;
    }
    default:
      throw std::invalid_argument("bbob: no function f" + std::to_string(in.fid));
  }
}

inline double weak_structure(const BbobInstance& in, const Vec& x) {
  const size_t n = x.size();
  [[maybe_unused]] const double dd = static_cast<double>(n);
  switch (in.fid) {
    case 20: {
      Vec xh(n), zh(n), z(n);
      for (size_t i = 0; i < n; ++i) xh[i] = 2 * in.sign[i] * x[i];
      zh[0] = xh[0];
      for (size_t i = 1; i < n; ++i) zh[i] = xh[i] + 0.25 * (xh[i - 1] - 2 * std::abs(in.xopt[i - 1]));
      for (size_t i = 0; i < n; ++i) zh[i] -= 2 * std::abs(in.xopt[i]);
      zh = lambda(zh, 10);
      for (size_t i = 0; i < n; ++i) z[i] = 100 * (zh[i] + 2 * std::abs(in.xopt[i]));
      double s = 0;
      Vec scaled(n);
      for (size_t i = 0; i < n; ++i) {
        s += z[i] * std::sin(std::sqrt(std::abs(z[i])));
        scaled[i] = z[i] / 100;
      }
      return -s / (100 * dd) + 4.189828872724339 + 100 * f_pen(scaled);
    }
    case 21:
    case 22: {
      double best = 0;
      for (size_t p = 0; p < in.peaks.size(); ++p) {
        const Vec z = mat_vec(in.r, minus(x, in.peaks[p]));
        double quad = 0;
        for (size_t i = 0; i < n; ++i) quad += in.scales[p][i] * z[i] * z[i];
        best = std::max(best, in.weights[p] * std::exp(-quad / (2 * dd)));
      }
      return std::pow(t_osz(10 - best), 2) + f_pen(x);
    }
    case 24: {
      const double mu0 = 2.5, s = 1 - 1 / (2 * std::sqrt(dd + 20) - 8.2), mu1 = -std::sqrt((mu0 * mu0 - 1) / s);
      Vec xh(n);
      for (size_t i = 0; i < n; ++i) xh[i] = 2 * in.sign[i] * x[i];
      double a = 0, b = 0;
      for (double v : xh) {
        a += (v - mu0) * (v - mu0);
        b += (v - mu1) * (v - mu1);
      }
      Vec shifted(n);
      for (size_t i = 0; i < n; ++i) shifted[i] = xh[i] - mu0;
      const Vec z = mat_vec(in.q, lambda(mat_vec(in.r, shifted), 100));
      double c = 0;
      for (double v : z) c += std::cos(2 * M_PI * v);
      return std::min(a, dd + s * b) + 10 * (dd - c) + 1e4 * f_pen(x);
    }
    default:
      throw std::invalid_argument("bbob: no function f" + std::to_string(in.fid));
  }
}

}  // namespace bbob_detail

// f(x) - f_opt for x in [-5, 5]^D (outside, the f_pen terms take over as in BBOB).
inline double bbob_value(const BbobInstance& in, const Vec& x) {
  if (in.fid <= 4) return bbob_detail::separable(in, x);
  if (in.fid <= 9) return bbob_detail::moderate(in, x);
  if (in.fid <= 14) return bbob_detail::ill_conditioned(in, x);
  if (in.fid <= 19) return bbob_detail::multimodal(in, x);
  return bbob_detail::weak_structure(in, x);
}

}  // namespace tune::bench
