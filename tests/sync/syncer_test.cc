// Sync commands (tune/sync.h, src/sync/): splitting and filling templates without a shell,
// running them in the background, the defaults for upload_dir, and the sync_to_driver hook
// (pull a trial directory, push a checkpoint) between two real directories with rsync.
#include "sync/syncer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "analysis/state_records.h"
#include "support/files.h"
#include "support/temp_dir.h"
#include "tune/error.h"

namespace tune {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::read_text;
using testing::TempDir;
using testing::write_text;
namespace fs = std::filesystem;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const TuneError& e) {
    return e.what();
  }
  return "(no error)";
}

// Sets PATH for one test and puts it back.
class ScopedPath {
 public:
  explicit ScopedPath(const std::string& path) : old_(std::getenv("PATH") ? std::getenv("PATH") : "") {
    ::setenv("PATH", path.c_str(), 1);
  }
  ~ScopedPath() { ::setenv("PATH", old_.c_str(), 1); }

 private:
  std::string old_;
};

TEST(SplitCommandTest, SplitsLikeAShellWithoutExpandingAnything) {
  EXPECT_THAT(split_command(R"(rsync -savz -e "ssh -i ssh_key.pem" {source} {target})"),
              ElementsAre("rsync", "-savz", "-e", "ssh -i ssh_key.pem", "{source}", "{target}"));
  EXPECT_THAT(split_command(R"(  a\ b  'c "d" $HOME'  "e \"f\" \\ $x"  g;h  )"),
              ElementsAre("a b", R"(c "d" $HOME)", R"(e "f" \ $x)", "g;h"));
  EXPECT_THAT(split_command("x '' y"), ElementsAre("x", "", "y"));
  EXPECT_THAT(error_of([] { split_command("rsync 'oops {source} {target}"); }), HasSubstr("unterminated ' quote"));
  // The string and list forms of SyncCommand agree.
  EXPECT_EQ(SyncCommand("cp -r {source} {target}").argv, (SyncCommand{"cp", "-r", "{source}", "{target}"}).argv);
}

TEST(FillSyncArgvTest, ReplacesPlaceholdersInsideElementsAndNeedsBoth) {
  EXPECT_THAT(detail::fill_sync_argv({"tool", "--from={source}", "{target}", "{other}"}, "/a b/", "s3://x/", "f"),
              ElementsAre("tool", "--from=/a b/", "s3://x/", "{other}"));
  EXPECT_THAT(error_of([] { detail::fill_sync_argv({"cp", "{source}"}, "a", "b", "sync_config.sync_to_cloud"); }),
              HasSubstr("sync_config.sync_to_cloud: the command template must contain both {source} and {target}"));
  EXPECT_THAT(error_of([] { detail::fill_sync_argv({}, "a", "b", "f"); }), HasSubstr("f: the command must not be empty"));
}

TEST(RunSyncTest, CommandCopiesAndAFailureIsReportedWithItsOutput) {
  TempDir dir;
  write_text(dir.path() / "src" / "a" / "result.json", "{}\n");
  const std::string error =
      run_sync({"rsync", "-a", "{source}", "{target}"}, (dir.path() / "src").string() + "/", (dir.path() / "dst").string() + "/");
  EXPECT_EQ(error, "");
  EXPECT_EQ(read_text(dir.path() / "dst" / "a" / "result.json"), "{}\n");

  const std::string failed =
      run_sync({"sh", "-c", "echo bucket is gone >&2; exit 3", "sync", "{source}", "{target}"}, "a", "b");
  EXPECT_THAT(failed, HasSubstr("exited with code 3"));
  EXPECT_THAT(failed, HasSubstr("bucket is gone"));
  EXPECT_THAT(run_sync({"no-such-sync-program-for-tune", "{source}", "{target}"}, "a", "b"), HasSubstr("cannot run"));
  // A function: its exception is the failure.
  EXPECT_EQ(run_sync(SyncCommand([](const std::string&, const std::string&) {}), "a", "b"), "");
  EXPECT_THAT(run_sync(SyncCommand([](const std::string&, const std::string&) { throw std::runtime_error("quota"); }),
                       "a", "b"),
              HasSubstr("quota"));
}

