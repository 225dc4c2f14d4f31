#include "runner/metric_check.h"

#include <fmt/format.h>

#include <utility>
#include <vector>

#include "common/result_keys.h"
#include "tune/error.h"

namespace tune::detail {

void check_first_result(const std::string& trial_name, const Result& result, const RunOptions& options) {
  std::string score_attr = options.checkpoint_score_attr;
  if (score_attr.starts_with("min-")) score_attr.erase(0, 4);
  // (field, key): the first that is missing is reported, in the order Ray checks them.
  const std::vector<std::pair<std::string, std::string>> required = {
      {"metric", options.metric},
      {"scheduler.metric", options.scheduler ? options.scheduler->metric() : std::string()},
      {"search_alg.metric", options.search_alg ? options.search_alg->metric() : std::string()},
      {"checkpoint_score_attr", score_attr}};
  for (const auto& [field, key] : required) {
    if (key.empty() || find_path(result, key) != nullptr) continue;
    throw TuneError(fmt::format("{}: trial {} reported a first result without '{}', which the experiment decides by; "
                                "the result has: {}. Report '{}' from the trainable, or correct the name",
                                field, trial_name, key, available_keys(result), key));
  }
}

}  // namespace tune::detail
