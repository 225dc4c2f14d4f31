// Tests of examples/digits_model.h: the digits CSV, the seeded split and the MLP the tuning example trains.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

// The examples are not on the include path of the test binary; the header lives beside them.
#include "../../examples/digits_model.h"

namespace {

namespace fs = std::filesystem;

const std::string kCsv = std::string(TUNE_SOURCE_DIR) + "/data/digits.csv";

const digits::Dataset& dataset() {
  static const digits::Dataset data = digits::load_csv(kCsv);
  return data;
}

// A per-test scratch file, unique so parallel ctest processes do not collide.
fs::path scratch(const std::string& name) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return fs::path(::testing::TempDir()) /
         ("digits_" + std::string(info->name()) + "_" + std::to_string(std::random_device{}()) + "_" + name);
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

struct Trained {
  digits::Mlp model;
  double loss;
};

Trained train(int hidden, double lr, int epochs, const digits::Split& split) {
  const digits::Dataset& data = dataset();
  digits::Mlp model(data.d, hidden, 10, /*seed=*/1);
  std::mt19937_64 rng(2);
  double loss = 0;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    loss = model.train_epoch(data, split.train, lr, /*momentum=*/0.9, /*l2=*/1e-4, /*batch=*/32, rng);
  }
  return {std::move(model), loss};
}

TEST(DigitsData, LoadsAllRowsScaledToUnitRange) {
  const digits::Dataset& data = dataset();
  EXPECT_EQ(data.n, 1797);
  EXPECT_EQ(data.d, 64);
  ASSERT_EQ(data.x.size(), 1797U * 64U);
  ASSERT_EQ(data.y.size(), 1797U);
  EXPECT_EQ(digits::num_classes(data), 10);
  std::vector<int> per_class(10, 0);
  for (int label : data.y) {
    ASSERT_GE(label, 0);
    ASSERT_LE(label, 9);
    ++per_class[static_cast<size_t>(label)];
  }
  for (int count : per_class) EXPECT_GE(count, 170);
  float lo = 1;
  float hi = 0;
  for (float v : data.x) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_EQ(lo, 0.0F);
  EXPECT_EQ(hi, 1.0F);
  // First row of the file: "0,0,5,13,9,1,..." with label 0.
  EXPECT_FLOAT_EQ(data.row(0)[2], 5.0F / 16.0F);
  EXPECT_FLOAT_EQ(data.row(0)[3], 13.0F / 16.0F);
  EXPECT_EQ(data.y[0], 0);
}

TEST(DigitsData, RejectsMissingAndMalformedFiles) {
  EXPECT_THROW(digits::load_csv("/nonexistent/digits.csv"), std::runtime_error);
  const fs::path ragged = scratch("ragged.csv");
  write_file(ragged, "1,2,3,0\n1,2,1\n");
  EXPECT_THROW(digits::load_csv(ragged.string()), std::runtime_error);
  const fs::path text = scratch("text.csv");
  write_file(text, "1,x,3,0\n");
  EXPECT_THROW(digits::load_csv(text.string()), std::runtime_error);
  const fs::path range = scratch("range.csv");
  write_file(range, "1,17,3,0\n");
  EXPECT_THROW(digits::load_csv(range.string()), std::runtime_error);
  const fs::path label = scratch("label.csv");
  write_file(label, "1,2,3,1.5\n");
  EXPECT_THROW(digits::load_csv(label.string()), std::runtime_error);
  const fs::path ok = scratch("ok.csv");
  write_file(ok, "0,16,8,3\r\n16,0,4,1\r\n");
  const digits::Dataset small = digits::load_csv(ok.string());
  EXPECT_EQ(small.n, 2);
  EXPECT_EQ(small.d, 3);
  EXPECT_EQ(small.y, (std::vector<int>{3, 1}));
  EXPECT_EQ(small.x, (std::vector<float>{0.0F, 1.0F, 0.5F, 1.0F, 0.0F, 0.25F}));
  for (const fs::path& path : {ragged, text, range, label, ok}) fs::remove(path);
}

TEST(DigitsSplit, IsSeededDisjointAndComplete) {
  const digits::Split split = digits::train_test_split(1797, 0.2, 0);
  EXPECT_EQ(split.train.size(), 1438U);
  EXPECT_EQ(split.test.size(), 359U);
  std::set<int> all(split.train.begin(), split.train.end());
  all.insert(split.test.begin(), split.test.end());
  EXPECT_EQ(all.size(), 1797U);
  EXPECT_EQ(*all.begin(), 0);
  EXPECT_EQ(*all.rbegin(), 1796);
  const digits::Split again = digits::train_test_split(1797, 0.2, 0);
  EXPECT_EQ(split.train, again.train);
  EXPECT_EQ(split.test, again.test);
  EXPECT_NE(split.test, digits::train_test_split(1797, 0.2, 1).test);
  EXPECT_THROW(digits::train_test_split(10, 1.5, 0), std::invalid_argument);
}

