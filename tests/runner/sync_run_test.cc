// Uploading an experiment through tune::run (sync_config): periodically, after checkpoints and
// at the end, into a local directory standing in for the cloud; failures are warnings; and
// resume = "REMOTE" continues from what was uploaded after the local directory is gone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "analysis/state_records.h"
#include "support/quiet_options.h"
#include "support/files.h"
#include "runner/trial_runner.h"
#include "support/temp_dir.h"
#include "sync/syncer.h"
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using testing::quiet_options;
using testing::read_text;
using testing::TempDir;
using testing::write_text;
namespace fs = std::filesystem;

// Counts its steps (the state a checkpoint keeps) and takes a little time per step so that
// syncs happen while it runs.
class Ticker : public Trainable {
 public:
  void setup(const Config& config) override { sleep_ms_ = config.is_object() ? config.value("sleep_ms", 20) : 20; }
  Result step() override {
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    ++value_;
    if (on_step) on_step(value_);
    return {{"value", value_}};
  }
  void save_checkpoint(const fs::path& dir) override { std::ofstream(dir / "value") << value_; }
  void load_checkpoint(const fs::path& dir) override {
    std::ifstream(dir / "value") >> value_;
    ++restores;
  }
  static inline std::function<void(int)> on_step;
  static inline std::atomic<int> restores{0};

 private:
  int value_ = 0;
  int sleep_ms_ = 20;
};

