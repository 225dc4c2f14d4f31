// convert.h — values between Python and the engine: JSON trees, search spaces, and Python
// objects held by C++ callbacks that may be destroyed on any thread.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "tune/json.h"
#include "tune/search_space.h"

namespace tune::python {

namespace py = pybind11;

// None, bool, int, float, str, list/tuple, dict with str keys, and numpy scalars and arrays
// (through .item() / .tolist()). Anything else is a TuneError naming `path`.
Json to_json(py::handle value, const std::string& path);
py::object to_py(const Json& value);

// A config dict to a search space: tune.grid_search / {"grid_search": [...]}, the domains of
// tune.sample (their JSON form, `_tune_domain()`), and tune.sample_from(fn), whose fn is
// called with the GIL as fn(spec) where spec.config.<key> reads the resolved config.
Space to_space(py::handle value, const std::string& path);

// A Python object that C++ callbacks own: copied freely, and released with the GIL taken,
// whatever thread drops the last reference.
using PyRef = std::shared_ptr<py::object>;
PyRef hold(py::object object);

// Defines the classes sample_from functions receive (spec, spec.config).
void bind_spec_views(py::module_& m);

// The text of the Python exception in flight (type, message and traceback), for error.txt.
std::string format_exception(py::error_already_set& error);

}  // namespace tune::python
