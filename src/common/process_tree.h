// Internal: finding and ending what a trial left behind — processes that escaped its process
// group (setsid() grandchildren) or outlived a SIGKILLed driver. Every trial's environment
// carries TUNE_TRIAL_TOKEN=<experiment id>/<trial id>, inherited by whatever it starts (the way
// Jenkins' ProcessTreeKiller marks a build with BUILD_ID), so leftovers are found by reading
// /proc/<pid>/environ: bounded reads, processes that vanish or refuse (EPERM) skipped. The
// driver is also made a child subreaper, so orphans of its trials re-parent to it and are
// reaped here instead of by init.
// Linux only (/proc, prctl); elsewhere the scans find nothing. Thread-safe: no state is kept.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace tune::detail {

// The environment variable that marks a trial's processes.
inline constexpr const char* kTrialTokenVar = "TUNE_TRIAL_TOKEN";
// "<experiment id>/<trial id>": the token of one trial.
std::string trial_token(std::string_view experiment_id, std::string_view trial_id);
// "<experiment id>/": what every token of an experiment begins with.
std::string experiment_token_prefix(std::string_view experiment_id);

// Processes other than this one whose TUNE_TRIAL_TOKEN is `token`, or begins with it when
// `prefix` is true. Zombies (whose environment the kernel no longer shows) are not found. A
// process caught inside execve(), whose environment reads empty for that moment, is asked again
// (for up to 50 ms) rather than passed over.
std::vector<pid_t> find_token_holders(std::string_view token, bool prefix);

// SIGKILLs every holder of the token (and the process group each leads), again until none is
// left or `patience` has passed; those that are this process's children are reaped. Returns
// how many processes were killed.
size_t kill_token_holders(std::string_view token, bool prefix, std::chrono::milliseconds patience);

// Makes this process a child subreaper (PR_SET_CHILD_SUBREAPER): descendants orphaned by a
// trial re-parent here rather than to init. A property of the whole process, kept for its life.
void become_child_subreaper();

// Ends what a trial left among this process's children — orphans adopted as a subreaper,
// cheap to look at (no scan of every process): a live one holding `token` (when not empty) is
// SIGKILLed with its group; an exited one is reaped when it is in another session (setsid())
// or in one of `groups` (the trials' process groups). The pids in `mine` (children waited for
// elsewhere: trials, zygotes) are left alone. Returns how many were killed.
size_t end_adopted_orphans(std::string_view token, const std::vector<pid_t>& groups, const std::vector<pid_t>& mine);

}  // namespace tune::detail
