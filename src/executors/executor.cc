// Helpers shared by the executors.
#include "executors/executor.h"

#include <exception>
#include <memory>

namespace tune::detail {

std::string describe_current_exception() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception (not derived from std::exception)";
  }
}

std::unique_ptr<AutoFiller> make_auto_filler(const StartRequest& request) {
  auto filler = std::make_unique<AutoFiller>(request.info, request.config);
  if (!request.info.restore_from.empty()) {
    filler->restore(request.restore_iteration, request.restore_time_total_s, request.restore_timesteps_total,
                    request.restore_episodes_total);
  }
  return filler;
}

std::string function_cannot_save_message() {
  return "this trial cannot be asked to save: function-style trainables checkpoint themselves (write into "
         "checkpoint_dir(), then report should_checkpoint=true); checkpoint_freq, checkpoint_at_end and PAUSE need "
         "the class API (save_checkpoint/load_checkpoint)";
}

}  // namespace tune::detail
