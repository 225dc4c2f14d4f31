// convert.cc — see convert.h.
#include "convert.h"

#include <fmt/format.h>

#include <cmath>

#include "tune/error.h"

namespace tune::python {

PyRef hold(py::object object) {
  return PyRef(new py::object(std::move(object)), [](py::object* p) {
    py::gil_scoped_acquire gil;
    delete p;
  });
}

std::string format_exception(py::error_already_set& error) {
  try {
    py::object lines = py::module_::import("traceback").attr("format_exception")(error.type(), error.value(),
                                                                                 error.trace());
    return py::str("").attr("join")(lines).cast<std::string>();
  } catch (const std::exception&) {
    return error.what();
  }
}

Json to_json(py::handle value, const std::string& path) {
  if (value.is_none()) return nullptr;
  if (py::isinstance<py::bool_>(value)) return value.cast<bool>();
  if (py::isinstance<py::int_>(value)) {
    try {
      return value.cast<int64_t>();
    } catch (const py::cast_error&) {
      return value.cast<double>();  // beyond 64 bits
    }
  }
  if (py::isinstance<py::float_>(value)) return value.cast<double>();
  if (py::isinstance<py::str>(value)) return value.cast<std::string>();
  if (py::isinstance<py::dict>(value)) {
    Json out = Json::object();
    for (auto item : py::reinterpret_borrow<py::dict>(value)) {
      if (!py::isinstance<py::str>(item.first)) {
        throw TuneError(fmt::format("{}: the key {} is not a string", path, py::repr(item.first).cast<std::string>()));
      }
      const std::string key = item.first.cast<std::string>();
      out[key] = to_json(item.second, path + "/" + key);
    }
    return out;
  }
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    Json out = Json::array();
    size_t i = 0;
    for (auto item : value) out.push_back(to_json(item, fmt::format("{}/{}", path, i++)));
    return out;
  }
  // numpy scalars (item) and arrays (tolist), and whatever else converts itself that way.
  if (py::hasattr(value, "tolist")) return to_json(value.attr("tolist")(), path);
  if (py::hasattr(value, "item")) return to_json(value.attr("item")(), path);
  throw TuneError(fmt::format("{}: a value of type {} is not a JSON value (None, bool, int, float, str, list, dict)",
                              path, py::str(py::type::of(value).attr("__name__")).cast<std::string>()));
}

py::object to_py(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
    case Json::value_t::discarded:
      return py::none();
    case Json::value_t::boolean:
      return py::bool_(value.get<bool>());
    case Json::value_t::number_integer:
      return py::int_(value.get<int64_t>());
    case Json::value_t::number_unsigned:
      return py::int_(value.get<uint64_t>());
    case Json::value_t::number_float:
      return py::float_(value.get<double>());
    case Json::value_t::string:
      return py::str(value.get_ref<const std::string&>());
    case Json::value_t::array: {
      py::list out;
      for (const Json& item : value) out.append(to_py(item));
      return out;
    }
    case Json::value_t::object: {
      py::dict out;
      for (const auto& [key, item] : value.items()) out[py::str(key)] = to_py(item);
      return out;
    }
    case Json::value_t::binary:
      break;
  }
  return py::none();
}

namespace {

// spec.config as sample_from functions read it: spec.config.a.b, spec.config["a"], .get().
class ConfigView {
 public:
  ConfigView(Spec* spec, std::string prefix) : spec_(spec), prefix_(std::move(prefix)) {}
  py::object get(const std::string& key) const {
    const std::string path = prefix_.empty() ? key : prefix_ + "/" + key;
    const Json& value = spec_->config(path);
    if (value.is_object()) return py::cast(ConfigView(spec_, path));
    return to_py(value);
  }

 private:
  Spec* spec_;  // valid during the sample_from call only
  std::string prefix_;
};

struct SpecView {
  Spec* spec;
  ConfigView config() const { return ConfigView(spec, ""); }
};

}  // namespace

Space to_space(py::handle value, const std::string& path) {
  if (py::hasattr(value, "_tune_sample_from")) {
    PyRef fn = hold(py::reinterpret_borrow<py::object>(value.attr("_tune_sample_from")));
    const std::string where = path;
    return Space(sample_from([fn, where](Spec& spec) -> Json {
      py::gil_scoped_acquire gil;
      try {
        return to_json((*fn)(SpecView{&spec}), where);
      } catch (py::error_already_set& e) {
        throw TuneError(fmt::format("{}: sample_from raised {}", where, format_exception(e)));
      }
    }));
  }
  if (py::hasattr(value, "_tune_domain")) return Space::from_json(to_json(value.attr("_tune_domain")(), path), path);
  if (py::isinstance<py::dict>(value)) {
    auto dict = py::reinterpret_borrow<py::dict>(value);
    if (dict.size() == 1 && dict.contains("grid_search")) {
      return Space::from_json(Json{{"grid_search", to_json(dict["grid_search"], path + "/grid_search")}}, path);
    }
    Space::Object entries;
    for (auto item : dict) {
      if (!py::isinstance<py::str>(item.first)) {
        throw TuneError(fmt::format("{}: the key {} is not a string", path, py::repr(item.first).cast<std::string>()));
      }
      const std::string key = item.first.cast<std::string>();
      entries.emplace(key, to_space(item.second, path + "/" + key));
    }
    return Space::object(std::move(entries));
  }
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    Space::Array items;
    size_t i = 0;
    for (auto item : value) items.push_back(to_space(item, fmt::format("{}/{}", path, i++)));
    return Space::array(std::move(items));
  }
  return Space(to_json(value, path));
}

void bind_spec_views(py::module_& m) {
  py::class_<ConfigView>(m, "_ConfigView")
      .def("__getattr__",
           [](const ConfigView& view, const std::string& key) {
             try {
               return view.get(key);
             } catch (const TuneError& e) {
               throw py::attribute_error(e.what());
             }
           })
      .def("__getitem__", &ConfigView::get)
      .def(
          "get",
          [](const ConfigView& view, const std::string& key, py::object fallback) {
            try {
              return view.get(key);
            } catch (const TuneError&) {
              return fallback;
            }
          },
          py::arg("key"), py::arg("default") = py::none());
  py::class_<SpecView>(m, "_SpecView").def_property_readonly("config", &SpecView::config);
}

}  // namespace tune::python
