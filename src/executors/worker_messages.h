// Internal: the worker protocol's replies (docs/protocol.md) read into values. A child's reply
// line and the state of its trial go in; what the line means for the trial comes out — a
// result, setup done, a checkpoint saved, the end, the trainable's error, or a violation of the
// protocol worded for error.txt. Everything a child writes is untrusted: no line, however
// malformed, makes these functions throw or crash. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/untrusted_json.h"  // invalid_utf8_offset, quoted_excerpt
#include "tune/json.h"

namespace tune::detail {

// Where a worker's trial stands when one of its lines is read (the process executor's states
// in which replies matter; a trial being stopped ignores what its child says).
enum class WorkerState {
  kStarting,  // setup (and the first step) sent; no reply yet
  kStepping,  // a step is asked for; the next reply is its answer
  kWaiting,   // a result went to the runner; nothing is asked for
  kSaving,    // a save is asked for; the next reply is 'saved' (or 'error')
};

// What one reply line means.
struct WorkerReply {
  enum class Kind {
    kResult,     // the step's result, in `result` (not yet auto-filled)
    kReady,      // setup is done; the first step already waits in the child's pipe
    kSaved,      // the save asked for is done
    kDone,       // the trainable has finished
    kError,      // the trainable failed: `text` is its message (and traceback)
    kViolation,  // the line breaks the protocol here: `text` says how (the child is to blame)
  };
  Kind kind = Kind::kViolation;
  Result result;
  std::string text;
};

// What is known about a line besides its bytes.
struct ReplyContext {
  WorkerState state = WorkerState::kStepping;
  int64_t line_number = 0;          // 1 for the child's first line, for messages
  size_t max_message_bytes = 0;     // ProcessSpec::max_message_bytes
  std::string_view awaiting;        // the request whose reply is due ("setup", "step", "save")
};

// Reads one line the worker wrote (without its '\n'; a trailing '\r' is dropped). Never throws.
WorkerReply read_worker_reply(std::string_view line, const ReplyContext& context);

// One stdout line of a plain-protocol program (docs/protocol.md): a log line, a result (a line
// that is a JSON object), or a violation worded for error.txt with the line quoted and cut: a
// line that starts like a result but is too long, not UTF-8, holds a NUL, is nested deeper than
// kMaxJsonDepth or holds a number outside double range. A line that starts with '{' but is no
// JSON at all stays a log line. Never throws.
struct PlainLine {
  enum class Kind { kLog, kResult, kViolation };
  Kind kind = Kind::kLog;
  Json result;       // kResult
  std::string text;  // kViolation
};
PlainLine read_plain_line(std::string_view line, int64_t line_number, size_t max_message_bytes);

}  // namespace tune::detail
