// Helpers shared by the executors.
#include "executors/executor.h"

#include <exception>

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

}  // namespace tune::detail
