// Internal: what tune::run wraps a searcher in when the searcher does not count its own
// trials (Ray's SearchGenerator): it asks for at most num_samples configs (-1 = no limit),
// then says finished. Everything else passes through.
#pragma once

#include <memory>

#include "tune/searcher.h"

namespace tune::detail {

class SearchGenerator : public Searcher {
 public:
  SearchGenerator(std::shared_ptr<Searcher> searcher, int64_t num_samples);
  void set_search_properties(const std::string& metric, const std::string& mode, const Space& space) override;
  std::string metric() const override { return searcher_->metric(); }
  Suggestion suggest(const std::string& trial_id) override;
  void on_trial_result(const std::string& trial_id, const Result& result) override;
  void on_trial_complete(const std::string& trial_id, const Result& result, bool error) override;
  std::optional<int64_t> total_trials() const override;
  bool counts_trials() const override { return true; }
  bool learns_from_results() const override { return searcher_->learns_from_results(); }
  Json save() const override;
  void restore(const Json& state) override;
  const Searcher& searcher() const { return *searcher_; }

 private:
  std::shared_ptr<Searcher> searcher_;
  int64_t num_samples_;
  int64_t suggested_ = 0;
  bool finished_ = false;
};

}  // namespace tune::detail
