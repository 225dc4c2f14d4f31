// SlurmExecutor: the process executor's protocol machinery with every child started as
// `srun ... -- <the trial's argv>` (a ChildLauncher). srun forwards the child's stdin and stdout,
// which carry the worker protocol; its own stderr lines tell a cancelled step, a time limit and
// a lost node apart (srun may exit 0 after "Node failure", so its status alone is not enough).
#include "executors/slurm_executor.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "common/strings.h"
#include "common/subprocess.h"
#include "executors/process_executor.h"
#include "tune/error.h"

namespace tune::detail {
namespace {

constexpr const char* kStepsFile = ".slurm_steps";
// Outside an allocation the pool is Slurm's problem; these only keep the bookkeeping small.
constexpr double kUnboundedCpus = 1e6;
constexpr double kUnboundedGpus = 1024;

// Runs argv (no shell) and returns its stdout; nullopt when it cannot be started or fails.
std::optional<std::string> capture_output(const std::vector<std::string>& argv) {
  FdPair pipe;
  try {
    pipe = make_pipe();
  } catch (const std::system_error&) {
    return std::nullopt;
  }
  SpawnOptions options;
  options.argv = argv;
  options.dev_null(0, O_RDONLY);
  options.dup(pipe.second.get(), 1);
  options.dev_null(2, O_WRONLY);
  const Spawned spawned = spawn_process(options);
  pipe.second.reset();
  if (!spawned) return std::nullopt;
  std::string out;
  char chunk[4096];
  while (true) {
    const ssize_t n = ::read(pipe.first.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(chunk, static_cast<size_t>(n));
  }
  const int status = wait_for_exit(spawned.pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return out;
}

// A whole number of a resource for a flag; fractions are refused, not rounded, since Slurm
// would hand out more than was asked and the pool would not know.
int64_t whole(double amount, const std::string& field) {
  if (std::abs(amount - std::round(amount)) > 1e-9) {
    throw TuneError(fmt::format("{}: {:g} — Slurm allocates whole units; request a whole number under Slurm", field,
                                amount));
  }
  return static_cast<int64_t>(std::llround(amount));
}

class SrunLauncher final : public ChildLauncher {
 public:
  SrunLauncher(SlurmOptions options, std::filesystem::path experiment_dir)
      : options_(std::move(options)), in_allocation_(inside_slurm_allocation()) {
    if (!experiment_dir.empty()) {
      steps_file_ = experiment_dir / kStepsFile;
      cancel_leftovers();
    }
  }

  ~SrunLauncher() override {
    // Every child is reaped by now (the executor waits before releasing its launcher).
    if (!steps_file_.empty()) {
      std::error_code ec;
      std::filesystem::remove(steps_file_, ec);
    }
  }

  std::vector<std::string> wrap(const StartRequest& request, std::vector<std::string> argv) override {
    const std::string& name = request.info.trial_name;  // cancel() finds the step by it
    std::vector<std::string> command = srun_command(options_, in_allocation_, name, request.info.resources, argv);
    record(name);
    return command;
  }

  bool is_launcher_line(std::string_view line) const override {
    return line.starts_with("srun:") || line.starts_with("slurmstepd") || line.find("*** STEP ") != std::string_view::npos ||
           line.find("*** JOB ") != std::string_view::npos;
  }

  std::string failure(const std::vector<std::string>& lines, int wait_status) override {
    (void)wait_status;
    return describe_slurm_failure(lines);
  }

  void cancel(const std::string& trial_name) override {
    cancel_named({trial_name}, "its srun was killed, which srun cannot pass on");
  }

 private:
  // Appends the job name, once, to the experiment's list of steps that may be running.
  void record(const std::string& name) {
    if (steps_file_.empty() || !recorded_.insert(name).second) return;
    std::ofstream out(steps_file_, std::ios::app);
    out << name << '\n';
  }

  // Steps or jobs named in the list a killed driver left: still queued or running, they are
  // cancelled, so a resumed experiment never runs a trial twice.
  void cancel_leftovers() {
    std::ifstream in(steps_file_);
    if (!in) return;
    std::set<std::string> names;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) names.insert(line);
    }
    in.close();
    cancel_named(names, "left running by a previous driver");
    std::error_code ec;
    std::filesystem::remove(steps_file_, ec);
  }

  // scancel of every job and step with one of `names` (squeue lists a job's steps by its name too).
  static void cancel_named(const std::set<std::string>& names, const char* why) {
    std::set<std::string> ids;
    for (const char* which : {"--steps", "--jobs"}) {
      const auto listing = capture_output({"squeue", "--noheader", which, "--format=%i|%j"});
      if (!listing) continue;
      std::istringstream rows(*listing);
      for (std::string row; std::getline(rows, row);) {
        const size_t bar = row.find('|');
        if (bar == std::string::npos) continue;
        std::string id = row.substr(0, bar);
        id.erase(0, id.find_first_not_of(' '));
        if (names.contains(row.substr(bar + 1))) ids.insert(id);
      }
    }
    if (ids.empty()) return;
    std::vector<std::string> cancel = {"scancel"};
    cancel.insert(cancel.end(), ids.begin(), ids.end());
    const std::vector<std::string> listed(ids.begin(), ids.end());
    if (!capture_output(cancel)) {
      std::cerr << fmt::format("tune: could not cancel Slurm job(s)/step(s) {} ({})\n", join(listed, " "), why);
    } else {
      std::cerr << fmt::format("tune: cancelled Slurm job(s)/step(s) {} ({})\n", join(listed, " "), why);
    }
  }

  SlurmOptions options_;
  bool in_allocation_;
  std::filesystem::path steps_file_;
  std::set<std::string> recorded_;
};

// "2(x3),4" -> 10.
double sum_cpus_per_node(const std::string& text) {
  double total = 0;
  std::istringstream parts(text);
  for (std::string part; std::getline(parts, part, ',');) {
    double count = 0;
    double times = 1;
    if (std::sscanf(part.c_str(), "%lf(x%lf)", &count, &times) >= 1) total += count * times;
  }
  return total;
}

}  // namespace

bool inside_slurm_allocation() {
  const char* job = std::getenv("SLURM_JOB_ID");
  return job != nullptr && *job != '\0';
}

std::vector<std::string> srun_command(const SlurmOptions& options, bool in_allocation, const std::string& job_name,
                                      const Resources& resources, const std::vector<std::string>& argv) {
  const double cpu = resources.total_cpu();
  std::vector<std::string> out = {options.srun.empty() ? std::string("srun") : options.srun, "--ntasks=1",
                                  "--nodes=1",
                                  fmt::format("--cpus-per-task={}", std::max<int64_t>(1, static_cast<int64_t>(
                                                                                            std::ceil(cpu - 1e-9)))),
                                  "--job-name=" + job_name,
                                  // Every reply line leaves the node at once, not when a buffer fills.
                                  "--unbuffered",
                                  // A worker that fails takes its step down, whatever it started.
                                  "--kill-on-bad-exit=1"};
  if (in_allocation) {
    out.emplace_back("--exact");  // only what the trial asked for, so steps run side by side
  } else {
    if (!options.partition.empty()) out.push_back("--partition=" + options.partition);
    if (!options.account.empty()) out.push_back("--account=" + options.account);
  }
  if (!options.time_limit.empty()) out.push_back("--time=" + options.time_limit);
  const double gpu = resources.total_gpu();
  std::vector<std::string> gres;
  if (gpu > 0) gres.push_back(fmt::format("gpu:{}", whole(gpu, "resources.gpu")));
  for (const auto& [name, amount] : resources.total_custom()) {
    if (amount > 0) gres.push_back(fmt::format("{}:{}", name, whole(amount, "resources.custom_resources." + name)));
  }
  if (!gres.empty()) out.push_back("--gres=" + join(gres, ","));
  if (const double memory = resources.total_memory(); memory > 0) {
    out.push_back(fmt::format("--mem={}M", static_cast<int64_t>(std::ceil(memory / (1024.0 * 1024.0)))));
  } else if (!options.mem_per_cpu.empty()) {
    out.push_back("--mem-per-cpu=" + options.mem_per_cpu);
  }
  out.insert(out.end(), options.extra_srun_args.begin(), options.extra_srun_args.end());
  out.emplace_back("--");
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::string describe_slurm_failure(const std::vector<std::string>& lines) {
  auto find = [&](std::string_view needle) -> const std::string* {
    for (const auto& line : lines) {
      if (line.find(needle) != std::string::npos) return &line;
    }
    return nullptr;
  };
  if (const auto* line = find("DUE TO TIME LIMIT")) {
    return fmt::format("the Slurm step was killed at its time limit (slurm: \"{}\")", *line);
  }
  if (const auto* line = find("Node failure"); line != nullptr || (line = find("NODE FAILURE")) != nullptr) {
    return fmt::format("the node running the Slurm step was lost (slurm: \"{}\")", *line);
  }
  if (const auto* line = find("DUE TO PREEMPTION")) {
    return fmt::format("the Slurm step was preempted (slurm: \"{}\")", *line);
  }
  if (const auto* line = find("CANCELLED")) {
    return fmt::format("the Slurm step was cancelled (scancel, or an administrator) (slurm: \"{}\")", *line);
  }
  for (std::string_view needle : {"Unable to create step", "Unable to allocate resources", "Invalid generic resource",
                                  "error: Invalid", "Requested node configuration is not available"}) {
    if (const auto* line = find(needle)) return fmt::format("srun could not start the step (slurm: \"{}\")", *line);
  }
  return {};
}

ResourcePool slurm_pool() {
  ResourcePool pool;
  pool.memory = 0;  // Slurm accounts memory
  pool.cpu = kUnboundedCpus;
  pool.gpu = kUnboundedGpus;
  if (!inside_slurm_allocation()) return pool;
  if (const char* cpus = std::getenv("SLURM_JOB_CPUS_PER_NODE"); cpus != nullptr) {
    if (const double total = sum_cpus_per_node(cpus); total > 0) pool.cpu = total;
  }
  pool.gpu = 0;
  if (const char* gpus = std::getenv("SLURM_JOB_GPUS"); gpus != nullptr && *gpus != '\0') {
    pool.gpu = static_cast<double>(std::count(gpus, gpus + std::strlen(gpus), ',') + 1);
  } else if (const char* on_node = std::getenv("SLURM_GPUS_ON_NODE"); on_node != nullptr) {
    const char* nodes = std::getenv("SLURM_JOB_NUM_NODES");
    pool.gpu = std::atof(on_node) * (nodes != nullptr ? std::max(1.0, std::atof(nodes)) : 1.0);
  }
  return pool;
}

std::unique_ptr<Executor> make_slurm_executor(Executor::Sink sink, const SlurmOptions& options,
                                              const std::filesystem::path& experiment_dir) {
  return make_process_executor(std::move(sink), std::make_shared<SrunLauncher>(options, experiment_dir));
}

}  // namespace tune::detail
