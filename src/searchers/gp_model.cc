#include "searchers/gp_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "searchers/lbfgs.h"

namespace tune::detail {
namespace {

constexpr double kSqrt5 = 2.2360679774997896964;
constexpr double kLog2Pi = 1.8378770664093454836;
constexpr double kJitter = 1e-8;  // added to the diagonal on top of the fitted noise
constexpr double kInf = std::numeric_limits<double>::infinity();

// Bounds (natural scale) of the hyperparameters on standardised targets in the unit cube.
constexpr double kMinLength = 0.01, kMaxLength = 30;
constexpr double kMinSignal = 0.01, kMaxSignal = 50;
constexpr double kMinNoise = 1e-6, kMaxNoise = 1;

double sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

// Matérn 5/2 of the scaled squared distance r2, unit signal: (1 + sqrt5 r + 5/3 r2) e^(-sqrt5 r).
double matern(double r2) {
  const double r = std::sqrt(std::max(r2, 0.0));
  return (1 + kSqrt5 * r + 5.0 / 3.0 * r2) * std::exp(-kSqrt5 * r);
}
// -dk/d(r2) * 2 of the unit-signal kernel: (5/3) (1 + sqrt5 r) e^(-sqrt5 r).
double matern_slope(double r2) {
  const double r = std::sqrt(std::max(r2, 0.0));
  return 5.0 / 3.0 * (1 + kSqrt5 * r) * std::exp(-kSqrt5 * r);
}

}  // namespace

GaussianProcess::GaussianProcess(std::vector<bool> categorical, bool fit_noise)
    : categorical_(std::move(categorical)), fit_noise_(fit_noise), theta_(default_theta()) {}

Eigen::VectorXd GaussianProcess::lower_bounds() const {
  Eigen::VectorXd lo(num_hyperparameters());
  const Eigen::Index d = static_cast<Eigen::Index>(dims());
  lo.head(d).setConstant(std::log(kMinLength));
  lo(d) = std::log(kMinSignal);
  lo(d + 1) = std::log(kMinNoise);
  return lo;
}

Eigen::VectorXd GaussianProcess::upper_bounds() const {
  Eigen::VectorXd hi(num_hyperparameters());
  const Eigen::Index d = static_cast<Eigen::Index>(dims());
  hi.head(d).setConstant(std::log(kMaxLength));
  hi(d) = std::log(kMaxSignal);
  hi(d + 1) = std::log(fit_noise_ ? kMaxNoise : kMinNoise);
  return hi;
}

Eigen::VectorXd GaussianProcess::default_theta() const {
  Eigen::VectorXd theta(num_hyperparameters());
  const Eigen::Index d = static_cast<Eigen::Index>(dims());
  theta.head(d).setConstant(std::log(0.3));
  theta(d) = 0;
  theta(d + 1) = fit_noise_ ? std::log(1e-3) : std::log(kMinNoise);
  return theta;
}

Eigen::MatrixXd GaussianProcess::scaled_sq_distances(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                                                     const Eigen::VectorXd& inv_l2) const {
  Eigen::MatrixXd r2 = Eigen::MatrixXd::Zero(a.cols(), b.cols());
  for (Eigen::Index j = 0; j < a.rows(); ++j) {
    const double w = inv_l2(j);
    const bool cat = categorical_[static_cast<size_t>(j)];
    for (Eigen::Index q = 0; q < b.cols(); ++q) {
      const double bj = b(j, q);
      for (Eigen::Index p = 0; p < a.cols(); ++p) {
        const double diff = a(j, p) - bj;
        r2(p, q) += cat ? (diff != 0 ? w : 0.0) : w * diff * diff;
      }
    }
  }
  return r2;
}

double GaussianProcess::neg_log_posterior(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                          const Eigen::VectorXd& theta, Eigen::VectorXd* gradient) const {
  const Eigen::Index d = static_cast<Eigen::Index>(dims());
  const Eigen::Index n = x.cols();
  const Eigen::VectorXd l = theta.head(d).array().exp();
  const Eigen::VectorXd inv_l2 = l.array().square().inverse();
  const double signal = std::exp(theta(d));
  const double noise = std::exp(theta(d + 1));
  const Eigen::MatrixXd r2 = scaled_sq_distances(x, x, inv_l2);
  Eigen::MatrixXd kf = r2.unaryExpr([](double v) { return matern(v); }) * signal;
  Eigen::MatrixXd k = kf;
  k.diagonal().array() += noise + kJitter;
  const Eigen::LLT<Eigen::MatrixXd> llt(k);
  if (llt.info() != Eigen::Success) return kInf;
  const Eigen::VectorXd alpha = llt.solve(y);
  const Eigen::MatrixXd& factor = llt.matrixLLT();
  double log_det = 0;
  for (Eigen::Index i = 0; i < n; ++i) log_det += std::log(factor(i, i));
  double value = 0.5 * y.dot(alpha) + log_det + 0.5 * static_cast<double>(n) * kLog2Pi;
  // Priors on the natural parameters: Gamma(a, b) adds -(a - 1) log v + b v.
  for (Eigen::Index j = 0; j < d; ++j) value += -2 * theta(j) + 6 * l(j);
  value += -theta(d) + 0.15 * signal;
  if (fit_noise_) value += -0.1 * theta(d + 1) + 0.05 * noise;
  if (!std::isfinite(value)) return kInf;
  if (gradient == nullptr) return value;

  // d NLL / d theta_k = -1/2 tr(W dK/dtheta_k), W = alpha alpha^T - K^-1.
  Eigen::MatrixXd w = alpha * alpha.transpose() - llt.solve(Eigen::MatrixXd::Identity(n, n));
  gradient->resize(theta.size());
  // Length scales: dK_pq/dlog l_j = signal * slope(r2_pq) * dist_j(p, q) / l_j^2.
  const Eigen::MatrixXd g = w.cwiseProduct(r2.unaryExpr([](double v) { return matern_slope(v); })) * signal;
  for (Eigen::Index j = 0; j < d; ++j) {
    const bool cat = categorical_[static_cast<size_t>(j)];
    double s = 0;
    for (Eigen::Index q = 0; q < n; ++q) {
      const double xq = x(j, q);
      for (Eigen::Index p = 0; p < n; ++p) {
        const double diff = x(j, p) - xq;
        s += g(p, q) * (cat ? (diff != 0 ? 1.0 : 0.0) : diff * diff);
      }
    }
    (*gradient)(j) = -0.5 * s * inv_l2(j) + (-2 + 6 * l(j));
  }
  (*gradient)(d) = -0.5 * w.cwiseProduct(kf).sum() + (-1 + 0.15 * signal);
  (*gradient)(d + 1) = fit_noise_ ? -0.5 * w.trace() * noise + (-0.1 + 0.05 * noise) : 0.0;
  return value;
}

Eigen::VectorXd GaussianProcess::fit(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                     const std::vector<Eigen::VectorXd>& starts, int max_iterations) const {
  // Optimise z with theta = lo + (hi - lo) sigmoid(z): unconstrained, always inside the bounds.
  const Eigen::VectorXd lo = lower_bounds(), hi = upper_bounds();
  const Eigen::VectorXd span = hi - lo;
  const auto theta_of = [&](const Eigen::VectorXd& z) {
    Eigen::VectorXd theta(z.size());
    for (Eigen::Index i = 0; i < z.size(); ++i) theta(i) = lo(i) + span(i) * sigmoid(z(i));
    return theta;
  };
  const LbfgsObjective objective = [&](const Eigen::VectorXd& z, Eigen::VectorXd& grad_z) {
    const Eigen::VectorXd theta = theta_of(z);
    Eigen::VectorXd grad;
    const double value = neg_log_posterior(x, y, theta, &grad);
    if (!std::isfinite(value)) {
      grad_z = Eigen::VectorXd::Zero(z.size());
      return kInf;
    }
    grad_z.resize(z.size());
    for (Eigen::Index i = 0; i < z.size(); ++i) {
      const double s = sigmoid(z(i));
      grad_z(i) = grad(i) * span(i) * s * (1 - s);
    }
    return value;
  };
  LbfgsOptions options;
  options.max_iterations = max_iterations;
  options.gradient_tolerance = 1e-5;
  Eigen::VectorXd best = default_theta();
  double best_value = kInf;
  for (const Eigen::VectorXd& start : starts) {
    Eigen::VectorXd z(start.size());
    for (Eigen::Index i = 0; i < z.size(); ++i) {
      if (span(i) <= 0) {
        z(i) = 0;
        continue;
      }
      const double t = std::clamp((start(i) - lo(i)) / span(i), 1e-6, 1 - 1e-6);
      z(i) = std::log(t / (1 - t));
    }
    const LbfgsResult result = minimise_lbfgs(objective, z, options);
    if (result.value < best_value) {
      best_value = result.value;
      best = theta_of(result.x);
    }
  }
  return best;
}

void GaussianProcess::condition(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const Eigen::VectorXd& theta) {
  const Eigen::Index d = static_cast<Eigen::Index>(dims());
  theta_ = theta;
  x_ = x;
  inv_l2_ = (theta.head(d).array() * -2).exp();
  signal_ = std::exp(theta(d));
  const double noise = std::exp(theta(d + 1));
  Eigen::MatrixXd k = scaled_sq_distances(x, x, inv_l2_).unaryExpr([](double v) { return matern(v); }) * signal_;
  // More jitter until the factorisation succeeds (duplicated points with tiny noise).
  for (double jitter = kJitter; ; jitter *= 10) {
    Eigen::MatrixXd kn = k;
    kn.diagonal().array() += noise + jitter * signal_;
    llt_.compute(kn);
    if (llt_.info() == Eigen::Success || jitter > 1) break;
  }
  alpha_ = llt_.solve(y);
}

void GaussianProcess::predict(const Eigen::MatrixXd& xs, Eigen::VectorXd& mean, Eigen::VectorXd& variance) const {
  const Eigen::MatrixXd ks =
      scaled_sq_distances(x_, xs, inv_l2_).unaryExpr([](double v) { return matern(v); }) * signal_;  // n x m
  mean = ks.transpose() * alpha_;
  const Eigen::MatrixXd v = llt_.matrixL().solve(ks);
  variance = (signal_ - v.colwise().squaredNorm().array()).max(1e-12).matrix().transpose();
}

void GaussianProcess::predict(const Eigen::VectorXd& x, double& mean, double& variance, Eigen::VectorXd& dmean,
                              Eigen::VectorXd& dvariance) const {
  const Eigen::Index n = x_.cols();
  const Eigen::Index d = static_cast<Eigen::Index>(dims());
  const Eigen::MatrixXd r2 = scaled_sq_distances(x_, x, inv_l2_);  // n x 1
  Eigen::VectorXd k(n), slope(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    k(i) = signal_ * matern(r2(i, 0));
    slope(i) = signal_ * matern_slope(r2(i, 0));
  }
  mean = k.dot(alpha_);
  const Eigen::VectorXd v = llt_.matrixL().solve(k);
  variance = std::max(signal_ - v.squaredNorm(), 1e-12);
  const Eigen::VectorXd kinv_k = llt_.matrixU().solve(v);  // K^-1 k
  dmean = Eigen::VectorXd::Zero(d);
  dvariance = Eigen::VectorXd::Zero(d);
  for (Eigen::Index j = 0; j < d; ++j) {
    if (categorical_[static_cast<size_t>(j)]) continue;
    // dk_i/dx_j = -slope_i (x_j - X_ij) / l_j^2.
    double dm = 0, dv = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      const double dk = -slope(i) * (x(j) - x_(j, i)) * inv_l2_(j);
      dm += dk * alpha_(i);
      dv += dk * kinv_k(i);
    }
    dmean(j) = dm;
    dvariance(j) = -2 * dv;
  }
}

