// ThreadExecutor: each running trial owns a worker thread that runs the trainable in
// lockstep with the runner (one step, one event, wait for the decision).
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "executors/executor.h"
#include "trial/auto_fill.h"

namespace tune::detail {
namespace {

using SteadyClock = std::chrono::steady_clock;

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

std::string describe_current_exception() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception (not derived from std::exception)";
  }
}

class ThreadExecutor;

// A worker's mailbox: the runner's next command for the trial.
struct Worker {
  enum class Command { kNone, kContinue, kStop };
  int64_t key = 0;
  std::mutex mutex;
  std::condition_variable cv;
  Command command = Command::kNone;
  std::thread thread;

  Command wait_command() {
    std::unique_lock lock(mutex);
    cv.wait(lock, [this] { return command != Command::kNone; });
    const Command c = command;
    if (c == Command::kContinue) command = Command::kNone;  // a stop stays set
    return c;
  }
  void send(Command c) {
    {
      std::lock_guard lock(mutex);
      if (command == Command::kStop) return;
      command = c;
    }
    cv.notify_one();
  }
};

class ThreadExecutor final : public Executor {
 public:
  explicit ThreadExecutor(Sink sink) : sink_(std::move(sink)) {}

  ~ThreadExecutor() override {
    for (auto& [key, worker] : workers_) worker->send(Worker::Command::kStop);
    for (auto& [key, worker] : workers_) {
      if (worker->thread.joinable()) worker->thread.join();
    }
  }

  void start(StartRequest request) override {
    auto worker = std::make_unique<Worker>();
    worker->key = request.key;
    Worker* w = worker.get();
    // Reap a previous worker of the same key (a restarted trial) before replacing it.
    if (auto it = workers_.find(request.key); it != workers_.end()) {
      it->second->send(Worker::Command::kStop);
      if (it->second->thread.joinable()) it->second->thread.join();
      workers_.erase(it);
    }
    workers_.emplace(request.key, std::move(worker));
    w->thread = std::thread([this, w, request = std::move(request)]() mutable { run(*w, request); });
  }

  void continue_trial(int64_t key) override {
    if (auto it = workers_.find(key); it != workers_.end()) it->second->send(Worker::Command::kContinue);
  }

  void stop_trial(int64_t key) override {
    if (auto it = workers_.find(key); it != workers_.end()) it->second->send(Worker::Command::kStop);
  }

  void poll(std::chrono::milliseconds timeout) override {
    std::vector<ExecutorEvent> batch;
    std::vector<std::pair<int64_t, const Worker*>> exited;
    {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, timeout, [this] { return !events_.empty() || !exited_.empty(); });
      batch.swap(events_);
      exited.swap(exited_);
    }
    for (const auto& [key, worker] : exited) reap(key, worker);
    for (auto& event : batch) sink_(std::move(event));
  }

 private:
  void post(ExecutorEvent event) {
    bool was_empty;
    {
      std::lock_guard lock(mutex_);
      was_empty = events_.empty() && exited_.empty();
      events_.push_back(std::move(event));
    }
    if (was_empty) cv_.notify_one();
  }

  void exited(int64_t key, const Worker* worker) {
    {
      std::lock_guard lock(mutex_);
      exited_.emplace_back(key, worker);
    }
    cv_.notify_one();
  }

  // Joins a worker that exited; a restarted trial may already own a new one under the key.
  void reap(int64_t key, const Worker* done) {
    auto it = workers_.find(key);
    if (it == workers_.end() || it->second.get() != done) return;
    if (it->second->thread.joinable()) it->second->thread.join();
    workers_.erase(it);
  }

  class FunctionReporter final : public Reporter {
   public:
    FunctionReporter(ThreadExecutor& executor, Worker& worker, const TrialInfo& info, AutoFiller& filler)
        : executor_(executor), worker_(worker), info_(info), filler_(filler), last_(SteadyClock::now()) {}
    void report(Result result) override {
      filler_.fill(result, seconds_since(last_));
      executor_.post({worker_.key, ExecutorEvent::Type::kResult, std::move(result), {}});
      if (worker_.wait_command() == Worker::Command::kStop) throw TrialStopped{};
      last_ = SteadyClock::now();
    }
    const TrialInfo& trial_info() const override { return info_; }

   private:
    ThreadExecutor& executor_;
    Worker& worker_;
    const TrialInfo& info_;
    AutoFiller& filler_;
    SteadyClock::time_point last_;
  };

  void run(Worker& worker, StartRequest& request) {
    const TrainableSpec& spec = *request.trainable;
    AutoFiller filler(request.info, request.config);
    std::unique_ptr<Trainable> trainable;
    try {
      if (spec.function) {
        FunctionReporter reporter(*this, worker, request.info, filler);
        try {
          spec.function(request.config, reporter);
          post({worker.key, ExecutorEvent::Type::kFinished, {}, {}});
        } catch (const TrialStopped&) {
          // Stopped by the runner: a normal end.
        }
      } else {
        trainable = spec.factory();
        trainable->set_trial_info(request.info);
        trainable->setup(request.config);
        while (true) {
          const auto start = SteadyClock::now();
          Result result = trainable->step();
          filler.fill(result, seconds_since(start));
          post({worker.key, ExecutorEvent::Type::kResult, std::move(result), {}});
          if (worker.wait_command() == Worker::Command::kStop) break;
        }
        trainable->cleanup();
      }
    } catch (...) {
      post({worker.key, ExecutorEvent::Type::kError, {}, describe_current_exception()});
      if (trainable) {
        try {
          trainable->cleanup();
        } catch (...) {  // the failure above is what the user needs to see
        }
      }
    }
    exited(worker.key, &worker);
  }

  Sink sink_;
  std::unordered_map<int64_t, std::unique_ptr<Worker>> workers_;  // runner thread only
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<ExecutorEvent> events_;
  std::vector<std::pair<int64_t, const Worker*>> exited_;
};

}  // namespace

std::unique_ptr<Executor> make_thread_executor(Executor::Sink sink) {
  return std::make_unique<ThreadExecutor>(std::move(sink));
}

}  // namespace tune::detail