// Paths reach the command as single argv elements: no shell ever sees them.
TEST(RunSyncTest, PathsWithShellSyntaxAreNeverInterpreted) {
  TempDir dir;
  const fs::path marker = dir.path() / "PWNED";
  const std::string nasty = "src dir; touch " + marker.string() + "; $(touch " + marker.string() + ") `touch " +
                            marker.string() + "` ; rm -rf ";
  write_text(dir.path() / nasty / "file with spaces.txt", "payload");
  const fs::path target = dir.path() / "to ; rm -rf " / "x";
  fs::create_directories(target);
  // Both the string form (split once, without a shell) and the list form.
  for (const SyncCommand& command : {SyncCommand("rsync -a {source} {target}"),
                                     SyncCommand{"cp", "-R", "{source}.", "{target}"}}) {
    fs::remove_all(target / "file with spaces.txt");
    EXPECT_EQ(run_sync(command, (dir.path() / nasty).string() + "/", target.string() + "/"), "");
    EXPECT_EQ(read_text(target / "file with spaces.txt"), "payload");
    EXPECT_FALSE(fs::exists(marker));
  }
  EXPECT_TRUE(fs::exists(dir.path() / nasty / "file with spaces.txt"));
}

TEST(SyncJobTest, RunsInTheBackgroundAndATimeoutKillsIt) {
  detail::SyncJob job;
  const auto start = std::chrono::steady_clock::now();
  job.start({"sh", "-c", "sleep 30", "sync", "{source}", "{target}"}, "a", "b", "sync_config.sync_to_cloud");
  EXPECT_TRUE(job.running());
  EXPECT_FALSE(job.poll(60).has_value());  // never blocks
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto outcome = job.poll(0.1);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_THAT(*outcome, HasSubstr("did not finish within 0.1 s"));
  EXPECT_FALSE(job.running());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  // Waiting has the same limit.
  job.start({"sh", "-c", "sleep 30", "sync", "{source}", "{target}"}, "a", "b", "f");
  EXPECT_THAT(job.wait(0.2), HasSubstr("killed"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(CloudTargetTest, DefaultsForPathsAndUris) {
  TempDir dir;
  SyncConfig config;
  EXPECT_FALSE(detail::resolve_cloud_target(config, "exp").has_value());
  config.upload_dir = dir.str() + "/cloud/";
  auto plain = detail::resolve_cloud_target(config, "exp");
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(plain->remote, (dir.path() / "cloud" / "exp").string());
  EXPECT_EQ(plain->local_path, dir.path() / "cloud" / "exp");
  EXPECT_THAT(plain->command.argv, ElementsAre("rsync", "-a", "{source}", "{target}"));
  config.upload_dir = "file://" + dir.str();
  EXPECT_EQ(detail::resolve_cloud_target(config, "exp")->local_path, dir.path() / "exp");

  // s3:// and gs:// through their commands when installed; a clear error when not.
  const fs::path bin = dir.path() / "bin";
  fs::create_directories(bin);
  {
    ScopedPath path(bin.string());
    config.upload_dir = "s3://bucket/prefix";
    EXPECT_THAT(error_of([&] { detail::resolve_cloud_target(config, "exp"); }),
                HasSubstr("sync_config.upload_dir: 's3://bucket/prefix' is uploaded with `aws s3 sync`, but the aws "
                          "command is not in PATH"));
    config.upload_dir = "gs://bucket";
    EXPECT_THAT(error_of([&] { detail::resolve_cloud_target(config, "exp"); }),
                HasSubstr("sync_config.upload_dir: 'gs://bucket' is uploaded with `gsutil -m rsync -r`"));
    for (const char* tool : {"aws", "gsutil"}) {
      write_text(bin / tool, "#!/bin/sh\nexit 0\n");
      ::chmod((bin / tool).c_str(), 0755);
    }
    config.upload_dir = "s3://bucket/prefix/";
    auto s3 = detail::resolve_cloud_target(config, "exp");
    EXPECT_EQ(s3->remote, "s3://bucket/prefix/exp");
    EXPECT_THAT(s3->command.argv, ElementsAre("aws", "s3", "sync", "{source}", "{target}"));
    EXPECT_TRUE(s3->local_path.empty());
    config.upload_dir = "gs://bucket";
    EXPECT_THAT(detail::resolve_cloud_target(config, "exp")->command.argv,
                ElementsAre("gsutil", "-m", "rsync", "-r", "{source}", "{target}"));
    // Without rsync a plain path is copied by tune itself.
    config.upload_dir = dir.str();
    EXPECT_TRUE(detail::resolve_cloud_target(config, "exp")->command.function != nullptr);
  }
  config.upload_dir = "hdfs://namenode/x";
  EXPECT_THAT(error_of([&] { detail::resolve_cloud_target(config, "exp"); }),
              HasSubstr("sync_config.upload_dir: 'hdfs://namenode/x' has no default sync command"));
  config.sync_to_cloud = "hdfs dfs -put {source} {target}";
  EXPECT_THAT(error_of([&] { detail::resolve_cloud_target(config, "exp"); }),
              HasSubstr("sync_config.sync_to_cloud: program 'hdfs' not found in PATH"));
  config.sync_to_cloud = SyncCommand{"cp", "{source}"};
  EXPECT_THAT(error_of([&] { detail::resolve_cloud_target(config, "exp"); }),
              HasSubstr("sync_config.sync_to_cloud: the command template must contain both"));
  config = SyncConfig();
  config.sync_to_cloud = "cp -r {source} {target}";
  EXPECT_THAT(error_of([&] { detail::resolve_cloud_target(config, "exp"); }),
              HasSubstr("sync_config.sync_to_cloud: is set but sync_config.upload_dir is empty"));
  config = SyncConfig();
  config.sync_period_s = -1;
  EXPECT_THAT(error_of([&] { detail::resolve_cloud_target(config, ""); }), HasSubstr("sync_config.sync_period_s"));
  config = SyncConfig();
  config.sync_timeout_s = 0;
  EXPECT_THAT(error_of([&] { detail::resolve_cloud_target(config, ""); }), HasSubstr("sync_config.sync_timeout_s"));
  config = SyncConfig();
  config.sync_to_driver = "rsync -a {source}";
  EXPECT_THAT(error_of([&] { detail::resolve_cloud_target(config, ""); }), HasSubstr("sync_config.sync_to_driver"));
}

TEST(CopyTreeTest, CopiesNewAndChangedFilesOnly) {
  TempDir dir;
  write_text(dir.path() / "a" / "t1" / "result.json", "1\n");
  write_text(dir.path() / "a" / "state.json", "s");
  detail::copy_tree(dir.path() / "a", dir.path() / "b");
  EXPECT_EQ(read_text(dir.path() / "b" / "t1" / "result.json"), "1\n");
  write_text(dir.path() / "a" / "t1" / "result.json", "1\n2\n");
  detail::copy_tree(dir.path() / "a", dir.path() / "b");
  EXPECT_EQ(read_text(dir.path() / "b" / "t1" / "result.json"), "1\n2\n");
  EXPECT_EQ(read_text(dir.path() / "b" / "state.json"), "s");
}

// A run keeps creating checkpoint directories and renaming them into place while an upload
// walks the tree. A directory that vanishes under the walk is skipped, and the walk goes on:
// every file that stayed put is copied, in every round.
TEST(CopyTreeTest, ADirectoryVanishingDuringTheWalkSkipsOnlyItself) {
  TempDir dir;
  const std::filesystem::path source = dir.path() / "a";
  for (int t = 0; t < 8; ++t) {
    write_text(source / ("trial_" + std::to_string(t)) / "result.json", std::to_string(t) + "\n");
  }
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    for (int n = 0; !stop; ++n) {
      const std::filesystem::path trial = source / ("trial_" + std::to_string(n % 8));
      const std::filesystem::path tmp = trial / (".checkpoint_" + std::to_string(n) + ".tmp");
      std::error_code ec;
      std::filesystem::create_directories(tmp / "nested", ec);
      std::filesystem::rename(tmp, trial / ("checkpoint_" + std::to_string(n)), ec);
      std::filesystem::remove_all(trial / ("checkpoint_" + std::to_string(n)), ec);
    }
  });
  int incomplete = 0;
  for (int round = 0; round < 200; ++round) {
    const std::filesystem::path target = dir.path() / ("b" + std::to_string(round));
    detail::copy_tree(source, target);
    for (int t = 0; t < 8; ++t) {
      if (!std::filesystem::exists(target / ("trial_" + std::to_string(t)) / "result.json")) {
        ++incomplete;
        break;
      }
    }
  }
  stop = true;
  churn.join();
  EXPECT_EQ(incomplete, 0) << "uploads that left out files which never moved, of 200";
}

// The upload mark (state_records.h) is copied last: a walk cut short leaves the previous mark,
// which admits nothing the walk did not copy.
TEST(CopyTreeTest, TheUploadMarkIsCopiedAfterEverythingElse) {
  TempDir dir;
  const std::filesystem::path source = dir.path() / "a";
  write_text(source / "experiment_state.jsonl", "{}\n");
  write_text(source / detail::kUploadMarkFile, R"({"journal_bytes": 3})" "\n");
  for (int t = 0; t < 20; ++t) write_text(source / ("t" + std::to_string(t)) / "result.json", "1\n");
  const std::filesystem::path target = dir.path() / "b";
  detail::copy_tree(source, target);
  const auto mark_time = std::filesystem::last_write_time(target / detail::kUploadMarkFile);
  for (int t = 0; t < 20; ++t) {
    EXPECT_LE(std::filesystem::last_write_time(target / ("t" + std::to_string(t)) / "result.json"), mark_time);
  }
  EXPECT_LE(std::filesystem::last_write_time(target / "experiment_state.jsonl"), mark_time);
}

// The executor hook (sync/placement.h) with a fake node: node "" is a directory of this machine,
// so rsync copies between two real directories.
TEST(DriverSyncTest, PullsATrialDirectoryAndPushesACheckpointWithRsync) {
  TempDir dir;
  SyncConfig config;
  const auto command = detail::resolve_driver_sync(config);
  ASSERT_TRUE(command.has_value());
  EXPECT_THAT(command->argv, ElementsAre("rsync", "-a", "{source}", "{target}"));
  config.sync_to_driver = SyncCommand::disabled();
  EXPECT_FALSE(detail::resolve_driver_sync(config).has_value());

  detail::TrialPlacement on_node{"", dir.path() / "node" / "scratch" / "trial_1"};
  EXPECT_EQ((detail::TrialPlacement{"node07", "/scratch/t"}.location()), "node07:/scratch/t/");
  write_text(on_node.remote_dir / "checkpoint_2" / "weights", "w2");
  write_text(on_node.remote_dir / "stdout.log", "hello\n");
  const fs::path local = dir.path() / "driver" / "exp" / "trial_1";
  write_text(local / "result.json", "{\"training_iteration\": 2}\n");
  EXPECT_EQ(detail::pull_trial_dir(*command, on_node, local, 60), "");
  EXPECT_EQ(read_text(local / "checkpoint_2" / "weights"), "w2");
  EXPECT_EQ(read_text(local / "stdout.log"), "hello\n");
  EXPECT_EQ(read_text(local / "result.json"), "{\"training_iteration\": 2}\n");  // the driver's own files stay

  // Restored on another node: the checkpoint goes there first.
  detail::TrialPlacement other{"", dir.path() / "node2" / "trial_1"};
  const fs::path remote = detail::push_checkpoint(*command, other, local / "checkpoint_2", 60);
  EXPECT_EQ(remote, other.remote_dir / "checkpoint_2");
  EXPECT_EQ(read_text(remote / "weights"), "w2");

  // A failing pull is reported, a failing push is a TuneError naming the field.
  const SyncCommand failing{"sh", "-c", "exit 12", "sync", "{source}", "{target}"};
  EXPECT_THAT(detail::pull_trial_dir(failing, on_node, local, 60), HasSubstr("exited with code 12"));
  EXPECT_THAT(error_of([&] { detail::push_checkpoint(failing, other, local / "checkpoint_2", 60); }),
              HasSubstr("sync_config.sync_to_driver: pushing checkpoint"));
}

}  // namespace
}  // namespace tune
