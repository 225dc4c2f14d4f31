// plugins.cc — see plugins.h.
#include "plugins.h"

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <random>
#include <stdexcept>
#include <vector>

#include "convert.h"
#include "tune/error.h"

namespace tune::python {
namespace {

// A Python failure inside a plugin: the engine reports it like a C++ exception of the plugin.
[[noreturn]] void rethrow(py::error_already_set& error, const std::string& where) {
  throw std::runtime_error(fmt::format("{}: {}", where, format_exception(error)));
}

// object.method(args...) with the GIL; a Python failure names "<what>.<method>".
template <typename... Args>
void call_method(py::object& object, const char* what, const char* method, Args&&... args) {
  py::gil_scoped_acquire gil;
  try {
    object.attr(method)(std::forward<Args>(args)...);
  } catch (py::error_already_set& e) {
    rethrow(e, fmt::format("{}.{}", what, method));
  }
}

class PyStopper final : public Stopper {
 public:
  explicit PyStopper(py::object stopper) : stopper_(hold(std::move(stopper))) {}
  bool operator()(const std::string& trial_id, const Result& result) override {
    py::gil_scoped_acquire gil;
    try {
      return py::bool_((*stopper_)(trial_id, to_py(result))).cast<bool>();
    } catch (py::error_already_set& e) {
      rethrow(e, "stop");
    }
  }
  bool stop_all() override {
    py::gil_scoped_acquire gil;
    try {
      if (!py::hasattr(*stopper_, "stop_all")) return false;
      return py::bool_(stopper_->attr("stop_all")()).cast<bool>();
    } catch (py::error_already_set& e) {
      rethrow(e, "stop.stop_all");
    }
  }

 private:
  PyRef stopper_;
};

class PyCallback final : public Callback {
 public:
  explicit PyCallback(py::object callback) : callback_(hold(std::move(callback))) {}
  void setup(const ExperimentInfo& experiment) override {
    py::gil_scoped_acquire gil;  // before the dict is made
    call("setup", py::dict(py::arg("name") = experiment.name, py::arg("experiment_id") = experiment.experiment_id,
                           py::arg("dir") = experiment.dir.string(), py::arg("metric") = experiment.metric,
                           py::arg("mode") = experiment.mode));
  }
  void on_trial_start(const TrialView& trial) override { call("on_trial_start", trial); }
  void on_trial_result(const TrialView& trial, const Result& result) override {
    py::gil_scoped_acquire gil;
    call("on_trial_result", trial_to_py(trial), to_py(result));
  }
  void on_trial_complete(const TrialView& trial) override { call("on_trial_complete", trial); }
  void on_trial_error(const TrialView& trial) override { call("on_trial_error", trial); }
  void on_experiment_end() override { call("on_experiment_end"); }

 private:
  void call(const char* method, const TrialView& trial) {
    py::gil_scoped_acquire gil;
    call(method, trial_to_py(trial));
  }
  template <typename... Args>
  void call(const char* method, Args&&... args) {
    call_method(*callback_, "callback", method, std::forward<Args>(args)...);
  }
  PyRef callback_;
};

class PyLogger final : public Logger {
 public:
  explicit PyLogger(py::object logger) : logger_(hold(std::move(logger))) {}
  void on_result(const Result& result) override {
    py::gil_scoped_acquire gil;
    call("on_result", to_py(result));
  }
  void flush() override { call("flush"); }
  void close(const TrialView& trial) override {
    py::gil_scoped_acquire gil;
    call("close", trial_to_py(trial));
  }

