#include "runner/descriptor_budget.h"

#include <dirent.h>
#include <sys/resource.h>

namespace tune::detail {

size_t count_open_descriptors() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  size_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count > 0 ? count - 1 : 0;  // the directory's own descriptor
}

bool DescriptorBudget::room_for_a_trial(size_t running) {
  if (running == 0) return true;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return true;
  const size_t soft = static_cast<size_t>(limit.rlim_cur);
  const size_t need = kPerTrial + kReserve;
  if (have_count_ && counted_ + started_since_count_ * kPerTrial + need <= soft) return true;
  counted_ = count_open_descriptors();
  started_since_count_ = 0;
  have_count_ = true;
  return counted_ + need <= soft;
}

}  // namespace tune::detail
