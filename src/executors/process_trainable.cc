// Process trainables: ProcessSpec validation, the registry of named trainables, isolated()
// and run(name), and worker_main — the child's side of the protocol for registered trainables.
#include <cxxabi.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include "executors/executor.h"
#include "executors/zygote.h"
#include "tune/client.h"
#include "tune/error.h"
#include "tune/process.h"
#include "tune/run.h"

namespace tune {
namespace {

using detail::describe_current_exception;

// The registry: name -> trainable. A function-local static map is the one justified global
// here: TUNE_REGISTER_TRAINABLE runs during static initialisation, before main() could hand
// a registry to anyone, and a function-local static is initialised on first use, so the
// order of static initialisers across files does not matter.
std::map<std::string, TrainableSpec>& registry() {
  static std::map<std::string, TrainableSpec> trainables;
  return trainables;
}

std::string registered_list() {
  std::string out;
  for (const auto& [name, spec] : registry()) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

// The traceback field for a C++ exception: its type, since C++ keeps no stack of it.
std::string current_exception_type() {
  const std::type_info* type = abi::__cxa_current_exception_type();
  if (type == nullptr) return {};
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type->name(), nullptr, nullptr, &status), std::free);
  return fmt::format("(a C++ exception of type {})", status == 0 && name ? name.get() : type->name());
}

TrialInfo trial_info_from(const Json& trial) {
  TrialInfo info;
  if (!trial.is_object()) return info;
  info.trial_id = trial.value("trial_id", "");
  info.trial_name = trial.value("trial_name", "");
  info.experiment_id = trial.value("experiment_id", "");
  info.trial_dir = trial.value("trial_dir", "");
  info.checkpoint_dir = trial.value("checkpoint_dir", "");
  if (auto it = trial.find("gpu_ids"); it != trial.end() && it->is_array()) {
    for (const auto& id : *it) {
      if (id.is_number_integer()) info.gpu_ids.push_back(id.get<int>());
    }
  }
  if (auto it = trial.find("resources"); it != trial.end() && it->is_object()) {
    try {
      info.resources = Resources::from_json(*it, "trial.resources");
    } catch (const TuneError&) {
      // Informational only: the driver already placed the trial.
    }
  }
  return info;
}

// Prints the user's output before each reply, so stdout.log/stderr.log are complete up to
// the last reply even when the process dies right after it. No syscall when nothing is buffered.
void flush_user_output() {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(stdout);
  std::fflush(stderr);
}

// Function API inside a worker: report() sends a result reply, then blocks on the next request.
class ProtocolReporter final : public Reporter {
 public:
  ProtocolReporter(client::Connection& connection, const TrialInfo& info) : connection_(connection), info_(info) {}

  void report(Result result) override {
    flush_user_output();
    connection_.send_result(result);
    wait_for_step();
  }
  const TrialInfo& trial_info() const override { return info_; }

  // Blocks until the driver asks for the next step; throws TrialStopped when it says stop.
  void wait_for_step() {
    while (true) {
      std::string_view line;
      if (!connection_.next_line(line)) throw TrialStopped{};  // the driver is gone: as stop
      if (line == client::wire::kStepRequest) return;           // the common case, unparsed
      const Json request = client::wire::parse_line(line);
      const std::string type = request.is_object() ? request.value("type", "") : "";
      if (request.is_null() || type == "stop") throw TrialStopped{};
      if (type == "step") return;
      connection_.send(
          {{"type", "error"},
           {"message", type == "save" ? detail::function_cannot_save_message()
                                      : fmt::format("request '{}' is not supported by a function trainable",
                                                    type.empty() ? request.dump() : type)}});
    }
  }

 private:
  client::Connection& connection_;
  const TrialInfo& info_;
};

class Worker {
 public:
  Worker(client::Connection& connection, std::string name) : connection_(connection), name_(std::move(name)) {}

  int serve() {
    Json setup;
    try {
      setup = connection_.receive();
    } catch (const Json::parse_error& e) {
      return fail(fmt::format("the setup request is not valid JSON: {}", e.what()));
    }
    if (setup.is_null()) return 0;  // the driver went away before setup
    if (!setup.is_object() || setup.value("type", "") != "setup") return fail("the first request was not 'setup'");
    if (setup.value("version", Json()) != client::kProtocolVersion) {
      return fail(fmt::format("unsupported protocol version {} (this worker speaks {})",
                              setup.value("version", Json()).dump(), client::kProtocolVersion));
    }
    auto it = registry().find(name_);
    if (it == registry().end()) {
      return fail(
          fmt::format("no trainable is registered as '{}' in this binary (registered: {})", name_, registered_list()));
    }
    const TrainableSpec& spec = it->second;
    info_ = trial_info_from(setup.value("trial", Json::object()));
    const Config config = setup.value("config", Json::object());
    const Json restore_from = setup.value("restore_from", Json());
    if (restore_from.is_string()) info_.restore_from = restore_from.get<std::string>();
    if (spec.function) return serve_function(spec, config, restore_from);
    if (spec.factory) return serve_class(spec, config, restore_from);
    return fail(fmt::format("the trainable registered as '{}' has neither a factory nor a function", name_));
  }

