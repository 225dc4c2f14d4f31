// Internal: backpressure on open files. A trial starts only while this process has room under
// RLIMIT_NOFILE for what a running trial holds (its pipes, log files and loggers' files);
// otherwise it waits PENDING until a running one ends, instead of failing with "Too many open
// files" (issue 17 item 6). run() first raises the soft limit to the hard one, so this matters
// where an administrator set a low hard limit.
//
// Counting /proc/self/fd costs O(open files), so it is counted only near the limit: between
// counts, an upper bound (the last count plus kPerTrial for every trial started since) decides.
#pragma once

#include <cstddef>

namespace tune::detail {

class DescriptorBudget {
 public:
  // What one running trial may hold at most (a process trial: request, reply, stdout and stderr
  // pipes or log files; result.json, progress.csv, an event file), and what the driver keeps
  // free for itself (journal, snapshot, error.txt, checkpoints, a zygote, the dashboard).
  static constexpr size_t kPerTrial = 12;
  static constexpr size_t kReserve = 32;

  // True when another trial fits under the limit. Never false while nothing runs (`running`
  // is 0): the trial is then tried, and a start that still fails fails that trial clearly.
  bool room_for_a_trial(size_t running);
  void trial_started() { ++started_since_count_; }

 private:
  size_t counted_ = 0;
  size_t started_since_count_ = 0;
  bool have_count_ = false;
};

// Descriptors open in this process (entries of /proc/self/fd); 0 where /proc is missing.
size_t count_open_descriptors();

}  // namespace tune::detail
