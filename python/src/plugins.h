// plugins.h — the engine's plugins from Python objects: stoppers (dicts, functions, Stopper
// subclasses, the built-ins), experiment callbacks, per-trial loggers, trial name creators.
// The engine calls them on its driver thread; each call takes the GIL.
#pragma once

#include <pybind11/pybind11.h>

#include <functional>
#include <memory>
#include <string>

#include "tune/callback.h"
#include "tune/scheduler.h"
#include "tune/stopper.h"
#include "tune/trial.h"

namespace tune::python {

namespace py = pybind11;

// A trial as Python callbacks see it: a dict of trial_id, trial_name, trainable_name,
// experiment_tag, status, config, last_result, logdir, iteration, num_failures, error.
py::dict trial_to_py(const TrialView& trial);

// `stop=`: a dict of criteria, a callable (trial_id, result) -> bool, a tune.Stopper (a
// Python subclass or a built-in), or a list of those (combined).
StopSpec to_stop_spec(py::handle stop);
// A tune.callback.Callback (adapted by tune/callback.py: methods take the trial dict).
std::shared_ptr<Callback> to_callback(py::object callback);
// A logger class adapted by tune/logger.py: called with the trial dict, gives an object with
// on_result(result), flush(), close().
LoggerFactory to_logger_factory(py::object factory);
// trial_name_creator / trial_dirname_creator: called with the trial dict.
std::function<std::string(const TrialView&)> to_name_creator(py::object creator, const std::string& field);

// PopulationBasedTraining from tune.schedulers.PopulationBasedTraining's options, whose
// hyperparam_mutations may hold lists, distributions, nested dicts and Python functions
// (called with no arguments, as Ray does), and custom_explore_fn.
std::shared_ptr<TrialScheduler> make_pbt(const py::dict& spec);

// The built-in stoppers as Python classes (tune.stopper).
void bind_stoppers(py::module_& m);

}  // namespace tune::python
