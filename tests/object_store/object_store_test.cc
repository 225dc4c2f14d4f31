// Tests of pinned objects (tune/object_store.h, tune/pinned_memory.h): in-process sharing
// without copies, read-only sealed memory, type checks, lifetime; process trials (a registered
// C++ worker, the header-only client, the Python client, a plain program) reading the driver's
// pages; and a driver killed by SIGKILL leaving nothing behind.
#include "object_store/object_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>
#include <thread>

#include "executors/workers/trainables.h"
#include "support/quiet_options.h"
#include "support/temp_dir.h"
#include "tune/tune.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::quiet_options;
using testing::TempDir;
namespace fs = std::filesystem;

const std::string kWorker = TUNE_TEST_WORKER;
const std::string kClientWorker = TUNE_TEST_CLIENT_WORKER;
const std::string kPython = TUNE_TEST_PYTHON;
const std::string kWorkers = std::string(TUNE_SOURCE_DIR) + "/tests/executors/workers";
const std::string kPythonPath = std::string(TUNE_SOURCE_DIR) + "/clients/python";

std::vector<float> ramp(size_t n) {
  std::vector<float> values(n);
  for (size_t i = 0; i < n; ++i) values[i] = static_cast<float>(i % 1000) * 0.5F;
  return values;
}

double sum_of(const std::vector<float>& values) { return std::accumulate(values.begin(), values.end(), 0.0); }

// The fds of process `pid` ("self" or a number) that are the memfd of `id`.
std::vector<int> memfds_of(const std::string& pid, const std::string& id) {
  std::vector<int> fds;
  const fs::path dir = fs::path("/proc") / pid / "fd";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::error_code link_ec;
    const std::string target = fs::read_symlink(entry.path(), link_ec).string();
    if (!link_ec && target == "/memfd:" + id + " (deleted)") fds.push_back(std::stoi(entry.path().filename()));
  }
  return fds;
}

// Processes that hold the memfd of `id` open or mapped.
std::set<pid_t> holders(const std::string& id) {
  std::set<pid_t> pids;
  const std::string name = "/memfd:" + id + " (deleted)";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (!memfds_of(pid, id).empty()) pids.insert(std::stoi(pid));
    std::ifstream maps(entry.path() / "maps");
    for (std::string line; std::getline(maps, line);) {
      if (line.size() >= name.size() && line.compare(line.size() - name.size(), name.size(), name) == 0) {
        pids.insert(std::stoi(pid));
      }
    }
  }
  return pids;
}

// The permissions ("r--s") of the mapping of this process that holds `address`.
std::string mapping_permissions(const void* address) {
  const auto at = reinterpret_cast<uintptr_t>(address);
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    uintptr_t from = 0, to = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s", &from, &to, perms) == 3 && at >= from && at < to) return perms;
  }
  return "";
}

// ---- the environment variable ----

TEST(PinnedMemoryTest, DescriptorsRoundTripThroughTheEnvironmentValue) {
  const std::vector<pinned::Descriptor> objects = {{"tune-pin-1-1", 5, 4000, 4, 'f'},
                                                   {"tune-pin-1-2", 6, 24, 12, '\0'}};
  const std::string text = pinned::encode(objects);
  EXPECT_EQ(text, "tune-pin-1-1:5:4000:4:f,tune-pin-1-2:6:24:12:");
  const auto back = pinned::decode(text);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].id, "tune-pin-1-1");
  EXPECT_EQ(back[0].fd, 5);
  EXPECT_EQ(back[0].bytes, 4000u);
  EXPECT_EQ(back[0].format, 'f');
  EXPECT_EQ(back[1].item_size, 12u);
  EXPECT_EQ(back[1].format, '\0');
  EXPECT_TRUE(pinned::decode("").empty());
}

TEST(PinnedMemoryTest, MalformedEntriesAreNamed) {
  for (const std::string bad : {"a:5:10:4", "a:x:10:4:f", "a:5:10:0:f", "a b:5:10:4:f", "a:5:10:4:ff"}) {
    try {
      pinned::decode("ok:3:1:1:B," + bad);
      FAIL() << bad;
    } catch (const TuneError& e) {
      EXPECT_THAT(e.what(), HasSubstr("TUNE_PINNED_OBJECTS: entry '" + bad + "'"));
    }
  }
}

