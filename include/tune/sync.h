// tune/sync.h — uploading an experiment to where users keep results, and pulling trial
// directories from nodes without a shared filesystem (the guide's "Uploading/Syncing").
//
// RunOptions::sync_config.upload_dir names the upload location: a plain directory, or an
// s3:// / gs:// URI. The experiment directory <local_dir>/<name> is mirrored into
// <upload_dir>/<name> every sync_period_s, after each checkpoint (sync_on_checkpoint) and
// once when the run ends. resume = "REMOTE" pulls it back down first.
//
// A sync command is an argv template whose elements may hold "{source}" and "{target}"
// (replaced by plain text, never through a shell), a command line split into such an argv
// (quotes group words; nothing is expanded), or a C++ function. The source is always a
// directory ending in "/" (its contents), the target the directory to mirror into.
// Thread-safety: the types are plain values; split_command and run_sync are reentrant.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace tune {

// A custom syncer: copies the contents of `source` into `target`; throws to report failure.
// It runs on a thread of its own while the experiment goes on (one sync at a time).
using SyncFunction = std::function<void(const std::string& source, const std::string& target)>;

// How to sync: a command (argv template), a function, the default, or (sync_to_driver only)
// nothing at all.
struct SyncCommand {
  SyncCommand() = default;
  // An argv template: {"rsync", "-az", "{source}", "{target}"}. argv[0] is looked up in PATH.
  SyncCommand(std::vector<std::string> argv_template);  // NOLINT: implicit by design
  SyncCommand(std::initializer_list<std::string> argv_template);
  // A command line, split into argv by split_command: "rsync -savz -e \"ssh -i key.pem\" {source} {target}".
  SyncCommand(const char* command_line);         // NOLINT
  SyncCommand(const std::string& command_line);  // NOLINT
  SyncCommand(SyncFunction fn);                  // NOLINT
  // Ray's sync_to_driver=False: no syncing at all.
  static SyncCommand disabled();

  // True when neither argv nor function is set (and it is not disabled): the default applies.
  bool is_default() const { return argv.empty() && !function && !off; }

  std::vector<std::string> argv;
  SyncFunction function;
  bool off = false;
};

struct SyncConfig {
  // Where the experiment is uploaded: "/path" (or "file:///path"), "s3://bucket/prefix",
  // "gs://bucket/prefix", or any URI that sync_to_cloud understands. Empty: no upload.
  std::string upload_dir;
  // Uploads (and, for resume = "REMOTE", downloads with source and target swapped). Default:
  // for a plain path, `rsync -a` when rsync is installed (else a built-in copy); for s3://,
  // `aws s3 sync {source} {target}`; for gs://, `gsutil -m rsync -r {source} {target}`. A
  // default whose command is not installed is a TuneError naming upload_dir before the run.
  SyncCommand sync_to_cloud;
  // Pulls a trial directory from the node it runs on ({source} = "node:/path/" — just
  // "/path/" when the node is this machine) and pushes checkpoints to the node a trial is
  // restored on. Default `rsync -a {source} {target}`; SyncCommand::disabled() turns it off.
  // Used only by executors that run trials where the driver's files are not.
  SyncCommand sync_to_driver;
  // Seconds between uploads, measured on the driver loop (0 = only at checkpoints and the end).
  double sync_period_s = 300;
  // Upload after every checkpoint (as soon as the upload in flight, if any, is done).
  bool sync_on_checkpoint = true;
  // A sync still running after this many seconds is killed and reported (the last one, at the
  // end of the run, is waited for this long). Functions cannot be killed: they are waited for.
  double sync_timeout_s = 600;
};

// Splits a command line into argv the way a POSIX shell splits words — whitespace separates,
// '...' is literal, "..." keeps spaces (\" and \\ escape inside), a backslash escapes the next
// character — and nothing else: no variables, globs, pipes or ';'. Throws TuneError for an
// unterminated quote.
std::vector<std::string> split_command(const std::string& command_line);

// Runs one sync now and waits for it: argv elements get "{source}" / "{target}" replaced (a
// function gets them as arguments). Returns an empty string on success, else what went wrong
// (the exit status and the end of the command's output). Never throws for a failing sync;
// throws TuneError for a command that is disabled or has no {source}/{target}.
std::string run_sync(const SyncCommand& command, const std::string& source, const std::string& target,
                     double timeout_s = 600);

}  // namespace tune