TEST(DigitsMlp, SensibleConfigLearnsTheDigits) {
  const digits::Split split = digits::train_test_split(dataset().n, 0.2, 0);
  const Trained fresh = train(64, 0.05, 0, split);
  const double chance = fresh.model.accuracy(dataset(), split.test);
  const Trained trained = train(64, 0.05, 20, split);
  const double accuracy = trained.model.accuracy(dataset(), split.test);
  EXPECT_GT(accuracy, 0.9);
  EXPECT_LT(chance, 0.5);
  EXPECT_LT(trained.loss, 0.2);
}

TEST(DigitsMlp, TrainingIsDeterministicForFixedSeeds) {
  const digits::Split split = digits::train_test_split(dataset().n, 0.2, 0);
  const Trained first = train(16, 0.05, 2, split);
  const Trained second = train(16, 0.05, 2, split);
  EXPECT_EQ(first.loss, second.loss);
  EXPECT_EQ(first.model.predict(dataset(), split.test), second.model.predict(dataset(), split.test));
}

TEST(DigitsMlp, TinyLearningRateStaysNearChance) {
  const digits::Split split = digits::train_test_split(dataset().n, 0.2, 0);
  const Trained trained = train(16, 1e-6, 20, split);
  EXPECT_LT(trained.model.accuracy(dataset(), split.test), 0.5);
  EXPECT_GT(trained.loss, 1.5);  // cross-entropy of a near-uniform guess over 10 classes is ~2.3
}

TEST(DigitsMlp, SaveLoadRestoresPredictionsAndTrainingState) {
  const digits::Dataset& data = dataset();
  const digits::Split split = digits::train_test_split(data.n, 0.2, 0);
  Trained trained = train(16, 0.05, 3, split);
  const fs::path path = scratch("model.bin");
  trained.model.save(path.string());
  digits::Mlp loaded = digits::Mlp::load(path.string());
  fs::remove(path);
  EXPECT_EQ(loaded.d(), 64);
  EXPECT_EQ(loaded.hidden(), 16);
  EXPECT_EQ(loaded.classes(), 10);
  std::vector<int> every_row(static_cast<size_t>(data.n));
  for (int i = 0; i < data.n; ++i) every_row[static_cast<size_t>(i)] = i;
  EXPECT_EQ(loaded.predict(data, every_row), trained.model.predict(data, every_row));
  // The momentum buffers travel too: one more epoch from either copy gives the same loss.
  std::mt19937_64 rng_a(7);
  std::mt19937_64 rng_b(7);
  EXPECT_EQ(trained.model.train_epoch(data, split.train, 0.05, 0.9, 1e-4, 32, rng_a),
            loaded.train_epoch(data, split.train, 0.05, 0.9, 1e-4, 32, rng_b));
  EXPECT_EQ(loaded.predict(data, every_row), trained.model.predict(data, every_row));
}

TEST(DigitsMlp, LoadRejectsForeignAndTruncatedFiles) {
  EXPECT_THROW(digits::Mlp::load("/nonexistent/model.bin"), std::runtime_error);
  const fs::path foreign = scratch("foreign.bin");
  write_file(foreign, "not a model at all");
  EXPECT_THROW(digits::Mlp::load(foreign.string()), std::runtime_error);
  const fs::path path = scratch("model.bin");
  digits::Mlp(64, 8, 10, 3).save(path.string());
  const auto size = fs::file_size(path);
  fs::resize_file(path, size - 4);
  EXPECT_THROW(digits::Mlp::load(path.string()), std::runtime_error);
  fs::remove(foreign);
  fs::remove(path);
}

TEST(DigitsMlp, RejectsBadArguments) {
  EXPECT_THROW(digits::Mlp(64, 0, 10, 0), std::invalid_argument);
  EXPECT_THROW(digits::Mlp(0, 8, 10, 0), std::invalid_argument);
  EXPECT_THROW(digits::Mlp(64, 8, 1, 0), std::invalid_argument);
  digits::Mlp model(32, 8, 10, 0);
  std::mt19937_64 rng(0);
  EXPECT_THROW(model.accuracy(dataset(), {0}), std::invalid_argument);  // 64 features, model expects 32
  digits::Mlp right(64, 8, 10, 0);
  EXPECT_THROW(right.train_epoch(dataset(), {0, 1}, 0.1, 0.9, 0, 0, rng), std::invalid_argument);
  EXPECT_THROW(right.accuracy(dataset(), {dataset().n}), std::out_of_range);
  digits::Mlp binary(64, 8, 2, 0);  // labels 2..9 do not fit two classes
  EXPECT_THROW(binary.train_epoch(dataset(), {2}, 0.1, 0.9, 0, 1, rng), std::invalid_argument);
}

}  // namespace