 private:
  template <typename... Args>
  void call(const char* method, Args&&... args) {
    call_method(*logger_, "logger", method, std::forward<Args>(args)...);
  }
  PyRef logger_;
};

std::shared_ptr<Stopper> to_stopper(py::handle stop) {
  if (py::isinstance<Stopper>(stop)) return stop.cast<std::shared_ptr<Stopper>>();
  if (py::isinstance<py::dict>(stop)) return StopSpec(to_json(stop, "stop")).make_stopper();
  if (!py::hasattr(stop, "__call__")) {
    throw TuneError(fmt::format("stop: {} is neither a dict, a function nor a tune.Stopper",
                                py::repr(stop).cast<std::string>()));
  }
  return std::make_shared<PyStopper>(py::reinterpret_borrow<py::object>(stop));
}

}  // namespace

py::dict trial_to_py(const TrialView& trial) {
  py::dict out;
  out["trial_id"] = trial.trial_id();
  out["trial_name"] = trial.name();
  out["trainable_name"] = trial.trainable_name();
  out["experiment_tag"] = trial.experiment_tag();
  out["status"] = std::string(to_string(trial.status()));
  out["config"] = to_py(trial.config());
  out["last_result"] = to_py(trial.last_result());
  out["logdir"] = trial.logdir().string();
  out["iteration"] = trial.iteration();
  out["num_failures"] = trial.num_failures();
  out["error"] = trial.error_message();
  return out;
}

StopSpec to_stop_spec(py::handle stop) {
  if (stop.is_none()) return {};
  if (py::isinstance<py::dict>(stop)) return StopSpec(to_json(stop, "stop"));
  if (py::isinstance<py::list>(stop) || py::isinstance<py::tuple>(stop)) {
    std::vector<std::shared_ptr<Stopper>> stoppers;
    for (auto item : stop) stoppers.push_back(to_stopper(item));
    return StopSpec(std::move(stoppers));
  }
  return StopSpec(to_stopper(stop));
}

std::shared_ptr<Callback> to_callback(py::object callback) { return std::make_shared<PyCallback>(std::move(callback)); }

LoggerFactory to_logger_factory(py::object factory) {
  PyRef held = hold(std::move(factory));
  return [held](const ExperimentInfo&, const TrialView& trial) -> std::unique_ptr<Logger> {
    py::gil_scoped_acquire gil;
    try {
      return std::make_unique<PyLogger>((*held)(trial_to_py(trial)));
    } catch (py::error_already_set& e) {
      rethrow(e, "loggers");
    }
  };
}

std::function<std::string(const TrialView&)> to_name_creator(py::object creator, const std::string& field) {
  PyRef held = hold(std::move(creator));
  return [held, field](const TrialView& trial) {
    py::gil_scoped_acquire gil;
    try {
      return py::str((*held)(trial_to_py(trial))).cast<std::string>();
    } catch (py::error_already_set& e) {
      rethrow(e, field);
    }
  };
}

namespace {

void add_mutations(py::handle value, const std::string& prefix,
                   std::map<std::string, PopulationBasedTraining::Mutation>& out) {
  const std::string where = "scheduler/hyperparam_mutations/" + prefix;
  PopulationBasedTraining::Mutation mutation;
  if (py::isinstance<py::dict>(value) && !py::hasattr(value, "_tune_domain")) {
    for (auto item : py::reinterpret_borrow<py::dict>(value)) {
      const std::string key = py::str(item.first).cast<std::string>();
      add_mutations(item.second, prefix.empty() ? key : prefix + "/" + key, out);
    }
    return;
  }
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    if (py::len(value) == 0) throw TuneError(where + ": must not be an empty list");
    mutation.values = to_json(value, where).get<std::vector<Json>>();
  } else if (py::hasattr(value, "_tune_domain")) {
    const Space space = Space::from_json(to_json(value.attr("_tune_domain")(), where), where);
    if (!space.is_domain() || space.as_domain().is_grid()) throw TuneError(where + ": grid_search cannot mutate");
    mutation.domain = space.as_domain();
    if (mutation.domain->type == Domain::Type::kChoice) {
      mutation.values = mutation.domain->values;
      mutation.domain.reset();
    }
  } else if (py::hasattr(value, "__call__")) {
    PyRef fn = hold(py::reinterpret_borrow<py::object>(value));
    mutation.sample = [fn, where](std::mt19937_64&) {
      py::gil_scoped_acquire gil;
      try {
        return to_json((*fn)(), where);
      } catch (py::error_already_set& e) {
        rethrow(e, where);
      }
    };
  } else {
    throw TuneError(fmt::format("{}: must be a list, a distribution or a function, got {}", where,
                                py::repr(value).cast<std::string>()));
  }
  out.emplace(prefix, std::move(mutation));
}

}  // namespace

