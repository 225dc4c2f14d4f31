// A trial's directory, start request, error.txt and log tidying (see trial_setup.h).
#include "runner/trial_setup.h"

#include <fmt/format.h>

#include <ctime>
#include <iostream>
#include <system_error>

#include "callbacks/log_rollback.h"
#include "common/file_writer.h"
#include "common/strings.h"

namespace tune::detail {
namespace {

constexpr size_t kMaxDirnameBytes = 200;

}  // namespace

std::filesystem::path make_trial_dir(const std::filesystem::path& experiment_dir, const Trial& trial,
                                     const std::function<std::string(const TrialView&)>& dirname_creator) {
  std::string dirname;
  if (dirname_creator) {
    dirname = sanitize_filename(dirname_creator(TrialView(trial)), kMaxDirnameBytes);
  } else {
    std::string base = trial.name + (trial.experiment_tag.empty() ? "" : "_" + trial.experiment_tag);
    base = utf8_prefix(base, 130);
    dirname = sanitize_filename(base + "_" + date_string(std::time(nullptr)), kMaxDirnameBytes);
  }
  std::filesystem::path dir = experiment_dir / dirname;
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    dir = experiment_dir / (utf8_prefix(dirname, kMaxDirnameBytes - 5) + "_" + random_hex(4));
  }
  std::filesystem::create_directories(dir);
  return dir;
}

void fill_start_request(StartRequest& request, const Trial& trial, const TrainableSpec& trainable,
                        const std::string& experiment_id, const std::optional<SyncCommand>& driver_sync,
                        double sync_timeout_s) {
  request.key = trial.index;
  request.trainable = &trainable;
  request.config = trial.config;
  request.info.trial_id = trial.trial_id;
  request.info.trial_name = trial.name;
  request.info.experiment_id = experiment_id;
  request.info.trial_dir = trial.logdir;
  request.info.gpu_ids = trial.gpu_ids;
  request.info.resources = trial.resources;
  if (!trial.logdir.empty()) request.info.checkpoint_dir = trial.logdir / "checkpoint";
  if (!request.info.restore_from.empty() && driver_sync) {
    request.push_checkpoint = [command = *driver_sync, from = request.info.restore_from,
                               timeout = sync_timeout_s](const TrialPlacement& placement) {
      return push_checkpoint(command, placement, from, timeout);
    };
  }
}

void write_error_file(const Trial& trial, const std::string& error) {
  if (trial.logdir.empty()) return;
  try {
    FileWriter file(trial.logdir / "error.txt");
    file.write(fmt::format("Failure # {} (occurred at {})\n{}\n\n", trial.num_failures,
                           date_string(std::time(nullptr)), error));
    file.close();
  } catch (const std::exception& e) {
    std::cerr << fmt::format("tune: cannot write error.txt of {}: {}\n", trial.name, e.what());
  }
}

void tidy_logs_after_error(const Trial& trial) {
  if (trial.logdir.empty()) return;
  try {
    rollback_trial_logs(trial.logdir, trial.iteration, {});
  } catch (const std::exception& e) {
    std::cerr << fmt::format("tune: cannot tidy the logs of {}: {}\n", trial.name, e.what());
  }
}

}  // namespace tune::detail
