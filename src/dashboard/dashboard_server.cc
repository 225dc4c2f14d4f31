// The HTTP server of `tune dashboard` (see dashboard_server.h).
#include "dashboard/dashboard_server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <functional>

#include "dashboard/dashboard_api.h"
#include "tune/error.h"

namespace tune::dashboard {
namespace {

using Handler = std::function<Json(const httplib::Request&)>;

int64_t int_param(const httplib::Request& request, const char* name, int64_t fallback) {
  if (!request.has_param(name)) return fallback;
  const std::string text = request.get_param_value(name);
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size())
    throw ApiError(400, fmt::format("{}: '{}' is not an integer", name, text));
  return value;
}

std::string string_param(const httplib::Request& request, const char* name) {
  return request.has_param(name) ? request.get_param_value(name) : std::string();
}

std::vector<std::string> list_param(const httplib::Request& request, const char* name) {
  std::vector<std::string> parts;
  const std::string text = string_param(request, name);
  size_t start = 0;
  while (start < text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    if (comma > start) parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

bool is_loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

// The Host header without its port.
std::string host_name(const std::string& header) {
  if (header.starts_with("[")) return header.substr(1, header.find(']') - 1);
  return header.substr(0, header.find(':'));
}

void reply_json(httplib::Response& response, int status, const Json& body) {
  response.status = status;
  response.set_header("Cache-Control", "no-store");
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

}  // namespace

struct DashboardServer::Impl {
  explicit Impl(const DashboardOptions& options)
      : api(options.path, options.single_experiment), loopback(is_loopback(options.host)) {}

  // Wraps an API call: errors become JSON {"error": ...} with their status.
  httplib::Server::Handler json_route(Handler handler) {
    return [this, handler = std::move(handler)](const httplib::Request& request, httplib::Response& response) {
      // A loopback server answers only requests addressed to loopback names (no DNS rebinding).
      if (loopback && !is_loopback(host_name(request.get_header_value("Host")))) {
        reply_json(response, 403, {{"error", "this dashboard answers only requests to localhost"}});
        return;
      }
      try {
        reply_json(response, 200, handler(request));
      } catch (const ApiError& error) {
        reply_json(response, error.status(), {{"error", error.what()}});
      } catch (const std::exception& error) {
        reply_json(response, 500, {{"error", error.what()}});
      }
    };
  }

  void add_routes() {
    const std::string name = "/api/experiments/([^/]+)";
    server.Get("/api/experiments", json_route([this](const httplib::Request&) { return api.experiments(); }));
    server.Get(name, json_route([this](const httplib::Request& r) { return api.experiment(r.matches[1]); }));
    server.Get(name + "/trials", json_route([this](const httplib::Request& r) {
                 TrialQuery query;
                 if (r.has_param("sort")) query.sort = r.get_param_value("sort");
                 query.descending = string_param(r, "order") == "desc";
                 query.status = list_param(r, "status");
                 for (size_t k = 0; k < r.get_param_value_count("config"); ++k)
                   query.config_filters.push_back(r.get_param_value("config", k));
                 query.offset = int_param(r, "offset", 0);
                 query.limit = int_param(r, "limit", 50);
                 return api.trials(r.matches[1], query);
               }));
    server.Get(name + "/trials/([^/]+)",
               json_route([this](const httplib::Request& r) { return api.trial(r.matches[1], r.matches[2]); }));
    server.Get(name + "/trials/([^/]+)/results", json_route([this](const httplib::Request& r) {
                 return api.results(r.matches[1], r.matches[2], int_param(r, "since", 0), int_param(r, "limit", 1000));
               }));
    server.Get(name + "/curves", json_route([this](const httplib::Request& r) {
                 return api.curves(r.matches[1], string_param(r, "metric"), list_param(r, "trials"),
                                   int_param(r, "points", 300));
               }));
    server.Get(name + "/points", json_route([this](const httplib::Request& r) {
                 return api.points(r.matches[1], int_param(r, "limit", 2000));
               }));
    server.Get(name + "/importance",
               json_route([this](const httplib::Request& r) { return api.importance(r.matches[1]); }));
    for (const char* page : {"/", "/app.js", "/app.css"}) {
      server.Get(page, [page](const httplib::Request&, httplib::Response& response) {
        const std::string file = std::string(page) == "/" ? "index.html" : std::string(page + 1);
        const std::string type = file.ends_with(".js")    ? "text/javascript"
                                 : file.ends_with(".css") ? "text/css"
                                                          : "text/html";
        response.set_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:");
        response.set_header("X-Content-Type-Options", "nosniff");
        response.set_content(dashboard_asset(file), type + "; charset=utf-8");
      });
    }
    // Read-only: every other method is refused.
    const auto refuse = [](const httplib::Request&, httplib::Response& response) {
      reply_json(response, 405, {{"error", "the dashboard is read-only: only GET"}});
    };
    server.Post(".*", refuse);
    server.Put(".*", refuse);
    server.Patch(".*", refuse);
    server.Delete(".*", refuse);
  }

  DashboardApi api;
  bool loopback;
  httplib::Server server;
  std::atomic<bool> listen_returned{false};
};

DashboardServer::DashboardServer(DashboardOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {
  if (options_.port < 0 || options_.port > 65535)
    throw TuneError(fmt::format("dashboard: port: {} is not in [0, 65535]", options_.port));
  impl_->add_routes();
  // httplib's default sets SO_REUSEPORT, which lets a second dashboard bind the same port and
  // share its connections at random; keep only SO_REUSEADDR (a restart may reuse the port).
  impl_->server.set_socket_options([](int socket) {
    int yes = 1;
    ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
}

DashboardServer::~DashboardServer() { stop(); }

void DashboardServer::start() {
  httplib::Server& server = impl_->server;
  port_ = options_.port == 0 ? server.bind_to_any_port(options_.host)
                             : (server.bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port_ <= 0)
    throw TuneError(fmt::format("dashboard: cannot listen on {}:{} (in use, or not an address of this machine)",
                                options_.host, options_.port));
  Impl& impl = *impl_;
  thread_ = std::thread([&impl] {
    impl.server.listen_after_bind();
    impl.listen_returned = true;
  });
  // stop() is a no-op until the thread runs the accept loop: wait for it (microseconds), so a
  // stop() right after start() cannot leave the thread listening forever.
  while (!server.is_running() && !impl.listen_returned) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void DashboardServer::stop() {
  if (!thread_.joinable()) return;
  impl_->server.stop();
  thread_.join();
}

std::string DashboardServer::url() const {
  const bool v6 = options_.host.find(':') != std::string::npos;
  return fmt::format("http://{}{}{}:{}/", v6 ? "[" : "", options_.host, v6 ? "]" : "", port_);
}

}  // namespace tune::dashboard
