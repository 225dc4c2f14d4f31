// ProcessExecutor's loop: every trial is a child process that speaks the worker protocol on fds
// 3/4 (docs/protocol.md) or prints plain JSON result lines on stdout. Children are posix_spawn'ed
// (common/subprocess.h: vfork + exec, cheap even from a big driver) into their own process
// group, or forked by a zygote (zygote_client.cc); one poll() over every child's pipes and pidfd
// runs on the runner's thread inside poll(), so events reach the sink from there only, as the
// Executor contract asks. What children write is read in child_output.cc.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "common/process_tree.h"
#include "executors/process_executor_impl.h"
#include "tune/client.h"
#include "tune/error.h"

namespace tune::detail {
namespace proc {

ProcessExecutor::ProcessExecutor(Sink sink, std::shared_ptr<ChildLauncher> launcher)
    : sink_(std::move(sink)), launcher_(std::move(launcher)) {
  become_child_subreaper();
}

ProcessExecutor::~ProcessExecutor() {
  for (auto& child : children_) {
    if (child->alive() && child->state != Child::State::kStopping && child->kill_at == kNever) ask_to_stop(*child);
  }
  by_key_.clear();
  // Wait for every child: politely until its grace runs out, then SIGKILL. Forked ones are
  // heard of through their zygotes.
  std::vector<Delivery> ignored;
  while (std::any_of(children_.begin(), children_.end(), [](const auto& c) { return c->alive(); })) {
    std::vector<pollfd> fds;
    Clock::time_point next = kNever;
    bool blind = false;
    for (auto& child : children_) {
      if (!child->alive()) continue;
      if (child->pidfd)
        fds.push_back({child->pidfd.get(), POLLIN, 0});
      else if (!child->zygote)
        blind = true;  // no pidfd: look again soon
      next = std::min(next, child->kill_at);
    }
    for (auto& z : zygotes_) {
      if (z->state == Zygote::State::kDead) continue;
      if (z->control) {
        fds.push_back({z->control.get(), static_cast<short>(POLLIN | (z->outgoing.empty() ? 0 : POLLOUT)), 0});
      }
      if (z->pidfd) fds.push_back({z->pidfd.get(), POLLIN, 0});
    }
    int wait_ms = next == kNever
                      ? 1000
                      : static_cast<int>(std::clamp(seconds(next - Clock::now()) * 1000.0 + 1.0, 0.0, 1000.0));
    if (blind) wait_ms = std::min(wait_ms, 10);
    ::poll(fds.data(), fds.size(), wait_ms);
    for (const auto& z : std::vector<std::shared_ptr<Zygote>>(zygotes_)) serve_zygote(*z, ignored);
    for (auto& child : children_) {
      if (!child->alive()) continue;
      if (!child->zygote) try_reap(*child);
      if (child->alive() && Clock::now() >= child->kill_at) kill_group(*child);
    }
    ignored.clear();
  }
  // A zygote ends when its control socket closes (it has no children left).
  for (auto& z : zygotes_) z->control.reset();
  const Clock::time_point give_up = after(2);
  for (auto& z : zygotes_) {
    while (!reap_zygote(*z, Clock::now() >= give_up)) {
      pollfd p{z->pidfd.get(), POLLIN, 0};
      ::poll(&p, z->pidfd ? 1 : 0, 10);
    }
  }
  // Last, what escaped the trials' groups (setsid() grandchildren): every process that still
  // holds a token of these experiments, wherever it is, and the orphans adopted meanwhile.
  for (const std::string& prefix : token_prefixes_) kill_token_holders(prefix, true, std::chrono::seconds(2));
  end_adopted_orphans({}, {recent_groups_.begin(), recent_groups_.end()}, {});
}

void ProcessExecutor::start(StartRequest request) {
  if (auto it = by_key_.find(request.key); it != by_key_.end()) {
    // A restarted trial: its previous process (if any is left) goes away first.
    Child& old = *it->second;
    by_key_.erase(it);
    if (old.alive() && old.state != Child::State::kStopping) ask_to_stop(old);
  }
  auto owned = std::make_unique<Child>();
  Child& child = *owned;
  child.serial = ++next_serial_;
  child.key = request.key;
  child.spec = request.trainable->process.get();
  child.plain = child.spec->protocol == ProcessSpec::Protocol::kPlain;
  child.trial_name = request.info.trial_name;
  child.command = child.spec->argv.empty() ? std::string() : child.spec->argv[0];
  child.filler = make_auto_filler(request);
  child.trial_dir = request.info.trial_dir;
  child.checkpoint_dir = checkpoint_dir_of(request.info);
  if (!request.info.experiment_id.empty() && !request.info.trial_id.empty()) {
    child.token = trial_token(request.info.experiment_id, request.info.trial_id);
    token_prefixes_.insert(experiment_token_prefix(request.info.experiment_id));
  }
  children_.push_back(std::move(owned));
  by_key_[request.key] = &child;
  launch(child, std::make_unique<StartRequest>(std::move(request)), queued_);
}

// Starts the child: forked by its zygote, or exec'd; or queued until its zygote is ready.
void ProcessExecutor::launch(Child& child, std::unique_ptr<StartRequest> request, Deliveries& deliveries) {
  child.zygote.reset();
  try {
    if (std::shared_ptr<Zygote> z = zygote_for(child, *request)) {
      child.zygote = z;
      if (z->state != Zygote::State::kReady || !fork_from(*z, child, *request)) {
        if (z->state == Zygote::State::kReady) {
          child.zygote.reset();  // too big a request for the zygote
          spawn(child, *request);
        } else {
          child.deferred = std::move(request);
          z->waiting.push_back(child.serial);
          return;
        }
      }
    } else {
      spawn(child, *request);
    }
  } catch (const std::exception& e) {
    // Short of descriptors or processes: the trial waits (backpressure), it does not fail.
    if (const auto* os = dynamic_cast<const std::system_error*>(&e);
        os != nullptr && os->code().category() == std::generic_category() && is_exhaustion(os->code().value())) {
      hold_back(child, std::move(request), os->code().value(), deliveries);
      return;
    }
    child.state = Child::State::kEnded;
    child.exited = true;  // nothing to wait for
    child.zygote.reset();
    deliveries.push_back({child.key, child.serial, {child.key, ExecutorEvent::Type::kError, {}, e.what()}});
    return;
  }
  launched(child, *request);
  if (child.zygote) {
    child.forking = std::move(request);  // until the zygote says it forked (zygote_client.cc)
  } else {
    child.held_since = kNever;
  }
}

bool ProcessExecutor::is_exhaustion(int error) {
  return error == EMFILE || error == ENFILE || error == EAGAIN || error == ENOMEM;
}

void ProcessExecutor::hold_back(Child& child, std::unique_ptr<StartRequest> request, int error,
                                Deliveries& deliveries) {
  // What the failed attempt opened goes; the next one opens it again.
  for (UniqueFd* fd : {&child.request, &child.reply, &child.out, &child.err, &child.out_log, &child.err_log}) {
    fd->reset();
  }
  child.zygote.reset();
  child.forking.reset();
  child.pid = -1;
  // As before its launch: a zygote's refused fork comes after launched() had begun the protocol.
  child.state = Child::State::kStarting;
  child.awaiting = "setup";
  child.unsent.clear();
  child.close_requests = false;
  child.deadline = kNever;
  const Clock::time_point now = Clock::now();
  if (child.held_since == kNever) child.held_since = now;
  const bool others_run = std::any_of(children_.begin(), children_.end(), [](const auto& c) {
    return c->alive() && c->pid > 0;
  });
  if (!others_run && seconds(now - child.held_since) > kHoldBackLimitS) {
    child.state = Child::State::kEnded;
    child.exited = true;
    deliveries.push_back({child.key, child.serial,
                          {child.key, ExecutorEvent::Type::kError, {},
                           fmt::format("{} could not start for {:g} s with nothing else running: {}", child.who(),
                                       kHoldBackLimitS, std::strerror(error))}});
    return;
  }
  child.deferred = std::move(request);
  held_back_.push_back(child.serial);
  retry_at_ = std::min(retry_at_, after(kRetryDelayS));
}

void ProcessExecutor::retry_held_back(Deliveries& deliveries) {
  if (held_back_.empty() || Clock::now() < retry_at_) return;
  retry_at_ = kNever;
  std::deque<uint64_t> waiting;
  waiting.swap(held_back_);
  while (!waiting.empty()) {
    Child* child = by_serial(waiting.front());
    waiting.pop_front();
    if (child == nullptr || !child->alive() || !child->deferred || child->held_since == kNever) continue;
    launch(*child, std::move(child->deferred), deliveries);
    if (!held_back_.empty()) break;  // still short: the rest keep their turn
  }
  held_back_.insert(held_back_.end(), waiting.begin(), waiting.end());
}

void ProcessExecutor::end_leftovers(const Child& child) {
  if (child.pid > 0) {
    recent_groups_.push_back(child.pid);
    if (recent_groups_.size() > kRecentGroups) recent_groups_.pop_front();
  }
  std::vector<pid_t> mine;
  for (const auto& c : children_) {
    if (c->pid > 0 && !c->zygote && c.get() != &child) mine.push_back(c->pid);
  }
  for (const auto& z : zygotes_) mine.push_back(z->pid);
  end_adopted_orphans(child.token, {recent_groups_.begin(), recent_groups_.end()}, mine);
}

// The process runs (or its fork is asked for): setup and the first step go to it.
void ProcessExecutor::launched(Child& child, const StartRequest& request) {
  child.spawned_at = child.step_start = child.last_result_at = Clock::now();
  child.state = child.plain ? Child::State::kStepping : Child::State::kStarting;
  arm_step_timeout(child);
  if (!child.plain) {
    Json trial = {{"trial_id", request.info.trial_id},
                  {"trial_name", request.info.trial_name},
                  {"experiment_id", request.info.experiment_id},
                  {"trial_dir", request.info.trial_dir.string()},
                  {"checkpoint_dir", checkpoint_dir_of(request.info).string()},
                  // Launched: the launcher's scheduler picks the GPUs (CUDA_VISIBLE_DEVICES), not tune.
                  {"gpu_ids", launcher_ ? std::vector<int>{} : request.info.gpu_ids},
                  {"resources", request.info.resources.to_json()}};
    Json setup = {{"type", "setup"},
                  {"version", client::kProtocolVersion},
                  {"config", request.config},
                  {"trial", std::move(trial)},
                  {"restore_from", request.info.restore_from.empty() ? Json(nullptr)
                                                                    : Json(request.info.restore_from.string())}};
    // The first step goes right behind setup: one round trip less per trial.
    send(child, client::wire::dump_line(setup) + kStepLine);
  }
}

void ProcessExecutor::continue_trial(int64_t key) {
  Child* child = owned(key);
  if (child == nullptr || child->state != Child::State::kWaiting) return;
  if (child->stashed) {
    child->state = Child::State::kEnded;
    queued_.push_back({child->key, child->serial, std::move(*child->stashed)});
    child->stashed.reset();
    if (child->alive()) kill_group(*child);
    return;
  }
  child->state = Child::State::kStepping;
  child->step_start = Clock::now();
  child->awaiting = "step";
  if (child->plain) {
    wake_.push_back(child->serial);  // a buffered line may answer at once
  } else {
    send(*child, kStepLine);
  }
  arm_step_timeout(*child);
}

void ProcessExecutor::save_trial(int64_t key, const std::filesystem::path& dir) {
  Child* child = owned(key);
  if (child == nullptr || child->state != Child::State::kWaiting) return;
  if (child->stashed) {  // it died or failed while the runner was deciding
    child->state = Child::State::kEnded;
    queued_.push_back({child->key, child->serial, std::move(*child->stashed)});
    child->stashed.reset();
    if (child->alive()) kill_group(*child);
    return;
  }
  if (child->plain) {
    queued_.push_back({child->key, child->serial,
                       {child->key, ExecutorEvent::Type::kError, {},
                        "a plain-protocol program cannot be asked to save: it checkpoints itself (write into "
                        "$TUNE_CHECKPOINT_DIR, then print a result with \"should_checkpoint\": true)"}});
    return;
  }
  child->state = Child::State::kSaving;
  child->step_start = Clock::now();
  child->awaiting = "save";
  send(*child, client::wire::dump_line(Json{{"type", "save"}, {"dir", dir.string()}}));
  arm_step_timeout(*child);
}

void ProcessExecutor::stop_trial(int64_t key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  Child& child = *it->second;
  by_key_.erase(it);
  if (child.state == Child::State::kEnded || child.state == Child::State::kStopping) return;
  child.state = Child::State::kStopping;
  child.deadline = kNever;
  child.results.clear();
  if (child.alive()) ask_to_stop(child);
}

void ProcessExecutor::poll(std::chrono::milliseconds timeout) {
  // One vector, its capacity kept from poll to poll: no allocation per round of results.
  std::vector<Delivery> deliveries = std::move(spare_deliveries_);
  deliveries.clear();
  std::move(queued_.begin(), queued_.end(), std::back_inserter(deliveries));
  queued_.clear();
  std::vector<uint64_t> wake;
  wake.swap(wake_);
  for (uint64_t serial : wake) {
    if (Child* child = by_serial(serial); child != nullptr) advance_plain(*child, deliveries);
  }
  retry_held_back(deliveries);
  if (!held_back_.empty() && retry_at_ != kNever) {
    timeout = std::min(timeout, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::max(Clock::duration::zero(), retry_at_ - Clock::now())) +
                                    std::chrono::milliseconds(1));
  }
  wait_and_read(deliveries.empty() ? timeout : std::chrono::milliseconds(0), deliveries);
  check_deadlines(deliveries);
  // Forget children that are over: exited and no longer the current process of their key.
  std::erase_if(children_, [this](const std::unique_ptr<Child>& c) {
    if (c->alive()) return false;
    auto it = by_key_.find(c->key);
    return it == by_key_.end() || it->second != c.get();
  });
  std::erase_if(zygotes_, [](const std::shared_ptr<Zygote>& z) { return z->state == Zygote::State::kDead && z->exited; });
  for (auto& delivery : deliveries) {
    // The runner may have stopped or restarted the trial since (inside an earlier sink call).
    Child* child = owned(delivery.key);
    if (child == nullptr || child->serial != delivery.serial) continue;
    sink_(std::move(delivery.event));
  }
  deliveries.clear();
  spare_deliveries_ = std::move(deliveries);
}

Child* ProcessExecutor::owned(int64_t key) {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : it->second;
}

Child* ProcessExecutor::by_serial(uint64_t serial) {
  for (auto& child : children_) {
    if (child->serial == serial) return child.get();
  }
  return nullptr;
}

std::filesystem::path ProcessExecutor::checkpoint_dir_of(const TrialInfo& info) {
  return info.trial_dir.empty() ? std::filesystem::path() : info.trial_dir / "checkpoint";
}

void ProcessExecutor::arm_step_timeout(Child& child) {
  child.deadline = child.spec->step_timeout_s > 0 ? after(child.spec->step_timeout_s) : kNever;
}

// Where the child runs: checked here, so a missing directory is the trial's clear error.
std::filesystem::path ProcessExecutor::working_dir_of(const ProcessSpec& spec, const StartRequest& request) {
  std::filesystem::path working_dir = spec.working_dir.empty() ? request.info.trial_dir : spec.working_dir;
  if (!working_dir.empty() && !spec.working_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(working_dir, ec)) {
      throw TuneError(fmt::format("working_dir: {} is not a directory", working_dir.string()));
    }
  }
  return working_dir;
}

