// trainables.cc — see trainables.h.
#include "trainables.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "convert.h"
#include "tune/error.h"

namespace tune::python {
namespace {

// The environment travels as one datagram of NUL-terminated strings.
constexpr size_t kMaxEnvironment = 1 << 20;

// The pid of the process serving as zygote, in it and in the trials it forks (0 elsewhere).
// zygote::serve forks with fork(2), not os.fork, so each trial child must tell the interpreter
// it is a new process (PyOS_AfterFork_Child: thread states, the GIL, os.register_at_fork hooks
// such as random's reseeding) before it runs Python code. One value per process is the point.
pid_t zygote_pid = 0;
bool after_fork_done = false;

void enter_python_trial() {
  if (zygote_pid != 0 && !after_fork_done && ::getpid() != zygote_pid) {
    after_fork_done = true;
    PyOS_AfterFork_Child();
  }
}

py::object trial_stopped_type() { return py::module_::import("tune._tune").attr("_TrialStopped"); }

// A Python failure as the message of error.txt.
[[noreturn]] void rethrow_python(py::error_already_set& error) {
  std::string text = format_exception(error);
  throw std::runtime_error(text);
}

py::dict info_to_py(const TrialInfo& info) {
  py::dict out;
  out["trial_id"] = info.trial_id;
  out["trial_name"] = info.trial_name;
  out["experiment_id"] = info.experiment_id;
  out["trial_dir"] = info.trial_dir.string();
  out["checkpoint_dir"] = info.checkpoint_dir.string();
  out["restore_from"] = info.restore_from.empty() ? py::object(py::none()) : py::str(info.restore_from.string());
  py::list gpus;
  for (int id : info.gpu_ids) gpus.append(id);
  out["gpu_ids"] = gpus;
  return out;
}

// What a function trial's Python code reports through (valid during its call only).
struct PyReporter {
  Reporter* reporter;
  void report(py::dict metrics) {
    Result result = to_json(metrics, "result");
    bool stopped = false;
    {
      py::gil_scoped_release release;
      try {
        reporter->report(std::move(result));
      } catch (const TrialStopped&) {
        stopped = true;
      }
    }
    if (stopped) {
      PyErr_SetNone(trial_stopped_type().ptr());
      throw py::error_already_set();
    }
  }
  py::dict info() const { return info_to_py(reporter->trial_info()); }
};

class PyTrainable final : public Trainable {
 public:
  explicit PyTrainable(PyRef factory) : factory_(std::move(factory)) {}
  ~PyTrainable() override {
    py::gil_scoped_acquire gil;
    instance_ = py::object();
  }

  void setup(const Config& config) override {
    py::gil_scoped_acquire gil;
    enter_python_trial();
    try {
      instance_ = (*factory_)(to_py(config), info_to_py(trial_info()));
    } catch (py::error_already_set& e) {
      rethrow_python(e);
    }
  }
  Result step() override { return call("_tune_step"); }
  void save_checkpoint(const std::filesystem::path& dir) override { call("_tune_save", py::str(dir.string())); }
  void load_checkpoint(const std::filesystem::path& dir) override { call("_tune_load", py::str(dir.string())); }
  bool reset_config(const Config& new_config) override {
    const Json ok = call("_tune_reset", to_py(new_config), info_to_py(trial_info()));
    return ok.is_boolean() && ok.get<bool>();
  }
  void cleanup() override { call("_tune_cleanup"); }

 private:
  template <typename... Args>
  Json call(const char* method, Args&&... args) {
    py::gil_scoped_acquire gil;
    try {
      if (!instance_) throw TuneError(fmt::format("{}: the trainable was not set up", method));
      return to_json(instance_.attr(method)(std::forward<Args>(args)...), "result");
    } catch (py::error_already_set& e) {
      rethrow_python(e);
    }
  }

