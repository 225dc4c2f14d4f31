// TrialView: read-only accessors over the runner's trial record.
#include "trial/trial.h"

namespace tune {

const std::string& TrialView::trial_id() const { return trial_->trial_id; }
const std::string& TrialView::name() const { return trial_->name; }
const std::string& TrialView::trainable_name() const { return trial_->trainable_name; }
const std::string& TrialView::experiment_tag() const { return trial_->experiment_tag; }
TrialStatus TrialView::status() const { return trial_->status; }
const Config& TrialView::config() const { return trial_->config; }
const Result& TrialView::last_result() const {
  static const Result kNone;  // immutable: what a trial without results shows
  return trial_->last_result ? *trial_->last_result : kNone;
}
const std::filesystem::path& TrialView::logdir() const { return trial_->logdir; }
const Resources& TrialView::resources() const { return trial_->resources; }
int64_t TrialView::iteration() const { return trial_->iteration; }
int TrialView::num_failures() const { return trial_->num_failures; }
const std::string& TrialView::error_message() const { return trial_->error_message; }
const std::string& TrialView::location() const { return trial_->location; }
int64_t TrialView::index() const { return trial_->index; }

}  // namespace tune
