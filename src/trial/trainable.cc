// Trainable defaults and the function-API wrapper.
#include "tune/trainable.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

#include "tune/error.h"

namespace tune {

void Trainable::save_checkpoint(const std::filesystem::path& dir) {
  (void)dir;
  throw TuneError("save_checkpoint: this trainable does not implement save_checkpoint(dir)");
}

void Trainable::load_checkpoint(const std::filesystem::path& dir) {
  (void)dir;
  throw TuneError("load_checkpoint: this trainable does not implement load_checkpoint(dir)");
}

TrainableSpec make_trainable(std::string name, TrainFunction function) {
  if (!function) throw TuneError("make_trainable: the training function is empty");
  TrainableSpec spec;
  spec.name = name.empty() ? "func" : std::move(name);
  spec.function = std::move(function);
  return spec;
}

const char* to_string(FunctionExecution execution) {
  return execution == FunctionExecution::kFiber ? "fiber" : "thread";
}

std::optional<FunctionExecution> function_execution_from_string(const std::string& text) {
  if (text == "thread") return FunctionExecution::kThread;
  if (text == "fiber") return FunctionExecution::kFiber;
  return std::nullopt;
}

namespace detail {
std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
  std::string full = status == 0 && out ? out.get() : name;
  // Keep the unqualified class name: "ns::MyTrainable" -> "MyTrainable".
  const size_t colon = full.rfind("::");
  return colon == std::string::npos ? full : full.substr(colon + 2);
}
}  // namespace detail

}  // namespace tune
