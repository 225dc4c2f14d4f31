// ThreadExecutor: in-process trials in lockstep with the runner.
//
// Class trials are stepped by a shared pool of worker threads: a step is a task, and only
// about as many workers as there are cores are woken for queued tasks. Workers that stay
// busy (a long or blocking step) make the runner wake another, so a trial never waits
// behind a slow neighbour for long; the pool grows up to the number of live class trials.
// Steps measured to be tiny (under kInlineStepS) are instead run by the runner thread
// itself while it would otherwise wait: handing a 1 us step to another thread costs more
// than the step, and on a small machine thread switches, not trials, become the limit.
// Function trials need a stack of their own (report() blocks inside user code): each runs
// on a dedicated thread, and finished threads are kept to run the next function trial; or,
// with FunctionExecution::kFiber, each is a fiber (fiber.h) that the runner thread resumes
// inside poll(): report() stores the result and switches back, and the runner's decision
// resumes it in the next poll(). No thread switch, no futex, no lock per result; but the
// fibers and the runner take turns on one thread, so a long step holds up everything.
// Every event carries the attempt that produced it; events of an attempt the runner has
// already stopped or replaced are dropped here.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "executors/executor.h"
#include "executors/fiber.h"
#include "trial/auto_fill.h"

namespace tune::detail {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Steps faster than this (on average) run on the runner thread when it is idle.
constexpr double kInlineStepS = 100e-6;
// A worker busy with one step for longer than this counts as stuck in a long step.
constexpr auto kLongStep = std::chrono::milliseconds(2);

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// A class trial: stepped by whichever pool worker takes its task.
struct ClassTrial {
  enum class State { kIdle, kQueued, kRunning };
  uint64_t attempt = 0;
  StartRequest request;
  std::unique_ptr<AutoFiller> filler;
  std::unique_ptr<Trainable> trainable;
  double step_ema_s = -1;  // average duration of its steps; -1 before the first
  std::filesystem::path save_dir;  // of the kSave task queued
  bool inline_steps = false;  // runner thread only: steps run on the runner thread
  // Guarded by the executor's mutex:
  State state = State::kIdle;
  bool stop = false;
  bool evicted = false;  // its instance is one the reuse_actors cache pushed out: clean it up
};

// A dedicated thread for function trials, reused across trials.
struct FunctionThread {
  enum class Command { kNone, kContinue, kStop };
  std::mutex mutex;
  std::condition_variable cv;
  std::optional<StartRequest> job;
  uint64_t attempt = 0;
  Command command = Command::kNone;
  Result spare;  // null when none
  bool shutdown = false;
  std::thread thread;

  // Waits for the runner's decision on the last result; `spare` gets the spent result the
  // runner handed back meanwhile, if any. Wakes the next thread of the chain it is in.
  Command wait_command(Result& spare_out) {
    std::array<FunctionThread*, 2> next{};
    Command c;
    {
      std::unique_lock lock(mutex);
      waiting = true;
      cv.wait(lock, [this] { return command != Command::kNone; });
      waiting = false;
      c = command;
      if (c == Command::kContinue) command = Command::kNone;  // a stop stays set
      spare_out = std::exchange(spare, Result());
      next = std::exchange(chain_next, {});
    }
    for (FunctionThread* successor : next) {
      if (successor != nullptr) successor->cv.notify_one();
    }
    return c;
  }
  // A spent result for the filler of report() (AutoFiller::give_spare), taken with the command.
  void give_spare(Result&& spent, uint64_t for_attempt) {
    std::lock_guard lock(mutex);
    if (attempt == for_attempt) spare = std::move(spent);
  }
  // Commands name the attempt they are for: a late stop must not hit the next trial. With
  // `defer`, a thread waiting for it is not woken here: true is returned and the caller wakes
  // it later (ThreadExecutor::wake_chain). False: nothing more to do.
  bool send(Command c, uint64_t for_attempt, bool defer = false) {
    {
      std::lock_guard lock(mutex);
      if (attempt != for_attempt || command == Command::kStop) return false;
      command = c;
      if (defer && waiting) return true;
    }
    cv.notify_one();
    return false;
  }
  // Links this waiting thread to `next` (null entries: none), which it wakes when it wakes;
  // false when it is no longer waiting (woken spuriously and gone on), so the caller must
  // wake `next` itself.
  bool link(std::array<FunctionThread*, 2> next) {
    std::lock_guard lock(mutex);
    if (!waiting || command == Command::kNone) return false;
    chain_next = next;
    return true;
  }