void ProcessExecutor::spawn(Child& child, const StartRequest& request) {
  const ProcessSpec& spec = *child.spec;
  std::vector<std::string> argv = substitute_argv(spec.argv, request.config);
  const bool launched = launcher_ != nullptr;
  if (launched) argv = launcher_->wrap(request, std::move(argv));
  const std::filesystem::path& trial_dir = request.info.trial_dir;
  const std::filesystem::path working_dir = working_dir_of(spec, request);
  // Pinned objects (tune/object_store.h) follow the protocol fds: 3.. (plain) or 5.. (worker).
  // A launched child may run on another machine: no pinned objects, and its protocol is on 0/1.
  const ChildPinnedObjects pinned = launched ? ChildPinnedObjects{} : pinned_objects_for_child(child.plain ? 3 : 5);

  // Where the child's stdout and stderr go. Straight to files when nothing needs to see them
  // on the way (cheapest, and they survive a driver crash); through pipes otherwise. Our ends
  // and theirs are lifted above kFdFloor, out of the way of the child's dup2 actions.
  const bool have_dir = !trial_dir.empty();
  UniqueFd out_target, err_target;  // the child's ends
  if (have_dir) child.err_path = trial_dir / "stderr.log";
  if (child.plain || spec.echo_output || launched) {
    FdPair pipe = make_pipe();
    UniqueFd read_end = lift_fd(std::move(pipe.first));
    out_target = lift_fd(std::move(pipe.second));
    (child.plain || launched ? child.reply : child.out) = std::move(read_end);
    // A launched worker writes stdout.log itself (client.h moves its stdout there).
    if (have_dir && (child.plain || !launched)) child.out_log = open_log(trial_dir / "stdout.log");
  } else if (have_dir) {
    out_target = open_log(trial_dir / "stdout.log");
  }
  if (have_dir && !spec.echo_output && !launched) {
    err_target = open_log(child.err_path);
  } else {
    FdPair pipe = make_pipe();
    child.err = lift_fd(std::move(pipe.first));
    err_target = lift_fd(std::move(pipe.second));
    if (have_dir) child.err_log = open_log(child.err_path);
  }
  UniqueFd request_target, reply_target;
  if (!child.plain) {
    // (Launched: the reply pipe is the child's stdout, made above.)
    FdPair sockets = make_socket_pair(SOCK_STREAM);
    child.request = lift_fd(std::move(sockets.first));
    request_target = lift_fd(std::move(sockets.second));
    if (!launched) {
      FdPair pipe = make_pipe();
      child.reply = lift_fd(std::move(pipe.first));
      reply_target = lift_fd(std::move(pipe.second));
    }
  }

  // The child leads its own process group (a kill reaches what it starts; a terminal's ^C is the
  // driver's to handle), with no signal blocked and the common ones at their defaults.
  SpawnOptions options;
  options.argv = argv;
  options.env = child_environment(request, spec, checkpoint_dir_of(request.info), pinned.env, launched);
  options.inherit_env = false;
  options.new_process_group = true;
  options.reset_signals = true;
  options.die_with_parent = true;  // a SIGKILLed driver takes its trials along
  if (launched && request_target)
    options.dup(request_target.get(), 0);
  else
    options.dev_null(0, O_RDONLY);
  if (out_target)
    options.dup(out_target.get(), 1);
  else
    options.dev_null(1, O_WRONLY);
  options.dup(err_target.get(), 2);
  if (!child.plain && !launched) {
    options.dup(request_target.get(), 3);
    options.dup(reply_target.get(), 4);
  }
  for (const auto& [from, to] : pinned.dup2) options.dup(from, to);
  // Nothing else of the driver's leaks into the trial (the lifted fds are close-on-exec
  // already; this also covers descriptors the user's program opened without it).
  options.close_from = launched ? 3 : pinned.next_free_fd;
  options.cwd = working_dir;
  const Spawned spawned = spawn_process(options);
  if (!spawned) {
    if (is_exhaustion(spawned.error)) throw std::system_error(spawned.error, std::generic_category(), "spawn");
    // A working_dir removed in between also lands here as ENOENT; it was checked just above.
    throw TuneError(spawn_error(spawned.error, argv[0]));
  }
  const pid_t pid = spawned.pid;
  child.pid = pid;
  child.command = argv[0];
  child.pidfd = open_pidfd(pid);
  for (const UniqueFd* fd : {&child.request, &child.reply, &child.out, &child.err}) {
    if (*fd) set_nonblocking(fd->get());
  }
}