TEST(PinnedMemoryTest, FormatsFollowPythonsStructCharacters) {
  EXPECT_EQ(pinned::format_of<float>(), 'f');
  EXPECT_EQ(pinned::format_of<double>(), 'd');
  EXPECT_EQ(pinned::format_of<int32_t>(), 'i');
  EXPECT_EQ(pinned::format_of<uint64_t>(), 'Q');
  EXPECT_EQ(pinned::format_of<int8_t>(), 'b');
  EXPECT_EQ(pinned::format_of<char>(), 'B');
  EXPECT_EQ(pinned::format_of<bool>(), '?');
  struct Point {
    float x, y;
  };
  EXPECT_EQ(pinned::format_of<Point>(), '\0');
}

// ---- in this process ----

TEST(ObjectStoreTest, InProcessReadersShareOneMappingWithoutCopies) {
  const std::vector<float> values = ramp(100000);
  const PinnedObject object = pin_in_object_store(values);
  EXPECT_THAT(object.id(), StartsWith("tune-pin-" + std::to_string(getpid()) + "-"));
  EXPECT_EQ(object.size_bytes(), values.size() * sizeof(float));
  const PinnedView<float> a = get_pinned_object<float>(object.id());
  const PinnedView<float> b = object.get<float>();
  EXPECT_EQ(a.data(),
            b.data());  // the same memory every time: nothing copied per reader
  EXPECT_NE(a.data(), values.data());
  ASSERT_EQ(a.size(), values.size());
  EXPECT_TRUE(std::equal(a.begin(), a.end(), values.begin()));
  EXPECT_EQ(a.id(), object.id());
  std::span<const float> span = a;
  EXPECT_EQ(span.data(), a.data());
}

TEST(ObjectStoreTest, InProcessTrialsReadTheDriversMapping) {
  const PinnedObject object = pin_in_object_store(ramp(10000));
  const auto driver_address = reinterpret_cast<uintptr_t>(object.get<float>().data());
  TempDir dir;
  RunOptions options = quiet_options(dir, "in_process");
  options.config = {{"object", object.id()}, {"i", grid_search({1, 2, 3, 4})}};
  options.stop = {{"training_iteration", 2}};
  const auto analysis = run<testing::PinnedReader>(std::move(options));
  ASSERT_EQ(analysis.trials().size(), 4u);
  for (const auto& trial : analysis.trials()) {
    EXPECT_EQ(trial.status(), TrialStatus::kTerminated) << trial.error();
    EXPECT_EQ(trial.last_result()["address"], driver_address);
    EXPECT_EQ(trial.last_result()["sum"], sum_of(ramp(10000)));
    EXPECT_FALSE(trial.last_result().contains("inode"));  // nothing inherited in-process
  }
}

TEST(ObjectStoreTest, PinnedMemoryIsSealedReadOnly) {
  const PinnedObject object = pin_in_object_store(ramp(5000));
  const PinnedView<float> view = object.get<float>();
  EXPECT_EQ(mapping_permissions(view.data()), "r--s");  // read-only, shared
  const std::vector<int> fds = memfds_of("self", object.id());
  ASSERT_EQ(fds.size(), 1u);
  const int fd = fds[0];
  EXPECT_GE(fd, 10);
  EXPECT_EQ(::fcntl(fd, F_GETFD) & FD_CLOEXEC,
            FD_CLOEXEC);  // reaches only the children we hand it to
  const int seals = ::fcntl(fd, F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL),
            F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
  errno = 0;
  EXPECT_EQ(::mmap(nullptr, view.size_bytes(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), MAP_FAILED);
  EXPECT_EQ(errno, EPERM);
  const float zero = 0;
  EXPECT_EQ(::pwrite(fd, &zero, sizeof zero, 0), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::ftruncate(fd, 0), -1);
  // Reopening through /proc gives no write access either.
  const int reopened = ::open(("/proc/self/fd/" + std::to_string(fd)).c_str(), O_RDWR | O_CLOEXEC);
  if (reopened >= 0) {
    EXPECT_EQ(::pwrite(reopened, &zero, sizeof zero, 0), -1);
    ::close(reopened);
  }
  EXPECT_EQ(view[1], 0.5F);
}

TEST(ObjectStoreTest, StringsAndBytes) {
  const PinnedObject text = pin_in_object_store("hello, trials");
  EXPECT_EQ(get_pinned_object<char>(text.id()).str(), "hello, trials");
  EXPECT_EQ(get_pinned_object<std::byte>(text.id()).size(), 13u);
  const PinnedObject from_string = pin_in_object_store(std::string("abc"));
  EXPECT_EQ(from_string.get<unsigned char>().str(), "abc");
  const PinnedObject bytes = pin_in_object_store(std::vector<std::byte>{std::byte{1}, std::byte{2}});
  EXPECT_EQ(bytes.get<std::byte>()[1], std::byte{2});
  // Bytes view anything: a float array as its bytes.
  const PinnedObject floats = pin_in_object_store(std::array<float, 3>{1, 2, 3});
  EXPECT_EQ(floats.get<char>().size(), 12u);
}

TEST(ObjectStoreTest, FillWritesStraightIntoTheSharedMemory) {
  const PinnedObject object =
      pin_in_object_store<double>(1000, [](std::span<double> out) { std::iota(out.begin(), out.end(), 0.0); });
  const auto view = get_pinned_object<double>(object.id());
  ASSERT_EQ(view.size(), 1000u);
  EXPECT_EQ(view[999], 999.0);

  // A fill that throws pins nothing and leaves no descriptor behind.
  const size_t fds_before = std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator());
  EXPECT_THROW(pin_in_object_store<int>(10, [](std::span<int>) { throw std::runtime_error("no data"); }),
               std::runtime_error);
  EXPECT_EQ(std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator()), fds_before);
}

