// trainables.h — Python trainables on the engine: functions and tune.Trainable classes as
// TrainableSpecs, and the fork server ("zygote") that runs each trial as a fork of the driver.
//
// Process trials: before the run, tune.run forks the driver once (os.fork, from the main
// thread) into a waiting process; when the process executor wants its zygote
// (ProcessSpec::start_zygote) the driver hands that process the control socket, and it serves
// tune::worker_main as a zygote, forking one child per trial. Each child thus holds the
// driver's whole Python state as it was at tune.run: closures, lambdas and the trainable need
// no pickling. Thread-safety: the specs' callbacks take the GIL themselves.
#pragma once

#include <pybind11/pybind11.h>
#include <sys/types.h>

#include <memory>
#include <string>

#include "tune/process.h"
#include "tune/trainable.h"

namespace tune::python {

namespace py = pybind11;

// In-process trials. `kind` "function": `entry(config, reporter)` runs a whole trial;
// "class": `entry(config, info)` returns an object with _tune_step/_tune_save/_tune_load/
// _tune_reset/_tune_cleanup (tune.Trainable's adapter methods).
TrainableSpec python_trainable(const std::string& name, const std::string& kind, py::object entry);

// The waiting process's side: registers the trainable as `worker_name`, waits on `socket_fd`
// for the control socket and environment, and serves the zygote (returns its exit code, or in a
// forked trial the trial's). Returns 0 at once when the driver closes the socket first.
int serve_zygote(int socket_fd, const std::string& worker_name, const std::string& kind, py::object entry);

// The driver's side of one waiting process.
class ZygoteLink {
 public:
  ZygoteLink(int socket_fd, pid_t pid) : socket_fd_(socket_fd), pid_(pid) {}
  ~ZygoteLink();
  ZygoteLink(const ZygoteLink&) = delete;
  ZygoteLink& operator=(const ZygoteLink&) = delete;
  // ProcessSpec::start_zygote: hands the waiting process over (once).
  pid_t start(int control_fd, const std::vector<std::string>& env);
  // After the run: a process never handed over is told to end and reaped here (a handed one
  // is the executor's to reap).
  void finish();

 private:
  int socket_fd_;
  pid_t pid_;
  bool handed_ = false;
};

// The classes a trial's Python code sees (the reporter) and tune._tune._TrialStopped.
void bind_trainables(py::module_& m);

}  // namespace tune::python
