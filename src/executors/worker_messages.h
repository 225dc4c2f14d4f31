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

// Byte offset of the first invalid UTF-8 sequence in `text`, or npos.
size_t invalid_utf8_offset(std::string_view text);

// `line` cut to `max` bytes with every byte outside printable ASCII as \xNN, for messages.
std::string quoted_excerpt(std::string_view line, size_t max = 200);

}  // namespace tune::detail
