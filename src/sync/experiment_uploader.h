// Internal: the experiment's uploads to sync_config.upload_dir while it runs and once at its
// end, and sync_to_driver's pulls of a trial's files. At most one upload is in flight; one
// asked for meanwhile starts right after it. Failures are warnings, never the experiment's end.
// Thread-safety: runner thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "sync/placement.h"
#include "sync/syncer.h"
#include "tune/sync.h"

namespace tune::detail {

class ExperimentUploader {
 public:
  using Clock = std::chrono::steady_clock;
  // `journal_bytes` says how long the journal is now (nullopt without one): each upload
  // first records it in the upload mark (state_records.h, kUploadMarkFile).
  ExperimentUploader(CloudTarget cloud, SyncConfig config, std::filesystem::path experiment_dir,
                     std::function<std::optional<uint64_t>()> journal_bytes);

  // Starts an upload, or asks for one after the upload in flight; false when none was started.
  bool request();
  // Between events: notes a finished upload, starts the one asked for, and one per
  // sync_period_s (calling `flush` first, so that what is uploaded is as fresh as the files
  // can be).
  void periodic(const std::function<void()>& flush);
  // The end of the run: waits for the upload in flight, then uploads once more and waits.
  void final_upload(bool verbose, std::ostream& out);
  // sync_on_checkpoint: an upload after each committed checkpoint.
  bool on_checkpoint() const { return config_.sync_on_checkpoint; }

 private:
  void poll();

  CloudTarget cloud_;
  SyncConfig config_;
  std::filesystem::path experiment_dir_;
  std::function<std::optional<uint64_t>()> journal_bytes_;
  SyncJob job_;
  bool wanted_ = false;       // asked for while one was in flight
  Clock::time_point last_;    // when the latest upload started
};

// sync_to_driver: the files of `trial_name` from the node it runs on into `logdir` (blocking,
// at most timeout_s); a failure is a warning.
void pull_trial_files(const SyncCommand& command, const TrialPlacement& placement, const std::filesystem::path& logdir,
                      const std::string& trial_name, double timeout_s);

}  // namespace tune::detail
