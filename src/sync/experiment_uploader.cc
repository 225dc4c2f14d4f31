// Uploads of the experiment and pulls of trial files (see experiment_uploader.h).
#include "sync/experiment_uploader.h"

#include <fmt/format.h>

#include <iostream>
#include <system_error>

#include "analysis/state_records.h"
#include "common/file_writer.h"
#include "tune/json.h"

namespace tune::detail {

ExperimentUploader::ExperimentUploader(CloudTarget cloud, SyncConfig config, std::filesystem::path experiment_dir,
                                       std::function<std::optional<uint64_t>()> journal_bytes)
    : cloud_(std::move(cloud)),
      config_(std::move(config)),
      experiment_dir_(std::move(experiment_dir)),
      journal_bytes_(std::move(journal_bytes)),
      last_(Clock::now()) {}

bool ExperimentUploader::request() {
  if (job_.running()) {
    wanted_ = true;
    return false;
  }
  wanted_ = false;
  last_ = Clock::now();
  if (!cloud_.local_path.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(cloud_.local_path, ec);
    if (ec) {
      std::cerr << fmt::format("tune: warning: sync_config.upload_dir: cannot create {}: {}; the experiment goes on\n",
                               cloud_.local_path.string(), ec.message());
      return false;
    }
  }
  if (const std::optional<uint64_t> bytes = journal_bytes_ ? journal_bytes_() : std::nullopt) {
    try {
      write_file_atomic(experiment_dir_ / kUploadMarkFile, Json{{"journal_bytes", *bytes}}.dump() + "\n");
    } catch (const std::exception& e) {
      std::cerr << fmt::format("tune: warning: cannot write {}: {}\n", kUploadMarkFile, e.what());
    }
  }
  job_.start(cloud_.command, experiment_dir_.string() + "/", cloud_.remote + "/", "sync_config.sync_to_cloud");
  return true;
}

void ExperimentUploader::poll() {
  if (auto outcome = job_.poll(config_.sync_timeout_s)) {
    if (!outcome->empty()) {
      std::cerr << fmt::format("tune: warning: uploading {} to {} failed: {}; the experiment goes on\n",
                               experiment_dir_.string(), cloud_.remote, *outcome);
    }
  }
  if (wanted_ && !job_.running()) request();
}

void ExperimentUploader::periodic(const std::function<void()>& flush) {
  poll();
  const double period = config_.sync_period_s;
  if (period > 0 && !wanted_ && std::chrono::duration<double>(Clock::now() - last_).count() >= period) {
    if (!job_.running()) flush();
    request();
  }
}

void ExperimentUploader::final_upload(bool verbose, std::ostream& out) {
  // The one in flight may have missed the last files: wait for it, then sync once more.
  if (job_.running()) {
    const std::string error = job_.wait(config_.sync_timeout_s);
    if (!error.empty()) std::cerr << fmt::format("tune: warning: uploading {} to {} failed: {}\n",
                                                 experiment_dir_.string(), cloud_.remote, error);
  }
  if (!request()) return;
  const std::string error = job_.wait(config_.sync_timeout_s);
  if (!error.empty()) {
    std::cerr << fmt::format("tune: warning: the final upload of {} to {} failed: {}; the results are complete in "
                             "{}\n",
                             experiment_dir_.string(), cloud_.remote, error, experiment_dir_.string());
  } else if (verbose) {
    out << fmt::format("Uploaded the experiment to {}\n", cloud_.remote);
  }
}

void pull_trial_files(const SyncCommand& command, const TrialPlacement& placement, const std::filesystem::path& logdir,
                      const std::string& trial_name, double timeout_s) {
  const std::string error = pull_trial_dir(command, placement, logdir, timeout_s);
  if (!error.empty()) {
    std::cerr << fmt::format("tune: warning: pulling the files of trial {} from {} failed: {}\n", trial_name,
                             placement.location(), error);
  }
}

}  // namespace tune::detail
