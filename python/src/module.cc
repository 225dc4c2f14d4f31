// module.cc — tune._tune, the extension module under the Python package `tune`: tune.run's
// engine call, the analysis, the domains' validation and the fork server. The package's Python
// code (python/tune/) validates keywords and adapts Ray's calling conventions; everything the
// engine does is the C++ library's.
#include <fmt/format.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "convert.h"
#include "plugins.h"
#include "trainables.h"
#include "tune/dashboard.h"
#include "tune/error.h"
#include "tune/process.h"
#include "tune/run.h"
#include "tune/scheduler.h"
#include "tune/searchers.h"

namespace tune::python {
namespace {

template <typename T>
std::optional<T> option(const py::dict& options, const char* key) {
  if (!options.contains(key) || options[key].is_none()) return std::nullopt;
  try {
    return options[key].cast<T>();
  } catch (const py::cast_error&) {
    throw TuneError(fmt::format("{}: {} is not of the expected type", key, py::repr(options[key]).cast<std::string>()));
  }
}

template <typename T>
void set(const py::dict& options, const char* key, T& field) {
  if (auto value = option<T>(options, key)) field = std::move(*value);
}

RunOptions run_options(const py::dict& o) {
  RunOptions options;
  set(o, "name", options.name);
  if (o.contains("config") && !o["config"].is_none()) options.config = to_space(o["config"], "config");
  set(o, "num_samples", options.num_samples);
  if (o.contains("stop")) options.stop = to_stop_spec(o["stop"]);
  if (o.contains("resources_per_trial") && !o["resources_per_trial"].is_none()) {
    options.resources_per_trial = Resources::from_json(to_json(o["resources_per_trial"], "resources_per_trial"));
  }
  set(o, "local_dir", options.local_dir);
  if (auto f = option<py::object>(o, "trial_name_creator")) {
    options.trial_name_creator = to_name_creator(*f, "trial_name_creator");
  }
  if (auto f = option<py::object>(o, "trial_dirname_creator")) {
    options.trial_dirname_creator = to_name_creator(*f, "trial_dirname_creator");
  }
  set(o, "verbose", options.verbose);
  set(o, "metric", options.metric);
  set(o, "mode", options.mode);
  set(o, "max_concurrent_trials", options.max_concurrent_trials);
  set(o, "time_budget_s", options.time_budget_s);
  if (auto seed = option<uint64_t>(o, "seed")) options.seed = *seed;
  set(o, "fail_fast", options.fail_fast);
  set(o, "raise_on_failed_trial", options.raise_on_failed_trial);
  set(o, "max_failures", options.max_failures);
  set(o, "checkpoint_freq", options.checkpoint_freq);
  set(o, "checkpoint_at_end", options.checkpoint_at_end);
  set(o, "keep_checkpoints_num", options.keep_checkpoints_num);
  set(o, "checkpoint_score_attr", options.checkpoint_score_attr);
  set(o, "restore", options.restore);
  if (auto resume = option<std::string>(o, "resume")) options.resume = Resume(*resume);
  if (auto n = option<double>(o, "num_cpus")) options.num_cpus = *n;
  if (auto n = option<double>(o, "num_gpus")) options.num_gpus = *n;
  set(o, "local_mode", options.local_mode);
  set(o, "reuse_actors", options.reuse_actors);
  if (auto s = option<py::object>(o, "scheduler")) {
    const bool pbt = py::isinstance<py::dict>(*s) && s->contains("type") && py::str((*s)["type"]).cast<std::string>() == "pbt";
    options.scheduler = pbt ? make_pbt(*s) : make_scheduler(to_json(*s, "scheduler"));
  }
  if (auto s = option<py::object>(o, "search_alg")) {
    SearcherContext context;
    context.seed = options.seed;
    options.search_alg = make_searcher(to_json(*s, "search_alg"), context);
  }
  if (auto list = option<py::list>(o, "callbacks")) {
    for (auto item : *list) options.callbacks.push_back(to_callback(py::reinterpret_borrow<py::object>(item)));
  }
  if (auto list = option<py::list>(o, "loggers")) {
    for (auto item : *list) options.loggers.push_back(to_logger_factory(py::reinterpret_borrow<py::object>(item)));
  }
  // dashboard=True or {"host": ..., "port": ...}: serve the experiment while it runs.
  if (o.contains("dashboard") && !o["dashboard"].is_none()) {
    const Json dashboard = to_json(o["dashboard"], "dashboard");
    dashboard::DashboardOptions served;
    if (dashboard.is_object()) {
      served.host = dashboard.value("host", served.host);
      served.port = dashboard.value("port", served.port);
    } else if (!dashboard.is_boolean()) {
      throw TuneError("dashboard: must be True/False or a dict {host, port}, got " + dashboard.dump());
    }
    if (!dashboard.is_boolean() || dashboard.get<bool>()) dashboard::serve_beside(options, served);
  }
  set(o, "write_trial_files", options.write_trial_files);
  set(o, "write_experiment_state", options.write_experiment_state);
  if (auto upload = option<std::string>(o, "upload_dir")) options.sync_config.upload_dir = *upload;
  return options;
}

// Runs the experiment on a thread of its own while this (the main) thread waits with the GIL
// released, and every 50 ms takes it to let Python run its signal handlers: a Ctrl-C raises
// KeyboardInterrupt here, which becomes a graceful stop (a second one: a forced stop).
ExperimentAnalysis run_watched(const TrainableSpec& trainable, RunOptions options, bool& interrupted) {
  auto flag = std::make_shared<std::atomic<int>>(0);
  options.interrupt = flag;
  std::packaged_task<ExperimentAnalysis()> task(
      [&trainable, options = std::move(options)]() mutable { return tune::run(trainable, std::move(options)); });
  std::future<ExperimentAnalysis> done = task.get_future();
  std::thread runner(std::move(task));
  {
    py::gil_scoped_release release;
    while (done.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
      py::gil_scoped_acquire gil;
      if (PyErr_CheckSignals() != 0) {
        if (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
          PyErr_Clear();
          flag->store(flag->load() == 0 ? 1 : 2);
        } else {
          PyErr_Clear();  // another handler raised: stop as well, the run cannot carry it
          flag->store(2);
        }
      }
    }
    runner.join();
  }
  interrupted = flag->load() != 0;
  return done.get();
}

// The analysis as the package's ExperimentAnalysis reads it (tune/analysis.py makes pandas).
py::tuple table_to_py(const Table& table) {
  py::list rows;
  for (const auto& row : table.rows) {
    py::list values;
    for (const Json& value : row) values.append(to_py(value));
    rows.append(values);
  }
  return py::make_tuple(table.columns, rows);
}

py::dict record_to_py(const TrialRecord& record) {
  py::dict out;
  out["trial_id"] = record.trial_id();
  out["trial_name"] = record.name();
  out["status"] = std::string(to_string(record.status()));
  out["logdir"] = record.logdir().string();
  out["error"] = record.error();
  out["config"] = to_py(record.config());
  out["last_result"] = to_py(record.last_result());
  return out;
}

void bind_analysis(py::module_& m) {
  py::class_<ExperimentAnalysis>(m, "_Analysis")
      .def_static("load", [](const std::string& dir, const std::string& metric,
                             const std::string& mode) { return ExperimentAnalysis::load(dir, metric, mode); })
      .def_property_readonly("experiment_dir",
                             [](const ExperimentAnalysis& a) { return a.experiment_dir().string(); })
      .def("trials",
           [](const ExperimentAnalysis& a) {
             py::list out;
             for (const TrialRecord& record : a.trials()) out.append(record_to_py(record));
             return out;
           })
      .def("dataframe", [](const ExperimentAnalysis& a) { return table_to_py(a.dataframe()); })
      .def("trial_dataframe",
           [](const ExperimentAnalysis& a, const std::string& id) { return table_to_py(a.trial_dataframe(id)); })
      .def("get_best_trial",
           [](const ExperimentAnalysis& a, const std::string& metric, const std::string& mode,
              const std::string& scope) -> py::object {
             auto best = a.get_best_trial(metric, mode, scope);
             if (!best) return py::none();
             return record_to_py(*best);
           });
}

py::object run(py::object entry, const std::string& kind, const std::string& name, const py::dict& options,
               int zygote_fd, int zygote_pid, int omp_threads) {
  RunOptions run = run_options(options);
  std::shared_ptr<ZygoteLink> link;
  TrainableSpec trainable;
  if (zygote_fd >= 0) {
    link = std::make_shared<ZygoteLink>(zygote_fd, static_cast<pid_t>(zygote_pid));
    ProcessSpec spec;
    // Only when the fork server is lost: an exec cannot rebuild a Python closure.
    spec.argv = {"/bin/sh", "-c",
                 "echo 'tune: this Python trial could not be forked from the driver (its fork server was "
                 "lost); run it with execution=\"thread\"' >&2; exit 1"};
    spec.launch = ProcessSpec::Launch::kZygote;
    spec.env = {{"TUNE_WORKER", "python:" + name}, {"OMP_NUM_THREADS", std::to_string(omp_threads)}};
    spec.start_zygote = [link](int control_fd, const std::vector<std::string>& env) {
      return link->start(control_fd, env);
    };
    trainable = process_trainable(name, std::move(spec));
  } else {
    trainable = python_trainable(name, kind, std::move(entry));
  }
  bool interrupted = false;
  std::exception_ptr failure;
  ExperimentAnalysis analysis;
  try {
    analysis = run_watched(trainable, std::move(run), interrupted);
  } catch (...) {
    failure = std::current_exception();
  }
  if (link) {
    py::gil_scoped_release release;
    link->finish();
  }
  if (failure) std::rethrow_exception(failure);
  return py::make_tuple(std::move(analysis), interrupted);
}

}  // namespace

PYBIND11_MODULE(_tune, m) {
  m.doc() = "The C++ engine of the Python package tune (see docs/python.md).";
  py::register_exception<TuneError>(m, "TuneError", PyExc_ValueError);
  bind_spec_views(m);
  bind_trainables(m);
  bind_stoppers(m);
  bind_analysis(m);
  m.def("_run", &run, py::arg("entry"), py::arg("kind"), py::arg("name"), py::arg("options"),
        py::arg("zygote_fd") = -1, py::arg("zygote_pid") = -1, py::arg("omp_threads") = 1);
  m.def("_serve_zygote", &serve_zygote, py::arg("socket_fd"), py::arg("worker_name"), py::arg("kind"),
        py::arg("entry"));
  m.def(
      "_check_domain",
      [](py::object domain) { (void)Space::from_json(to_json(domain, "domain"), "domain"); },
      "Validates a domain's JSON form (raises TuneError naming the rule).");
  m.def("_scheduler_check", [](py::object spec) { (void)make_scheduler(to_json(spec, "scheduler")); });
  m.def("_searcher_names", &searcher_names);
  m.def("_searcher_keys", &searcher_keys);
}

}  // namespace tune::python