std::shared_ptr<TrialScheduler> make_pbt(const py::dict& spec) {
  PopulationBasedTraining::Options o;
  for (auto item : spec) {
    const std::string key = py::str(item.first).cast<std::string>();
    py::handle value = item.second;
    if (key == "type" || value.is_none()) continue;
    if (key == "time_attr") o.time_attr = value.cast<std::string>();
    else if (key == "metric") o.metric = value.cast<std::string>();
    else if (key == "mode") o.mode = value.cast<std::string>();
    else if (key == "perturbation_interval") o.perturbation_interval = value.cast<double>();
    else if (key == "quantile_fraction") o.quantile_fraction = value.cast<double>();
    else if (key == "resample_probability") o.resample_probability = value.cast<double>();
    else if (key == "log_config") o.log_config = value.cast<bool>();
    else if (key == "seed") o.seed = value.cast<uint64_t>();
    else if (key == "hyperparam_mutations") add_mutations(value, "", o.hyperparam_mutations);
    else if (key == "custom_explore_fn") {
      PyRef fn = hold(py::reinterpret_borrow<py::object>(value));
      o.custom_explore_fn = [fn](const Config& config) {
        py::gil_scoped_acquire gil;
        try {
          return to_json((*fn)(to_py(config)), "custom_explore_fn");
        } catch (py::error_already_set& e) {
          rethrow(e, "scheduler/custom_explore_fn");
        }
      };
    } else {
      throw TuneError(fmt::format("scheduler/{}: not an option of PopulationBasedTraining", key));
    }
  }
  return std::make_shared<PopulationBasedTraining>(std::move(o));
}

void bind_stoppers(py::module_& m) {
  py::class_<Stopper, std::shared_ptr<Stopper>>(m, "_BuiltinStopper")
      .def("__call__", [](Stopper& s, const std::string& trial_id, py::dict result) {
        return s(trial_id, to_json(result, "result"));
      })
      .def("stop_all", &Stopper::stop_all);
  py::class_<MaximumIterationStopper, Stopper, std::shared_ptr<MaximumIterationStopper>>(m, "MaximumIterationStopper")
      .def(py::init<int64_t>(), py::arg("max_iter"));
  py::class_<TrialPlateauStopper, Stopper, std::shared_ptr<TrialPlateauStopper>>(m, "TrialPlateauStopper")
      .def(py::init<std::string, double, int, int, std::optional<double>, std::string>(), py::arg("metric"),
           py::arg("std") = 0.01, py::arg("num_results") = 4, py::arg("grace_period") = 4,
           py::arg("metric_threshold") = py::none(), py::arg("mode") = "min");
  py::class_<ExperimentPlateauStopper, Stopper, std::shared_ptr<ExperimentPlateauStopper>>(m, "ExperimentPlateauStopper")
      .def(py::init<std::string, double, int, std::string, int>(), py::arg("metric"), py::arg("std") = 0.001,
           py::arg("top") = 10, py::arg("mode") = "min", py::arg("patience") = 0);
  py::class_<TimeoutStopper, Stopper, std::shared_ptr<TimeoutStopper>>(m, "TimeoutStopper")
      .def(py::init([](double timeout_s) {
             return std::make_shared<TimeoutStopper>(std::chrono::duration<double>(timeout_s));
           }),
           py::arg("timeout"));
}

}  // namespace tune::python
