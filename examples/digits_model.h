// digits_model.h — a small handwritten-digit classifier in plain C++ for the tuning examples.
//
// Header-only and independent of tune: load_csv() reads data/digits.csv (UCI optical digits,
// 8x8 pixels in 0..16 + label), train_test_split() makes a seeded split, and Mlp is a
// one-hidden-layer perceptron (ReLU, softmax, cross-entropy) trained by mini-batch SGD with
// momentum and L2 weight decay. Everything is deterministic for a given seed: the random
// numbers come straight from std::mt19937_64 (whose output the standard fixes), never from
// the library-specific std:: distributions or std::shuffle.
// Errors (unreadable or malformed files, bad arguments) throw std::runtime_error or
// std::invalid_argument naming the file, line or argument.
// Thread-safety: a const Dataset and a const Mlp may be shared between threads; training
// mutates the Mlp and needs exclusive access.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace digits {

// Pixels of the digits data range over 0..16 (on-pixels counted in a 4x4 block).
inline constexpr float kMaxPixel = 16.0F;

struct Dataset {
  std::vector<float> x;  // n rows of d features, row-major, scaled to [0, 1]
  std::vector<int> y;    // n labels
  int n = 0;
  int d = 0;

  const float* row(int i) const { return x.data() + static_cast<size_t>(i) * static_cast<size_t>(d); }
};

// Number of classes: the largest label + 1 (10 for the digits).
inline int num_classes(const Dataset& data) {
  return data.y.empty() ? 0 : *std::max_element(data.y.begin(), data.y.end()) + 1;
}

// Reads a header-less CSV of rows "f_1,...,f_d,label" with features in 0..16 and an integer
// label >= 0. Every row must have the same number of columns.
inline Dataset load_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("digits::load_csv: cannot open '" + path + "'");
  Dataset data;
  std::string line;
  std::vector<float> values;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto fail = [&](const std::string& why) {
      return std::runtime_error("digits::load_csv: " + path + ":" + std::to_string(line_no) + ": " + why);
    };
    values.clear();
    const char* p = line.data();
    const char* end = p + line.size();
    while (true) {
      float value = 0;
      auto [next, ec] = std::from_chars(p, end, value);
      if (ec != std::errc() || !std::isfinite(value)) {
        throw fail("column " + std::to_string(values.size() + 1) + " is not a number");
      }
      values.push_back(value);
      if (next == end) break;
      if (*next != ',') throw fail("expected ',' after column " + std::to_string(values.size()));
      p = next + 1;
    }
    if (values.size() < 2) throw fail("a row needs at least one feature and a label");
    const int d = static_cast<int>(values.size()) - 1;
    if (data.n == 0) {
      data.d = d;
    } else if (d != data.d) {
      throw fail("has " + std::to_string(d + 1) + " columns, earlier rows have " + std::to_string(data.d + 1));
    }
    for (int j = 0; j < d; ++j) {
      if (values[j] < 0 || values[j] > kMaxPixel) {
        throw fail("feature " + std::to_string(j + 1) + " must be in 0..16");
      }
      data.x.push_back(values[j] / kMaxPixel);
    }
    const float label = values.back();
    if (label < 0 || label != std::floor(label) || label > 1e6F) {
      throw fail("the label (last column) must be an integer >= 0");
    }
    data.y.push_back(static_cast<int>(label));
    ++data.n;
  }
  if (data.n == 0) throw std::runtime_error("digits::load_csv: '" + path + "' has no rows");
  return data;
}

// A uniformly random integer in [0, bound) from the raw engine output (bias < 2^-50 here).
inline uint64_t random_below(std::mt19937_64& rng, uint64_t bound) { return rng() % bound; }

// A uniformly random double in [0, 1) from the top 53 bits.
inline double random_unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Fisher-Yates; written out because std::shuffle's sequence differs between standard libraries.
inline void shuffle(std::vector<int>& items, std::mt19937_64& rng) {
  for (size_t i = items.size(); i > 1; --i) {
    std::swap(items[i - 1], items[random_below(rng, i)]);
  }
}

struct Split {
  std::vector<int> train;  // row indices
  std::vector<int> test;
};

// Shuffles rows 0..n-1 with `seed` and holds out round(n * test_fraction) of them for testing.
inline Split train_test_split(int n, double test_fraction = 0.2, uint64_t seed = 0) {
  if (n < 0) throw std::invalid_argument("digits::train_test_split: n must be >= 0");
  if (!(test_fraction >= 0 && test_fraction <= 1)) {
    throw std::invalid_argument("digits::train_test_split: test_fraction must be in [0, 1]");
  }
  std::vector<int> order(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  std::mt19937_64 rng(seed);
  shuffle(order, rng);
  const auto num_test = static_cast<size_t>(std::lround(n * test_fraction));
  Split split;
  split.test.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(num_test));
  split.train.assign(order.begin() + static_cast<std::ptrdiff_t>(num_test), order.end());
  return split;
}

