// The Executor contract (executors/executor.h), one suite run against every executor: in-process
// threads, fibers, local mode, child processes (forked by a zygote and exec'd) and Slurm job
// steps (against a private cluster; skipped without Slurm unless TUNE_TEST_REQUIRE_SLURM=1).
// start → one result at a time (lockstep) → save → pause (stop) → restore from the checkpoint
// → stop; a failing trainable becomes an error event; every event arrives through the one sink,
// from inside poll(), on the caller's thread. Then, for process trials: stopping one ends what
// it started (its own process group).
#include <gmock/gmock.h>
#include <sys/types.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>

#include "executors/executor.h"
#include "executors/process_executor.h"
#include "executors/slurm_executor.h"
#include "executors/workers/trainables.h"
#include "support/slurm_cluster.h"
#include "support/temp_dir.h"
#include "tune/process.h"

namespace tune {
namespace {

namespace fs = std::filesystem;
using detail::ExecutorEvent;
using ::testing::HasSubstr;
using Type = ExecutorEvent::Type;

// The function API's Climb: checkpoints itself after every step (should_checkpoint), restores
// from restore_path().
void climb_fn(const Config& config, Reporter& reporter) {
  const double q = config.value("q", 1.0);
  double total = 0;
  if (!reporter.restore_path().empty()) std::ifstream(reporter.restore_path() / "total") >> total;
  while (true) {
    total += q;
    fs::create_directories(reporter.checkpoint_dir());
    std::ofstream(reporter.checkpoint_dir() / "total") << total;
    reporter.report({{"acc", total}, {"should_checkpoint", true}});
  }
}

void crash_fn(const Config&, Reporter& reporter) {
  reporter.report({{"score", 1}});
  throw std::runtime_error("boom from step 2");
}

enum class Api { kClass, kFunction };

struct Backend {
  std::string name;
  Api api = Api::kClass;
  bool slurm = false;
  std::function<std::unique_ptr<detail::Executor>(detail::Executor::Sink, const fs::path& experiment_dir)> make;
  // The trainable that climbs ("Climb": acc += q per step, state in checkpoints) or crashes at
  // step 2 ("Crasher").
  std::function<TrainableSpec(const std::string& which)> trainable;
};

// gtest prints the parameter of a failing test: its name, not its bytes.
void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

ProcessSpec worker(ProcessSpec::Launch launch) {
  ProcessSpec spec;
  spec.argv = {TUNE_TEST_WORKER};
  spec.launch = launch;
  spec.stop_grace_s = 2;
  spec.env["ASAN_OPTIONS"] = "detect_leaks=0";
  return spec;
}

TrainableSpec in_process(const std::string& which) {
  return which == "Climb" ? make_trainable<testing::Climb>("Climb") : make_trainable<testing::Crasher>("Crasher");
}

TrainableSpec as_function(const std::string& which) {
  return which == "Climb" ? make_trainable("Climb", climb_fn) : make_trainable("Crasher", crash_fn);
}

std::function<TrainableSpec(const std::string&)> as_worker(ProcessSpec::Launch launch) {
  return [launch](const std::string& which) { return isolated(which, worker(launch)); };
}

std::vector<Backend> backends() {
  using detail::Executor;
  std::vector<Backend> all;
  all.push_back({"Thread", Api::kClass, false,
                 [](Executor::Sink sink, const fs::path&) { return detail::make_thread_executor(std::move(sink)); },
                 in_process});
  all.push_back({"Fiber", Api::kFunction, false,
                 [](Executor::Sink sink, const fs::path&) {
                   return detail::make_thread_executor(std::move(sink), {FunctionExecution::kFiber});
                 },
                 as_function});
  all.push_back({"LocalMode", Api::kClass, false,
                 [](Executor::Sink sink, const fs::path&) { return detail::make_local_executor(std::move(sink)); },
                 in_process});
  all.push_back({"ProcessZygote", Api::kClass, false,
                 [](Executor::Sink sink, const fs::path&) { return detail::make_process_executor(std::move(sink)); },
                 as_worker(ProcessSpec::Launch::kZygote)});
  all.push_back({"ProcessExec", Api::kClass, false,
                 [](Executor::Sink sink, const fs::path&) { return detail::make_process_executor(std::move(sink)); },
                 as_worker(ProcessSpec::Launch::kExec)});
  all.push_back({"Slurm", Api::kClass, true,
                 [](Executor::Sink sink, const fs::path& dir) {
                   return detail::make_slurm_executor(std::move(sink), SlurmOptions{}, dir);
                 },
                 as_worker(ProcessSpec::Launch::kExec)});
  return all;
}

class ExecutorContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam().slurm) {
      if (!testing::slurm_installed()) {
        if (testing::slurm_required()) FAIL() << "TUNE_TEST_REQUIRE_SLURM=1 but the Slurm packages are missing";
        GTEST_SKIP() << "Slurm is not installed";
      }
      std::string out;
      ASSERT_TRUE(cluster_.start(out)) << out;
    }
    climb_ = GetParam().trainable("Climb");
    crasher_ = GetParam().trainable("Crasher");
    runner_thread_ = std::this_thread::get_id();
    executor_ = GetParam().make(
        [this](ExecutorEvent&& event) {
          if (std::this_thread::get_id() != runner_thread_) ++events_off_thread_;
          if (!inside_poll_) ++events_outside_poll_;
          events_.push_back(std::move(event));
        },
        dir_.path());
  }
  void TearDown() override {
    executor_.reset();  // children reaped, threads joined: nothing may outlive it
    EXPECT_EQ(events_off_thread_, 0) << "events must reach the sink on the thread that calls poll()";
    EXPECT_EQ(events_outside_poll_, 0) << "events must reach the sink from inside poll() only";
  }

  detail::StartRequest request(int64_t key, const TrainableSpec& spec, Config config) {
    detail::StartRequest r;
    r.key = key;
    r.trainable = &spec;
    r.config = std::move(config);
    r.info.trial_id = "t" + std::to_string(key);
    r.info.trial_name = "contract_" + std::to_string(key);
    // Unique per test process: an executor ends every process holding its experiment's token
    // when it goes, so a shared id would let one test kill another's trials (ctest -j).
    r.info.experiment_id = "contract" + std::to_string(::getpid());
    r.info.trial_dir = dir_.path() / r.info.trial_id;
    r.info.checkpoint_dir = r.info.trial_dir / "checkpoint";
    fs::create_directories(r.info.trial_dir);
    return r;
  }

  void poll_once(std::chrono::milliseconds timeout) {
    inside_poll_ = true;
    executor_->poll(timeout);
    inside_poll_ = false;
  }

  // The next event (of any trial), waiting up to a minute (Slurm steps start slowly).
  ExecutorEvent next() {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (events_.empty() && std::chrono::steady_clock::now() < until) poll_once(std::chrono::milliseconds(50));
    if (events_.empty()) {
      ADD_FAILURE() << "no event within 60 s";
      return {};
    }
    ExecutorEvent event = std::move(events_.front());
    events_.pop_front();
    return event;
  }

  // Lockstep: a trial that reported waits for the runner; nothing arrives meanwhile.
  void expect_quiet(std::chrono::milliseconds for_how_long) {
    const auto until = std::chrono::steady_clock::now() + for_how_long;
    while (std::chrono::steady_clock::now() < until) poll_once(std::chrono::milliseconds(20));
    EXPECT_TRUE(events_.empty()) << "an event arrived while every trial waited for a decision";
    events_.clear();
  }

  static void expect_result(const ExecutorEvent& event, int64_t key, double acc, int64_t iteration) {
    ASSERT_EQ(event.type, Type::kResult) << event.error;
    EXPECT_EQ(event.key, key);
    EXPECT_DOUBLE_EQ(event.result.value("acc", -1.0), acc);
    EXPECT_EQ(event.result.value("training_iteration", int64_t{-1}), iteration);
  }

  testing::LocalSlurmCluster cluster_;
  testing::TempDir dir_;
  TrainableSpec climb_, crasher_;
  std::unique_ptr<detail::Executor> executor_;
  std::deque<ExecutorEvent> events_;
  std::thread::id runner_thread_;
  bool inside_poll_ = false;
  int events_off_thread_ = 0;
  int events_outside_poll_ = 0;
};