TEST(ObjectStoreTest, EmptyObjectsAndStructs) {
  const PinnedObject empty = pin_in_object_store(std::vector<float>{});
  EXPECT_TRUE(empty.get<float>().empty());
  EXPECT_EQ(empty.size_bytes(), 0u);
  struct Row {
    float x;
    int32_t label;
  };
  const PinnedObject rows = pin_in_object_store(std::vector<Row>{{1.5F, 3}, {2.5F, 4}});
  const auto view = rows.get<Row>();
  ASSERT_EQ(view.size(), 2u);
  EXPECT_EQ(view[1].label, 4);
}

TEST(ObjectStoreTest, WrongTypeOrUnknownIdThrowsNamingWhatIsWrong) {
  const PinnedObject object = pin_in_object_store(ramp(10));
  try {
    get_pinned_object<double>(object.id());
    FAIL();
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("'" + object.id() + "' holds items of type float32 (format 'f'), 4 bytes"));
    EXPECT_THAT(e.what(), HasSubstr("asked for float64 (format 'd'), 8 bytes (the sizes differ)"));
  }
  try {
    get_pinned_object<int32_t>(object.id());
    FAIL();
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("int32 (format 'i')"));
    EXPECT_THAT(e.what(), HasSubstr("the formats differ"));
  }
  try {
    get_pinned_object<float>("tune-pin-0-404");
    FAIL();
  } catch (const TuneError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no pinned object 'tune-pin-0-404'"));
    EXPECT_THAT(e.what(), HasSubstr(object.id()));  // what there is
  }
  EXPECT_THROW(PinnedObject().get<float>(), TuneError);
}

TEST(ObjectStoreTest, UnpinnedWhenTheHandleGoesFreedWhenTheLastViewGoes) {
  auto object = std::make_unique<PinnedObject>(pin_in_object_store(ramp(100)));
  const std::string id = object->id();
  PinnedView<float> view = object->get<float>();
  PinnedObject moved = std::move(*object);
  object.reset();  // a moved-from handle unpins nothing
  EXPECT_EQ(get_pinned_object<float>(id).data(), view.data());
  moved.reset();
  EXPECT_FALSE(moved);
  EXPECT_THROW(get_pinned_object<float>(id), TuneError);
  EXPECT_EQ(view[3], 1.5F);  // the view keeps the memory
  EXPECT_EQ(memfds_of("self", id).size(), 1u);
  view = PinnedView<float>();
  EXPECT_TRUE(memfds_of("self", id).empty());
  EXPECT_TRUE(holders(id).empty());
}

