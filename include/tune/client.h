// tune/client.h — header-only client of the tune worker protocol (docs/protocol.md) for any C++
// program that tune runs as a child process. Needs nlohmann/json and POSIX only, not the library.
//
//   #include <tune/client.h>
//   int main() {
//     const auto config = tune::client::get_config();
//     for (int i = 0; i < 100; ++i) tune::client::report({{"loss", 1.0 / (i + 1)}});
//   }  // returning (exit status 0) ends the trial normally
//
// Large read-only objects the driver pinned (tune::pin_in_object_store) come as
// get_pinned_object<T>(id): a read-only view of the driver's shared memory, never a copy.
//
// Under tune (TUNE_PROTOCOL_FDS is set) report() hands the result to the driver and blocks until
// the driver has decided; when the trial must end it throws tune::client::Stopped (let it unwind
// main, or catch it and return). Outside tune, report() prints the result as one JSON line on
// stdout, which a "plain" process trial understands too, and returns.
// Not thread-safe: call it from one thread.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "tune/pinned_memory.h"

namespace tune::client {

using Json = nlohmann::json;

inline constexpr int kProtocolVersion = 1;

// Thrown by report() when the driver stopped the trial. Not an error.
struct Stopped {};

// Encoding of protocol lines, shared with the library's own worker and driver.
namespace wire {

inline bool has_nonfinite(const Json& value) {
  switch (value.type()) {
    case Json::value_t::number_float:
      return !std::isfinite(value.get<double>());
    case Json::value_t::object:
    case Json::value_t::array:
      for (const auto& item : value) {
        if (has_nonfinite(item)) return true;
      }
      return false;
    default:
      return false;
  }
}

inline void dump_nonfinite(const Json& value, std::string& out) {
  if (value.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& [key, item] : value.items()) {
      if (!first) out += ',';
      first = false;
      out += Json(key).dump(-1, ' ', false, Json::error_handler_t::replace);
      out += ':';
      dump_nonfinite(item, out);
    }
    out += '}';
  } else if (value.is_array()) {
    out += '[';
    for (size_t i = 0; i < value.size(); ++i) {
      if (i > 0) out += ',';
      dump_nonfinite(value[i], out);
    }
    out += ']';
  } else if (value.is_number_float() && !std::isfinite(value.get<double>())) {
    const double d = value.get<double>();
    out += std::isnan(d) ? "NaN" : (d > 0 ? "Infinity" : "-Infinity");
  } else {
    out += value.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

// One protocol line (with its '\n'). NaN and +-Infinity are written as the bare tokens NaN,
// Infinity and -Infinity (what Python's json module writes), since plain JSON has no way to
// say them; invalid UTF-8 in strings becomes U+FFFD.
inline std::string dump_line(const Json& value) {
  std::string out;
  if (has_nonfinite(value)) {
    dump_nonfinite(value, out);
  } else {
    out = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  out += '\n';
  return out;
}

// The two messages of every step, written and recognised without building a JSON tree: the
// request {"type":"step"} and the reply {"type":"result","result":...}. Any other spelling of
// them is just as valid; these are the fast paths both ends take.
inline constexpr std::string_view kStepRequest = "{\"type\":\"step\"}";
inline constexpr std::string_view kResultPrefix = "{\"type\":\"result\",\"result\":";

// {"type":"result","result":<result>}\n
inline std::string result_line(const Json& result) {
  std::string inner = dump_line(result);
  inner.pop_back();  // its '\n'
  std::string out;
  out.reserve(kResultPrefix.size() + inner.size() + 2);
  out += kResultPrefix;
  out += inner;
  out += "}\n";
  return out;
}

inline const std::string& nonfinite_marker(int which) {
  // Strings no real value contains (they start with NUL), standing for the three tokens.
  static const std::string markers[3] = {std::string("\0tune:NaN", 9), std::string("\0tune:+Inf", 10),
                                         std::string("\0tune:-Inf", 10)};
  return markers[which];
}

inline void restore_nonfinite(Json& value) {
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (s.empty() || s[0] != '\0') return;
    if (s == nonfinite_marker(0))
      value = std::nan("");
    else if (s == nonfinite_marker(1))
      value = HUGE_VAL;
    else if (s == nonfinite_marker(2))
      value = -HUGE_VAL;
  } else if (value.is_structured()) {
    for (auto& item : value) restore_nonfinite(item);
  }
}

// Parses one protocol line; accepts NaN / Infinity / -Infinity outside strings. Throws
// nlohmann::json::parse_error with the parser's message.
inline Json parse_line(std::string_view line) {
  try {
    return Json::parse(line.begin(), line.end());
  } catch (const Json::parse_error&) {
    if (line.find("NaN") == std::string_view::npos && line.find("Infinity") == std::string_view::npos) throw;
    const std::exception_ptr original = std::current_exception();
    std::string rewritten;
    rewritten.reserve(line.size() + 32);
    bool in_string = false;
    for (size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (in_string) {
        rewritten += c;
        if (c == '\\' && i + 1 < line.size())
          rewritten += line[++i];
        else if (c == '"')
          in_string = false;
        continue;
      }
      auto token = [&](std::string_view word, int which) {
        if (line.substr(i, word.size()) != word) return false;
        rewritten += "\"\\u0000tune:";
        rewritten += which == 0 ? "NaN" : (which == 1 ? "+Inf" : "-Inf");
        rewritten += '"';
        i += word.size() - 1;
        return true;
      };
      if (c == '"') {
        in_string = true;
        rewritten += c;
      } else if (!token("NaN", 0) && !token("Infinity", 1) && !token("-Infinity", 2)) {
        rewritten += c;
      }
    }
    Json value;
    try {
      value = Json::parse(rewritten);
    } catch (const Json::parse_error&) {
      std::rethrow_exception(original);  // the original line's problem, not the rewritten one's
    }
    restore_nonfinite(value);
    return value;
  }
}

}  // namespace wire

// Blocking line I/O on the two protocol file descriptors.
class Connection {
 public:
  Connection(int in_fd, int out_fd) : in_(in_fd), out_(out_fd) {}