  bool waiting = false;                       // inside wait_command
  std::array<FunctionThread*, 2> chain_next{};  // the threads to wake once woken (wake_chain)
};

// A function trial run as a fiber on the runner thread (FunctionExecution::kFiber). Touched
// by the runner thread only: the fiber runs there too.
struct FiberTrial {
  uint64_t attempt = 0;
  StartRequest request;
  std::unique_ptr<AutoFiller> filler;
  std::unique_ptr<Fiber> fiber;
  std::optional<ExecutorEvent> produced;  // what it gave at its last suspension or end
  Result spare;                           // null when none (AutoFiller::give_spare)
  bool queued = false;                    // in ready_fibers_: resumed in the next poll()
  bool stop = false;                      // report() throws TrialStopped when resumed
};

class ThreadExecutor final : public Executor {
 public:
  ThreadExecutor(Sink sink, ThreadExecutorOptions options)
      : sink_(std::move(sink)),
        options_(options),
        awake_target_(std::max(1u, std::thread::hardware_concurrency())) {}

  ~ThreadExecutor() override {
    // Stop everything that still runs, then join. Fibers unwind here, on the runner thread.
    while (!fiber_trials_.empty()) stop_trial(fiber_trials_.begin()->first);
    for (auto& [key, slot] : function_slots_) slot.thread->send(FunctionThread::Command::kStop, slot.attempt);
    for (auto& [key, trial] : class_trials_) stop_class(*trial);
    {
      std::unique_lock lock(mutex_);
      // Let queued cleanups finish before the pool goes away.
      drained_cv_.wait(lock, [this] { return queue_.empty() && busy_ == 0; });
      // Then clean up the instances kept for reuse, on the workers too.
      closing_ = true;
      for (std::unique_ptr<Trainable>& idle : actors_.take_all()) {
        auto shell = std::make_shared<ClassTrial>();
        shell->trainable = std::move(idle);
        shell->stop = true;
        enqueue_locked(std::move(shell), Task::kCleanup);
      }
      drained_cv_.wait(lock, [this] { return queue_.empty() && busy_ == 0; });
      shutdown_ = true;
    }
    work_cv_.notify_all();
    for (auto& worker : pool_) worker.join();
    for (auto& thread : function_threads_) {
      {
        std::lock_guard lock(thread->mutex);
        thread->shutdown = true;
        thread->command = FunctionThread::Command::kStop;
      }
      thread->cv.notify_all();
      thread->thread.join();
    }
  }

  void start(StartRequest request) override {
    const int64_t key = request.key;
    const uint64_t attempt = ++attempts_;
    stop_trial(key);  // a restarted trial replaces its previous attempt
    if (request.trainable->function) {
      if (options_.function_execution == FunctionExecution::kFiber) {
        start_fiber(std::move(request), attempt);
      } else {
        start_function(std::move(request), attempt);
      }
      return;
    }
    auto trial = std::make_shared<ClassTrial>();
    trial->attempt = attempt;
    trial->filler = make_auto_filler(request);
    trial->request = std::move(request);
    class_trials_[key] = trial;
    if (options_.reuse_actors) actors_.note_live(class_trials_.size());
    // Trials of a trainable whose first steps were tiny start inline too.
    if (first_task_ema_s_ >= 0 && first_task_ema_s_ < kInlineStepS) {
      trial->inline_steps = true;
      inline_queue_.push_back(std::move(trial));
      return;
    }
    std::lock_guard lock(mutex_);
    enqueue_locked(std::move(trial), Task::kStep);
  }

  void continue_trial(int64_t key) override {
    if (auto it = class_trials_.find(key); it != class_trials_.end()) {
      ClassTrial& trial = *it->second;
      trial.inline_steps = trial.step_ema_s >= 0 && trial.step_ema_s < kInlineStepS;
      if (trial.inline_steps) {
        inline_queue_.push_back(it->second);
        return;
      }
      std::lock_guard lock(mutex_);
      enqueue_locked(it->second, Task::kStep);
    } else if (auto fb = fiber_trials_.find(key); fb != fiber_trials_.end()) {
      FiberTrial& trial = *fb->second;
      if (!trial.queued && trial.fiber && !trial.fiber->finished()) {
        trial.queued = true;
        ready_fibers_.push_back(key);
      }
    } else if (auto fn = function_slots_.find(key); fn != function_slots_.end()) {
      // Inside poll() the wake is deferred to its end (wake_chain): one wake from here per
      // batch of results instead of one per result.
      if (fn->second.thread->send(FunctionThread::Command::kContinue, fn->second.attempt, polling_)) {
        to_wake_.push_back(fn->second.thread);
      }
    }
  }