TEST(ObjectStoreTest, ChildDescriptorsAreRenumberedInAscendingOrder) {
  const PinnedObject a = pin_in_object_store(ramp(10));
  const PinnedObject b = pin_in_object_store("b");
  const detail::ChildPinnedObjects child = detail::pinned_objects_for_child(5);
  ASSERT_GE(child.dup2.size(), 2u);
  for (size_t i = 0; i < child.dup2.size(); ++i) {
    EXPECT_EQ(child.dup2[i].second, 5 + static_cast<int>(i));
    EXPECT_GT(child.dup2[i].first, child.dup2[i].second);  // never overwrites one still to be copied
    if (i > 0) {
      EXPECT_GT(child.dup2[i].first, child.dup2[i - 1].first);
    }
  }
  EXPECT_EQ(child.next_free_fd, 5 + static_cast<int>(child.dup2.size()));
  const auto descriptors = pinned::decode(child.env);
  std::set<std::string> ids;
  for (const auto& d : descriptors) ids.insert(d.id);
  EXPECT_TRUE(ids.contains(a.id()));
  EXPECT_TRUE(ids.contains(b.id()));
}

// ---- process trials ----

ProcessSpec worker_spec() {
  ProcessSpec spec;
  spec.argv = {kWorker};
  spec.stop_grace_s = 2;
  return spec;
}

TEST(ObjectStoreProcessTest, RegisteredWorkersMapTheDriversPagesReadOnly) {
  const std::vector<float> values = ramp(1 << 20);
  const PinnedObject object = pin_in_object_store(values);
  const PinnedObject other = pin_in_object_store("another object, inherited too");
  const std::vector<int> fds = memfds_of("self", object.id());
  ASSERT_EQ(fds.size(), 1u);
  struct stat driver_stat {};
  ASSERT_EQ(::fstat(fds[0], &driver_stat), 0);

  TempDir dir;
  // Forked by a zygote (the descriptors travel with the fork request) and exec'd.
  for (const auto launch : {ProcessSpec::Launch::kZygote, ProcessSpec::Launch::kExec}) {
    SCOPED_TRACE(launch == ProcessSpec::Launch::kZygote ? "zygote" : "exec");
    RunOptions options =
        quiet_options(dir, launch == ProcessSpec::Launch::kZygote ? "pinned_workers" : "pinned_workers_exec");
    options.config = {{"object", object.id()}, {"i", grid_search({1, 2})}};
    options.stop = {{"training_iteration", 2}};
    ProcessSpec spec = worker_spec();
    spec.launch = launch;
    const auto analysis = run(isolated("PinnedReader", spec), std::move(options));
    ASSERT_EQ(analysis.trials().size(), 2u);
    for (const auto& trial : analysis.trials()) {
      ASSERT_EQ(trial.status(), TrialStatus::kTerminated) << trial.error();
      const Result& result = trial.last_result();
      EXPECT_NE(result["worker_pid"], getpid());
      EXPECT_EQ(result["count"], values.size());
      EXPECT_EQ(result["sum"], sum_of(values));
      EXPECT_EQ(result["inode"],
                static_cast<uint64_t>(driver_stat.st_ino));  // the same pages, not a copy
      EXPECT_EQ(result["write_mapping_refused"], true);
    }
  }
}

TEST(ObjectStoreProcessTest, HeaderOnlyClientReadsThePinnedArray) {
  const std::vector<float> values = ramp(50000);
  const PinnedObject object = pin_in_object_store(values);
  ProcessSpec spec;
  spec.argv = {kClientWorker};
  TempDir dir;
  RunOptions options = quiet_options(dir, "pinned_client");
  options.config = {{"steps", 1}, {"pinned", object.id()}};
  const auto analysis = run(process_trainable("cpp_client", spec), std::move(options));
  ASSERT_EQ(analysis.trials().size(), 1u);
  const auto& trial = analysis.trials()[0];
  ASSERT_EQ(trial.status(), TrialStatus::kTerminated) << trial.error();
  EXPECT_EQ(trial.last_result()["pinned_sum"], sum_of(values));
  EXPECT_EQ(trial.last_result()["pinned_count"], values.size());
  EXPECT_THAT(trial.last_result()["pinned_type_error"].get<std::string>(),
              HasSubstr("holds items of type float32 (format 'f'), 4 bytes "
                        "each; asked for float64"));
}

