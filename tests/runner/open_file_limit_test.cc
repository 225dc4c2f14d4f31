// tune::run raises the soft limit of open files to the hard one (issue 17 item 6), so a
// thousand concurrent process trials do not fail for want of descriptors.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "tune/tune.h"

namespace tune {
namespace {

class OneStep : public Trainable {
 public:
  Result step() override { return {{"x", 1}}; }
};

TEST(OpenFileLimitTest, RunRaisesTheSoftLimitToTheHardOne) {
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  if (before.rlim_max == RLIM_INFINITY || before.rlim_max <= 256) GTEST_SKIP() << "no finite hard limit above 256";
  rlimit lowered = before;
  lowered.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  testing::TempDir dir;
  RunOptions options = testing::quiet_options(dir);
  options.stop = {{"training_iteration", 1}};
  tune::run<OneStep>(std::move(options));
  rlimit after{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, before.rlim_max);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &before), 0);
}

}  // namespace
}  // namespace tune
