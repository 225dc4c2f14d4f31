// Worker replies (worker_messages.h): checked for size and UTF-8, parsed, then judged against
// the trial's state — each step a small function, so a new message kind is one more case.
#include "executors/worker_messages.h"

#include <fmt/format.h>

#include <optional>

#include "executors/flat_json.h"
#include "tune/client.h"

namespace tune::detail {
namespace {

using Kind = WorkerReply::Kind;

WorkerReply violation(std::string text) { return {Kind::kViolation, {}, std::move(text)}; }

bool answering(WorkerState state) {
  return state == WorkerState::kStarting || state == WorkerState::kStepping || state == WorkerState::kSaving;
}

// Too long, not UTF-8 or nested too deep: refused before any parsing.
std::optional<WorkerReply> check_bytes(std::string_view line, const ReplyContext& context) {
  if (line.size() > context.max_message_bytes) {
    return violation(fmt::format("reply line {} is {} bytes, longer than max_message_bytes={}; results must be "
                                 "small JSON objects: write large data to files in the trial directory",
                                 context.line_number, line.size(), context.max_message_bytes));
  }
  if (const size_t bad = invalid_utf8_offset(line); bad != std::string_view::npos) {
    return violation(fmt::format("reply line {} is not valid UTF-8 (byte 0x{:02x} at offset {}); the protocol is "
                                 "UTF-8 JSON",
                                 context.line_number, static_cast<unsigned char>(line[bad]), bad));
  }
  if (const size_t deep = nesting_overflow_offset(line); deep != std::string_view::npos) {
    return violation(fmt::format("reply line {} is nested deeper than {} levels (at offset {}); results must be "
                                 "small JSON objects",
                                 context.line_number, kMaxJsonDepth, deep));
  }
  return std::nullopt;
}

// The reply of nearly every step, {"type":"result","result":{...}}: only the result is parsed.
// Anything unusual about it (more fields after the result, say) goes the general way, which
// words the errors.
std::optional<WorkerReply> fast_result(std::string_view line, WorkerState state) {
  if ((state != WorkerState::kStarting && state != WorkerState::kStepping) ||
      !line.starts_with(client::wire::kResultPrefix) || line.back() != '}') {
    return std::nullopt;
  }
  const std::string_view inner =
      line.substr(client::wire::kResultPrefix.size(), line.size() - client::wire::kResultPrefix.size() - 1);
  WorkerReply reply{Kind::kResult, {}, {}};
  if (parse_flat_object(inner, reply.result)) return reply;  // the usual flat object of metrics
  try {
    reply.result = client::wire::parse_line(inner);
    return reply;
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

WorkerReply error_reply(const Json& message) {
  const auto it = message.find("message");
  std::string text = it == message.end() ? "(the error reply has no message)"
                                         : (it->is_string() ? it->get<std::string>() : it->dump());
  if (auto tb = message.find("traceback");
      tb != message.end() && tb->is_string() && !tb->get_ref<const std::string&>().empty()) {
    text += "\n" + tb->get<std::string>();
  }
  return {Kind::kError, {}, std::move(text)};
}

WorkerReply ready_reply(const Json& message) {
  const Json version = message.value("version", Json(client::kProtocolVersion));
  if (version != client::kProtocolVersion) {
    return violation(fmt::format("the worker speaks protocol version {}; this driver speaks {}", version.dump(),
                                 client::kProtocolVersion));
  }
  return {Kind::kReady, {}, {}};
}

// A well-formed message of type `kind`, judged against the state.
WorkerReply judge(const std::string& kind, Json& message, const ReplyContext& context) {
  const WorkerState state = context.state;
  if (state == WorkerState::kSaving) {
    if (kind == "saved") return {Kind::kSaved, {}, {}};
    if (kind == "result" || kind == "done") {
      return violation(fmt::format("reply '{}' (line {}) answers 'save'; expected 'saved' or 'error'", kind,
                                   context.line_number));
    }
  }
  if (kind == "ready" && state == WorkerState::kStarting) return ready_reply(message);
  if (kind == "result" && answering(state)) {
    return {Kind::kResult, message.contains("result") ? std::move(message["result"]) : Json(), {}};
  }
  if (kind == "error") return error_reply(message);
  if (kind == "done" && answering(state)) return {Kind::kDone, {}, {}};
  return violation(fmt::format("unexpected reply '{}' (line {}) while {}", kind, context.line_number,
                               answering(state) ? fmt::format("waiting for the reply to '{}'", context.awaiting)
                                                : std::string("no request was pending")));
}

}  // namespace

WorkerReply read_worker_reply(std::string_view line, const ReplyContext& context) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (auto refused = check_bytes(line, context)) return std::move(*refused);
  if (auto result = fast_result(line, context.state)) return std::move(*result);
  Json message;
  try {
    message = client::wire::parse_line(line);
  } catch (const Json::exception& e) {  // a syntax error, or a number out of range
    return violation(fmt::format("reply line {} is not valid JSON ({}); it begins: {}", context.line_number, e.what(),
                                 quoted_excerpt(line)));
  }
  const Json* type = message.is_object() ? find_path(message, "type") : nullptr;
  if (type == nullptr || !type->is_string()) {
    return violation(fmt::format("reply line {} is not a protocol message (a JSON object with a string \"type\"); "
                                 "it begins: {}",
                                 context.line_number, quoted_excerpt(line)));
  }
  const std::string kind = type->get<std::string>();
  return judge(kind, message, context);
}

PlainLine read_plain_line(std::string_view line, int64_t line_number, size_t max_message_bytes) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const size_t first = line.find_first_not_of(" \t");
  if (first == std::string_view::npos || line[first] != '{') return {};  // a log line
  auto refuse = [&](const std::string& why) {
    return PlainLine{PlainLine::Kind::kViolation, {},
                     fmt::format("stdout line {} looks like a JSON result but {}; it begins: {}", line_number, why,
                                 quoted_excerpt(line))};
  };
  if (line.size() > max_message_bytes) {
    return refuse(fmt::format("is {} bytes, longer than max_message_bytes={}; results must be small JSON objects: "
                              "write large data to files in the trial directory",
                              line.size(), max_message_bytes));
  }
  if (const size_t nul = line.find('\0'); nul != std::string_view::npos) {
    return refuse(fmt::format("holds a NUL byte at offset {}", nul));
  }
  if (const std::string problem = untrusted_json_problem(line); !problem.empty()) {
    return refuse(fmt::format("is {}; results must be UTF-8 JSON objects", problem));
  }
  PlainLine out{PlainLine::Kind::kResult, {}, {}};
  if (parse_flat_object(line.substr(first), out.result)) return out;  // the usual flat object of metrics
  try {
    out.result = client::wire::parse_line(line);
  } catch (const Json::parse_error&) {
    return {};  // not JSON: a log line that happens to start with '{'
  } catch (const Json::exception& e) {  // out_of_range: 1e309
    return refuse(fmt::format("holds a number JSON cannot hold as a double ({})", e.what()));
  }
  if (!out.result.is_object()) return {};
  return out;
}

}  // namespace tune::detail