 private:
  int fail(const std::string& message, const std::string& traceback = {}) {
    flush_user_output();
    try {
      connection_.send({{"type", "error"}, {"message", message}, {"traceback", traceback}});
    } catch (const std::exception&) {
      // The driver is gone; the exit status says the rest.
    }
    return 1;
  }

  int serve_class(const TrainableSpec& spec, const Config& config, const Json& restore_from) {
    std::unique_ptr<Trainable> trainable;
    try {
      trainable = spec.factory();
      trainable->set_trial_info(info_);
      trainable->setup(config);
      if (restore_from.is_string()) trainable->load_checkpoint(restore_from.get<std::string>());
      flush_user_output();
      connection_.send({{"type", "ready"}, {"version", client::kProtocolVersion}});
      while (true) {
        std::string_view line;
        if (!connection_.next_line(line)) break;  // the driver is gone: as stop
        if (line == client::wire::kStepRequest) {  // the common case: no JSON tree either way
          const Result result = trainable->step();
          flush_user_output();
          connection_.send_result(result);
          continue;
        }
        const Json request = client::wire::parse_line(line);
        const std::string type = request.is_object() ? request.value("type", "") : "";
        if (request.is_null() || type == "stop") break;
        Json reply;
        if (type == "step") {
          reply = {{"type", "result"}, {"result", trainable->step()}};
        } else if (type == "save") {
          const std::filesystem::path dir = request.at("dir").get<std::string>();
          std::filesystem::create_directories(dir);
          trainable->save_checkpoint(dir);
          reply = {{"type", "saved"}, {"dir", dir.string()}};
        } else if (type == "restore") {
          trainable->load_checkpoint(request.at("dir").get<std::string>());
          reply = {{"type", "restored"}};
        } else if (type == "reset_config") {
          reply = {{"type", "reset"}, {"ok", trainable->reset_config(request.value("config", Json::object()))}};
        } else {
          throw TuneError(fmt::format("unknown request '{}'", type.empty() ? request.dump() : type));
        }
        flush_user_output();
        connection_.send(reply);
      }
      trainable->cleanup();
      flush_user_output();
      return 0;
    } catch (...) {
      const int rc = fail(describe_current_exception(), current_exception_type());
      if (trainable) {
        try {
          trainable->cleanup();
        } catch (...) {  // the failure above is what the user needs to see
        }
      }
      return rc;
    }
  }

  int serve_function(const TrainableSpec& spec, const Config& config, const Json& restore_from) {
    (void)restore_from;  // function trainables find it with reporter.restore_path() (or TUNE_RESTORE_FROM)
    ProtocolReporter reporter(connection_, info_);
    try {
      connection_.send({{"type", "ready"}, {"version", client::kProtocolVersion}});
      reporter.wait_for_step();
      spec.function(config, reporter);
      flush_user_output();
      connection_.send({{"type", "done"}});
      return 0;
    } catch (const TrialStopped&) {
      flush_user_output();
      return 0;
    } catch (...) {
      return fail(describe_current_exception(), current_exception_type());
    }
  }

  client::Connection& connection_;
  std::string name_;
  TrialInfo info_;
};

void check_finite_nonnegative(double value, const char* field) {
  if (!std::isfinite(value) || value < 0) {
    throw TuneError(fmt::format("{}: must be a finite number >= 0, got {}", field, value));
  }
}

}  // namespace