TEST(SyncRunTest, UploadsToAPlainDirectoryPeriodicallyAndAtTheEnd) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.config = {{"x", grid_search({1, 2})}};
  options.stop = {{"training_iteration", 40}};
  options.sync_config.upload_dir = (dir.path() / "cloud").string();
  options.sync_config.sync_period_s = 0.1;
  options.sync_config.sync_on_checkpoint = false;
  const fs::path remote = dir.path() / "cloud" / "exp";
  // At step 20 each trial waits (up to 10 s: a loaded machine starts rsync slowly) for a
  // periodic upload; the run is then still going, so that upload was not the final one.
  std::atomic<bool> uploaded_mid_run{false};
  Ticker::on_step = [&](int value) {
    if (value != 20) return;
    for (int i = 0; i < 1000 && !fs::exists(remote / "experiment_state.jsonl"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (fs::exists(remote / "experiment_state.jsonl")) uploaded_mid_run = true;
  };
  const ExperimentAnalysis analysis = run<Ticker>(std::move(options));
  Ticker::on_step = nullptr;
  EXPECT_TRUE(uploaded_mid_run.load()) << "no periodic upload while the trials ran, with sync_period_s = 0.1";
  ASSERT_EQ(analysis.trials().size(), 2u);
  for (const TrialRecord& trial : analysis.trials()) {
    const fs::path uploaded = remote / trial.logdir().filename();
    EXPECT_EQ(read_text(uploaded / "result.json"), read_text(trial.logdir() / "result.json"));
    EXPECT_EQ(read_text(uploaded / "params.json"), read_text(trial.logdir() / "params.json"));
  }
  // The final upload has the finished state: it loads as a complete experiment.
  EXPECT_EQ(read_text(remote / "experiment_state.jsonl"), read_text(dir.path() / "exp" / "experiment_state.jsonl"));
  const ExperimentAnalysis from_cloud = ExperimentAnalysis::load(remote);
  ASSERT_EQ(from_cloud.trials().size(), 2u);
  for (const TrialRecord& trial : from_cloud.trials()) EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
}

TEST(SyncRunTest, FunctionSyncerGetsTheDirectoriesAndRunsPeriodically) {
  TempDir dir;
  RunOptions options = quiet_options(dir);
  options.stop = {{"training_iteration", 30}};
  options.sync_config.upload_dir = "mem://bucket/results";  // any URI a custom syncer understands
  options.sync_config.sync_period_s = 0.1;
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> calls;
  options.sync_config.sync_to_cloud = SyncCommand([&](const std::string& source, const std::string& target) {
    std::lock_guard<std::mutex> lock(mutex);
    calls.emplace_back(source, target);
  });
  run<Ticker>(std::move(options));
  ASSERT_GE(calls.size(), 3u) << "periodic uploads during 0.6 s with sync_period_s = 0.1, then the final one";
  EXPECT_EQ(calls.back().first, (dir.path() / "exp").string() + "/");
  EXPECT_EQ(calls.back().second, "mem://bucket/results/exp/");
}

TEST(SyncRunTest, SyncOnCheckpointUploadsAfterCheckpointsOnly) {
  for (const bool on_checkpoint : {true, false}) {
    TempDir dir;
    RunOptions options = quiet_options(dir);
    options.stop = {{"training_iteration", 8}};
    options.checkpoint_freq = 2;
    options.sync_config.upload_dir = "mem://bucket";
    options.sync_config.sync_period_s = 0;  // no periodic uploads
    options.sync_config.sync_on_checkpoint = on_checkpoint;
    std::atomic<int> calls{0};
    options.sync_config.sync_to_cloud = SyncCommand([&](const std::string&, const std::string&) { ++calls; });
    run<Ticker>(std::move(options));
    if (on_checkpoint) {
      EXPECT_GE(calls.load(), 2) << "4 checkpoints (uploads in flight coalesce) and the end";
    } else {
      EXPECT_EQ(calls.load(), 1) << "only the final upload";
    }
  }
}

TEST(SyncRunTest, AFailingSyncIsAWarningAndTheExperimentSucceeds) {
  TempDir dir;
  const std::vector<SyncCommand> failing = {
      SyncCommand{"sh", "-c", "echo disk full >&2; exit 7", "sync", "{source}", "{target}"},
      SyncCommand([](const std::string&, const std::string&) { throw std::runtime_error("no credentials"); })};
  const std::vector<std::string> expected = {"exited with code 7: disk full", "failed: no credentials"};
  for (size_t i = 0; i < failing.size(); ++i) {
    RunOptions options = quiet_options(dir, "exp" + std::to_string(i));
    options.raise_on_failed_trial = true;
    options.stop = {{"training_iteration", 10}};
    options.sync_config.upload_dir = (dir.path() / "cloud").string();
    options.sync_config.sync_period_s = 0.05;
    options.sync_config.sync_to_cloud = failing[i];
    ::testing::internal::CaptureStderr();
    ExperimentAnalysis analysis = run<Ticker>(std::move(options));
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(analysis.trials().at(0).status(), TrialStatus::kTerminated);
    EXPECT_THAT(err, HasSubstr("tune: warning: the final upload of"));
    EXPECT_THAT(err, HasSubstr(expected[i]));
  }
}

TEST(SyncRunTest, MisuseIsRefusedBeforeAnythingStarts) {
  TempDir dir;
  auto error_of = [&](RunOptions options) -> std::string {
    try {
      run<Ticker>(std::move(options));
    } catch (const TuneError& e) {
      return e.what();
    }
    return "(no error)";
  };
  RunOptions a = quiet_options(dir);
  a.sync_config.upload_dir = "ftp://host/x";
  EXPECT_THAT(error_of(std::move(a)), HasSubstr("sync_config.upload_dir: 'ftp://host/x' has no default sync command"));
  RunOptions b = quiet_options(dir);
  b.sync_config.upload_dir = (dir.path() / "exp" / "up").string();
  EXPECT_THAT(error_of(std::move(b)), HasSubstr("sync_config.upload_dir:"));
  RunOptions c = quiet_options(dir);
  c.resume = "REMOTE";
  EXPECT_THAT(error_of(std::move(c)), HasSubstr("resume: REMOTE pulls the experiment from sync_config.upload_dir"));
  RunOptions d = quiet_options(dir);
  d.sync_config.upload_dir = (dir.path() / "cloud").string();
  d.resume = "REMOTE";
  EXPECT_THAT(error_of(std::move(d)), HasSubstr("there is no experiment"));
  RunOptions e = quiet_options(dir);
  e.sync_config.upload_dir = (dir.path() / "cloud").string();
  e.sync_config.sync_to_cloud = "rsync -a {source}";
  EXPECT_THAT(error_of(std::move(e)), HasSubstr("sync_config.sync_to_cloud: the command template must contain"));
  EXPECT_FALSE(fs::exists(dir.path() / "exp"));
}

// The upload is frozen mid-run (trials still RUNNING there, with checkpoints), the run goes on
// and ends locally, then the local experiment is deleted: resume = "REMOTE" pulls the frozen
// upload and continues each trial from its uploaded checkpoint.
TEST(SyncRunTest, ResumeRemoteContinuesFromTheUploadedCheckpoints) {
  TempDir dir;
  const fs::path cloud = dir.path() / "cloud";
  std::atomic<bool> frozen{false};
  RunOptions options = quiet_options(dir);
  options.config = {{"x", grid_search({1, 2})}, {"sleep_ms", 5}};
  options.stop = {{"training_iteration", 12}};
  options.checkpoint_freq = 1;
  options.sync_config.upload_dir = cloud.string();
  options.sync_config.sync_period_s = 0;
  options.sync_config.sync_to_cloud = SyncCommand([&](const std::string& source, const std::string& target) {
    if (!frozen) detail::copy_tree(source, target);
  });
  // resume = "REMOTE" cuts the pulled journal where it was when its upload began (the upload
  // mark), so the freeze waits for a checkpoint event inside that cut, not merely in the copy:
  // a checkpoint journaled while an upload ran is in its journal but after its mark. (The mark
  // is copied after the journal: one read here may pair a journal with the previous, shorter
  // mark, which only makes the check stricter.)
  const auto checkpoint_inside_the_upload = [&] {
    const std::string journal = read_text(cloud / "exp" / "experiment_state.jsonl");
    const Json mark = Json::parse(read_text(cloud / "exp" / detail::kUploadMarkFile), nullptr, false);
    if (!mark.is_object() || !mark.contains("journal_bytes") || !mark["journal_bytes"].is_number_unsigned()) {
      return false;
    }
    const size_t cut = std::min<size_t>(mark["journal_bytes"].get<uint64_t>(), journal.size());
    return journal.substr(0, cut).find("\"e\":\"ckpt\"") != std::string::npos;
  };
  Ticker::on_step = [&](int value) {
    if (value != 6) return;
    // Wait until an upload holding a checkpoint of this trial's has landed, then freeze it.
    for (int i = 0; i < 500 && !frozen; ++i) {
      if (checkpoint_inside_the_upload()) frozen = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  run<Ticker>(std::move(options));
  Ticker::on_step = nullptr;
  ASSERT_TRUE(frozen.load());
  fs::remove_all(dir.path() / "exp");
  const std::string uploaded = read_text(cloud / "exp" / "experiment_state.jsonl");
  ASSERT_EQ(uploaded.find("\"e\":\"done\""), std::string::npos) << "the frozen upload is of a running experiment";

  Ticker::restores = 0;
  RunOptions again = quiet_options(dir);
  again.config = {{"x", grid_search({1, 2})}, {"sleep_ms", 5}};
  again.stop = {{"training_iteration", 12}};
  again.checkpoint_freq = 1;
  again.sync_config.upload_dir = cloud.string();  // the default copy, both ways
  again.resume = "REMOTE";
  const ExperimentAnalysis analysis = run<Ticker>(std::move(again));
  EXPECT_GE(Ticker::restores.load(), 1) << "no trial restored an uploaded checkpoint";
  ASSERT_EQ(analysis.trials().size(), 2u);
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
    std::ifstream in(trial.logdir() / "result.json");
    int expected = 1;
    for (std::string line; std::getline(in, line); ++expected) {
      const Json result = Json::parse(line);
      EXPECT_EQ(result["training_iteration"], expected) << trial.logdir();
      EXPECT_EQ(result["value"], expected) << "the trial did not continue from its checkpoint: " << line;
    }
    EXPECT_EQ(expected, 13) << trial.logdir();
  }
  // The resumed run uploaded its end.
  EXPECT_NE(read_text(cloud / "exp" / "experiment_state.jsonl").find("\"e\":\"done\""), std::string::npos);
}

// Fails once at step 5 unless it was restored; checkpoints hold the step count.
class FailsOnceAtFive : public Trainable {
 public:
  Result step() override {
    ++value_;
    if (value_ == 5 && !restored_) throw std::runtime_error("node lost");
    return {{"value", value_}};
  }
  void save_checkpoint(const fs::path& dir) override { std::ofstream(dir / "value") << value_; }
  void load_checkpoint(const fs::path& dir) override {
    std::ifstream(dir / "value") >> value_;
    restored_ = true;
  }

 private:
  int value_ = 0;
  bool restored_ = false;
};

// An executor as one without a shared filesystem would behave (sync/placement.h), with a fake
// node: trial k "runs" in <node>/trial_k on this machine (node name empty). It reports that
// placement on every event and, on a restart, has the checkpoint pushed there and restores the
// pushed copy. The trials themselves run on threads.
class FakeNodeExecutor : public detail::Executor {
 public:
  FakeNodeExecutor(Sink sink, fs::path node, std::vector<fs::path>* pushed)
      : node_(std::move(node)), pushed_(pushed) {
    inner_ = detail::make_thread_executor([this, sink = std::move(sink)](detail::ExecutorEvent&& event) {
      event.placement = placement(event.key);
      sink(std::move(event));
    });
  }
  void start(detail::StartRequest request) override {
    if (request.push_checkpoint) {
      const fs::path there = request.push_checkpoint(placement(request.key));
      pushed_->push_back(there);
      request.info.restore_from = there;
    }
    inner_->start(std::move(request));
  }
  void continue_trial(int64_t key) override { inner_->continue_trial(key); }
  void stop_trial(int64_t key) override { inner_->stop_trial(key); }
  void save_trial(int64_t key, const fs::path& dir) override { inner_->save_trial(key, dir); }
  void poll(std::chrono::milliseconds timeout) override { inner_->poll(timeout); }

 private:
  detail::TrialPlacement placement(int64_t key) const { return {"", node_ / ("trial_" + std::to_string(key))}; }
  fs::path node_;
  std::vector<fs::path>* pushed_;
  std::unique_ptr<detail::Executor> inner_;
};

// The runner side of sync_to_driver (default rsync): trial files on the node reach the local
// trial directory, and a restarted trial gets its checkpoint pushed to its node first.
TEST(SyncHookTest, RunnerPullsFromTheNodeAndPushesTheRestoreCheckpoint) {
  TempDir dir;
  const fs::path node = dir.path() / "node";
  for (const int key : {0, 1}) write_text(node / ("trial_" + std::to_string(key)) / "node.log", "on the node\n");
  RunOptions options = quiet_options(dir);
  options.config = {{"x", grid_search({1, 2})}};
  options.stop = {{"training_iteration", 8}};
  options.checkpoint_freq = 2;
  options.max_failures = 1;
  // What run() does before it builds the runner.
  options.scheduler = std::make_shared<FIFOScheduler>();
  options.search_alg = std::make_shared<BasicVariantGenerator>(options.config, options.num_samples, options.seed);
  options.scheduler->set_search_properties("", "");
  options.search_alg->set_search_properties("", "", options.config);
  std::shared_ptr<Stopper> stopper = options.stop.make_stopper();
  const TrainableSpec trainable = make_trainable<FailsOnceAtFive>("FailsOnceAtFive");
  ExperimentInfo experiment;
  experiment.name = "exp";
  experiment.experiment_id = "0123";
  experiment.dir = dir.path() / "exp";
  fs::create_directories(experiment.dir);
  ResourcePool pool;
  pool.cpu = 2;
  std::vector<fs::path> pushed;  // the runner's thread only
  detail::TrialRunner runner(trainable, std::move(options), std::move(experiment), pool, stopper, Json::object(),
                             std::nullopt, std::nullopt, [&](detail::Executor::Sink sink) {
                               return std::make_unique<FakeNodeExecutor>(std::move(sink), node, &pushed);
                             });
  const ExperimentAnalysis analysis = runner.run();

  ASSERT_EQ(pushed.size(), 2u) << "each trial failed once and restarted from checkpoint_4";
  for (const fs::path& there : pushed) {
    EXPECT_EQ(there.filename(), "checkpoint_4");
    EXPECT_EQ(read_text(there / "value"), "4");
  }
  ASSERT_EQ(analysis.trials().size(), 2u);
  for (const TrialRecord& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated);
    EXPECT_EQ(read_text(trial.logdir() / "node.log"), "on the node\n") << "not pulled from the node";
    std::ifstream in(trial.logdir() / "result.json");
    int expected = 1;
    for (std::string line; std::getline(in, line); ++expected) {
      EXPECT_EQ(Json::parse(line)["value"], expected) << "did not continue from the pushed checkpoint: " << line;
    }
    EXPECT_EQ(expected, 9);
  }
}

}  // namespace
}  // namespace tune
