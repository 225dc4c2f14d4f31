// ProcessExecutor: what children write and how they end. Worker replies are judged by
// worker_messages.h and acted on here; plain programs' stdout lines become buffered results
// handed over one per step; stdout/stderr are copied to the trial's logs; an exit becomes the
// trial's end or its error, worded with the tail of its stderr.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

#include "analysis/state_paths.h"
#include "executors/process_executor_impl.h"
#include "executors/worker_messages.h"
#include "trial/auto_fill.h"
#include "tune/error.h"

namespace tune::detail::proc {

// The process is gone: read what it left in the pipes, then decide what its exit means.
void ProcessExecutor::on_exited(Child& child, Deliveries& deliveries) {
  end_leftovers(child);
  if (!held_back_.empty()) retry_at_ = Clock::now();  // what it held is free now
  if (child.reply) read_reply(child, deliveries, true);
  if (child.out) read_output(child, child.out, child.out_buf, child.out_log, false, true);
  if (child.err) read_output(child, child.err, child.err_buf, child.err_log, true, true);
  child.request.reset();
  child.unsent.clear();
  child.deadline = child.kill_at = kNever;
  switch (child.state) {
    case Child::State::kSaving: {
      ExecutorEvent event = exit_event(child, "before replying to 'save'");
      if (event.type == ExecutorEvent::Type::kFinished) {
        event = {child.key, ExecutorEvent::Type::kError, {},
                 fmt::format("{} exited with status 0 instead of replying to 'save'", child.who())};
      }
      child.state = Child::State::kEnded;
      deliveries.push_back({child.key, child.serial, std::move(event)});
      break;
    }
    case Child::State::kStarting:
    case Child::State::kStepping:
      if (child.plain) {
        advance_plain(child, deliveries);
      } else {
        ExecutorEvent event = exit_event(child, "before replying to '" + child.awaiting + "'");
        child.state = Child::State::kEnded;
        deliveries.push_back({child.key, child.serial, std::move(event)});
      }
      break;
    case Child::State::kWaiting:
      if (!child.plain && !child.stashed) child.stashed = exit_event(child, "after its last result");
      break;
    case Child::State::kStopping:
    case Child::State::kEnded:
      break;
  }
}

ExecutorEvent ProcessExecutor::exit_event(const Child& child, const std::string& when) {
  if (!child.lost.empty()) {
    std::string message = fmt::format("{} was lost{}: {}", child.who(), when.empty() ? "" : " " + when, child.lost);
    message += stderr_tail(child);
    return {child.key, ExecutorEvent::Type::kError, {}, std::move(message)};
  }
  // The launcher knows more than the status: srun exits 0 after a node failure.
  const std::string cluster = launcher_ && !child.killed_by_tune
                                  ? launcher_->failure(child.launcher_lines, child.wait_status)
                                  : std::string();
  if (!cluster.empty()) {
    std::string message = fmt::format("{} {}: {}{}", child.who(), describe_wait_status(child.wait_status, false),
                                      cluster, when.empty() ? "" : " (" + when + ")");
    message += stderr_tail(child);
    return {child.key, ExecutorEvent::Type::kError, {}, std::move(message)};
  }
  if (WIFEXITED(child.wait_status) && WEXITSTATUS(child.wait_status) == 0) {
    return {child.key, ExecutorEvent::Type::kFinished, {}, {}};
  }
  std::string message =
      fmt::format("{} {}{}", child.who(), describe_wait_status(child.wait_status, child.killed_by_tune),
                  when.empty() ? "" : " " + when);
  message += stderr_tail(child);
  return {child.key, ExecutorEvent::Type::kError, {}, std::move(message)};
}

// Reads what is available; `to_end`: the process exited, take everything still buffered.
void ProcessExecutor::read_reply(Child& child, Deliveries& deliveries, bool to_end) {
  char chunk[kReadChunk];
  // After the exit, a descendant may still hold the pipe and write: take what is there, boundedly.
  for (int reads = 0; child.reply && reads < kMaxReadsAtExit; ++reads) {
    const ssize_t n = ::read(child.reply.get(), chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN: all read for now
    }
    if (n == 0) {
      child.reply.reset();  // EOF
      break;
    }
    const auto size = static_cast<size_t>(n);
    if (child.plain) {
      if (child.out_log) write_fully(child.out_log.get(), chunk, size);
      child.reply_buf.append(chunk, size);
      std::string_view line;
      while (child.reply_buf.next(line)) plain_line(child, line, deliveries);
      check_long_plain_line(child, deliveries);
    } else {
      child.reply_buf.append(chunk, size);
      std::string_view line;
      while (child.reply_buf.next(line)) worker_line(child, line, deliveries);
      if (child.reply_buf.pending() > child.spec->max_message_bytes && child.state != Child::State::kStopping &&
          child.state != Child::State::kEnded) {
        protocol_failure(child,
                         fmt::format("a reply is longer than max_message_bytes={} (at least {} bytes without a "
                                     "newline); results must be small JSON objects: write large data to files in "
                                     "the trial directory",
                                     child.spec->max_message_bytes, child.reply_buf.pending()),
                         deliveries);
      }
      if (child.state == Child::State::kEnded || child.state == Child::State::kStopping) child.reply_buf.clear();
    }
    if (size < sizeof chunk && !to_end) break;  // drained; poll() says when there is more
  }
  if (to_end && child.plain && child.reply_buf.pending() > 0 && !child.skipping_long_line) {
    // A last line without '\n'.
    const std::string last(child.reply_buf.rest());
    child.reply_buf.clear();
    plain_line(child, last, deliveries);
  }
  if (child.plain) advance_plain(child, deliveries);
}

void ProcessExecutor::read_output(Child& child, UniqueFd& fd, LineBuffer& buffer, UniqueFd& log, bool is_err, bool to_end) {
  char chunk[kReadChunk];
  for (int reads = 0; fd && reads < kMaxReadsAtExit; ++reads) {
    const ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (n == 0) {
      fd.reset();
      break;
    }
    const auto size = static_cast<size_t>(n);
    if (log) write_fully(log.get(), chunk, size);
    buffer.append(chunk, size);
    std::string_view line;
    while (buffer.next(line)) {
      if (is_err) keep_tail(child.err_tail, line);
      if (is_err && launcher_ && child.launcher_lines.size() < kStderrTailLines && launcher_->is_launcher_line(line)) {
        child.launcher_lines.emplace_back(line.substr(0, kStderrTailLineBytes));
      }
      if (child.spec->echo_output) echo(child, line, is_err);
    }
    if (buffer.pending() > kReadChunk) {  // an endless line: keep its start only
      if (is_err) keep_tail(child.err_tail, buffer.rest());
      buffer.clear();
    }
    if (size < sizeof chunk && !to_end) break;
  }
}

void ProcessExecutor::echo(const Child& child, std::string_view line, bool is_err) {
  std::ostream& os = is_err ? std::cerr : std::cout;
  os << '[' << child.trial_name << "] " << line << '\n';
}

// A failure the trial is to blame for: reported now (or when the runner is done deciding),
// and the process is killed.
void ProcessExecutor::protocol_failure(Child& child, const std::string& problem, Deliveries& deliveries) {
  ExecutorEvent event{child.key, ExecutorEvent::Type::kError, {}, fmt::format("{}: {}", child.who(), problem)};
  fail(child, std::move(event), deliveries);
}

void ProcessExecutor::fail(Child& child, ExecutorEvent event, Deliveries& deliveries) {
  switch (child.state) {
    case Child::State::kStarting:
    case Child::State::kStepping:
    case Child::State::kSaving:
      child.state = Child::State::kEnded;
      deliveries.push_back({child.key, child.serial, std::move(event)});
      kill_group(child);
      break;
    case Child::State::kWaiting:
      if (!child.stashed) child.stashed = std::move(event);
      kill_group(child);
      break;
    case Child::State::kStopping:
    case Child::State::kEnded:
      break;
  }
}

namespace {

WorkerState worker_state(Child::State state) {
  switch (state) {
    case Child::State::kStarting:
      return WorkerState::kStarting;
    case Child::State::kSaving:
      return WorkerState::kSaving;
    case Child::State::kWaiting:
      return WorkerState::kWaiting;
    default:
      return WorkerState::kStepping;
  }
}

}  // namespace

// One reply line of a worker: judged by worker_messages.h, acted on here.
void ProcessExecutor::worker_line(Child& child, std::string_view line, Deliveries& deliveries) {
  ++child.line_number;
  if (child.state == Child::State::kStopping || child.state == Child::State::kEnded) return;
  const ReplyContext context{worker_state(child.state), child.line_number, child.spec->max_message_bytes,
                             child.awaiting};
  WorkerReply reply = read_worker_reply(line, context);
  switch (reply.kind) {
    case WorkerReply::Kind::kResult:
      accept_result(child, std::move(reply.result), deliveries);
      break;
    case WorkerReply::Kind::kReady:
      child.state = Child::State::kStepping;  // setup done; the step already waits in its pipe
      child.awaiting = "step";
      child.step_start = Clock::now();
      arm_step_timeout(child);
      break;
    case WorkerReply::Kind::kSaved:
      child.state = Child::State::kWaiting;
      child.deadline = kNever;
      deliveries.push_back({child.key, child.serial, {child.key, ExecutorEvent::Type::kSaved, {}, {}}});
      break;
    case WorkerReply::Kind::kDone:
      child.state = Child::State::kEnded;
      child.deadline = kNever;
      deliveries.push_back({child.key, child.serial, {child.key, ExecutorEvent::Type::kFinished, {}, {}}});
      close_requests(child);
      child.kill_at = after(child.spec->stop_grace_s);
      break;
    case WorkerReply::Kind::kError:
      trainable_error(child, std::move(reply.text), deliveries);
      break;
    case WorkerReply::Kind::kViolation:
      protocol_failure(child, reply.text, deliveries);
      break;
  }
}

// The trainable's own error: the reply to a request ends the trial with it; said unasked (while
// the runner decides), it is kept for the runner's next call and the process is killed.
void ProcessExecutor::trainable_error(Child& child, std::string text, Deliveries& deliveries) {
  ExecutorEvent event{child.key, ExecutorEvent::Type::kError, {}, std::move(text)};
  if (child.state == Child::State::kWaiting) {
    fail(child, std::move(event), deliveries);
    return;
  }
  child.state = Child::State::kEnded;
  deliveries.push_back({child.key, child.serial, std::move(event)});
  // It exits by itself after an error reply; the grace bounds the wait.
  close_requests(child);
  child.kill_at = after(child.spec->stop_grace_s);
}

// A step's result: auto-filled and handed to the runner; the child waits for the decision.
void ProcessExecutor::accept_result(Child& child, Result result, Deliveries& deliveries) {
  try {
    child.filler->fill(result, seconds(Clock::now() - child.step_start));
  } catch (const TuneError& e) {
    protocol_failure(child, e.what(), deliveries);
    return;
  }
  child.state = Child::State::kWaiting;
  child.deadline = kNever;
  deliveries.push_back({child.key, child.serial, {child.key, ExecutorEvent::Type::kResult, std::move(result), {}}});
}

void ProcessExecutor::plain_line(Child& child, std::string_view line, Deliveries& deliveries) {
  ++child.line_number;
  if (child.skipping_long_line) {  // the end of an over-long log line
    child.skipping_long_line = false;
    return;
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (child.spec->echo_output) echo(child, line, false);
  if (child.state == Child::State::kStopping || child.state == Child::State::kEnded || !child.plain_failure.empty()) {
    return;
  }
  PlainLine read = read_plain_line(line, child.line_number, child.spec->max_message_bytes);
  if (read.kind == PlainLine::Kind::kViolation) {
    plain_failure(child, std::move(read.text), deliveries);
    return;
  }
  if (read.kind != PlainLine::Kind::kResult) return;
  Json value = std::move(read.result);
  // The program is not paused while its results wait: a checkpoint it announces is taken
  // now, before it can start writing the next one.
  std::filesystem::path taken;
  if (auto named = value.find("checkpoint"); named != value.end() && named->is_string()) {
    // It names the directory it wrote for this line's state (docs/protocol.md): the label is
    // this line's iteration however far ahead the program has run.
    std::string why;
    taken = take_named_checkpoint(child, named->get_ref<const std::string&>(), why);
    if (!why.empty()) {
      plain_failure(child, fmt::format("stdout line {}: \"checkpoint\": {}", child.line_number, why), deliveries);
      return;
    }
    value["should_checkpoint"] = true;
  } else if (result_flag(value, "should_checkpoint") && !child.checkpoint_dir.empty()) {
    std::error_code ec;
    if (std::filesystem::is_directory(child.checkpoint_dir, ec) && !std::filesystem::is_empty(child.checkpoint_dir, ec)) {
      taken = child.trial_dir / fmt::format(".checkpoint_taken_{}", child.line_number);
      std::filesystem::remove_all(taken, ec);
      std::filesystem::rename(child.checkpoint_dir, taken, ec);
      if (ec) taken.clear();
    }
  }
  child.results.push_back({std::move(value), Clock::now(), std::move(taken)});
}

// A plain program's "checkpoint": "<name>": $TUNE_CHECKPOINT_DIR/<name>, which it wrote before
// printing the line and never touches again, moved aside for the runner to commit. Untrusted:
// one name, a directory inside the checkpoint directory (no link out of it).
std::filesystem::path ProcessExecutor::take_named_checkpoint(Child& child, const std::string& name, std::string& why) {
  if (child.checkpoint_dir.empty()) {
    why = "the trial has no directory (write_trial_files=false)";
    return {};
  }
  if (why = checkpoint_name_error(name); !why.empty()) return {};
  const ContainedPath inside = resolve_inside(child.checkpoint_dir, name);
  std::error_code ec;
  if (!inside) {
    why = inside.error;
  } else if (!std::filesystem::is_directory(inside.path, ec)) {
    why = fmt::format("{} is not a directory (write the checkpoint there before printing the line)",
                      inside.path.string());
  }
  if (!why.empty()) return {};
  std::filesystem::path taken = child.trial_dir / fmt::format(".checkpoint_taken_{}", child.line_number);
  std::filesystem::remove_all(taken, ec);
  std::filesystem::rename(inside.path, taken, ec);
  if (ec) why = fmt::format("cannot move {}: {}", inside.path.string(), ec.message());
  return ec ? std::filesystem::path() : taken;
}

// A bad result line of a plain program: the program is killed now, but the results it printed
// before the line are still handed over (and logged) first; advance_plain reports the failure
// when they are gone.
void ProcessExecutor::plain_failure(Child& child, std::string problem, Deliveries& deliveries) {
  if (!child.plain_failure.empty()) return;
  child.plain_failure = fmt::format("{}: {}", child.who(), problem);
  if (child.alive()) kill_group(child);
  advance_plain(child, deliveries);
}

void ProcessExecutor::too_long_result(Child& child, std::string_view start, Deliveries& deliveries) {
  plain_failure(child,
                fmt::format("stdout line {} looks like a JSON result but is at least {} bytes, longer than "
                            "max_message_bytes={}; results must be small JSON objects: write large data to files in "
                            "the trial directory; it begins: {}",
                            child.line_number + 1, start.size(), child.spec->max_message_bytes, quoted_excerpt(start)),
                deliveries);
}

// A plain line without its newline yet but already too long: a result that is too big is a
// failure; a log line is kept in stdout.log (written already) and skipped up to its end.
void ProcessExecutor::check_long_plain_line(Child& child, Deliveries& deliveries) {
  if (child.reply_buf.pending() <= child.spec->max_message_bytes) return;
  const std::string_view rest = child.reply_buf.rest();
  const size_t first = rest.find_first_not_of(" \t");
  const bool looks_like_result = first != std::string_view::npos && rest[first] == '{';
  if (looks_like_result && !child.skipping_long_line && child.state != Child::State::kStopping &&
      child.state != Child::State::kEnded) {
    too_long_result(child, rest, deliveries);
  }
  child.skipping_long_line = true;
  child.reply_buf.clear();
}

// Plain: hands over the next buffered result when the runner asked for one, or the end.
void ProcessExecutor::advance_plain(Child& child, Deliveries& deliveries) {
  if (!child.plain || child.state != Child::State::kStepping) return;
  if (!child.results.empty()) {
    auto [result, at, taken] = std::move(child.results.front());
    child.results.pop_front();
    try {
      child.filler->fill(result, seconds(at - child.last_result_at));
    } catch (const TuneError& e) {
      protocol_failure(child, e.what(), deliveries);
      return;
    }
    child.last_result_at = at;
    child.state = Child::State::kWaiting;
    child.deadline = kNever;
    deliveries.push_back(
        {child.key, child.serial, {child.key, ExecutorEvent::Type::kResult, std::move(result), {}, std::move(taken)}});
    return;
  }
  if (!child.plain_failure.empty()) {
    child.state = Child::State::kEnded;
    child.deadline = kNever;
    deliveries.push_back({child.key, child.serial,
                          {child.key, ExecutorEvent::Type::kError, {}, child.plain_failure}});
    return;
  }
  if (child.exited) {
    ExecutorEvent event = exit_event(child, "");
    child.state = Child::State::kEnded;
    deliveries.push_back({child.key, child.serial, std::move(event)});
  }
}
}  // namespace tune::detail::proc
