// ExternalSearcher: a searcher in another process, spoken to in JSON lines (docs/searcher_protocol.md).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/saturate.h"
#include "common/subprocess.h"
#include "common/untrusted_json.h"
#include "searchers/external_reply.h"
#include "searchers/searcher_util.h"
#include "tune/error.h"
#include "tune/searchers.h"

namespace tune {

ExternalSearcher::ExternalSearcher(Options options) : options_(std::move(options)) {
  if (options_.argv.empty() || options_.argv[0].empty()) throw TuneError("command: must name the searcher program");
  if (!(options_.timeout_s > 0)) throw TuneError("timeout_s: must be > 0");
}

ExternalSearcher::~ExternalSearcher() { stop(); }

void ExternalSearcher::start() {
  detail::FdPair in, out;  // driver -> child, child -> driver
  try {
    in = detail::make_pipe();
    out = detail::make_pipe();
  } catch (const std::system_error& e) {
    throw TuneError(fmt::format("search_alg external: pipe: {}", std::strerror(e.code().value())));
  }
  // stdin and stdout are the protocol; stderr, the process group and signals are the driver's.
  detail::SpawnOptions options;
  options.argv = options_.argv;
  options.dup(in.first.get(), STDIN_FILENO);
  options.dup(out.second.get(), STDOUT_FILENO);
  const detail::Spawned spawned = detail::spawn_process(options);
  if (!spawned) {
    throw TuneError(
        fmt::format("search_alg/command: cannot start '{}': {}", options_.argv[0], std::strerror(spawned.error)));
  }
  pid_ = spawned.pid;
  to_child_ = in.second.release();
  from_child_ = out.first.release();
}

void ExternalSearcher::stop() {
  if (to_child_ >= 0) ::close(to_child_);  // EOF: a well-behaved program exits
  if (from_child_ >= 0) ::close(from_child_);
  to_child_ = from_child_ = -1;
  if (pid_ > 0) {
    int status = 0;
    for (int i = 0; i < 100; ++i) {  // up to 1 s, then kill
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      ::usleep(10000);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
}

Json ExternalSearcher::request(const Json& message) {
  if (to_child_ < 0) throw TuneError("search_alg external: the searcher program is not running");
  const std::string line = message.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(to_child_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw TuneError(fmt::format("search_alg external: '{}' stopped reading (it exited?)", options_.argv[0]));
    written += static_cast<size_t>(n);
  }
  // Saturated: timeout_s: 1e300 waits "forever" instead of overflowing the milliseconds below.
  const auto deadline = std::chrono::steady_clock::now() +
                        saturating_duration<std::chrono::steady_clock::duration>(options_.timeout_s);
  while (true) {
    const size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      const std::string reply = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      if (reply.find_first_not_of(" \t\r") == std::string::npos) continue;
      return detail::read_searcher_reply(reply, options_.argv[0]);
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      throw TuneError(fmt::format("search_alg external: '{}' did not answer within timeout_s = {} s", options_.argv[0],
                                  options_.timeout_s));
    }
    pollfd fd{from_child_, POLLIN, 0};
    const int ready = ::poll(&fd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) throw TuneError(fmt::format("search_alg external: poll: {}", std::strerror(errno)));
    if (ready <= 0) continue;
    char chunk[65536];
    const ssize_t n = ::read(from_child_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw TuneError(fmt::format("search_alg external: '{}' exited without answering", options_.argv[0]));
    }
    buffer_.append(chunk, static_cast<size_t>(n));
    if (buffer_.size() > detail::kMaxSearcherReplyBytes && buffer_.find('\n') == std::string::npos) {
      throw TuneError(fmt::format("search_alg external: '{}' answered a line longer than the limit of {} bytes: {}",
                                  options_.argv[0], detail::kMaxSearcherReplyBytes, detail::quoted_excerpt(buffer_)));
    }
  }
}

void ExternalSearcher::set_search_properties(const std::string& metric, const std::string& mode, const Space& space) {
  detail::require_metric_mode("external", metric, mode);
  metric_ = metric;
  mode_ = mode;
  // The same refusals as the native searchers: a program cannot suggest a function's value.
  const std::string text = space.to_json().dump();
  if (text.find("\"grid_search\"") != std::string::npos || text.find("\"sample_from\"") != std::string::npos) {
    throw TuneError("search_alg external: config: grid_search and sample_from cannot be used with a search "
                    "algorithm; use choice([...]) and distributions instead");
  }
  space_json_ = space.to_json();
  if (pid_ > 0) stop();
  start();
  Json hello = {{"hello", 1},
                {"space", space_json_},
                {"metric", metric_},
                {"mode", mode_},
                {"seed", options_.seed ? Json(*options_.seed) : Json(nullptr)},
                {"points_to_evaluate", options_.points_to_evaluate}};
  request(hello);
}

Suggestion ExternalSearcher::suggest(const std::string& trial_id) {
  if (finished_) return Suggestion::finished();
  const Json reply = request(Json{{"ask", trial_id}});
  auto said = [&reply](const char* key) {  // a flag of another type is no flag, and no crash
    const auto it = reply.find(key);
    return it != reply.end() && it->is_boolean() && it->get<bool>();
  };
  if (said("finished")) {
    finished_ = true;
    return Suggestion::finished();
  }
  if (said("not_now")) return Suggestion::not_now();
  const auto it = reply.find("config");
  if (it == reply.end() || !it->is_object()) {
    throw TuneError(fmt::format("search_alg external: '{}' answered ask with {} (expected config, not_now or finished)",
                                options_.argv[0], detail::quoted_excerpt(reply.dump(-1, ' ', false, Json::error_handler_t::replace))));
  }
  // Plain values of the space the program does not know about pass through.
  Config config = detail::overlay(space_json_.is_object() ? space_json_ : Json::object(), *it);
  history_.push_back(Json{{"ask", trial_id}, {"config", *it}});
  asked_.insert(trial_id);
  Suggestion s;
  s.kind = Suggestion::Kind::kConfig;
  s.config = std::move(config);
  s.tag = std::to_string(history_.size());
  return s;
}

void ExternalSearcher::on_trial_complete(const std::string& trial_id, const Result& result, bool error) {
  if (!asked_.erase(trial_id) || to_child_ < 0) return;
  Json tell = {{"tell", trial_id}};
  const auto value = error ? std::nullopt : detail::metric_of(result, metric_);
  if (value) {
    tell["result"] = Json{{metric_, *value}};
  } else {
    tell["error"] = error ? "the trial failed" : "the trial reported no value of the metric";
  }
  // "error" in a tell is data, not a failure of the program: send it under another name.
  if (tell.contains("error")) {
    tell["failed"] = tell["error"];
    tell.erase("error");
  }
  request(tell);
  history_.push_back(tell);
}

Json ExternalSearcher::save() const { return Json{{"type", "external"}, {"history", history_}}; }

void ExternalSearcher::restore(const Json& state) {
  const auto history = state.find("history");
  history_ = history != state.end() && history->is_array() ? *history : Json::array();
  asked_.clear();
  for (const auto& h : history_) {  // from the state files: untrusted, a wrong type is refused
    const auto ask = h.is_object() ? h.find("ask") : h.end();
    const auto tell = h.is_object() ? h.find("tell") : h.end();
    if ((ask != h.end() && !ask->is_string()) || (tell != h.end() && !tell->is_string())) {
      throw TuneError("search_alg external: the stored history holds an entry that is not {\"ask\"|\"tell\": "
                      "<trial id>}: " + detail::quoted_excerpt(h.dump(-1, ' ', false, Json::error_handler_t::replace)));
    }
    if (ask != h.end()) asked_.insert(ask->get<std::string>());
    if (tell != h.end()) asked_.erase(tell->get<std::string>());
  }
  if (to_child_ >= 0) request(Json{{"restore", history_}});
}

}  // namespace tune