double log_h(double z) {
  constexpr double kHalfLog2Pi = 0.91893853320467274178;
  if (z > -8) {
    const double cdf = 0.5 * std::erfc(-z / std::sqrt(2.0));
    const double pdf = std::exp(-0.5 * z * z - kHalfLog2Pi);
    return std::log(std::max(z * cdf + pdf, 1e-300));
  }
  // h(z) = phi(z) (1/z^2 - 3/z^4 + 15/z^6 - 105/z^8 ...) for z -> -infinity.
  const double i2 = 1 / (z * z);
  return -0.5 * z * z - kHalfLog2Pi + std::log(i2 * (1 - i2 * (3 - i2 * (15 - 105 * i2))));
}

void h_ratios(double z, double& cdf_ratio, double& pdf_ratio) {
  constexpr double kHalfLog2Pi = 0.91893853320467274178;
  const double lh = log_h(z);
  const double log_pdf = -0.5 * z * z - kHalfLog2Pi;
  double log_cdf;
  if (z > -8) {
    log_cdf = std::log(std::max(0.5 * std::erfc(-z / std::sqrt(2.0)), 1e-300));
  } else {  // Phi(z) = phi(z) / |z| (1 - 1/z^2 + 3/z^4 - ...)
    const double i2 = 1 / (z * z);
    log_cdf = log_pdf - std::log(-z) + std::log(1 - i2 * (1 - i2 * (3 - 15 * i2)));
  }
  cdf_ratio = std::exp(log_cdf - lh);
  pdf_ratio = std::exp(log_pdf - lh);
}

}  // namespace tune::detail
