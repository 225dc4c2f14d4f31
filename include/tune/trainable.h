// tune/trainable.h — the two training APIs.
//
// Class API: subclass tune::Trainable and implement step() (one iteration, one result);
// optionally setup/save_checkpoint/load_checkpoint/reset_config/cleanup, and a static
// `default_resource_request(const Config&)` returning std::optional<Resources>.
//
// Function API: a callable `void(const Config&, Reporter&)` that calls reporter.report(...)
// once per iteration. report() blocks until the runner has decided; when the trial is
// stopped it throws TrialStopped, which unwinds the function (RAII cleans up) and is
// caught by tune — the trial then ends normally. A function checkpoints itself: it writes
// into reporter.checkpoint_dir() and reports should_checkpoint=true; when restored it finds
// the checkpoint at reporter.restore_path() (tune cannot ask a running function to save, so
// checkpoint_freq / checkpoint_at_end / PAUSE need the class API).
// How function trials run is RunOptions::function_execution: each on a thread of its own
// (FunctionExecution::kThread, the default), or each as a fiber on the runner's thread
// (kFiber: report() is a user-space switch instead of two thread switches; see below).
//
// Thread-safety: one trainable instance is only ever used by one thread at a time.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "tune/json.h"
#include "tune/resources.h"

namespace tune {

// What a running trial may ask about itself.
struct TrialInfo {
  std::string trial_id;
  std::string trial_name;
  std::string experiment_id;
  std::filesystem::path trial_dir;  // empty when per-trial files are off
  std::vector<int> gpu_ids;         // the GPUs this trial was given (empty without GPUs)
  Resources resources;
  // Function-style trials checkpoint themselves: they write their state into this directory
  // (<trial_dir>/checkpoint; create it) and then report a result with should_checkpoint=true;
  // tune moves the directory into checkpoint_<iteration>/. Empty without per-trial files.
  std::filesystem::path checkpoint_dir;
  // Set when the trial is restored (after a failure, on resume, for a PAUSEd trial, or by
  // RunOptions::restore): the checkpoint directory to load. Class trainables get it through
  // load_checkpoint() before their first step; functions read it themselves at the start.
  std::filesystem::path restore_from;
};

class Trainable {
 public:
  virtual ~Trainable() = default;

  virtual void setup(const Config& config) { (void)config; }
  // One iteration of training; returns its result (a JSON object).
  virtual Result step() = 0;
  // Writes state into `dir` (exists, empty). Called after a step when a checkpoint is due
  // (should_checkpoint in the result, checkpoint_freq, checkpoint_at_end, a PAUSE).
  // Default: TuneError, not checkpointable.
  virtual void save_checkpoint(const std::filesystem::path& dir);
  // Loads what save_checkpoint wrote; called after setup(), before the first step of a
  // restored trial. training_iteration and time_total_s continue from the checkpoint.
  virtual void load_checkpoint(const std::filesystem::path& dir);
  // Reconfigures in place; return false when not supported (the trial is recreated).
  virtual bool reset_config(const Config& new_config) {
    (void)new_config;
    return false;
  }
  virtual void cleanup() {}

  const TrialInfo& trial_info() const { return info_; }
  // Set by the executor before setup().
  void set_trial_info(TrialInfo info) { info_ = std::move(info); }

 private:
  TrialInfo info_;
};

// Thrown by Reporter::report when the runner stopped the trial. Not an error.
struct TrialStopped {};

class Reporter {
 public:
  virtual ~Reporter() = default;
  // Hands one result to the runner and waits for its decision; throws TrialStopped
  // when the trial must end.
  virtual void report(Result result) = 0;
  void operator()(Result result) { report(std::move(result)); }
  virtual const TrialInfo& trial_info() const = 0;
  // Where to write a checkpoint before reporting should_checkpoint=true (see TrialInfo).
  const std::filesystem::path& checkpoint_dir() const { return trial_info().checkpoint_dir; }
  // The checkpoint to resume from, or empty when the trial starts fresh.
  const std::filesystem::path& restore_path() const { return trial_info().restore_from; }
};

using TrainFunction = std::function<void(const Config& config, Reporter& reporter)>;

// Where function trials run (RunOptions::function_execution). Class trainables and trainables
// run as processes are not affected.
enum class FunctionExecution {
  // Each trial on a thread of its own (threads are reused): report() blocks that thread until
  // the runner has decided, which costs a futex wait and two thread switches per result
  // (about 8 us of CPU on a small machine), and steps of any length run in parallel.
  kThread,
  // Each trial as a stackful coroutine (a fiber, with a stack of RunOptions::fiber_stack_size
  // bytes) on the runner's thread: report() switches back to the runner in user space (tens
  // of ns), so tiny steps give about twice the results/s of kThread. The price: every function
  // trial and the runner share one thread, so steps run one at a time, and a long or blocking
  // step (a sleep, a lock another trial holds, I/O) stalls every trial and the runner with it.
  // Use it for many short steps (well under a millisecond); a trial never moves between
  // threads, so thread-local state in the function stays valid. x86-64 only.
  kFiber,
};
// "thread" / "fiber" (the spec key function_execution).
const char* to_string(FunctionExecution execution);
std::optional<FunctionExecution> function_execution_from_string(const std::string& text);
using ResourceRequestFn = std::function<std::optional<Resources>(const Config& config)>;

struct ProcessSpec;  // tune/process.h

// A named way to make trials: a class factory, a function, or a child process.
struct TrainableSpec {
  std::string name;
  std::function<std::unique_ptr<Trainable>()> factory;  // class API
  TrainFunction function;                               // function API
  ResourceRequestFn default_resource_request;           // may be empty
  // Set: every trial runs as a child process (tune/process.h); factory/function unused.
  std::shared_ptr<const ProcessSpec> process;
};

namespace detail {
template <typename T, typename = void>
struct HasResourceRequest : std::false_type {};
template <typename T>
struct HasResourceRequest<T, std::void_t<decltype(T::default_resource_request(std::declval<const Config&>()))>>
    : std::true_type {};
std::string demangle(const char* name);
}  // namespace detail

// Wraps a Trainable subclass; picks up T::default_resource_request when declared.
template <typename T>
TrainableSpec make_trainable(std::string name = {}) {
  static_assert(std::is_base_of_v<Trainable, T>, "make_trainable<T>: T must derive from tune::Trainable");
  TrainableSpec spec;
  spec.name = name.empty() ? detail::demangle(typeid(T).name()) : std::move(name);
  spec.factory = [] { return std::make_unique<T>(); };
  if constexpr (detail::HasResourceRequest<T>::value) {
    spec.default_resource_request = [](const Config& config) -> std::optional<Resources> {
      return T::default_resource_request(config);
    };
  }
  return spec;
}

// Wraps a training function.
TrainableSpec make_trainable(std::string name, TrainFunction function);

}  // namespace tune