  void stop_trial(int64_t key) override {
    if (auto it = class_trials_.find(key); it != class_trials_.end()) {
      stop_class(*it->second);
      class_trials_.erase(it);
    }
    if (auto fn = function_slots_.find(key); fn != function_slots_.end()) {
      fn->second.thread->send(FunctionThread::Command::kStop, fn->second.attempt);
      function_slots_.erase(fn);
    }
    if (auto fb = fiber_trials_.find(key); fb != fiber_trials_.end()) {
      // Unwind it now (report() throws TrialStopped), so its destructors have run when this
      // returns; whatever it produces meanwhile is dropped with it.
      std::unique_ptr<FiberTrial> trial = std::move(fb->second);
      fiber_trials_.erase(fb);
      trial->stop = true;
      if (trial->fiber && trial->fiber->started()) trial->fiber->resume();
    }
  }

  void recycle(int64_t key, Result&& spent) override {
    // The trial waits for its decision, so nothing else touches its filler now; the step or
    // report() that uses the spare starts after continue_trial(), through a mutex.
    if (auto it = class_trials_.find(key); it != class_trials_.end()) {
      it->second->filler->give_spare(std::move(spent));
    } else if (auto fn = function_slots_.find(key); fn != function_slots_.end()) {
      fn->second.thread->give_spare(std::move(spent), fn->second.attempt);
    } else if (auto fb = fiber_trials_.find(key); fb != fiber_trials_.end()) {
      fb->second->spare = std::move(spent);
    }
  }

  void save_trial(int64_t key, const std::filesystem::path& dir) override {
    if (auto it = class_trials_.find(key); it != class_trials_.end()) {
      ClassTrial& trial = *it->second;
      trial.save_dir = dir;
      trial.inline_steps = false;  // saving may take long: a worker does it
      std::lock_guard lock(mutex_);
      enqueue_locked(it->second, Task::kSave);
    } else if (auto fn = function_slots_.find(key); fn != function_slots_.end()) {
      post({{key, ExecutorEvent::Type::kError, {}, function_cannot_save_message()}, fn->second.attempt});
    } else if (auto fb = fiber_trials_.find(key); fb != fiber_trials_.end()) {
      post({{key, ExecutorEvent::Type::kError, {}, function_cannot_save_message()}, fb->second->attempt});
    }
  }

  void poll(std::chrono::milliseconds timeout) override {
    struct Polling {  // continue_trial() calls from the sink defer their wakes until the end
      ThreadExecutor& executor;
      explicit Polling(ThreadExecutor& e) : executor(e) { executor.polling_ = true; }
      ~Polling() {
        executor.polling_ = false;
        executor.wake_chain();
      }
    } polling(*this);
    if (!ready_fibers_.empty()) {
      run_ready_fibers();
      timeout = std::chrono::milliseconds(0);  // collect what the workers have, do not wait
    }
    while (!inline_queue_.empty()) {
      std::shared_ptr<ClassTrial> trial = std::move(inline_queue_.front());
      inline_queue_.pop_front();
      if (trial->stop || !is_current(trial->request.key, trial->attempt)) continue;
      std::optional<Posted> posted = step(*trial);
      if (posted->event.type == ExecutorEvent::Type::kError) cleanup(*trial);
      deliver(std::move(*posted));
      timeout = std::chrono::milliseconds(0);  // collect what the workers have, do not wait
      break;
    }
    std::vector<Posted> batch;
    {
      std::unique_lock lock(mutex_);
      // Queued steps waiting too long means the awake workers are stuck in long steps.
      const auto deadline = SteadyClock::now() + timeout;
      while (events_.empty() && timeout.count() > 0) {
        if (!queue_.empty()) {
          wake_for_stalled_queue_locked();
          if (events_cv_.wait_for(lock, std::chrono::milliseconds(1)) == std::cv_status::timeout &&
              SteadyClock::now() >= deadline) {
            break;
          }
        } else if (events_cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
          break;
        }
      }
      batch.swap(events_);
    }
    for (auto& posted : batch) deliver(std::move(posted));
  }

