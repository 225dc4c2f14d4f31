// ProcessExecutor's zygote client (zygote.h): a fork server per registered trainable, started on
// first use, asked over a SOCK_SEQPACKET socket to fork each trial with the trial's descriptors
// attached; it reports each fork's pid and exit. A zygote that says no hello, answers wrongly or
// dies is given up: its waiting trials are exec'd, the ones it forked fail.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "executors/process_executor_impl.h"
#include "executors/worker_messages.h"
#include "executors/zygote.h"
#include "tune/error.h"

namespace tune::detail::proc {

// The zygote that is to fork this trial, started if need be; null: exec it.
std::shared_ptr<Zygote> ProcessExecutor::zygote_for(const Child& child, const StartRequest& request) {
  const ProcessSpec& spec = *child.spec;
  if (launcher_ || child.plain || spec.launch != ProcessSpec::Launch::kZygote) return nullptr;
  // The zygote runs argv as it is; a trial whose placeholders make another argv needs its own exec.
  bool has_placeholder = false;
  for (const std::string& arg : spec.argv) has_placeholder = has_placeholder || arg.find('{') != std::string::npos;
  if (has_placeholder && substitute_argv(spec.argv, request.config) != spec.argv) return nullptr;
  ZygoteKey key{&spec, omp_threads(request.info, spec)};
  if (exec_only_.contains(key)) return nullptr;
  if (auto it = zygote_for_.find(key); it != zygote_for_.end() && it->second->state != Zygote::State::kDead) {
    return it->second;
  }
  if (zygote_losses_[&spec] >= kMaxZygoteLosses) return nullptr;
  try {
    auto z = start_zygote(spec, key.second);
    zygote_for_[key] = z;
    return z;
  } catch (const std::exception&) {
    // Its exec would fail the same way, with the message the trial should show.
    exec_only_.insert(key);
    return nullptr;
  }
}

std::shared_ptr<Zygote> ProcessExecutor::start_zygote(const ProcessSpec& spec, const std::string& omp) {
  auto z = std::make_shared<Zygote>();
  z->spec = &spec;
  z->omp = omp;
  FdPair sockets = make_socket_pair(SOCK_SEQPACKET);
  z->control = std::move(sockets.first);
  const UniqueFd theirs = lift_fd(std::move(sockets.second));
  SpawnOptions options;
  options.argv = spec.argv;
  options.env = zygote_environment(spec, omp);
  if (spec.start_zygote) {
    // An embedder's fork of itself (ProcessSpec::start_zygote): the Python package's trials are
    // forks of its interpreter, so closures need no pickling.
    z->pid = spec.start_zygote(theirs.get(), options.env);
  } else {
    options.inherit_env = false;
    options.new_process_group = true;
    options.reset_signals = true;
    options.die_with_parent = true;  // and its trials with it (zygote.cc)
    // stdin and stdout: nothing (a trial's own are set after its fork); stderr: the driver's,
    // for what goes wrong in the zygote itself.
    options.dev_null(0, O_RDONLY);
    options.dev_null(1, O_WRONLY);
    options.dup(theirs.get(), 3);
    options.dup(theirs.get(), 4);
    options.close_from = 5;
    const Spawned spawned = spawn_process(options);
    if (!spawned) throw TuneError(spawn_error(spawned.error, spec.argv[0]));
    z->pid = spawned.pid;
  }
  z->pidfd = open_pidfd(z->pid);
  set_nonblocking(z->control.get());
  const double grace = std::isfinite(spec.stop_grace_s) ? spec.stop_grace_s : 5.0;
  zygote::send_message(z->control.get(), zygote::hello_line(fmt::format(",\"grace_s\":{}", grace)));
  z->hello_deadline = after(kZygoteHelloTimeoutS);
  zygotes_.push_back(z);
  return z;
}

// Asks `z` to fork the child: false when the request is too big for it (exec it instead).
bool ProcessExecutor::fork_from(Zygote& z, Child& child, const StartRequest& request) {
  const ProcessSpec& spec = *child.spec;
  const std::filesystem::path& trial_dir = request.info.trial_dir;
  const std::filesystem::path working_dir = working_dir_of(spec, request);
  ChildPinnedObjects pinned = pinned_objects_for_child(5);
  std::vector<std::string> env = child_environment(request, spec, checkpoint_dir_of(request.info), pinned.env, false);
  size_t bytes = 64 + working_dir.native().size() + 8 * (5 + pinned.dup2.size());
  for (const auto& e : env) bytes += e.size() + 1;
  if (bytes > zygote::kMaxMessage || 4 + pinned.dup2.size() > zygote::kMaxFds) return false;

  Zygote::Outgoing out;
  zygote::ForkRequest fork;
  auto attach = [&](UniqueFd fd, int target) {
    out.fds.push_back(fd.get());
    fork.targets.push_back(target);
    out.owned.push_back(std::move(fd));
  };
  auto make_pipe = [](UniqueFd& read_end, UniqueFd& write_end) {
    FdPair pipe = detail::make_pipe();
    read_end = std::move(pipe.first);
    write_end = std::move(pipe.second);
  };
  const bool have_dir = !trial_dir.empty();
  if (have_dir) child.err_path = trial_dir / "stderr.log";
  // As for an exec'd worker: straight to the files unless output is echoed; the child opens
  // them itself (an error to open them is its trial's error).
  if (spec.echo_output) {
    UniqueFd write_end;
    make_pipe(child.out, write_end);
    attach(std::move(write_end), 1);
    if (have_dir) child.out_log = open_append(trial_dir / "stdout.log");
  } else if (have_dir) {
    fork.opens.emplace_back(1, (trial_dir / "stdout.log").string());
  }  // else: the zygote's /dev/null
  if (have_dir && !spec.echo_output) {
    fork.opens.emplace_back(2, child.err_path.string());
  } else {
    UniqueFd write_end;
    make_pipe(child.err, write_end);
    attach(std::move(write_end), 2);
    if (have_dir) child.err_log = open_append(child.err_path);
  }
  FdPair sockets = make_socket_pair(SOCK_STREAM);
  child.request = std::move(sockets.first);
  attach(std::move(sockets.second), 3);
  UniqueFd reply_write;
  make_pipe(child.reply, reply_write);
  attach(std::move(reply_write), 4);
  for (const auto& [from, to] : pinned.dup2) {
    out.fds.push_back(from);
    fork.targets.push_back(to);
  }
  out.keep = std::move(pinned.keep);
  fork.serial = child.serial;
  fork.cwd = working_dir.string();
  fork.env = std::move(env);
  out.bytes = zygote::encode_fork(fork);
  child.pid = -1;
  child.command = spec.argv[0];
  for (const UniqueFd* fd : {&child.request, &child.reply, &child.out, &child.err}) {
    if (*fd) set_nonblocking(fd->get());
  }
  send_to_zygote(z, std::move(out));
  return true;
}

void ProcessExecutor::send_to_zygote(Zygote& z, Zygote::Outgoing out) {
  if (z.outgoing.empty() && (!z.control || zygote::send_message(z.control.get(), out.bytes, out.fds) ||
                             (errno != EAGAIN && errno != EWOULDBLOCK))) {
    return;  // sent, or the zygote is gone (its end says so: its trials fail then)
  }
  z.outgoing.push_back(std::move(out));
}

void ProcessExecutor::flush_zygote(Zygote& z) {
  while (!z.outgoing.empty() && z.control) {
    const Zygote::Outgoing& out = z.outgoing.front();
    if (!zygote::send_message(z.control.get(), out.bytes, out.fds) && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    }
    z.outgoing.pop_front();
  }
}

// Everything the zygote says, its exit included.
void ProcessExecutor::serve_zygote(Zygote& z, Deliveries& deliveries) {
  if (z.state == Zygote::State::kDead) return;
  flush_zygote(z);
  std::string_view message;
  std::vector<int> fds;
  while (z.control) {
    bool truncated = false;
    fds.clear();
    const ssize_t n = zygote::receive_message(z.control.get(), z.buffer, message, fds, truncated);
    for (int fd : fds) ::close(fd);  // a zygote sends none
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {  // it exited (or closed its end): its wait status tells
      zygote_died(z, deliveries, "");
      return;
    }
    if (z.state == Zygote::State::kStarting) {
      if (!is_hello(message)) {
        // An older tune's worker answers our hello with an error: no zygote there.
        zygote_died(z, deliveries, "did not answer as a zygote: " + quoted_excerpt(message));
        return;
      }
      z.state = Zygote::State::kReady;
      z.hello_deadline = kNever;
      start_waiting(z, deliveries);
      continue;
    }
    on_zygote_message(z, message, deliveries);
  }
  if (z.pidfd) {
    pollfd p{z.pidfd.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) zygote_died(z, deliveries, "");
  }
}

bool ProcessExecutor::is_hello(std::string_view message) {
  try {
    const Json hello = Json::parse(message);
    return hello.is_object() && hello.value("type", "") == "zygote" && hello.value("version", 0) == zygote::kVersion;
  } catch (const Json::exception&) {
    return false;
  }
}

void ProcessExecutor::start_waiting(Zygote& z, Deliveries& deliveries) {
  std::deque<uint64_t> waiting;
  waiting.swap(z.waiting);
  for (uint64_t serial : waiting) {
    Child* child = by_serial(serial);
    if (child == nullptr || !child->deferred) continue;  // stopped meanwhile
    launch(*child, std::move(child->deferred), deliveries);
  }
}

void ProcessExecutor::on_zygote_message(Zygote& z, std::string_view message, Deliveries& deliveries) {
  auto read_i32 = [&](size_t at) {
    int32_t v = 0;
    if (message.size() >= at + sizeof v) std::memcpy(&v, message.data() + at, sizeof v);
    return v;
  };
  if (message[0] == 'P' && message.size() >= 13) {
    uint64_t serial = 0;
    std::memcpy(&serial, message.data() + 1, sizeof serial);
    const int32_t pid = read_i32(9);
    Child* child = by_serial(serial);
    if (child == nullptr || child->zygote.get() != &z) {
      if (pid > 0) ::kill(-pid, SIGKILL);  // nobody wants it any more; its exit is reaped below
      return;
    }
    if (pid <= 0 && child->forking && !child->kill_pending && is_exhaustion(-pid)) {
      hold_back(*child, std::move(child->forking), -pid, deliveries);  // tried again, as a spawn is
      return;
    }
    child->forking.reset();
    if (pid <= 0) {
      child->exited = true;
      child->lost = fmt::format("{} could not fork it: {}", z.who(), std::strerror(-pid));
      on_exited(*child, deliveries);
      return;
    }
    child->pid = pid;
    child->held_since = kNever;
    if (child->kill_pending) ::kill(-pid, SIGKILL);
  } else if (message[0] == 'X' && message.size() >= 9) {
    const int32_t pid = read_i32(1);
    const int32_t status = read_i32(5);
    send_to_zygote(z, {zygote::encode_reap({pid}), {}, {}, {}});
    for (auto& child : children_) {
      if (child->zygote.get() != &z || child->pid != pid || child->exited) continue;
      child->exited = true;
      child->wait_status = status;
      on_exited(*child, deliveries);
      break;
    }
  }
}

// The zygote is gone (or given up): trials waiting for it start otherwise; the ones it forked,
// whose exit it can no longer tell, are killed and fail.
void ProcessExecutor::zygote_died(Zygote& z, Deliveries& deliveries, const std::string& why) {
  if (z.state == Zygote::State::kDead) return;
  const bool served = z.state == Zygote::State::kReady;
  z.state = Zygote::State::kDead;
  z.control.reset();
  z.outgoing.clear();
  if (!z.exited) {
    ::kill(z.pid, SIGKILL);
    z.killed_by_tune = true;
    reap_zygote(z, true);
  }
  const std::string what = fmt::format(
      "{} {}", z.who(), !why.empty() ? why : describe_wait_status(z.wait_status, z.killed_by_tune));
  const ZygoteKey key{z.spec, z.omp};
  if (auto it = zygote_for_.find(key); it != zygote_for_.end() && it->second.get() == &z) zygote_for_.erase(it);
  if (served) {
    ++zygote_losses_[z.spec];
  } else {
    exec_only_.insert(key);
  }
  for (auto& child : children_) {
    if (child->zygote.get() != &z || child->exited || child->deferred) continue;
    if (child->pid > 0) ::kill(-child->pid, SIGKILL);
    child->killed_by_tune = true;
    child->exited = true;
    child->wait_status = SIGKILL;
    child->lost = what;
    on_exited(*child, deliveries);
  }
  start_waiting(z, deliveries);
}

// True when the zygote's process is reaped; `wait`: block for it.
bool ProcessExecutor::reap_zygote(Zygote& z, bool wait) {
  if (z.exited) return true;
  if (wait) ::kill(z.pid, SIGKILL);
  int status = 0;
  pid_t got;
  while ((got = ::waitpid(z.pid, &status, wait ? 0 : WNOHANG)) < 0 && errno == EINTR) {
  }
  if (got == 0) return false;
  z.exited = true;
  z.wait_status = got > 0 ? status : 0;
  z.pidfd.reset();
  return true;
}
}  // namespace tune::detail::proc