void ProcessExecutor::send(Child& child, std::string_view data) {
  if (!child.request) return;
  if (child.unsent.empty()) {
    const ssize_t n = ::send(child.request.get(), data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(data.size())) return;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return;  // gone: its exit tells
    data.remove_prefix(n > 0 ? static_cast<size_t>(n) : 0);
  }
  child.unsent.append(data);
}

void ProcessExecutor::flush_unsent(Child& child) {
  while (!child.unsent.empty()) {
    const ssize_t n =
        ::send(child.request.get(), child.unsent.data(), child.unsent.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) child.unsent.clear();
      break;
    }
    child.unsent.erase(0, static_cast<size_t>(n));
  }
  if (child.unsent.empty() && child.close_requests) ::shutdown(child.request.get(), SHUT_WR);
}

// No more requests: the child reads end-of-file after what is queued (a client blocked on
// its request pipe wakes up and ends).
void ProcessExecutor::close_requests(Child& child) {
  if (!child.request || child.close_requests) return;
  child.close_requests = true;
  if (child.unsent.empty()) ::shutdown(child.request.get(), SHUT_WR);
}

// A child still waiting for its zygote never runs: nothing to stop or wait for.
bool ProcessExecutor::abandon_unstarted(Child& child) {
  if (!child.deferred) return false;
  child.deferred.reset();
  child.exited = true;
  child.deadline = child.kill_at = kNever;
  return true;
}

