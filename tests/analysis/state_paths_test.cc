// The paths a state file names are untrusted: trial directories stay inside the experiment,
// checkpoints inside their trial directory, lexically and through symbolic links.
#include "analysis/state_paths.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace tune::detail {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
namespace fs = std::filesystem;

TEST(StatePathsTest, AcceptsARelativeTrialDirAndAnAbsoluteOneInside) {
  TempDir dir;
  const ContainedPath relative = resolve_inside(dir.path(), "Trainable_0001_x=1_2026");
  ASSERT_TRUE(relative) << relative.error;
  EXPECT_EQ(relative.path, dir.path() / "Trainable_0001_x=1_2026");
  const ContainedPath absolute = resolve_inside(dir.path(), (dir.path() / "a" / "b").string());
  ASSERT_TRUE(absolute) << absolute.error;
  EXPECT_EQ(absolute.path, dir.path() / "a" / "b");
  EXPECT_TRUE(resolve_inside(dir.path(), "./a/./b"));
}

TEST(StatePathsTest, RefusesDotDotAbsolutePathsOutsideTheBaseItselfAndEmpty) {
  TempDir dir;
  EXPECT_THAT(resolve_inside(dir.path(), "../../etc").error, HasSubstr("'..'"));
  EXPECT_THAT(resolve_inside(dir.path(), "a/../../x").error, HasSubstr("'..'"));
  EXPECT_THAT(resolve_inside(dir.path(), "a/..").error, HasSubstr("'..'"));  // inside, but never written so
  EXPECT_THAT(resolve_inside(dir.path(), "/etc").error, HasSubstr("leads outside"));
  EXPECT_THAT(resolve_inside(dir.path(), dir.str() + "_sibling/x").error, HasSubstr("leads outside"));
  EXPECT_THAT(resolve_inside(dir.path(), ".").error, HasSubstr("leads outside"));
  EXPECT_THAT(resolve_inside(dir.path(), dir.str()).error, HasSubstr("leads outside"));
  EXPECT_EQ(resolve_inside(dir.path(), "").error, "is empty");
  EXPECT_EQ(resolve_inside(dir.path(), std::string("a\0b", 3)).error, "holds a NUL byte");
}

TEST(StatePathsTest, RefusesASymlinkThatLeadsOutButNotOneThatStaysInside) {
  TempDir dir;
  const fs::path experiment = dir.path() / "exp";
  fs::create_directories(experiment / "real");
  fs::create_directories(dir.path() / "outside");
  fs::create_directory_symlink(dir.path() / "outside", experiment / "escape");
  fs::create_directory_symlink(experiment / "real", experiment / "alias");
  EXPECT_THAT(resolve_inside(experiment, "escape").error, HasSubstr("symbolic link"));
  EXPECT_THAT(resolve_inside(experiment, "escape/trial").error, HasSubstr("symbolic link"));
  EXPECT_TRUE(resolve_inside(experiment, "alias/trial"));
  // A base that is itself reached through a link is fine: both sides are resolved.
  fs::create_directory_symlink(experiment, dir.path() / "exp_link");
  EXPECT_TRUE(resolve_inside(dir.path() / "exp_link", "real"));
}

TEST(StatePathsTest, ACheckpointIsOneNameInsideItsTrialDirectory) {
  EXPECT_EQ(checkpoint_name_error("checkpoint_7"), "");
  EXPECT_THAT(checkpoint_name_error("../x"), HasSubstr("one directory name"));
  EXPECT_THAT(checkpoint_name_error("/etc"), HasSubstr("one directory name"));
  EXPECT_THAT(checkpoint_name_error(".."), HasSubstr("not a directory name"));
  EXPECT_THAT(checkpoint_name_error("."), HasSubstr("not a directory name"));
  EXPECT_EQ(checkpoint_name_error(""), "is empty");
}

TEST(StatePathsTest, ATrialStateNamesTheFieldThatLeadsOutside) {
  TempDir dir;
  EXPECT_EQ(trial_paths_error(dir.path(), Json{{"logdir", "t1"}, {"checkpoints", {{{"dir", "checkpoint_1"}}}}}), "");
  EXPECT_EQ(trial_paths_error(dir.path(), Json{{"logdir", ""}}), "");  // never started
  EXPECT_EQ(trial_paths_error(dir.path(), Json{{"logdir", nullptr}}), "");
  EXPECT_THAT(trial_paths_error(dir.path(), Json{{"logdir", "../../etc"}}), HasSubstr("field 'logdir': '../../etc'"));
  EXPECT_THAT(trial_paths_error(dir.path(), Json{{"logdir", 3}}), HasSubstr("field 'logdir': must be a string"));
  EXPECT_THAT(trial_paths_error(dir.path(), Json{{"logdir", "t1"}, {"checkpoints", {{{"dir", "c1"}}, {{"dir", "../x"}}}}}),
              HasSubstr("checkpoints[1]: field 'dir': '../x'"));
  EXPECT_THAT(checkpoint_entry_error(Json{{"dir", 5}}), HasSubstr("field 'dir': must be a string"));
}

}  // namespace
}  // namespace tune::detail