 private:
  enum class Task { kStep, kSave, kCleanup };
  struct QueuedTask {
    std::shared_ptr<ClassTrial> trial;
    Task task;
  };
  struct Posted {
    ExecutorEvent event;
    uint64_t attempt;
    double first_task_s = -1;  // set on the event of a trial's first step
  };
  struct FunctionSlot {
    FunctionThread* thread;
    uint64_t attempt;
  };

  void deliver(Posted&& posted) {
    if (!is_current(posted.event.key, posted.attempt)) return;  // a stopped or replaced attempt
    if (posted.first_task_s >= 0) note_first_task(posted.first_task_s);
    sink_(std::move(posted.event));
  }

  void note_first_task(double seconds) {
    first_task_ema_s_ = first_task_ema_s_ < 0 ? seconds : 0.8 * first_task_ema_s_ + 0.2 * seconds;
  }

  bool is_current(int64_t key, uint64_t attempt) const {
    if (auto it = class_trials_.find(key); it != class_trials_.end()) return it->second->attempt == attempt;
    if (auto it = function_slots_.find(key); it != function_slots_.end()) return it->second.attempt == attempt;
    if (auto it = fiber_trials_.find(key); it != fiber_trials_.end()) return it->second->attempt == attempt;
    return false;
  }

  // ---- class trials on the pool ----

  void stop_class(ClassTrial& trial) {
    if (trial.inline_steps) {
      // Its steps run here, so nothing else touches it: clean up (or keep for reuse) now.
      trial.stop = true;
      retire(trial);
      return;
    }
    std::lock_guard lock(mutex_);
    if (trial.state == ClassTrial::State::kIdle) {
      trial.stop = true;
      if (options_.reuse_actors && !closing_ && trial.trainable) {
        // Into the cache now, before the runner starts the trial that takes it: a worker doing
        // it later would race that trial's first step on another worker (which would then
        // make a new instance). Putting runs no user code; what it pushes out is cleaned up
        // on a worker below.
        trial.trainable = actors_.put(trial.request.trainable, std::move(trial.trainable));
        if (!trial.trainable) return;
        trial.evicted = true;
      }
      // Waiting for a decision: clean up on a worker (user code stays off the runner thread).
      auto it = class_trials_.find(trial.request.key);
      if (it != class_trials_.end() && it->second.get() == &trial) enqueue_locked(it->second, Task::kCleanup);
    } else {
      trial.stop = true;  // the worker cleans up after the step in progress
    }
  }

  void enqueue_locked(std::shared_ptr<ClassTrial> trial, Task task) {
    if (task != Task::kCleanup) trial->state = ClassTrial::State::kQueued;
    queue_.push_back({std::move(trial), task});
    if (awake_ + wake_tokens_ < awake_target_) wake_one_locked();
  }

  // Wakes an idle worker, or starts one when none is idle.
  void wake_one_locked() {
    if (idle_ > wake_tokens_) {
      ++wake_tokens_;
      work_cv_.notify_one();
    } else {
      spawn_worker_locked();
    }
  }

  // Queued steps wait while every awake worker is stuck in a long step: wake one more.
  // (Tiny steps never trigger this: the awake workers drain the queue themselves.)
  void wake_for_stalled_queue_locked() {
    const auto now = SteadyClock::now();
    if (queue_.empty() || now - last_stall_wake_ < std::chrono::milliseconds(1)) return;
    if (awake_ > busy_) return;  // an awake worker is between tasks and takes the queue next
    for (const auto& since : busy_since_) {
      if (since != SteadyClock::time_point::max() && now - since < kLongStep) return;  // finishes soon
    }
    last_stall_wake_ = now;
    if (idle_ > wake_tokens_ || pool_.size() < class_trials_.size()) wake_one_locked();
  }

  void spawn_worker_locked() {
    ++awake_;
    const size_t id = pool_.size();
    busy_since_.push_back(SteadyClock::time_point::max());
    pool_.emplace_back([this, id] { worker_loop(id); });
  }