void ProcessExecutor::ask_to_stop(Child& child) {
  child.deadline = kNever;
  if (!child.alive() || abandon_unstarted(child)) return;
  if (child.plain) {
    ::kill(-child.pid, kPoliteSignal);
  } else {
    send(child, "{\"type\":\"stop\"}\n");
    close_requests(child);
  }
  child.kill_at = after(child.spec->stop_grace_s);
}

void ProcessExecutor::kill_group(Child& child) {
  child.kill_at = kNever;
  child.deadline = kNever;
  if (!child.alive() || abandon_unstarted(child)) return;
  child.killed_by_tune = true;
  if (launcher_) launcher_->cancel(child.trial_name);
  if (child.pid <= 0) {
    child.kill_pending = true;  // forked, but its pid is not known yet: killed when it is
    return;
  }
  ::kill(-child.pid, SIGKILL);
}

// True when the process has exited (and is now reaped).
bool ProcessExecutor::try_reap(Child& child) {
  if (!child.alive()) return true;
  if (child.zygote) return false;  // not our child: its zygote reports the exit
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(child.pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno == EINTR) return false;
    child.exited = true;  // not our child any more (someone else reaped it): nothing to wait for
    child.pidfd.reset();
    return true;
  }
  if (info.si_pid == 0) return false;
  // Whatever it started and left behind goes with it. The leader is a zombie until the
  // waitpid below, so its pid (the group id) cannot have been reused by anyone.
  ::kill(-child.pid, SIGKILL);
  int status = 0;
  while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
  }
  child.exited = true;
  child.wait_status = status;
  child.pidfd.reset();
  return true;
}

