// tune/trial.h — trial states and the read-only view plugins get of a trial.
//
// Only the trial runner changes a trial. Schedulers, searchers, stoppers, loggers and
// name creators receive a TrialView: cheap to copy, valid for the duration of the call.
// Thread-safety: read it on the thread that handed it to you.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "tune/json.h"
#include "tune/resources.h"

namespace tune {

enum class TrialStatus { kPending, kRunning, kPaused, kTerminated, kError };

std::string_view to_string(TrialStatus status);  // "PENDING", "RUNNING", ...
std::optional<TrialStatus> trial_status_from_string(std::string_view text);
inline bool is_finished(TrialStatus status) {
  return status == TrialStatus::kTerminated || status == TrialStatus::kError;
}

namespace detail {
struct Trial;
}

class TrialView {
 public:
  explicit TrialView(const detail::Trial& trial) : trial_(&trial) {}

  const std::string& trial_id() const;
  // The display name: "<Trainable>_<trial_id>" or what trial_name_creator returned.
  const std::string& name() const;
  const std::string& trainable_name() const;
  // "<counter>_<k=v,...>", the variant's tag.
  const std::string& experiment_tag() const;
  TrialStatus status() const;
  const Config& config() const;
  // The last result (auto-filled fields included); null before the first.
  const Result& last_result() const;
  const std::filesystem::path& logdir() const;  // empty when per-trial files are off
  const Resources& resources() const;
  int64_t iteration() const;  // training_iteration of the last result
  int num_failures() const;
  // The last error message (empty when none).
  const std::string& error_message() const;
  // "ip:pid" of where it runs, empty when not running.
  const std::string& location() const;
  // Index of the trial in creation order (0-based).
  int64_t index() const;

 private:
  const detail::Trial* trial_;
};

}  // namespace tune