  void worker_loop(size_t id) {
    std::unique_lock lock(mutex_);
    while (true) {
      while (queue_.empty() && !shutdown_) {
        --awake_;
        ++idle_;
        work_cv_.wait(lock, [this] { return wake_tokens_ > 0 || shutdown_; });
        if (wake_tokens_ > 0) --wake_tokens_;
        --idle_;
        ++awake_;
      }
      if (shutdown_ && queue_.empty()) return;
      QueuedTask task = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
      busy_since_[id] = SteadyClock::now();
      ClassTrial& trial = *task.trial;
      if (task.task == Task::kCleanup || trial.stop) {
        lock.unlock();
        retire(trial);
        lock.lock();
      } else {
        trial.state = ClassTrial::State::kRunning;
        lock.unlock();
        std::optional<Posted> posted = task.task == Task::kSave ? save(trial) : step(trial);
        // A failed instance is cleaned up before the runner hears of the failure: once it has,
        // it may stop the idle trial, and that cleanup on another worker would race this one.
        if (posted && posted->event.type == ExecutorEvent::Type::kError) cleanup(trial);
        lock.lock();
        trial.state = ClassTrial::State::kIdle;
        if (posted) post_locked(std::move(*posted));
        if (trial.stop && trial.trainable) {
          lock.unlock();
          retire(trial);
          lock.lock();
        }
      }
      --busy_;
      busy_since_[id] = SteadyClock::time_point::max();
      if (queue_.empty() && busy_ == 0) drained_cv_.notify_all();
    }
  }

  std::optional<Posted> step(ClassTrial& trial) {
    ExecutorEvent event{trial.request.key, ExecutorEvent::Type::kResult, {}, {}};
    const auto task_start = SteadyClock::now();
    const bool first = !trial.trainable;
    double step_s = 0;
    try {
      if (first) trial.trainable = make_trainable_for(trial.request, options_.reuse_actors ? &actors_ : nullptr);
      const auto start = SteadyClock::now();
      event.result = trial.trainable->step();
      step_s = seconds_since(start);
      trial.filler->fill(event.result, step_s);
    } catch (...) {
      event.type = ExecutorEvent::Type::kError;
      event.error = describe_current_exception();
    }
    trial.step_ema_s = trial.step_ema_s < 0 ? step_s : 0.7 * trial.step_ema_s + 0.3 * step_s;
    return Posted{std::move(event), trial.attempt, first ? seconds_since(task_start) : -1.0};
  }

  static std::optional<Posted> save(ClassTrial& trial) {
    ExecutorEvent event{trial.request.key, ExecutorEvent::Type::kSaved, {}, {}};
    try {
      trial.trainable->save_checkpoint(trial.save_dir);
    } catch (...) {
      event.type = ExecutorEvent::Type::kError;
      event.error = "saving a checkpoint failed: " + describe_current_exception();
    }
    return Posted{std::move(event), trial.attempt};
  }

  // A failed trial's instance: cleaned up, never reused (its state is suspect).
  static void cleanup(ClassTrial& trial) { cleanup_trainable(trial.trainable); }

  // A stopped trial's instance: kept for the next trial when reuse_actors is on (the one that
  // no longer fits the cache is cleaned up instead), else cleaned up.
  void retire(ClassTrial& trial) {
    const bool keep = options_.reuse_actors && !closing_ && !trial.evicted;
    retire_trainable(keep ? &actors_ : nullptr, trial.request.trainable, trial.trainable);
  }

  void post_locked(Posted posted) {
    const bool wake = events_.empty();
    events_.push_back(std::move(posted));
    if (wake) events_cv_.notify_one();
  }

  void post(Posted posted) {
    std::lock_guard lock(mutex_);
    post_locked(std::move(posted));
  }

  // ---- function trials on dedicated, reused threads ----

  // Wakes the function threads given a decision during poll() as a binary tree: the runner
  // wakes the first, each woken thread two more, so the wake-ups (a syscall each) leave the
  // runner thread and the last one waits log2(n) hops, not n.
  void wake_chain() {
    const size_t n = to_wake_.size();
    if (n == 0) return;
    auto at = [&](size_t i) { return i < n ? to_wake_[i] : nullptr; };
    std::vector<FunctionThread*> roots{to_wake_[0]};
    for (size_t i = 0; 2 * i + 1 < n; ++i) {
      const std::array<FunctionThread*, 2> children{at(2 * i + 1), at(2 * i + 2)};
      if (!to_wake_[i]->link(children)) {
        // It went on by itself (a spurious wake-up): its children are woken from here.
        for (FunctionThread* child : children) {
          if (child != nullptr) roots.push_back(child);
        }
      }
    }
    for (FunctionThread* root : roots) root->cv.notify_one();
    to_wake_.clear();
  }

