// Test helper: a program using only the header-only client tune/client.h (not the library).
// Reports config "steps" results (score = i * rate, steps < 0: forever); on stop it writes
// "stopped" (and should_stop()) to $TUNE_TRIAL_DIR/client_stopped.txt. With config "pinned" (the
// id of a pinned float array) every result also carries the array's sum and count, and the
// message of asking for it as doubles.
#include <cstdlib>
#include <fstream>
#include <string>

#include "tune/client.h"

int main() {
  namespace client = tune::client;
  const auto& config = client::get_config();
  const int steps = config.value("steps", 3);
  const double rate = config.value("rate", 1.0);
  client::Json pinned = client::Json::object();
  if (config.contains("pinned")) {
    const std::string id = config["pinned"].get<std::string>();
    double sum = 0;
    for (float value : client::get_pinned_object<float>(id)) sum += value;
    pinned = {{"pinned_sum", sum}, {"pinned_count", client::get_pinned_object<float>(id).size()}};
    try {
      client::get_pinned_object<double>(id);
    } catch (const tune::TuneError& e) {
      pinned["pinned_type_error"] = e.what();
    }
  }
  try {
    for (int i = 1; steps < 0 || i <= steps; ++i) {
      client::Json result = {{"score", i * rate},
                             {"connected", client::connected()},
                             {"checkpoint_dir", client::checkpoint_dir().string()},
                             {"trial_id", client::trial_info().value("trial_id", "")}};
      result.update(pinned);
      client::report(result);
    }
  } catch (const client::Stopped&) {
    const char* dir = std::getenv("TUNE_TRIAL_DIR");
    std::ofstream(std::string(dir != nullptr ? dir : ".") + "/client_stopped.txt")
        << "stopped " << (client::should_stop() ? "should_stop" : "running") << "\n";
  }
  return 0;
}