void ProcessExecutor::wait_and_read(std::chrono::milliseconds timeout, Deliveries& deliveries) {
  pollfds_.clear();
  watches_.clear();
  Clock::time_point next = kNever;
  bool blind = false;  // a child without pidfd: look for its exit now and then
  for (auto& owned_child : children_) {
    Child& c = *owned_child;
    if (!c.alive()) continue;
    auto watch = [&](const UniqueFd& fd, short events, int which) {
      if (!fd) return;
      pollfds_.push_back({fd.get(), events, 0});
      watches_.push_back({&c, which});
    };
    if (!(c.plain && c.results.size() >= kMaxBufferedResults)) watch(c.reply, POLLIN, 0);
    watch(c.out, POLLIN, 1);
    watch(c.err, POLLIN, 2);
    if (!c.unsent.empty()) watch(c.request, POLLOUT, 3);
    if (c.pidfd)
      watch(c.pidfd, POLLIN, 4);
    else if (!c.zygote && c.pid > 0)  // (not a child held back: it has no process yet)
      blind = true;
    next = std::min({next, c.deadline, c.kill_at});
  }
  for (auto& z : zygotes_) {
    if (z->state == Zygote::State::kDead) continue;
    if (z->control) {
      pollfds_.push_back({z->control.get(), static_cast<short>(POLLIN | (z->outgoing.empty() ? 0 : POLLOUT)), 0});
      watches_.push_back({nullptr, 5, z.get()});
    }
    if (z->pidfd) {
      pollfds_.push_back({z->pidfd.get(), POLLIN, 0});
      watches_.push_back({nullptr, 5, z.get()});
    }
    next = std::min(next, z->hello_deadline);
  }
  int wait_ms = static_cast<int>(timeout.count());
  if (next != kNever) {
    const double until = seconds(next - Clock::now()) * 1000.0;
    wait_ms = std::min(wait_ms, static_cast<int>(std::clamp(std::ceil(until), 0.0, 1e9)));
  }
  if (blind) wait_ms = std::min(wait_ms, 20);
  if (pollfds_.empty()) {
    if (wait_ms > 0) ::poll(nullptr, 0, wait_ms);
  } else {
    const int n = ::poll(pollfds_.data(), pollfds_.size(), std::max(0, wait_ms));
    if (n < 0 && errno != EINTR) throw os_error("poll");
    if (n > 0) {
      for (size_t i = 0; i < pollfds_.size(); ++i) {
        if (pollfds_[i].revents == 0) continue;
        if (watches_[i].zygote != nullptr) {
          serve_zygote(*watches_[i].zygote, deliveries);
          continue;
        }
        Child& c = *watches_[i].child;
        switch (watches_[i].which) {
          case 0:
            read_reply(c, deliveries, false);
            break;
          case 1:
            read_output(c, c.out, c.out_buf, c.out_log, false, false);
            break;
          case 2:
            read_output(c, c.err, c.err_buf, c.err_log, true, false);
            break;
          case 3:
            flush_unsent(c);
            break;
          case 4:
            on_exit_signalled(c, deliveries);
            break;
        }
      }
    }
  }
  if (blind) {
    for (auto& c : children_) {
      if (c->alive() && !c->pidfd && !c->zygote && c->pid > 0 && try_reap(*c)) on_exited(*c, deliveries);
    }
  }
}

