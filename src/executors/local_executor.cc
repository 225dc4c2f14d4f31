// LocalExecutor (local_mode): every trial runs on the calling thread, inside poll().
// Class trainables advance one step per poll, round-robin; a function trainable runs
// inline from start to end, its report() handing each result to the runner directly.
#include <chrono>
#include <deque>
#include <memory>
#include <unordered_map>

#include "executors/executor.h"
#include "trial/auto_fill.h"

namespace tune::detail {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct LocalTrial {
  StartRequest request;
  std::unique_ptr<AutoFiller> filler;
  std::unique_ptr<Trainable> trainable;
  bool started = false;
  bool stopped = false;
  bool runnable = true;
};

class LocalExecutor final : public Executor {
 public:
  LocalExecutor(Sink sink, bool reuse_actors) : sink_(std::move(sink)), reuse_actors_(reuse_actors) {}

  ~LocalExecutor() override {
    for (auto& [key, trial] : trials_) cleanup(*trial);
    for (std::unique_ptr<Trainable>& idle : actors_.take_all()) cleanup_trainable(idle);
  }

  void start(StartRequest request) override {
    auto trial = std::make_unique<LocalTrial>();
    trial->filler = make_auto_filler(request);
    trial->request = std::move(request);
    const int64_t key = trial->request.key;
    if (auto it = trials_.find(key); it != trials_.end()) retire(*it->second);
    trials_[key] = std::move(trial);
    if (reuse_actors_) actors_.note_live(trials_.size());
    queue_.push_back(key);
  }

  void continue_trial(int64_t key) override {
    auto it = trials_.find(key);
    if (it == trials_.end()) return;
    it->second->runnable = true;
    if (it->second->request.trainable->factory) queue_.push_back(key);
  }

  void stop_trial(int64_t key) override {
    auto it = trials_.find(key);
    if (it == trials_.end()) return;
    it->second->stopped = true;
    if (key == inline_key_) return;  // the running function unwinds from report()
    retire(*it->second);
    trials_.erase(it);
  }

  void recycle(int64_t key, Result&& spent) override {
    if (auto it = trials_.find(key); it != trials_.end()) it->second->filler->give_spare(std::move(spent));
  }

  void save_trial(int64_t key, const std::filesystem::path& dir) override {
    if (key == inline_key_) {
      // The function is inside report(), which runs inside poll(): answer now, so report()
      // sees the outcome before it returns.
      sink_({key, ExecutorEvent::Type::kError, {}, function_cannot_save_message()});
      return;
    }
    saves_.emplace_back(key, dir);
  }

  void poll(std::chrono::milliseconds timeout) override {
    (void)timeout;  // nothing to wait for: work happens here
    if (!saves_.empty()) {
      auto [key, dir] = std::move(saves_.front());
      saves_.pop_front();
      auto it = trials_.find(key);
      if (it == trials_.end() || it->second->stopped) return;
      save(key, *it->second, dir);
      return;
    }
    while (!queue_.empty()) {
      const int64_t key = queue_.front();
      queue_.pop_front();
      auto it = trials_.find(key);
      if (it == trials_.end() || !it->second->runnable || it->second->stopped) continue;
      LocalTrial& trial = *it->second;
      trial.runnable = false;
      if (trial.request.trainable->function) {
        run_function(key, trial);
      } else {
        step_class(key, trial);
      }
      return;
    }
  }

 private:
  class InlineReporter final : public Reporter {
   public:
    InlineReporter(LocalExecutor& executor, int64_t key, LocalTrial& trial)
        : executor_(executor), key_(key), trial_(trial), last_(SteadyClock::now()) {}
    void report(Result result) override {
      trial_.filler->fill(result, std::chrono::duration<double>(SteadyClock::now() - last_).count());
      executor_.sink_({key_, ExecutorEvent::Type::kResult, std::move(result), {}});
      if (trial_.stopped) throw TrialStopped{};
      trial_.runnable = false;
      last_ = SteadyClock::now();
    }
    const TrialInfo& trial_info() const override { return trial_.request.info; }

   private:
    LocalExecutor& executor_;
    int64_t key_;
    LocalTrial& trial_;
    SteadyClock::time_point last_;
  };

  void run_function(int64_t key, LocalTrial& trial) {
    inline_key_ = key;
    ExecutorEvent end{key, ExecutorEvent::Type::kFinished, {}, {}};
    try {
      InlineReporter reporter(*this, key, trial);
      trial.request.trainable->function(trial.request.config, reporter);
    } catch (const TrialStopped&) {
      end.type = ExecutorEvent::Type::kFinished;
    } catch (...) {
      end.type = ExecutorEvent::Type::kError;
      end.error = describe_current_exception();
    }
    inline_key_ = -1;
    const bool stopped = trial.stopped;
    trials_.erase(key);
    if (!stopped) sink_(std::move(end));
  }

  void step_class(int64_t key, LocalTrial& trial) {
    try {
      if (!trial.started) {
        trial.started = true;
        trial.trainable = make_trainable_for(trial.request, reuse_actors_ ? &actors_ : nullptr);
      }
      const auto start = SteadyClock::now();
      Result result = trial.trainable->step();
      trial.filler->fill(result, std::chrono::duration<double>(SteadyClock::now() - start).count());
      sink_({key, ExecutorEvent::Type::kResult, std::move(result), {}});
    } catch (...) {
      std::string error = describe_current_exception();
      cleanup(trial);
      trials_.erase(key);
      sink_({key, ExecutorEvent::Type::kError, {}, std::move(error)});
    }
  }

  void save(int64_t key, LocalTrial& trial, const std::filesystem::path& dir) {
    if (!trial.trainable) {  // a function trial (blocked in report) or one not started
      sink_({key, ExecutorEvent::Type::kError, {}, function_cannot_save_message()});
      return;
    }
    try {
      trial.trainable->save_checkpoint(dir);
    } catch (...) {
      std::string error = "saving a checkpoint failed: " + describe_current_exception();
      cleanup(trial);
      trials_.erase(key);
      sink_({key, ExecutorEvent::Type::kError, {}, std::move(error)});
      return;
    }
    sink_({key, ExecutorEvent::Type::kSaved, {}, {}});
  }

  // A failed trial's instance: cleaned up, never reused.
  static void cleanup(LocalTrial& trial) { cleanup_trainable(trial.trainable); }

  // A stopped trial's instance: kept for the next trial with reuse_actors, else cleaned up.
  void retire(LocalTrial& trial) {
    retire_trainable(reuse_actors_ ? &actors_ : nullptr, trial.request.trainable, trial.trainable);
  }

  Sink sink_;
  bool reuse_actors_;
  ActorCache actors_;
  std::unordered_map<int64_t, std::unique_ptr<LocalTrial>> trials_;
  std::deque<int64_t> queue_;
  std::deque<std::pair<int64_t, std::filesystem::path>> saves_;
  int64_t inline_key_ = -1;
};

}  // namespace

std::unique_ptr<Executor> make_local_executor(Executor::Sink sink, bool reuse_actors) {
  return std::make_unique<LocalExecutor>(std::move(sink), reuse_actors);
}

}  // namespace tune::detail