  PyRef factory_;
  py::object instance_;
};

std::string receive_environment(int socket_fd, int& control_fd) {
  std::string buffer(kMaxEnvironment, '\0');
  iovec iov{buffer.data(), buffer.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t got;
  while ((got = ::recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  control_fd = -1;
  if (got <= 0) return {};
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) std::memcpy(&control_fd, CMSG_DATA(c), sizeof(int));
  }
  buffer.resize(static_cast<size_t>(got));
  return buffer;
}

}  // namespace

TrainableSpec python_trainable(const std::string& name, const std::string& kind, py::object entry) {
  PyRef callable = hold(std::move(entry));
  TrainableSpec spec;
  spec.name = name;
  if (kind == "class") {
    spec.factory = [callable] { return std::make_unique<PyTrainable>(callable); };
    return spec;
  }
  if (kind != "function") throw TuneError(fmt::format("trainable: unknown kind '{}'", kind));
  spec.function = [callable](const Config& config, Reporter& reporter) {
    py::gil_scoped_acquire gil;
    enter_python_trial();
    bool stopped = false;
    try {
      (*callable)(to_py(config), PyReporter{&reporter});
    } catch (py::error_already_set& e) {
      if (!e.matches(trial_stopped_type())) rethrow_python(e);
      stopped = true;
    }
    if (stopped) throw TrialStopped{};
  };
  return spec;
}

int serve_zygote(int socket_fd, const std::string& worker_name, const std::string& kind, py::object entry) {
  register_trainable(worker_name, python_trainable(worker_name, kind, std::move(entry)));
  int control_fd = -1;
  const std::string env = receive_environment(socket_fd, control_fd);
  ::close(socket_fd);
  if (control_fd < 0) return 0;  // the run ended without wanting us
  if (control_fd != 3) {
    if (::dup2(control_fd, 3) < 0) return 1;
    ::close(control_fd);
  }
  ::clearenv();
  for (size_t start = 0; start < env.size();) {
    const size_t end = env.find('\0', start);
    const std::string entry_text = env.substr(start, end - start);
    if (const size_t eq = entry_text.find('='); eq != std::string::npos) {
      ::setenv(entry_text.substr(0, eq).c_str(), entry_text.substr(eq + 1).c_str(), 1);
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  zygote_pid = ::getpid();
  char name[] = "tune-python-zygote";
  char* argv[] = {name, nullptr};
  return worker_main(1, argv);
}

ZygoteLink::~ZygoteLink() {
  try {
    finish();
  } catch (...) {  // nothing left to tell anyone
  }
}

pid_t ZygoteLink::start(int control_fd, const std::vector<std::string>& env) {
  if (handed_ || socket_fd_ < 0) {
    throw TuneError("the Python trials' fork server is gone; a Python trainable cannot be started any other way");
  }
  std::string payload;
  for (const std::string& entry : env) payload.append(entry).push_back('\0');
  if (payload.size() > kMaxEnvironment) throw TuneError("the environment is too large to hand to the fork server");
  iovec iov{payload.data(), payload.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &control_fd, sizeof(int));
  ssize_t sent;
  while ((sent = ::sendmsg(socket_fd_, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (sent < 0) throw TuneError(fmt::format("handing the control socket to the fork server: {}", std::strerror(errno)));
  handed_ = true;
  return pid_;
}

void ZygoteLink::finish() {
  if (socket_fd_ >= 0) {
    ::close(socket_fd_);
    socket_fd_ = -1;
  }
  if (!handed_ && pid_ > 0) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

void bind_trainables(py::module_& m) {
  m.attr("_TrialStopped") = py::reinterpret_steal<py::object>(
      PyErr_NewExceptionWithDoc("tune._tune._TrialStopped",
                                "Raised inside a trial when the runner stopped it; not an error (do not catch it).",
                                PyExc_BaseException, nullptr));
  py::class_<PyReporter>(m, "_Reporter")
      .def("report", &PyReporter::report)
      .def_property_readonly("info", &PyReporter::info);
}

}  // namespace tune::python