  // The next request, or null at end of input (the driver is gone: treat it as stop).
  Json receive() {
    std::string_view line;
    if (!next_line(line)) return nullptr;
    return wire::parse_line(line);
  }

  // The next request line without its '\n', valid until the next call; false at end of input.
  bool next_line(std::string_view& line) {
    while (true) {
      const char* begin = buffer_.data() + start_;
      if (const void* newline = std::memchr(begin, '\n', end_ - start_); newline != nullptr) {
        const size_t length = static_cast<size_t>(static_cast<const char*>(newline) - begin);
        line = std::string_view(begin, length);
        start_ += length + 1;
        return true;
      }
      // Keep the partial line at the front; grow only for a line longer than the buffer.
      if (start_ > 0) {
        std::memmove(buffer_.data(), buffer_.data() + start_, end_ - start_);
        end_ -= start_;
        start_ = 0;
      }
      if (end_ == buffer_.size()) buffer_.resize(std::max<size_t>(4096, buffer_.size() * 2));
      const ssize_t n = ::read(in_, buffer_.data() + end_, buffer_.size() - end_);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      end_ += static_cast<size_t>(n);
    }
  }

  // True when a request can be read without blocking.
  bool readable() {
    if (start_ < end_ && std::memchr(buffer_.data() + start_, '\n', end_ - start_) != nullptr) return true;
    pollfd p{in_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

  // One write() per message in the common case: the driver reads whole lines.
  void send(const Json& message) { write_all(wire::dump_line(message)); }
  // A step's reply (wire::result_line).
  void send_result(const Json& result) { write_all(wire::result_line(result)); }

  void write_all(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(out_, data.data() + done, data.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw std::system_error(errno, std::generic_category(), "tune client: writing to the driver");
      }
      done += static_cast<size_t>(n);
    }
  }

 private:
  int in_;
  int out_;
  // Read requests: the unread ones are [start_, end_). Reads go straight in (no copy, no big
  // stack buffer to touch on every step).
  std::vector<char> buffer_ = std::vector<char>(4096);
  size_t start_ = 0;
  size_t end_ = 0;
};

// Reads TUNE_PROTOCOL_FDS ("3,4": requests in, replies out); false when absent or malformed.
// "0,1" is the protocol on stdin/stdout, as under Slurm (srun forwards nothing else): the two
// are then moved to new descriptors, stdin reads /dev/null and stdout goes to
// $TUNE_TRIAL_DIR/stdout.log (stderr without a trial directory), so what the program prints
// cannot corrupt the protocol; TUNE_PROTOCOL_FDS is updated to the new pair.
inline bool protocol_fds(int& in_fd, int& out_fd) {
  const char* fds = std::getenv("TUNE_PROTOCOL_FDS");
  if (fds == nullptr || std::sscanf(fds, "%d,%d", &in_fd, &out_fd) != 2 || in_fd < 0 || out_fd < 0) return false;
  if (in_fd != 0 || out_fd != 1) return true;
  std::fflush(stdout);
  const int in = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
  const int out = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
  if (in < 0 || out < 0) return false;
  if (const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC); null_fd >= 0) {
    ::dup2(null_fd, 0);
    ::close(null_fd);
  }
  int log = -1;
  if (const char* dir = std::getenv("TUNE_TRIAL_DIR"); dir != nullptr && *dir != '\0') {
    log = ::open((std::string(dir) + "/stdout.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  }
  ::dup2(log >= 0 ? log : 2, 1);
  if (log >= 0) ::close(log);
  in_fd = in;
  out_fd = out;
  ::setenv("TUNE_PROTOCOL_FDS", (std::to_string(in) + "," + std::to_string(out)).c_str(), 1);
  return true;
}

namespace detail {
// With the protocol on stdin/stdout, it is moved aside before main() runs, so that nothing the
// program prints before it first talks to tune lands in the protocol.
inline bool claim_stdio_protocol() {
  int in_fd = -1, out_fd = -1;
  return protocol_fds(in_fd, out_fd);
}
inline const bool stdio_protocol_claimed = claim_stdio_protocol();
}  // namespace detail

// The process's side of the protocol for a function-style program.
class Client {
 public:
  // One per process: a process has one pair of protocol descriptors, so this is the one
  // justified piece of process-wide state in the client.
  static Client& instance() {
    static Client client;
    return client;
  }

  bool connected() const { return connection_.has_value(); }
  const Json& config() const { return config_; }
  const Json& trial_info() const { return trial_; }
  bool stopped() const { return stopped_; }

  void report(const Json& result) {
    if (!connected()) {
      // A plain program runs on while the driver reads: the checkpoint of this result is named
      // in its line, so its label is this state (docs/protocol.md, "Plain protocol").
      Json named = result;
      if (const auto step = plain_step_dir(); step && result.is_object() && result.value("should_checkpoint", Json()) == true &&
                                              !result.contains("checkpoint") && std::filesystem::is_directory(*step) &&
                                              !std::filesystem::is_empty(*step)) {
        named["checkpoint"] = step->filename().string();
      }
      ++plain_reports_;
      std::string line = wire::dump_line(named);
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fflush(stdout);
      return;
    }
    if (stopped_) throw Stopped{};
    if (!step_pending_) wait_for_step();
    flush_output();
    connection_->send_result(result);
    step_pending_ = false;
    wait_for_step();
  }

  // Non-blocking: true once the driver asked this trial to stop.
  bool should_stop() {
    if (!connected() || stopped_) return stopped_;
    while (connection_->readable()) {
      if (!handle(connection_->receive())) break;
    }
    return stopped_;
  }

  std::optional<std::filesystem::path> restore_path() const {
    if (const char* path = std::getenv("TUNE_RESTORE_FROM"); path != nullptr && *path != '\0') return path;
    if (restore_from_.is_string()) return restore_from_.get<std::string>();
    return std::nullopt;
  }

  // Where to write the checkpoint of the next result (created). Under the plain protocol a fresh
  // $TUNE_CHECKPOINT_DIR/step_<n> for each result, which report() names; else
  // TUNE_CHECKPOINT_DIR, or ./checkpoint outside tune.
  std::filesystem::path checkpoint_dir() const {
    if (const auto step = plain_step_dir()) {
      std::filesystem::create_directories(*step);
      return *step;
    }
    const char* dir = std::getenv("TUNE_CHECKPOINT_DIR");
    std::filesystem::path path =
        dir != nullptr && *dir != '\0' ? std::filesystem::path(dir) : std::filesystem::current_path() / "checkpoint";
    std::filesystem::create_directories(path);
    return path;
  }

 private:
  // Under the plain protocol (TUNE_CHECKPOINT_DIR set, no protocol fds): the next result's own
  // checkpoint directory.
  std::optional<std::filesystem::path> plain_step_dir() const {
    const char* dir = std::getenv("TUNE_CHECKPOINT_DIR");
    if (connected() || dir == nullptr || *dir == '\0') return std::nullopt;
    return std::filesystem::path(dir) / ("step_" + std::to_string(plain_reports_ + 1));
  }

  Client() {
    int in_fd = -1, out_fd = -1;
    if (!protocol_fds(in_fd, out_fd)) return;
    connection_.emplace(in_fd, out_fd);
    const Json setup = connection_->receive();
    if (setup.is_null()) {
      stopped_ = true;
      return;
    }
    if (!setup.is_object() || setup.value("type", "") != "setup") {
      fail("the first request was not 'setup'");
    }
    if (setup.value("version", 0) != kProtocolVersion) {
      fail("unsupported protocol version " + setup.value("version", Json()).dump() + " (this client speaks " +
           std::to_string(kProtocolVersion) + ")");
    }
    config_ = setup.value("config", Json::object());
    trial_ = setup.value("trial", Json::object());
    restore_from_ = setup.value("restore_from", Json());
    connection_->send({{"type", "ready"}, {"version", kProtocolVersion}});
  }

  [[noreturn]] void fail(const std::string& message) {
    connection_->send({{"type", "error"}, {"message", "tune client: " + message}});
    throw std::runtime_error("tune client: " + message);
  }

  static void flush_output() {
    std::fflush(stdout);
    std::fflush(stderr);
  }

  // Handles one request; false when the request ends the wait (a step or stop arrived).
  bool handle(const Json& request) {
    if (request.is_null()) {  // the driver closed the pipe
      stopped_ = true;
      return false;
    }
    const std::string type = request.value("type", "");
    if (type == "step") {
      step_pending_ = true;
      return false;
    }
    if (type == "stop") {
      stopped_ = true;
      return false;
    }
    connection_->send({{"type", "error"},
                       {"message", "tune client: request '" + type +
                                       "' is not supported by a function-style client (it saves its own "
                                       "checkpoints under checkpoint_dir())"}});
    return true;
  }

  void wait_for_step() {
    while (!step_pending_ && !stopped_) {
      std::string_view line;
      if (!connection_->next_line(line)) {
        handle(nullptr);
      } else if (line == wire::kStepRequest) {
        step_pending_ = true;
      } else {
        handle(wire::parse_line(line));
      }
    }
    if (stopped_) throw Stopped{};
  }

  std::optional<Connection> connection_;
  Json config_ = Json::object();
  Json trial_ = Json::object();
  Json restore_from_;
  bool step_pending_ = false;
  bool stopped_ = false;
  int64_t plain_reports_ = 0;  // results printed under the plain protocol
};

// The trial's config (an empty object outside tune).
inline const Json& get_config() { return Client::instance().config(); }
// trial_id, trial_name, experiment_id, trial_dir, gpu_ids, resources (empty outside tune).
inline const Json& trial_info() { return Client::instance().trial_info(); }
// Reports one result and waits for the driver's decision; throws Stopped when the trial ends.
inline void report(const Json& result) { Client::instance().report(result); }
// Non-blocking: true once the driver asked the trial to stop (check it inside long steps).
inline bool should_stop() { return Client::instance().should_stop(); }
// Where to write checkpoints (created); TUNE_CHECKPOINT_DIR, or ./checkpoint outside tune.
inline std::filesystem::path checkpoint_dir() { return Client::instance().checkpoint_dir(); }
// The checkpoint to restore from when the trial is restored, else nullopt.
inline std::optional<std::filesystem::path> restore_path() { return Client::instance().restore_path(); }
// True when running under tune's protocol.
inline bool connected() { return Client::instance().connected(); }

namespace detail {
// The pinned objects this process inherited (TUNE_PINNED_OBJECTS), each mapped on first use and
// kept for the life of the process: like the protocol fds, they belong to the whole process.
inline const pinned::Descriptor& attached_object(std::string_view id, const void*& data) {
  struct Attached {
    pinned::Descriptor descriptor;
    pinned::Mapping mapping;
  };
  static std::map<std::string, Attached, std::less<>> attached;
  if (auto it = attached.find(id); it != attached.end()) {
    data = it->second.mapping.data();
    return it->second.descriptor;
  }
  const char* env = std::getenv(pinned::kEnvVar);
  const std::vector<pinned::Descriptor> inherited = pinned::decode(env != nullptr ? env : "");
  const pinned::Descriptor& descriptor = pinned::find(inherited, id, "tune::client::get_pinned_object");
  Attached& object = attached[descriptor.id] = Attached{descriptor, pinned::attach(descriptor)};
  data = object.mapping.data();
  return object.descriptor;
}
}  // namespace detail

// The object the driver pinned as `id` (tune::pin_in_object_store; the id usually comes in the
// config) as a read-only array of T: the driver's pages mapped read-only, no copy, valid for the
// life of the process. char, unsigned char and std::byte view any object as bytes; any other T
// must match the pinned items (size, and type for arithmetic types). Throws tune::TuneError
// naming the id when it is unknown, or the two item types when they do not match.
template <typename T = std::byte>
std::span<const T> get_pinned_object(std::string_view id) {
  static_assert(std::is_trivially_copyable_v<T>, "get_pinned_object<T>: T must be trivially copyable");
  const void* data = nullptr;
  const pinned::Descriptor& object = detail::attached_object(id, data);
  pinned::check_item_type(object.id, object.item_size, object.format, sizeof(T), pinned::format_of<T>(),
                          pinned::kByteLike<T>);
  return {static_cast<const T*>(data), data == nullptr ? 0 : object.bytes / sizeof(T)};
}

}  // namespace tune::client
