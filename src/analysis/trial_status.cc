// TrialStatus <-> string, shared by the state file, the analysis and the CLI.
#include <array>
#include <utility>

#include "tune/trial.h"

namespace tune {
namespace {

constexpr std::array<std::pair<TrialStatus, std::string_view>, 5> kStatusNames = {{
    {TrialStatus::kPending, "PENDING"},
    {TrialStatus::kRunning, "RUNNING"},
    {TrialStatus::kPaused, "PAUSED"},
    {TrialStatus::kTerminated, "TERMINATED"},
    {TrialStatus::kError, "ERROR"},
}};

// Case-insensitive so that CLI filters like `status=terminated` work; the files use upper case.
bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (x != b[i]) return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(TrialStatus status) {
  for (const auto& [value, name] : kStatusNames) {
    if (value == status) return name;
  }
  return "UNKNOWN";
}

std::optional<TrialStatus> trial_status_from_string(std::string_view text) {
  for (const auto& [value, name] : kStatusNames) {
    if (equals_ignore_case(text, name)) return value;
  }
  return std::nullopt;
}

}  // namespace tune
