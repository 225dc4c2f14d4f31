// Internal: the fork server ("zygote") of registered C++ trainables.
//
// Starting a trial by exec costs a fresh process image: execve, the dynamic loader, every
// static initialiser of the user's binary (4-5 ms on a small VM). A zygote pays that once: the
// driver starts the binary one time as a fork server (TUNE_ZYGOTE set; tune::worker_main serves
// it), and for each trial asks it to fork. The child gets the trial's descriptors (passed with
// SCM_RIGHTS), environment and working directory, leads its own process group, and goes on as
// an ordinary worker on fds 3/4: from there on nothing differs from an exec'd worker.
//
// The control channel is a SOCK_SEQPACKET socket pair (one message per datagram, descriptors
// travel with it). The first message each way is a JSON line, so a binary linked against an
// older tune, which takes the zygote for a worker, fails at once with an error reply instead of
// hanging; the rest is binary, little-endian, host sizes (both ends are the same machine):
//
//   driver -> zygote   {"type":"zygote","version":1,"grace_s":5}\n         hello
//                      'F' u64 serial, u32 n, u32 target[n], u32 cwd_len, cwd,
//                          u32 env_count, env strings each ending in NUL,
//                          u32 m, m x (u32 target, u32 len, path)          fork; n descriptors
//                                                                          attached, in order;
//                                                                          the child opens the
//                                                                          m paths (its logs)
//                      'R' i32 pid ...                                     reap these (their
//                                                                          'X' was read)
//   zygote -> driver   {"type":"zygote","version":1,"pid":N}\n             hello
//                      'P' u64 serial, i32 pid (or -errno)                 forked
//                      'X' i32 pid, i32 wait status                        exited (a zombie
//                                                                          until 'R')
//
// An exited trial stays a zombie until the driver has read its 'X' and answers 'R', so its
// pid, the id of its process group, is never reused while the driver may still signal it
// (as for the driver's own children). When the control socket reaches end of file (the
// driver ended or died), the zygote gives its live children grace_s to end (they read end of
// file on their own request sockets), SIGKILLs their groups, reaps them and returns.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tune::detail::zygote {

inline constexpr int kVersion = 1;
inline constexpr const char* kEnvVar = "TUNE_ZYGOTE";  // the control descriptor, in the zygote's env
// A fork request carries at most this many descriptors (the kernel's SCM_MAX_FD is 253).
inline constexpr size_t kMaxFds = 250;
// The largest control message; a fork request that would be longer is started by exec.
inline constexpr size_t kMaxMessage = 128 * 1024;

// What serve() returns: in the zygote when it is done (exit with `exit_code`), or in a forked
// child set up as a trial's worker (`trial` true: go on serving the worker protocol, whose
// descriptors and environment are now the trial's).
struct Outcome {
  bool trial = false;
  int exit_code = 0;
};

// The zygote's loop on `control_fd` (see above). Call in a single-threaded process.
Outcome serve(int control_fd);

// ---- messages (both sides) ----

struct ForkRequest {
  uint64_t serial = 0;
  std::vector<int> targets;  // descriptor numbers in the child, one per attached descriptor
  std::string cwd;           // empty: stay where the zygote is
  std::vector<std::string> env;
  // Files the child opens itself (write, create, append) as these descriptors: its stdout.log
  // and stderr.log, so that creating them costs the driver nothing.
  std::vector<std::pair<int, std::string>> opens;
};

std::string encode_fork(const ForkRequest& request);
// False when `message` is not a well-formed fork request.
bool decode_fork(std::string_view message, ForkRequest& out);
std::string encode_forked(uint64_t serial, int32_t pid_or_error);
std::string encode_exited(pid_t pid, int wait_status);
std::string encode_reap(const std::vector<pid_t>& pids);
std::string hello_line(std::string_view fields);  // {"type":"zygote","version":1<fields>}\n

// Sends one message with `fds` attached (MSG_DONTWAIT, MSG_NOSIGNAL): true when sent; false
// with errno set otherwise (EAGAIN: the socket is full, try again later).
bool send_message(int socket, std::string_view message, const std::vector<int>& fds = {});
// Receives one message (MSG_DONTWAIT) into `buffer` (kMaxMessage bytes, allocated on first
// use); `message` views it. Received descriptors are close-on-exec and appended to `fds`.
// Returns the size, 0 at end of file, -1 with errno set (EAGAIN when nothing is there).
// A message or descriptor list cut by the kernel sets `truncated`.
ssize_t receive_message(int socket, std::vector<char>& buffer, std::string_view& message, std::vector<int>& fds,
                        bool& truncated);

}  // namespace tune::detail::zygote