TEST_P(ExecutorContractTest, StartStepsInLockstepSavesPausesRestoresAndStops) {
  executor_->start(request(1, climb_, {{"q", 1.0}}));
  expect_result(next(), 1, 1.0, 1);
  expect_quiet(std::chrono::milliseconds(300));
  executor_->continue_trial(1);
  expect_result(next(), 1, 2.0, 2);
  expect_quiet(std::chrono::milliseconds(300));

  // Save while it waits: a class trainable writes the checkpoint asked for and waits again; a
  // function cannot be asked (it checkpoints itself, with should_checkpoint results).
  const fs::path checkpoint = dir_.path() / "checkpoint_2";
  fs::create_directories(checkpoint);
  executor_->save_trial(1, checkpoint);
  const ExecutorEvent saved = next();
  if (GetParam().api == Api::kClass) {
    ASSERT_EQ(saved.type, Type::kSaved) << saved.error;
    EXPECT_EQ(saved.key, 1);
  } else {
    ASSERT_EQ(saved.type, Type::kError);
    EXPECT_EQ(saved.error, detail::function_cannot_save_message());
    fs::copy(dir_.path() / "t1" / "checkpoint", checkpoint,
             fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  }
  std::ifstream in(checkpoint / "total");
  double total = 0;
  in >> total;
  EXPECT_DOUBLE_EQ(total, 2.0);

  // Pause: the trial stops; nothing more comes from it.
  executor_->stop_trial(1);
  expect_quiet(std::chrono::milliseconds(300));

  // Restore: a new start from the checkpoint continues its state and its counters.
  detail::StartRequest restored = request(2, climb_, {{"q", 1.0}});
  restored.info.restore_from = checkpoint;
  restored.restore_iteration = 2;
  executor_->start(std::move(restored));
  expect_result(next(), 2, 3.0, 3);
  executor_->continue_trial(2);
  expect_result(next(), 2, 4.0, 4);

  executor_->stop_trial(2);
  expect_quiet(std::chrono::milliseconds(200));
}

TEST_P(ExecutorContractTest, AFailingTrainableBecomesAnErrorEvent) {
  executor_->start(request(1, crasher_, {{"crash", "throw"}, {"at", 2}}));
  const ExecutorEvent first = next();
  ASSERT_EQ(first.type, Type::kResult) << first.error;
  executor_->continue_trial(1);
  const ExecutorEvent failed = next();
  EXPECT_EQ(failed.key, 1);
  ASSERT_EQ(failed.type, Type::kError);
  EXPECT_THAT(failed.error, HasSubstr("boom from step 2"));
  expect_quiet(std::chrono::milliseconds(200));
}

TEST_P(ExecutorContractTest, TrialsShareTheOneQueueAndEachWaitsForItsOwnDecision) {
  executor_->start(request(1, climb_, {{"q", 1.0}}));
  executor_->start(request(2, climb_, {{"q", 10.0}}));
  std::map<int64_t, double> acc;
  for (int i = 0; i < 2; ++i) {
    const ExecutorEvent event = next();
    ASSERT_EQ(event.type, Type::kResult) << event.error;
    EXPECT_FALSE(acc.contains(event.key)) << "a second result before a decision";
    acc[event.key] = event.result.value("acc", -1.0);
  }
  EXPECT_EQ(acc, (std::map<int64_t, double>{{1, 1.0}, {2, 10.0}}));
  // Only the trial told to go on reports again.
  executor_->continue_trial(2);
  expect_result(next(), 2, 20.0, 2);
  expect_quiet(std::chrono::milliseconds(300));
  executor_->stop_trial(1);
  executor_->stop_trial(2);
}

// True while `pid` runs (a zombie nobody reaped yet counts as ended).
bool process_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

// Every process trial leads its own process group (SpawnOptions::new_process_group), so that
// stopping the trial ends whatever it started, not just the process tune spawned.
TEST(ProcessGroupTest, StoppingATrialEndsWhatItStarted) {
  testing::TempDir dir;
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "sleep 300 & echo $! > \"$TUNE_TRIAL_DIR/bg.pid\"; echo '{\"x\": 1}'; wait"};
  spec.protocol = ProcessSpec::Protocol::kPlain;
  spec.stop_grace_s = 5;
  const TrainableSpec trainable = process_trainable("bg", spec);
  std::deque<ExecutorEvent> events;
  auto executor = detail::make_process_executor([&](ExecutorEvent&& e) { events.push_back(std::move(e)); });
  detail::StartRequest request;
  request.key = 1;
  request.trainable = &trainable;
  request.info.trial_id = request.info.trial_name = "bg";
  request.info.trial_dir = dir.path() / "bg";
  fs::create_directories(request.info.trial_dir);
  executor->start(std::move(request));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (events.empty() && std::chrono::steady_clock::now() < until) executor->poll(std::chrono::milliseconds(50));
  ASSERT_FALSE(events.empty());
  ASSERT_EQ(events.front().type, Type::kResult) << events.front().error;
  pid_t background = 0;
  std::ifstream(dir.path() / "bg" / "bg.pid") >> background;
  ASSERT_GT(background, 0);
  EXPECT_TRUE(process_alive(background));

  executor->stop_trial(1);
  const auto gone_by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (process_alive(background) && std::chrono::steady_clock::now() < gone_by) {
    executor->poll(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(process_alive(background)) << "the trial's background process outlived its stop";
  executor.reset();
}

std::string backend_name(const ::testing::TestParamInfo<Backend>& param) { return param.param.name; }

INSTANTIATE_TEST_SUITE_P(Executors, ExecutorContractTest, ::testing::ValuesIn(backends()), backend_name);

}  // namespace
}  // namespace tune