  void start_function(StartRequest request, uint64_t attempt) {
    FunctionThread* thread = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (!idle_function_threads_.empty()) {
        thread = idle_function_threads_.back();
        idle_function_threads_.pop_back();
      }
    }
    const int64_t key = request.key;
    if (thread == nullptr) {
      function_threads_.push_back(std::make_unique<FunctionThread>());
      thread = function_threads_.back().get();
      thread->job = std::move(request);
      thread->attempt = attempt;
      thread->thread = std::thread([this, thread] { function_loop(*thread); });
    } else {
      {
        std::lock_guard lock(thread->mutex);
        thread->job = std::move(request);
        thread->attempt = attempt;
        thread->command = FunctionThread::Command::kNone;
      }
      thread->cv.notify_one();
    }
    function_slots_[key] = {thread, attempt};
  }

  class FunctionReporter final : public Reporter {
   public:
    FunctionReporter(ThreadExecutor& executor, FunctionThread& thread, const StartRequest& request, uint64_t attempt,
                     AutoFiller& filler)
        : executor_(executor), thread_(thread), request_(request), attempt_(attempt), filler_(filler),
          last_(SteadyClock::now()) {}
    void report(Result result) override {
      filler_.fill(result, seconds_since(last_));
      executor_.post({{request_.key, ExecutorEvent::Type::kResult, std::move(result), {}}, attempt_});
      Result spare;
      if (thread_.wait_command(spare) == FunctionThread::Command::kStop) throw TrialStopped{};
      if (!spare.is_null()) filler_.give_spare(std::move(spare));
      last_ = SteadyClock::now();
    }
    const TrialInfo& trial_info() const override { return request_.info; }

   private:
    ThreadExecutor& executor_;
    FunctionThread& thread_;
    const StartRequest& request_;
    uint64_t attempt_;
    AutoFiller& filler_;
    SteadyClock::time_point last_;
  };

  void function_loop(FunctionThread& thread) {
    while (true) {
      StartRequest request;
      uint64_t attempt;
      {
        std::unique_lock lock(thread.mutex);
        thread.cv.wait(lock, [&] { return thread.job.has_value() || thread.shutdown; });
        if (!thread.job) return;
        request = std::move(*thread.job);
        thread.job.reset();
        attempt = thread.attempt;
      }
      std::unique_ptr<AutoFiller> filler = make_auto_filler(request);
      try {
        FunctionReporter reporter(*this, thread, request, attempt, *filler);
        request.trainable->function(request.config, reporter);
        post({{request.key, ExecutorEvent::Type::kFinished, {}, {}}, attempt});
      } catch (const TrialStopped&) {
        // Stopped by the runner: a normal end.
      } catch (...) {
        post({{request.key, ExecutorEvent::Type::kError, {}, describe_current_exception()}, attempt});
      }
      {
        std::lock_guard lock(thread.mutex);
        if (thread.shutdown) return;
        thread.command = FunctionThread::Command::kNone;
      }
      std::lock_guard lock(mutex_);
      idle_function_threads_.push_back(&thread);
    }
  }

  // ---- function trials as fibers on the runner thread ----

  void start_fiber(StartRequest request, uint64_t attempt) {
    const int64_t key = request.key;
    auto trial = std::make_unique<FiberTrial>();
    trial->attempt = attempt;
    trial->filler = make_auto_filler(request);
    trial->request = std::move(request);
    FiberTrial* raw = trial.get();
    try {
      trial->fiber = std::make_unique<Fiber>([raw] { run_fiber_trial(*raw); }, options_.fiber_stack_size);
    } catch (...) {  // no stack for it (mmap failed): the trial fails, the run goes on
      post({{key, ExecutorEvent::Type::kError, {}, describe_current_exception()}, attempt});
      fiber_trials_[key] = std::move(trial);  // without a fiber: never queued
      return;
    }
    trial->queued = true;
    ready_fibers_.push_back(key);
    fiber_trials_[key] = std::move(trial);
  }

