#include "searchers/search_generator.h"

#include "tune/error.h"

namespace tune::detail {

SearchGenerator::SearchGenerator(std::shared_ptr<Searcher> searcher, int64_t num_samples)
    : searcher_(std::move(searcher)), num_samples_(num_samples) {}

void SearchGenerator::set_search_properties(const std::string& metric, const std::string& mode, const Space& space) {
  searcher_->set_search_properties(metric, mode, space);
}

Suggestion SearchGenerator::suggest(const std::string& trial_id) {
  if (finished_ || (num_samples_ >= 0 && suggested_ >= num_samples_)) return Suggestion::finished();
  Suggestion s = searcher_->suggest(trial_id);
  if (s.kind == Suggestion::Kind::kFinished) finished_ = true;
  if (s.kind == Suggestion::Kind::kConfig) ++suggested_;
  return s;
}

void SearchGenerator::on_trial_result(const std::string& trial_id, const Result& result) {
  searcher_->on_trial_result(trial_id, result);
}

void SearchGenerator::on_trial_complete(const std::string& trial_id, const Result& result, bool error) {
  searcher_->on_trial_complete(trial_id, result, error);
}

std::optional<int64_t> SearchGenerator::total_trials() const {
  if (num_samples_ < 0) return std::nullopt;
  return num_samples_;
}

Json SearchGenerator::save() const {
  return Json{{"suggested", suggested_}, {"finished", finished_}, {"searcher", searcher_->save()}};
}

void SearchGenerator::restore(const Json& state) {
  suggested_ = state.value("suggested", int64_t{0});
  finished_ = state.value("finished", false);
  if (const auto it = state.find("searcher"); it != state.end()) searcher_->restore(*it);
}

}  // namespace tune::detail
