// Internal: the Executor interface — how the runner starts, advances and stops trials.
//
// Lockstep contract, the same on every backend: after start() a trial produces exactly one
// event (a result, its end, or an error); after a result it waits until the runner calls
// continue_trial() or stop_trial(). Events reach the runner through the sink given at
// construction, only from inside poll(), on the runner's thread. Executors never change
// trial state: they report what happened.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sync/placement.h"
#include "trial/auto_fill.h"
#include "tune/json.h"
#include "tune/trainable.h"

namespace tune::detail {

struct ExecutorEvent {
  enum class Type {
    kResult,    // the trial reported a result (auto-filled) and waits for a decision
    kFinished,  // the trial ended by itself (a function returned)
    kError,     // the trial failed; `error` says why
    kSaved,     // the checkpoint asked for with save_trial() is written; the trial waits again
  };
  ExecutorEvent() = default;
  ExecutorEvent(int64_t k, Type t, Result r = {}, std::string e = {}, std::filesystem::path c = {})
      : key(k), type(t), result(std::move(r)), error(std::move(e)), checkpoint(std::move(c)) {}

  int64_t key = 0;
  Type type = Type::kResult;
  Result result;
  std::string error;
  // kResult of a program that is not paused between results (plain protocol): the
  // checkpoint directory it wrote before this result, already moved aside by the executor.
  std::filesystem::path checkpoint;
  // Set by an executor that runs the trial where the driver's files are not, once it knows
  // where (sync/placement.h); the runner keeps the latest and pulls the trial's files from there.
  std::optional<TrialPlacement> placement;
};

struct StartRequest {
  int64_t key = 0;
  const TrainableSpec* trainable = nullptr;  // outlives the trial
  Config config;
  TrialInfo info;  // info.restore_from set: load that checkpoint before the first step
  // Counters the restored checkpoint continues from (all zero when starting fresh).
  int64_t restore_iteration = 0;
  double restore_time_total_s = 0;
  int64_t restore_timesteps_total = 0;
  int64_t restore_episodes_total = 0;
  // Set when info.restore_from is and sync_to_driver is on. An executor running the trial on
  // another node calls it (blocking) before the trial restores: the checkpoint directory is
  // copied to <remote_dir>/<its name>/ on that node, and the path there is returned (what the
  // trial restores from). Throws TuneError naming sync_config.sync_to_driver when the copy
  // fails. Executors sharing the driver's filesystem ignore it.
  std::function<std::filesystem::path(const TrialPlacement&)> push_checkpoint;
};

class Executor {
 public:
  using Sink = std::function<void(ExecutorEvent&&)>;
  virtual ~Executor() = default;
  virtual void start(StartRequest request) = 0;
  virtual void continue_trial(int64_t key) = 0;
  // Ends the trial (its cleanup runs); events it still sends are dropped by the runner.
  virtual void stop_trial(int64_t key) = 0;
  // Only while the trial waits after a result: writes a checkpoint into `dir` (created,
  // empty) and answers with kSaved, or kError when the trainable cannot or fails to save.
  virtual void save_trial(int64_t key, const std::filesystem::path& dir) = 0;
  // Delivers ready events to the sink, waiting at most `timeout` for the first one.
  virtual void poll(std::chrono::milliseconds timeout) = 0;
  // The runner is done with an earlier result of the trial, which waits for its decision:
  // the executor may reuse its memory for the trial's next result (AutoFiller::give_spare).
  virtual void recycle(int64_t key, Result&& spent) {
    (void)key;
    (void)spent;
  }
};

// The message of the exception being handled (call inside a catch block): what() for a
// std::exception, a fixed text otherwise. Executors put it into error events.
std::string describe_current_exception();

// The auto-filler of a trial, continuing the counters of the checkpoint it restores.
std::unique_ptr<AutoFiller> make_auto_filler(const StartRequest& request);

// reuse_actors: the instances of ended class trials, kept (their cleanup() not run) so that a
// later trial of the same trainable resets one (Trainable::reset_config) instead of making and
// setting up a new one. It keeps at most as many as were ever live at once, so reuse never
// holds more instances than the experiment already had. Thread-safe.
class ActorCache {
 public:
  // A class trial is live: the capacity grows to the most that were live at once.
  void note_live(std::size_t live);
  // Keeps `trainable`; returns what no longer fits (the oldest instance), for the caller to
  // clean up (cleanup_trainable), or null.
  std::unique_ptr<Trainable> put(const TrainableSpec* spec, std::unique_ptr<Trainable> trainable);
  // An instance of `spec` kept earlier (the newest), or null.
  std::unique_ptr<Trainable> take(const TrainableSpec* spec);
  // Everything kept, to clean up when the executor goes away.
  std::vector<std::unique_ptr<Trainable>> take_all();

 private:
  std::mutex mutex_;
  std::deque<std::pair<const TrainableSpec*, std::unique_ptr<Trainable>>> idle_;
  std::size_t capacity_ = 1;
};

// The instance a class trial starts with, set up for `request.config` and restored from
// `request.info.restore_from` when that is set: from `cache` (may be null) when it holds one
// of this trainable and reset_config() agrees to the new config, else a new one (factory,
// setup). When setup, reset_config or the restore throws, the instance is cleaned up and the
// exception goes on to the caller (the trial fails).
std::unique_ptr<Trainable> make_trainable_for(const StartRequest& request, ActorCache* cache);

// Runs `trainable`'s cleanup() (errors ignored: the trial's outcome is already decided) and
// destroys it.
void cleanup_trainable(std::unique_ptr<Trainable>& trainable);

// A stopped class trial's instance: kept in `cache` for a later trial of `spec` (the instance
// that no longer fits is cleaned up instead), or cleaned up when `cache` is null.
void retire_trainable(ActorCache* cache, const TrainableSpec* spec, std::unique_ptr<Trainable>& trainable);

// The error a function-style trial gives when tune asks it to save.
std::string function_cannot_save_message();

// In-process trials: class trials on a pool of workers, function trials on threads of their
// own or, with FunctionExecution::kFiber, as fibers on the runner's thread (inside poll()).
struct ThreadExecutorOptions {
  FunctionExecution function_execution = FunctionExecution::kThread;
  std::size_t fiber_stack_size = std::size_t{1} << 20;
  bool reuse_actors = false;  // RunOptions::reuse_actors: class instances go through an ActorCache
};
std::unique_ptr<Executor> make_thread_executor(Executor::Sink sink, ThreadExecutorOptions options = {});
// Everything on the calling thread, inside poll() (local_mode).
std::unique_ptr<Executor> make_local_executor(Executor::Sink sink, bool reuse_actors = false);

}  // namespace tune::detail