void ProcessExecutor::on_exit_signalled(Child& child, Deliveries& deliveries) {
  if (!try_reap(child)) return;
  on_exited(child, deliveries);
}

void ProcessExecutor::check_deadlines(Deliveries& deliveries) {
  const auto now = Clock::now();
  for (const auto& z : std::vector<std::shared_ptr<Zygote>>(zygotes_)) {
    if (z->state == Zygote::State::kStarting && z->hello_deadline <= now) {
      zygote_died(*z, deliveries, fmt::format("said no hello within {:g} s", kZygoteHelloTimeoutS));
    }
  }
  for (auto& owned_child : children_) {
    Child& c = *owned_child;
    if (!c.alive()) continue;
    if (c.deadline <= now && (c.state == Child::State::kStarting || c.state == Child::State::kStepping ||
                              c.state == Child::State::kSaving)) {
      if (c.plain && !c.results.empty()) continue;
      kill_group(c);
      std::string message =
          fmt::format("{} gave no {} within step_timeout_s={:g} s and was killed (SIGKILL to its process group)",
                      c.who(), c.plain ? "result line" : "reply to '" + c.awaiting + "'", c.spec->step_timeout_s);
      message += stderr_tail(c);
      c.state = Child::State::kEnded;
      c.results.clear();
      deliveries.push_back({c.key, c.serial, {c.key, ExecutorEvent::Type::kError, {}, std::move(message)}});
    } else if (c.kill_at <= now) {
      kill_group(c);
    }
  }
}
}  // namespace proc

std::unique_ptr<Executor> make_process_executor(Executor::Sink sink, std::shared_ptr<ChildLauncher> launcher) {
  return std::make_unique<proc::ProcessExecutor>(std::move(sink), std::move(launcher));
}

}  // namespace tune::detail