namespace detail {

// y += a * x. Blocks of 8 with a fixed inner trip count let GCC vectorise it at -O2 too, where
// its cost model refuses loops that need a scalar epilogue.
inline void axpy(float a, const float* __restrict x, float* __restrict y, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
#pragma GCC unroll 8
    for (size_t t = 0; t < 8; ++t) y[i + t] += a * x[i + t];
  }
  for (; i < n; ++i) y[i] += a * x[i];
}

// y = max(y, 0), blocked like axpy.
inline void relu(float* y, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
#pragma GCC unroll 8
    for (size_t t = 0; t < 8; ++t) y[i + t] = y[i + t] > 0.0F ? y[i + t] : 0.0F;
  }
  for (; i < n; ++i) y[i] = y[i] > 0.0F ? y[i] : 0.0F;
}

// SGD with momentum on n parameters: v = momentum * v - lr * (g * scale + decay * w); w += v.
inline void sgd_step(float* __restrict w, float* __restrict v, const float* __restrict g, size_t n, float lr,
                     float momentum, float scale, float decay) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
#pragma GCC unroll 8
    for (size_t t = 0; t < 8; ++t) {
      v[i + t] = momentum * v[i + t] - lr * (g[i + t] * scale + decay * w[i + t]);
      w[i + t] += v[i + t];
    }
  }
  for (; i < n; ++i) {
    v[i] = momentum * v[i] - lr * (g[i] * scale + decay * w[i]);
    w[i] += v[i];
  }
}

}  // namespace detail

// input (d) -> ReLU hidden (hidden) -> softmax output (classes).
class Mlp {
 public:
  // He-uniform initial weights drawn from `seed`; zero biases.
  Mlp(int d, int hidden, int classes, uint64_t seed) : d_(d), hidden_(hidden), classes_(classes) {
    if (d < 1) throw std::invalid_argument("digits::Mlp: d must be >= 1");
    if (hidden < 1) throw std::invalid_argument("digits::Mlp: hidden must be >= 1");
    if (classes < 2) throw std::invalid_argument("digits::Mlp: classes must be >= 2");
    allocate();
    std::mt19937_64 rng(seed);
    auto init = [&rng](std::vector<float>& w, int fan_in) {
      const double limit = std::sqrt(6.0 / fan_in);
      for (float& v : w) v = static_cast<float>((2 * random_unit(rng) - 1) * limit);
    };
    init(w1_, d);
    init(w2_, hidden);
  }

  int d() const { return d_; }
  int hidden() const { return hidden_; }
  int classes() const { return classes_; }