TrainableSpec process_trainable(std::string name, ProcessSpec spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) throw TuneError("argv: the command (argv[0]) is empty");
  check_finite_nonnegative(spec.step_timeout_s, "step_timeout_s");
  check_finite_nonnegative(spec.stop_grace_s, "stop_grace_s");
  if (spec.max_message_bytes == 0) throw TuneError("max_message_bytes: must be > 0");
  if (spec.launch == ProcessSpec::Launch::kZygote) {
    if (spec.protocol != ProcessSpec::Protocol::kWorker) {
      throw TuneError("launch: kZygote needs protocol kWorker (a zygote is a binary that calls tune::worker_main)");
    }
    if (!spec.env.contains("TUNE_WORKER")) {
      throw TuneError(
          "launch: kZygote serves a registered trainable, named by TUNE_WORKER in env (tune::isolated sets it)");
    }
  }
  for (const auto& [key, value] : spec.env) {
    if (key.empty() || key.find('=') != std::string::npos || key.find('\0') != std::string::npos ||
        value.find('\0') != std::string::npos) {
      throw TuneError(
          fmt::format("env: \"{}\" is not a valid environment variable (no '=' or NUL in the name, no "
                      "NUL in the value)",
                      key));
    }
  }
  TrainableSpec trainable;
  trainable.name = name.empty() ? std::filesystem::path(spec.argv[0]).filename().string() : std::move(name);
  trainable.process = std::make_shared<const ProcessSpec>(std::move(spec));
  // run() asks every trainable for a factory or a function; the process executor never calls
  // this one, since `process` is set.
  trainable.function = [](const Config&, Reporter&) {
    throw TuneError("trainable: a process trainable runs only through the process executor");
  };
  return trainable;
}

TrainableSpec isolated(const std::string& registered_name, ProcessSpec options) {
  const auto it = registry().find(registered_name);
  if (options.argv.empty()) {
    if (it == registry().end()) {
      throw TuneError(fmt::format("trainable: no trainable is registered as '{}' (registered: {})", registered_name,
                                  registered_list()));
    }
    std::error_code ec;
    const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) throw TuneError(fmt::format("isolated: cannot find this binary (/proc/self/exe): {}", ec.message()));
    options.argv = {self.string()};
  }
  options.protocol = ProcessSpec::Protocol::kWorker;
  options.env["TUNE_WORKER"] = registered_name;
  if (options.launch == ProcessSpec::Launch::kAuto) options.launch = ProcessSpec::Launch::kZygote;
  TrainableSpec spec = process_trainable(registered_name, std::move(options));
  if (it != registry().end()) spec.default_resource_request = it->second.default_resource_request;
  return spec;
}

bool register_trainable(const std::string& name, TrainableSpec spec) {
  if (name.empty()) throw TuneError("register_trainable: the name is empty");
  if (!spec.factory && !spec.function) {
    throw TuneError(fmt::format("register_trainable: '{}' has neither a factory nor a function", name));
  }
  if (spec.process) throw TuneError(fmt::format("register_trainable: '{}' is a process trainable already", name));
  if (spec.name.empty()) spec.name = name;
  registry()[name] = std::move(spec);
  return true;
}

const TrainableSpec& registered_trainable(const std::string& name) {
  const auto it = registry().find(name);
  if (it == registry().end()) {
    throw TuneError(
        fmt::format("trainable: no trainable is registered as '{}' (registered: {})", name, registered_list()));
  }
  return it->second;
}

std::vector<std::string> registered_trainable_names() {
  std::vector<std::string> names;
  for (const auto& [name, spec] : registry()) names.push_back(name);
  return names;
}

ExperimentAnalysis run(const std::string& name, RunOptions options) {
  const TrainableSpec spec = isolated(name);
  return run(spec, std::move(options));
}

int worker_main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  if (const char* control = std::getenv(detail::zygote::kEnvVar); control != nullptr) {
    // A fork server: returns here in the zygote when it is done, and in each forked child,
    // whose descriptors and environment are then its trial's (TUNE_ZYGOTE no longer set).
    const int fd = std::atoi(control);
    ::unsetenv(detail::zygote::kEnvVar);
    if (fd < 3) return 1;
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    const detail::zygote::Outcome outcome = detail::zygote::serve(fd);
    if (!outcome.trial) return outcome.exit_code;
  }
  const char* name = std::getenv("TUNE_WORKER");
  int in_fd = -1, out_fd = -1;
  if (name == nullptr || !client::protocol_fds(in_fd, out_fd)) return -1;
  const std::string trainable_name = name;
  // What this process starts is not a worker of ours, and must not hold our pipes.
  ::unsetenv("TUNE_WORKER");
  ::unsetenv("TUNE_PROTOCOL_FDS");
  ::unsetenv("TUNE_PROTOCOL_VERSION");
  ::fcntl(in_fd, F_SETFD, FD_CLOEXEC);
  ::fcntl(out_fd, F_SETFD, FD_CLOEXEC);
  client::Connection connection(in_fd, out_fd);
  Worker worker(connection, trainable_name);
  try {
    return worker.serve();
  } catch (const std::exception& e) {
    // The pipes broke or a request was malformed: nothing more can be said over them.
    std::cerr << "tune worker: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace tune
