// Internal: running sync commands (tune/sync.h) — resolving the defaults for upload_dir, and
// one sync at a time in the background so the driver loop never waits on an upload.
// Thread-safety: SyncJob belongs to one thread (the runner's); the rest is reentrant.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sync/placement.h"
#include "tune/sync.h"

namespace tune::detail {

// Where and how an experiment is uploaded, defaults filled in.
struct CloudTarget {
  // <upload_dir>/<experiment name>, as the sync command gets it ({target} on upload); a plain
  // path is absolute.
  std::string remote;
  // Set when upload_dir is a plain path: the directory to create before syncing into it.
  std::filesystem::path local_path;
  // Uploads ({source} = experiment dir + "/", {target} = remote + "/"); downloads swap them.
  SyncCommand command;
};

// Checks sync_config (throws TuneError naming the field and the rule) and resolves the default
// command for upload_dir; nullopt without an upload_dir. `experiment_name` may be empty when
// only validating.
std::optional<CloudTarget> resolve_cloud_target(const SyncConfig& config, const std::string& experiment_name);

// sync_to_driver with its default (rsync -a) filled in; nullopt when disabled.
std::optional<SyncCommand> resolve_driver_sync(const SyncConfig& config);

// "{source}" / "{target}" replaced in every element. Throws TuneError naming `field` when the
// template lacks one of them or argv is empty.
std::vector<std::string> fill_sync_argv(const std::vector<std::string>& argv, const std::string& source,
                                        const std::string& target, const std::string& field);

// Whether `program` is an executable file (a path) or found in PATH (a bare name).
bool program_exists(const std::string& program);

// Copies the contents of directory `source` into `target` (created), replacing files that
// changed (newer or a different size); the default for a plain upload_dir without rsync.
void copy_tree(const std::filesystem::path& source, const std::filesystem::path& target);

// sync_to_driver for one trial (blocking, at most timeout_s): pulls <placement>/ into
// `local_dir`/; returns "" or the failure.
std::string pull_trial_dir(const SyncCommand& command, const TrialPlacement& placement,
                           const std::filesystem::path& local_dir, double timeout_s);
// Pushes checkpoint directory `checkpoint` to <remote_dir>/<its name>/ on the placement's node
// and returns that path; throws TuneError naming sync_config.sync_to_driver on failure.
std::filesystem::path push_checkpoint(const SyncCommand& command, const TrialPlacement& placement,
                                      const std::filesystem::path& checkpoint, double timeout_s);

// One sync in the background: a child process (own process group, output kept in a temporary
// file for the error message) or a function on its own thread.
class SyncJob {
 public:
  SyncJob() = default;
  ~SyncJob();  // kills a running command; waits for a running function
  SyncJob(const SyncJob&) = delete;
  SyncJob& operator=(const SyncJob&) = delete;

  bool running() const { return pid_ > 0 || thread_.joinable(); }
  // Starts a sync; the job must not be running. A command that cannot start is reported by
  // the next poll()/wait().
  void start(const SyncCommand& command, const std::string& source, const std::string& target,
             const std::string& field);
  // Never blocks. nullopt while running (or when nothing ran); once done, "" on success or the
  // failure. A command running longer than `timeout_s` since start is killed and fails.
  std::optional<std::string> poll(double timeout_s);
  // Blocks until done (a command at most `timeout_s` since start); "" or the failure.
  std::string wait(double timeout_s);

 private:
  std::optional<std::string> finish_process(int status);
  void kill_process();

  pid_t pid_ = -1;
  std::FILE* output_ = nullptr;  // the child's stdout + stderr
  std::string description_;      // "<field> (<argv[0]>)" for messages
  std::string program_;          // argv[0]'s file name
  std::optional<std::string> spawn_error_;
  double started_ = 0;  // steady clock seconds
  std::thread thread_;
  std::atomic<bool> thread_done_{false};
  std::mutex mutex_;
  std::string thread_error_;  // guarded by mutex_
};

}  // namespace tune::detail