  class FiberReporter final : public Reporter {
   public:
    explicit FiberReporter(FiberTrial& trial) : trial_(trial), last_(SteadyClock::now()) {}
    void report(Result result) override {
      if (trial_.stop) throw TrialStopped{};  // reporting again while unwinding from a stop
      trial_.filler->fill(result, seconds_since(last_));
      trial_.produced.emplace(trial_.request.key, ExecutorEvent::Type::kResult, std::move(result));
      Fiber::suspend();  // resumed by the runner's decision (or a stop)
      if (trial_.stop) throw TrialStopped{};
      if (!trial_.spare.is_null()) trial_.filler->give_spare(std::exchange(trial_.spare, Result()));
      last_ = SteadyClock::now();
    }
    const TrialInfo& trial_info() const override { return trial_.request.info; }

   private:
    FiberTrial& trial_;
    SteadyClock::time_point last_;
  };

  // The fiber's body: the function, with its end turned into an event.
  static void run_fiber_trial(FiberTrial& trial) {
    try {
      FiberReporter reporter(trial);
      trial.request.trainable->function(trial.request.config, reporter);
      trial.produced.emplace(trial.request.key, ExecutorEvent::Type::kFinished);
    } catch (const TrialStopped&) {
      // Stopped by the runner: a normal end.
    } catch (...) {
      trial.produced.emplace(trial.request.key, ExecutorEvent::Type::kError, Result(), describe_current_exception());
    }
  }

  // Resumes every fiber given a decision (or started) since the last poll, each until its next
  // report() or its end, then hands what they produced to the runner. Decisions the sink makes
  // queue the fibers again for the next poll(), so every fiber runs at most once per poll.
  void run_ready_fibers() {
    fibers_now_.swap(ready_fibers_);
    for (const int64_t key : fibers_now_) {
      auto it = fiber_trials_.find(key);
      if (it == fiber_trials_.end() || !it->second->queued) continue;  // stopped or replaced meanwhile
      FiberTrial& trial = *it->second;
      trial.queued = false;
      trial.fiber->resume();
      if (trial.produced) fiber_events_.push_back({std::move(*trial.produced), trial.attempt});
      trial.produced.reset();
    }
    fibers_now_.clear();
    for (Posted& posted : fiber_events_) deliver(std::move(posted));
    fiber_events_.clear();
  }

  Sink sink_;
  const ThreadExecutorOptions options_;
  const int awake_target_;
  uint64_t attempts_ = 0;
  // Runner thread only:
  std::unordered_map<int64_t, std::shared_ptr<ClassTrial>> class_trials_;
  std::unordered_map<int64_t, FunctionSlot> function_slots_;
  std::deque<std::shared_ptr<ClassTrial>> inline_queue_;  // tiny steps, run inside poll()
  double first_task_ema_s_ = -1;  // average duration of trials' first step (with setup)
  std::vector<std::unique_ptr<FunctionThread>> function_threads_;
  bool polling_ = false;                  // inside poll()
  std::vector<FunctionThread*> to_wake_;  // given a decision in this poll(), not yet woken
  std::unordered_map<int64_t, std::unique_ptr<FiberTrial>> fiber_trials_;
  std::vector<int64_t> ready_fibers_;  // to resume in the next poll()
  std::vector<int64_t> fibers_now_;    // being resumed in this poll() (kept for its capacity)
  std::vector<Posted> fiber_events_;   // what they produced, delivered after all ran
  // Guarded by mutex_:
  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable events_cv_;
  std::condition_variable drained_cv_;
  std::deque<QueuedTask> queue_;
  std::vector<Posted> events_;
  std::vector<std::thread> pool_;
  std::vector<FunctionThread*> idle_function_threads_;
  int idle_ = 0;
  int awake_ = 0;
  int busy_ = 0;
  int wake_tokens_ = 0;  // notifications sent to idle workers and not yet taken
  std::vector<SteadyClock::time_point> busy_since_;  // per worker: start of its current step, max() when none
  SteadyClock::time_point last_stall_wake_;
  bool shutdown_ = false;
  std::atomic<bool> closing_ = false;  // the destructor cleans up kept instances: retire() keeps no more
  ActorCache actors_;     // reuse_actors (thread-safe itself)
};

}  // namespace

std::unique_ptr<Executor> make_thread_executor(Executor::Sink sink, ThreadExecutorOptions options) {
  return std::make_unique<ThreadExecutor>(std::move(sink), options);
}

}  // namespace tune::detail