  // One pass over the rows `idx` of `data` in an order shuffled by `rng`, in mini-batches of
  // `batch` rows (the last may be smaller). Each step: v = momentum * v - lr * (grad + l2 * w)
  // (no decay on biases), w += v. Returns the mean cross-entropy of the rows, each taken
  // before the step that uses it; NaN or inf once the weights have diverged.
  double train_epoch(const Dataset& data, const std::vector<int>& idx, double lr, double momentum, double l2,
                     int batch, std::mt19937_64& rng) {
    check_data(data);
    if (batch < 1) throw std::invalid_argument("digits::Mlp::train_epoch: batch must be >= 1");
    if (idx.empty()) return 0.0;
    std::vector<int> order = idx;
    shuffle(order, rng);
    std::vector<float> h(static_cast<size_t>(hidden_));
    std::vector<float> logits(static_cast<size_t>(classes_));
    std::vector<float> gh(static_cast<size_t>(hidden_));
    double loss_sum = 0;
    for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch)) {
      const size_t stop = std::min(order.size(), start + static_cast<size_t>(batch));
      zero_gradients();
      for (size_t r = start; r < stop; ++r) {
        const int i = order[r];
        check_label(data, i);
        loss_sum += accumulate_gradient(data.row(i), data.y[static_cast<size_t>(i)], h.data(), logits.data(),
                                        gh.data());
      }
      apply_step(static_cast<float>(lr), static_cast<float>(momentum), static_cast<float>(l2),
                 1.0F / static_cast<float>(stop - start));
    }
    return loss_sum / static_cast<double>(order.size());
  }

  // The most probable class of one row of d features.
  int predict(const float* x) const {
    std::vector<float> h(static_cast<size_t>(hidden_));
    std::vector<float> logits(static_cast<size_t>(classes_));
    forward(x, h.data(), logits.data());
    return argmax(logits.data());
  }

  std::vector<int> predict(const Dataset& data, const std::vector<int>& idx) const {
    check_data(data);
    std::vector<float> h(static_cast<size_t>(hidden_));
    std::vector<float> logits(static_cast<size_t>(classes_));
    std::vector<int> out;
    out.reserve(idx.size());
    for (int i : idx) {
      check_row(data, i);
      forward(data.row(i), h.data(), logits.data());
      out.push_back(argmax(logits.data()));
    }
    return out;
  }

  // Fraction of the rows `idx` classified correctly (0 when idx is empty).
  double accuracy(const Dataset& data, const std::vector<int>& idx) const {
    if (idx.empty()) return 0.0;
    const std::vector<int> predicted = predict(data, idx);
    size_t correct = 0;
    for (size_t r = 0; r < idx.size(); ++r) {
      correct += predicted[r] == data.y[static_cast<size_t>(idx[r])] ? 1 : 0;
    }
    return static_cast<double>(correct) / static_cast<double>(idx.size());
  }

  // Writes shape, weights and momentum buffers (so training resumes exactly) as raw floats in
  // the machine's byte order: checkpoints are read back on the machine that wrote them.
  void save(const std::string& path) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("digits::Mlp::save: cannot open '" + path + "' for writing");
    out.write(kMagic, sizeof kMagic);
    const int32_t shape[3] = {d_, hidden_, classes_};
    out.write(reinterpret_cast<const char*>(shape), sizeof shape);
    for (const std::vector<float>* buffer : buffers()) {
      out.write(reinterpret_cast<const char*>(buffer->data()),
                static_cast<std::streamsize>(buffer->size() * sizeof(float)));
    }
    out.close();
    if (!out) throw std::runtime_error("digits::Mlp::save: writing '" + path + "' failed");
  }

  // Reads what save() wrote; the result predicts and trains on exactly as the saved model did.
  static Mlp load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("digits::Mlp::load: cannot open '" + path + "'");
    auto fail = [&path](const std::string& why) {
      return std::runtime_error("digits::Mlp::load: '" + path + "' " + why);
    };
    char magic[sizeof kMagic] = {};
    in.read(magic, sizeof magic);
    if (!in || std::memcmp(magic, kMagic, sizeof magic) != 0) throw fail("is not a digits model file");
    int32_t shape[3] = {};
    in.read(reinterpret_cast<char*>(shape), sizeof shape);
    if (!in || shape[0] < 1 || shape[1] < 1 || shape[2] < 2 || shape[0] > kMaxDim || shape[1] > kMaxDim ||
        shape[2] > kMaxDim) {
      throw fail("has an invalid shape");
    }
    Mlp model(shape[0], shape[1], shape[2]);
    for (std::vector<float>* buffer : model.buffers()) {
      in.read(reinterpret_cast<char*>(buffer->data()), static_cast<std::streamsize>(buffer->size() * sizeof(float)));
      if (!in) throw fail("is truncated");
    }
    if (in.peek() != std::char_traits<char>::eof()) throw fail("has trailing bytes");
    return model;
  }

 private:
  static constexpr char kMagic[8] = {'D', 'G', 'T', 'M', 'L', 'P', '1', '\n'};
  static constexpr int32_t kMaxDim = 1 << 16;  // a sanity bound for shapes read from files

  // Zero weights; load() fills them.
  Mlp(int d, int hidden, int classes) : d_(d), hidden_(hidden), classes_(classes) { allocate(); }

  void allocate() {
    const auto d = static_cast<size_t>(d_);
    const auto h = static_cast<size_t>(hidden_);
    const auto c = static_cast<size_t>(classes_);
    for (std::vector<float>* w : {&w1_, &vw1_, &gw1_}) w->assign(d * h, 0.0F);
    for (std::vector<float>* w : {&b1_, &vb1_, &gb1_}) w->assign(h, 0.0F);
    for (std::vector<float>* w : {&w2_, &vw2_, &gw2_}) w->assign(h * c, 0.0F);
    for (std::vector<float>* w : {&b2_, &vb2_, &gb2_}) w->assign(c, 0.0F);
  }

  // The state save() writes, in order.
  std::vector<const std::vector<float>*> buffers() const {
    return {&w1_, &b1_, &w2_, &b2_, &vw1_, &vb1_, &vw2_, &vb2_};
  }
  std::vector<std::vector<float>*> buffers() { return {&w1_, &b1_, &w2_, &b2_, &vw1_, &vb1_, &vw2_, &vb2_}; }

  void check_data(const Dataset& data) const {
    if (data.d != d_) {
      throw std::invalid_argument("digits::Mlp: the data has " + std::to_string(data.d) +
                                  " features, the model expects " + std::to_string(d_));
    }
  }
  static void check_row(const Dataset& data, int i) {
    if (i < 0 || i >= data.n) throw std::out_of_range("digits::Mlp: row index " + std::to_string(i) + " out of range");
  }
  void check_label(const Dataset& data, int i) const {
    check_row(data, i);
    const int label = data.y[static_cast<size_t>(i)];
    if (label < 0 || label >= classes_) {
      throw std::invalid_argument("digits::Mlp: label " + std::to_string(label) + " of row " + std::to_string(i) +
                                  " is outside 0.." + std::to_string(classes_ - 1));
    }
  }

  int argmax(const float* logits) const {
    return static_cast<int>(std::max_element(logits, logits + classes_) - logits);
  }

  // Layouts make every inner loop a contiguous axpy: w1_ is [d][hidden], w2_ is [hidden][classes].
  // Zero inputs (half the pixels) and inactive units are skipped.
  void forward(const float* x, float* h, float* logits) const {
    const auto hn = static_cast<size_t>(hidden_);
    const auto cn = static_cast<size_t>(classes_);
    std::copy(b1_.begin(), b1_.end(), h);
    for (size_t j = 0; j < static_cast<size_t>(d_); ++j) {
      const float xj = x[j];
      if (xj != 0.0F) detail::axpy(xj, w1_.data() + j * hn, h, hn);
    }
    detail::relu(h, hn);
    std::copy(b2_.begin(), b2_.end(), logits);
    for (size_t k = 0; k < hn; ++k) {
      if (h[k] != 0.0F) detail::axpy(h[k], w2_.data() + k * cn, logits, cn);
    }
  }

  // Adds one row's gradient to gw*/gb*; returns its cross-entropy. `logits` becomes dLoss/dlogits.
  double accumulate_gradient(const float* x, int label, float* h, float* logits, float* gh) {
    const auto hn = static_cast<size_t>(hidden_);
    const auto cn = static_cast<size_t>(classes_);
    forward(x, h, logits);
    // Shifted by the largest logit so exp() cannot overflow: loss = log(sum exp(l - top)) - (l_y - top).
    const float top = *std::max_element(logits, logits + cn);
    const double shifted_label_logit = static_cast<double>(logits[label]) - top;
    double sum = 0;
    for (size_t c = 0; c < cn; ++c) {
      logits[c] = std::exp(logits[c] - top);
      sum += logits[c];
    }
    const double loss = std::log(sum) - shifted_label_logit;
    const auto inv = static_cast<float>(1.0 / sum);
    for (size_t c = 0; c < cn; ++c) logits[c] *= inv;  // softmax
    logits[label] -= 1.0F;                             // d(cross-entropy)/d(logits) = p - onehot
    for (size_t c = 0; c < cn; ++c) gb2_[c] += logits[c];
    for (size_t k = 0; k < hn; ++k) {
      const float hk = h[k];
      if (hk == 0.0F) {  // ReLU: no gradient through an inactive unit
        gh[k] = 0.0F;
        continue;
      }
      detail::axpy(hk, logits, gw2_.data() + k * cn, cn);
      const float* w = w2_.data() + k * cn;
      float back = 0.0F;
      for (size_t c = 0; c < cn; ++c) back += w[c] * logits[c];
      gh[k] = back;
    }
    for (size_t k = 0; k < hn; ++k) gb1_[k] += gh[k];
    for (size_t j = 0; j < static_cast<size_t>(d_); ++j) {
      if (x[j] != 0.0F) detail::axpy(x[j], gh, gw1_.data() + j * hn, hn);
    }
    return loss;
  }

  void zero_gradients() {
    for (std::vector<float>* g : {&gw1_, &gb1_, &gw2_, &gb2_}) std::fill(g->begin(), g->end(), 0.0F);
  }

  void apply_step(float lr, float momentum, float l2, float scale) {
    auto update = [&](std::vector<float>& w, std::vector<float>& v, const std::vector<float>& g, float decay) {
      detail::sgd_step(w.data(), v.data(), g.data(), w.size(), lr, momentum, scale, decay);
    };
    update(w1_, vw1_, gw1_, l2);
    update(b1_, vb1_, gb1_, 0.0F);
    update(w2_, vw2_, gw2_, l2);
    update(b2_, vb2_, gb2_, 0.0F);
  }

  int d_;
  int hidden_;
  int classes_;
  std::vector<float> w1_, b1_, w2_, b2_;      // parameters
  std::vector<float> vw1_, vb1_, vw2_, vb2_;  // momentum buffers
  std::vector<float> gw1_, gb1_, gw2_, gb2_;  // gradient scratch of the current batch (not saved)
};

}  // namespace digits
