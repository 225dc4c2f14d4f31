// Test helper: a program using only the header-only client tune/client.h (not the library).
// Reports config "steps" results (score = i * rate, steps < 0: forever); on stop it writes
// "stopped" (and should_stop()) to $TUNE_TRIAL_DIR/client_stopped.txt.
#include <cstdlib>
#include <fstream>
#include <string>

#include "tune/client.h"

int main() {
  namespace client = tune::client;
  const auto& config = client::get_config();
  const int steps = config.value("steps", 3);
  const double rate = config.value("rate", 1.0);
  try {
    for (int i = 1; steps < 0 || i <= steps; ++i) {
      client::report({{"score", i * rate},
                      {"connected", client::connected()},
                      {"checkpoint_dir", client::checkpoint_dir().string()},
                      {"trial_id", client::trial_info().value("trial_id", "")}});
    }
  } catch (const client::Stopped&) {
    const char* dir = std::getenv("TUNE_TRIAL_DIR");
    std::ofstream(std::string(dir != nullptr ? dir : ".") + "/client_stopped.txt")
        << "stopped " << (client::should_stop() ? "should_stop" : "running") << "\n";
  }
  return 0;
}