TEST(ObjectStoreProcessTest, PythonClientGetsAReadOnlyTypedMemoryview) {
  if (kPython.empty()) GTEST_SKIP() << "no Python 3 interpreter found at configure time";
  const std::vector<float> values = ramp(20000);
  const PinnedObject object = pin_in_object_store(values);
  ProcessSpec spec;
  spec.argv = {kPython, "-S", kWorkers + "/client_script.py"};
  spec.env = {{"PYTHONPATH", kPythonPath}, {"PYTHONDONTWRITEBYTECODE", "1"}};
  TempDir dir;
  RunOptions options = quiet_options(dir, "pinned_python");
  options.config = {{"mode", "pinned"}, {"object", object.id()}};
  const auto analysis = run(process_trainable("py", spec), std::move(options));
  ASSERT_EQ(analysis.trials().size(), 1u);
  const auto& trial = analysis.trials()[0];
  ASSERT_EQ(trial.status(), TrialStatus::kTerminated) << trial.error();
  const Result& result = trial.last_result();
  EXPECT_EQ(result["sum"], sum_of(values));
  EXPECT_EQ(result["count"], values.size());
  EXPECT_EQ(result["format"], "f");
  EXPECT_EQ(result["writable"], false);
  EXPECT_EQ(result["same_view"], true);
  EXPECT_THAT(result["unknown_error"].get<std::string>(), HasSubstr("no pinned object 'no-such-object'"));
  EXPECT_THAT(result["unknown_error"].get<std::string>(), HasSubstr(object.id()));
}

TEST(ObjectStoreProcessTest, PlainProgramsInheritTheDescriptorsFromFdThree) {
  const PinnedObject object = pin_in_object_store("pinned text for a shell");
  ProcessSpec spec;
  // A program that knows nothing of tune reads the object through /proc (its own open file).
  spec.argv = {"/bin/sh", "-c",
               "printf '{\"env\": \"%s\", \"text\": \"%s\"}\\n' "
               "\"$TUNE_PINNED_OBJECTS\" "
               "\"$(cat /proc/self/fd/3)\""};
  spec.protocol = ProcessSpec::Protocol::kPlain;
  TempDir dir;
  const auto analysis = run(process_trainable("sh", spec), quiet_options(dir, "pinned_plain"));
  ASSERT_EQ(analysis.trials().size(), 1u);
  const auto& trial = analysis.trials()[0];
  ASSERT_EQ(trial.status(), TrialStatus::kTerminated) << trial.error();
  EXPECT_THAT(trial.last_result()["env"].get<std::string>(), HasSubstr(object.id() + ":3:23:1:B"));
  EXPECT_EQ(trial.last_result()["text"], "pinned text for a shell");
}

// The driver dies by SIGKILL in the middle of its trials: once its children have noticed and
// exited, no process holds the memory and nothing was ever named in /dev/shm or on disk.
TEST(ObjectStoreProcessTest, SigkilledDriverLeavesNothingBehind) {
  // Entries tune could have made (other programs on the machine may come and go meanwhile).
  auto shm_entries = [] {
    std::set<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/dev/shm", ec)) {
      if (entry.path().filename().string().find("tune") != std::string::npos) names.insert(entry.path().filename());
    }
    return names;
  };
  const std::set<std::string> shm_before = shm_entries();
  TempDir dir;
  const std::string out = (dir.path() / "driver.out").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const std::string local_dir = (dir.path() / "results").string();
  std::vector<char*> argv = {const_cast<char*>(kWorker.c_str()), const_cast<char*>("pin_drive"),
                             const_cast<char*>(local_dir.c_str()), nullptr};
  pid_t driver = -1;
  ASSERT_EQ(::posix_spawn(&driver, kWorker.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);

  // Wait for its id, then for both trials to hold the object.
  std::string id;
  std::set<pid_t> holding;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (id.empty()) {
      std::ifstream in(out);
      std::string line;
      if (std::getline(in, line) && !line.empty()) id = Json::parse(line)["id"].get<std::string>();
    } else {
      holding = holders(id);
      if (holding.size() >= 3) break;  // the driver and two workers
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(id.empty()) << "the driver printed no id";
  ASSERT_GE(holding.size(), 3u) << "the trials never mapped " << id;
  EXPECT_TRUE(holding.contains(driver));

  ASSERT_EQ(::kill(driver, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(driver, &status, 0), driver);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  // The workers read end-of-file on their request pipe at their next step, and exit.
  std::set<pid_t> left = holders(id);
  for (int i = 0; i < 500 && !left.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    left = holders(id);
  }
  EXPECT_TRUE(left.empty()) << left.size() << " processes still hold " << id;
  EXPECT_EQ(shm_entries(), shm_before);
}

}  // namespace
}  // namespace tune
