// Internal: the Gaussian process behind GPSearcher.
//
// A zero-mean GP with a Matérn-5/2 kernel and one length scale per dimension (ARD) on points in
// [0, 1]^d; a categorical dimension holds the category's index and contributes 1 to the squared
// distance when two categories differ, 0 when they are equal. Targets are expected
// standardised (mean 0, variance 1). Hyperparameters live in log space:
//   theta = [log l_1 .. log l_d, log signal variance, log noise variance]
// and are fitted by maximising the marginal likelihood times weak priors (Gamma(3, 6) on each
// length scale, Gamma(2, 0.15) on the signal variance, Gamma(1.1, 0.05) on the noise, as
// BoTorch's defaults) within fixed bounds, by L-BFGS from several starts. Not thread-safe.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <cstddef>
#include <vector>

namespace tune::detail {

class GaussianProcess {
 public:
  // categorical[j]: true when dimension j holds a category index.
  explicit GaussianProcess(std::vector<bool> categorical, bool fit_noise = true);

  size_t dims() const { return categorical_.size(); }
  size_t num_hyperparameters() const { return categorical_.size() + 2; }
  // Bounds of theta (log space) and a neutral start (l = 0.3, signal 1, noise 1e-3).
  Eigen::VectorXd lower_bounds() const;
  Eigen::VectorXd upper_bounds() const;
  Eigen::VectorXd default_theta() const;

  // The negative log posterior of y (n) at the columns of x (d x n) for theta, and its gradient
  // with respect to theta when gradient != nullptr. +infinity when K is not positive definite.
  double neg_log_posterior(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const Eigen::VectorXd& theta,
                           Eigen::VectorXd* gradient) const;
  // The best theta found by L-BFGS from each start (clamped into the bounds).
  Eigen::VectorXd fit(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const std::vector<Eigen::VectorXd>& starts,
                      int max_iterations) const;

  // Conditions the GP on (x, y) with theta; later predictions use them.
  void condition(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const Eigen::VectorXd& theta);
  // Posterior mean and variance of the latent function at the columns of xs.
  void predict(const Eigen::MatrixXd& xs, Eigen::VectorXd& mean, Eigen::VectorXd& variance) const;
  // At one point, with the gradients of mean and variance with respect to x (0 along
  // categorical dimensions).
  void predict(const Eigen::VectorXd& x, double& mean, double& variance, Eigen::VectorXd& dmean,
               Eigen::VectorXd& dvariance) const;
  const Eigen::VectorXd& theta() const { return theta_; }

 private:
  // Squared scaled distances between the columns of a and b.
  Eigen::MatrixXd scaled_sq_distances(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                                      const Eigen::VectorXd& inv_l2) const;

  std::vector<bool> categorical_;
  bool fit_noise_;
  Eigen::VectorXd theta_;
  Eigen::MatrixXd x_;
  Eigen::VectorXd alpha_;
  Eigen::LLT<Eigen::MatrixXd> llt_;
  double signal_ = 1;
  Eigen::VectorXd inv_l2_;
};

// Expected improvement over `best` (minimisation) in a numerically safe log form:
// log EI = log sigma + log h(z), z = (best - mean - xi) / sigma, h(z) = z Phi(z) + phi(z).
double log_h(double z);
// Phi(z) / h(z) and phi(z) / h(z), stable for very negative z.
void h_ratios(double z, double& cdf_ratio, double& pdf_ratio);

}  // namespace tune::detail
