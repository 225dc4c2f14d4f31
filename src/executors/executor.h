// Internal: the Executor interface — how the runner starts, advances and stops trials.
//
// Lockstep contract, the same on every backend: after start() a trial produces exactly one
// event (a result, its end, or an error); after a result it waits until the runner calls
// continue_trial() or stop_trial(). Events reach the runner through the sink given at
// construction, only from inside poll(), on the runner's thread. Executors never change
// trial state: they report what happened.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "tune/json.h"
#include "tune/trainable.h"

namespace tune::detail {

struct ExecutorEvent {
  enum class Type {
    kResult,    // the trial reported a result (auto-filled) and waits for a decision
    kFinished,  // the trial ended by itself (a function returned)
    kError,     // the trial failed; `error` says why
  };
  int64_t key = 0;
  Type type = Type::kResult;
  Result result;
  std::string error;
};

struct StartRequest {
  int64_t key = 0;
  const TrainableSpec* trainable = nullptr;  // outlives the trial
  Config config;
  TrialInfo info;
};

class Executor {
 public:
  using Sink = std::function<void(ExecutorEvent&&)>;
  virtual ~Executor() = default;
  virtual void start(StartRequest request) = 0;
  virtual void continue_trial(int64_t key) = 0;
  // Ends the trial (its cleanup runs); events it still sends are dropped by the runner.
  virtual void stop_trial(int64_t key) = 0;
  // Delivers ready events to the sink, waiting at most `timeout` for the first one.
  virtual void poll(std::chrono::milliseconds timeout) = 0;
};

// The message of the exception being handled (call inside a catch block): what() for a
// std::exception, a fixed text otherwise. Executors put it into error events.
std::string describe_current_exception();

// One worker thread per running trial (both APIs).
std::unique_ptr<Executor> make_thread_executor(Executor::Sink sink);
// Everything on the calling thread, inside poll() (local_mode).
std::unique_ptr<Executor> make_local_executor(Executor::Sink sink);

}  // namespace tune::detail
