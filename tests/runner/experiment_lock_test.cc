// One experiment directory, one driver (issue 17 item 2): the lock itself, two drivers in
// one process, a driver in another process, and a start over an existing experiment.
#include "runner/experiment_lock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

TEST(ExperimentLockTest, ASecondLockInThisProcessIsRefusedNamingTheHolder) {
  TempDir dir;
  auto first = detail::ExperimentLock::acquire(dir.path());
  try {
    detail::ExperimentLock::acquire(dir.path());
    FAIL() << "a second lock on one directory was granted";
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("is in use by the driver with pid " + std::to_string(::getpid())));
    EXPECT_THAT(e.what(), HasSubstr(dir.str()));
  }
}

TEST(ExperimentLockTest, ReleasedWhenDestroyedOrMovedFrom) {
  TempDir dir;
  {
    auto lock = detail::ExperimentLock::acquire(dir.path());
    auto moved = std::move(lock);
  }
  EXPECT_NO_THROW(detail::ExperimentLock::acquire(dir.path()));
}

TEST(ExperimentLockTest, ADriverInAnotherProcessIsRefusedWithItsPid) {
  TempDir dir;
  int ready[2];
  int release[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(release), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The other driver: holds the lock until told to let go (or until the test dies).
    ::close(release[1]);  // else its own copy keeps the pipe open and the read never ends
    ::close(ready[0]);
    int status = 0;
    try {
      auto lock = detail::ExperimentLock::acquire(dir.path());
      char c = 'x';
      if (::write(ready[1], &c, 1) != 1) status = 1;
      if (::read(release[0], &c, 1) < 0) status = 1;
    } catch (...) {
      status = 2;
    }
    ::_exit(status);
  }
  ::close(ready[1]);
  ::close(release[0]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  try {
    detail::ExperimentLock::acquire(dir.path());
    ADD_FAILURE() << "the lock of another process was granted";
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("the driver with pid " + std::to_string(child)));
  }
  ::close(release[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // Its lock died with it.
  EXPECT_NO_THROW(detail::ExperimentLock::acquire(dir.path()));
}

TEST(ExperimentLockTest, TheLockFileIsNotTrustedToBePrintable) {
  TempDir dir;
  auto first = detail::ExperimentLock::acquire(dir.path());
  std::ofstream(dir.path() / detail::kDriverLockFile) << "1\x1b[2J evil\n";  // tampered while held
  try {
    detail::ExperimentLock::acquire(dir.path());
    FAIL();
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("\x1b")));
  }
}

// A trainable that holds its trial until the test lets it go.
std::atomic<bool> g_started{false};
std::atomic<bool> g_release{false};
class Blocking : public Trainable {
 public:
  Result step() override {
    g_started = true;
    while (!g_release) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return {{"x", 1}};
  }
};

TEST(ExperimentLockTest, TwoRunsOnOneDirectoryAtOnceTheSecondIsRefused) {
  TempDir dir;
  g_started = false;
  g_release = false;
  RunOptions first = tune::testing::quiet_options(dir, "same");
  first.stop = {{"training_iteration", 1}};
  std::thread driver([&] { tune::run<Blocking>(std::move(first)); });
  while (!g_started) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  RunOptions second = tune::testing::quiet_options(dir, "same");
  second.stop = {{"training_iteration", 1}};
  second.overwrite = true;  // not even an explicit overwrite takes a directory in use
  try {
    tune::run<Blocking>(std::move(second));
    ADD_FAILURE() << "a second driver ran on a directory in use";
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("is in use by the driver with pid"));
  }
  RunOptions resume = tune::testing::quiet_options(dir, "same");
  resume.resume = true;
  EXPECT_THROW(tune::run<Blocking>(std::move(resume)), TuneError);
  g_release = true;
  driver.join();
  // The first run's results are whole: one trial, one result.
  auto analysis = ExperimentAnalysis::load(dir.path() / "same");
  ASSERT_EQ(analysis.trials().size(), 1u);
  EXPECT_EQ(analysis.trials()[0].status(), TrialStatus::kTerminated);
}

class Quick : public Trainable {
 public:
  Result step() override { return {{"x", 1}}; }
};

TEST(ExperimentLockTest, StartingOverAnExistingExperimentIsRefusedUnlessOverwriteIsSaid) {
  TempDir dir;
  RunOptions options = tune::testing::quiet_options(dir, "exp");
  options.stop = {{"training_iteration", 2}};
  tune::run<Quick>(options);
  try {
    tune::run<Quick>(options);
    FAIL() << "an existing experiment was replaced without being told to";
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("already holds an experiment"));
    EXPECT_THAT(e.what(), HasSubstr("resume=true"));
    EXPECT_THAT(e.what(), HasSubstr("another name"));
  }
  // Nothing of the old one was lost by the refusal.
  EXPECT_EQ(ExperimentAnalysis::load(dir.path() / "exp").trials().size(), 1u);
  options.overwrite = true;
  options.num_samples = 2;
  EXPECT_EQ(tune::run<Quick>(options).trials().size(), 2u);
  RunOptions resume = options;
  resume.overwrite = false;
  resume.resume = true;
  EXPECT_NO_THROW(tune::run<Quick>(resume));  // the lock was let go when the run returned
}

}  // namespace
}  // namespace tune
