// Tests of the descriptor budget (runner/descriptor_budget.h): a trial starts only while its
// descriptors fit under the soft RLIMIT_NOFILE, and always when nothing runs.
#include "runner/descriptor_budget.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <vector>

namespace tune::detail {
namespace {

// Sets the soft limit for the test's duration.
class SoftLimit {
 public:
  explicit SoftLimit(rlim_t soft) {
    ::getrlimit(RLIMIT_NOFILE, &before_);
    rlimit lowered = before_;
    lowered.rlim_cur = soft;
    ok_ = ::setrlimit(RLIMIT_NOFILE, &lowered) == 0;
  }
  ~SoftLimit() { ::setrlimit(RLIMIT_NOFILE, &before_); }
  bool ok() const { return ok_; }

 private:
  rlimit before_{};
  bool ok_ = false;
};

TEST(DescriptorBudgetTest, CountsTheOpenDescriptors) {
  const size_t before = count_open_descriptors();
  ASSERT_GT(before, 2u);  // stdin, stdout, stderr at least
  const int fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(count_open_descriptors(), before + 1);
  ::close(fd);
  EXPECT_EQ(count_open_descriptors(), before);
}

TEST(DescriptorBudgetTest, ATrialWaitsWhenItsDescriptorsWouldNotFitAndNeverWhenNothingRuns) {
  const size_t open = count_open_descriptors();
  const size_t need = DescriptorBudget::kPerTrial + DescriptorBudget::kReserve;
  {
    const SoftLimit limit(open + need - 1);
    ASSERT_TRUE(limit.ok());
    DescriptorBudget budget;
    EXPECT_FALSE(budget.room_for_a_trial(1));
    EXPECT_TRUE(budget.room_for_a_trial(0));  // nothing runs: tried, never stuck
  }
  {
    const SoftLimit limit(open + need + 4);
    ASSERT_TRUE(limit.ok());
    DescriptorBudget budget;
    EXPECT_TRUE(budget.room_for_a_trial(1));
  }
}

TEST(DescriptorBudgetTest, TrialsStartedSinceTheLastCountAreReckonedUntilCountedAgain) {
  const size_t open = count_open_descriptors();
  const size_t need = DescriptorBudget::kPerTrial + DescriptorBudget::kReserve;
  const SoftLimit limit(open + need + DescriptorBudget::kPerTrial);
  ASSERT_TRUE(limit.ok());
  DescriptorBudget budget;
  ASSERT_TRUE(budget.room_for_a_trial(1));
  budget.trial_started();
  // The bound says no room for a second; a recount finds the first trial opened nothing yet.
  EXPECT_TRUE(budget.room_for_a_trial(2));
  std::vector<int> fds;
  for (size_t i = 0; i < DescriptorBudget::kPerTrial + 1; ++i) fds.push_back(::open("/dev/null", O_RDONLY));
  budget.trial_started();
  EXPECT_FALSE(budget.room_for_a_trial(2));
  for (int fd : fds) ::close(fd);
  EXPECT_TRUE(budget.room_for_a_trial(2));
}

}  // namespace
}  // namespace tune::detail
