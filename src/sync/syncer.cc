// Sync commands (tune/sync.h): argv templates run without a shell, functions on a thread.
#include "sync/syncer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <vector>

#include "analysis/state_records.h"
#include "common/strings.h"
#include "common/subprocess.h"
#include "tune/error.h"

namespace tune {

SyncCommand::SyncCommand(std::vector<std::string> argv_template) : argv(std::move(argv_template)) {}
SyncCommand::SyncCommand(std::initializer_list<std::string> argv_template) : argv(argv_template) {}
SyncCommand::SyncCommand(const char* command_line) : argv(split_command(command_line ? command_line : "")) {}
SyncCommand::SyncCommand(const std::string& command_line) : argv(split_command(command_line)) {}
SyncCommand::SyncCommand(SyncFunction fn) : function(std::move(fn)) {}

SyncCommand SyncCommand::disabled() {
  SyncCommand command;
  command.off = true;
  return command;
}

std::vector<std::string> split_command(const std::string& command_line) {
  std::vector<std::string> argv;
  std::string word;
  bool in_word = false;
  enum class Quote { kNone, kSingle, kDouble } quote = Quote::kNone;
  for (size_t i = 0; i < command_line.size(); ++i) {
    const char c = command_line[i];
    switch (quote) {
      case Quote::kSingle:
        if (c == '\'') {
          quote = Quote::kNone;
        } else {
          word += c;
        }
        break;
      case Quote::kDouble:
        if (c == '"') {
          quote = Quote::kNone;
        } else if (c == '\\' && i + 1 < command_line.size() &&
                   std::strchr("\"\\$`", command_line[i + 1]) != nullptr) {
          word += command_line[++i];
        } else {
          word += c;
        }
        break;
      case Quote::kNone:
        if (c == ' ' || c == '\t' || c == '\n') {
          if (in_word) argv.push_back(std::move(word));
          word.clear();
          in_word = false;
        } else if (c == '\'') {
          quote = Quote::kSingle;
          in_word = true;
        } else if (c == '"') {
          quote = Quote::kDouble;
          in_word = true;
        } else if (c == '\\' && i + 1 < command_line.size()) {
          word += command_line[++i];
          in_word = true;
        } else {
          word += c;
          in_word = true;
        }
        break;
    }
  }
  if (quote != Quote::kNone) {
    throw TuneError(fmt::format("sync command: unterminated {} quote in '{}'", quote == Quote::kSingle ? "'" : "\"",
                                command_line));
  }
  if (in_word) argv.push_back(std::move(word));
  return argv;
}

std::string run_sync(const SyncCommand& command, const std::string& source, const std::string& target,
                     double timeout_s) {
  if (command.off) throw TuneError("sync command: is disabled");
  if (command.is_default()) throw TuneError("sync command: is empty (give an argv template or a function)");
  detail::SyncJob job;
  job.start(command, source, target, "sync command");
  return job.wait(timeout_s);
}

namespace detail {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string strip_trailing_slashes(std::string text) {
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

// The last `max_bytes` of `file`, trimmed, on one line.
std::string tail_of(std::FILE* file, long max_bytes) {
  if (file == nullptr) return {};
  std::fflush(file);
  if (std::fseek(file, 0, SEEK_END) != 0) return {};
  const long size = std::ftell(file);
  const long from = size > max_bytes ? size - max_bytes : 0;
  std::fseek(file, from, SEEK_SET);
  std::string text(static_cast<size_t>(size - from), '\0');
  text.resize(std::fread(text.data(), 1, text.size(), file));
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  while (!text.empty() && text.front() == ' ') text.erase(0, 1);
  return from > 0 ? "..." + text : text;
}

void check_timing(double value, const char* field, bool zero_ok) {
  if (std::isnan(value) || std::isinf(value) || value < 0 || (!zero_ok && value == 0)) {
    throw TuneError(fmt::format("sync_config.{}: must be a finite number {} 0, got {}", field, zero_ok ? ">=" : ">",
                                value));
  }
}

void check_template(const SyncCommand& command, const std::string& field) {
  if (command.function || command.off || command.argv.empty()) return;
  fill_sync_argv(command.argv, "s", "t", field);
  if (!program_exists(command.argv[0])) {
    throw TuneError(fmt::format("{}: program '{}' not found in PATH", field, command.argv[0]));
  }
}

}  // namespace

bool program_exists(const std::string& program) {
  namespace fs = std::filesystem;
  auto executable = [](const fs::path& candidate) {
    std::error_code ec;
    return fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0;
  };
  if (program.empty()) return false;
  if (program.find('/') != std::string::npos) return executable(program);
  const char* env_path = std::getenv("PATH");
  for (const std::string& dir : split(env_path ? env_path : "/usr/local/bin:/usr/bin:/bin", ':')) {
    if (executable((dir.empty() ? fs::path(".") : fs::path(dir)) / program)) return true;
  }
  return false;
}

std::vector<std::string> fill_sync_argv(const std::vector<std::string>& argv, const std::string& source,
                                        const std::string& target, const std::string& field) {
  if (argv.empty() || argv[0].empty()) throw TuneError(fmt::format("{}: the command must not be empty", field));
  bool has_source = false, has_target = false;
  std::vector<std::string> out;
  out.reserve(argv.size());
  for (const std::string& arg : argv) {
    std::string filled;
    for (size_t i = 0; i < arg.size();) {
      if (arg.compare(i, 8, "{source}") == 0) {
        filled += source;
        has_source = true;
        i += 8;
      } else if (arg.compare(i, 8, "{target}") == 0) {
        filled += target;
        has_target = true;
        i += 8;
      } else {
        filled += arg[i++];
      }
    }
    out.push_back(std::move(filled));
  }
  if (!has_source || !has_target) {
    throw TuneError(fmt::format("{}: the command template must contain both {{source}} and {{target}}, got '{}'",
                                field, join(argv, " ")));
  }
  return out;
}

namespace {

// Copies one file unless the copy there is as large and as new; a file that vanished meanwhile
// (a checkpoint renamed into place, an old one deleted) is simply not copied this time.
void copy_if_changed(const std::filesystem::path& from, const std::filesystem::path& to) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto from_size = fs::file_size(from, ec);
  if (ec) return;
  const auto to_size = fs::file_size(to, ec);
  if (!ec && to_size == from_size && fs::last_write_time(to, ec) >= fs::last_write_time(from, ec) && !ec) return;
  ec.clear();
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec && fs::exists(from)) throw std::system_error(ec, fmt::format("cannot copy {} to {}", from.string(), to.string()));
}

// The snapshot, the journal, and the snapshot's temporary file while it is being replaced.
bool is_experiment_state(const std::filesystem::path& relative) {
  return !relative.has_parent_path() && relative.filename().string().starts_with(detail::kStateFilePrefix);
}

}  // namespace

void copy_tree(const std::filesystem::path& source, const std::filesystem::path& target) {
  namespace fs = std::filesystem;
  fs::create_directories(target);
  // The experiment's state first: every checkpoint it names was committed before the copy
  // began, so the copy of the trial directories that follows holds it.
  for (const char* name : {detail::kSnapshotFile, detail::kJournalFile}) copy_if_changed(source / name, target / name);
  // Then the directories, one at a time. One that vanishes while the walk reaches it (a
  // checkpoint renamed into place, an old one deleted) is skipped and the walk goes on: a
  // single walker would stop there and leave the rest of the tree behind.
  std::vector<fs::path> pending{fs::path()};  // relative to source
  while (!pending.empty()) {
    const fs::path relative = std::move(pending.back());
    pending.pop_back();
    std::error_code ec;
    fs::directory_iterator it(source / relative, fs::directory_options::skip_permission_denied, ec);
    if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) continue;
    if (ec) throw std::system_error(ec, "cannot read " + (source / relative).string());
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      const fs::path entry = relative / it->path().filename();
      std::error_code entry_ec;
      // A link is never followed: an upload (or a pull for resume: REMOTE) holding one to /etc
      // copies nothing from there (the journal's paths are checked on resume: state_paths.h).
      if (it->is_symlink(entry_ec)) continue;
      if (it->is_directory(entry_ec)) {
        fs::create_directories(target / entry, entry_ec);
        pending.push_back(entry);
        continue;
      }
      if (!it->is_regular_file(entry_ec) || is_experiment_state(entry) || entry == detail::kUploadMarkFile) continue;
      copy_if_changed(it->path(), target / entry);
    }
    if (ec && ec != std::errc::no_such_file_or_directory) {
      throw std::system_error(ec, "cannot read " + (source / relative).string());
    }
  }
  // The upload mark last (state_records.h): a walk cut short leaves the previous one, which
  // admits only what an earlier, whole walk copied.
  copy_if_changed(source / detail::kUploadMarkFile, target / detail::kUploadMarkFile);
}

std::optional<CloudTarget> resolve_cloud_target(const SyncConfig& config, const std::string& experiment_name) {
  check_timing(config.sync_period_s, "sync_period_s", true);
  check_timing(config.sync_timeout_s, "sync_timeout_s", false);
  check_template(config.sync_to_driver, "sync_config.sync_to_driver");
  if (config.sync_to_cloud.off) {
    throw TuneError("sync_config.sync_to_cloud: cannot be turned off; leave upload_dir empty for no upload");
  }
  if (config.upload_dir.empty()) {
    if (!config.sync_to_cloud.is_default()) {
      throw TuneError("sync_config.sync_to_cloud: is set but sync_config.upload_dir is empty (where to upload?)");
    }
    return std::nullopt;
  }
  check_template(config.sync_to_cloud, "sync_config.sync_to_cloud");
  CloudTarget cloud;
  std::string upload = strip_trailing_slashes(config.upload_dir);
  if (upload.starts_with("file://")) upload.erase(0, 7);
  const size_t scheme_end = upload.find("://");
  if (scheme_end == std::string::npos) {
    std::error_code ec;
    const std::filesystem::path base = std::filesystem::absolute(expand_user(upload), ec).lexically_normal();
    cloud.local_path = experiment_name.empty() ? base : base / experiment_name;
    cloud.remote = cloud.local_path.string();
    if (!config.sync_to_cloud.is_default()) {
      cloud.command = config.sync_to_cloud;
    } else if (program_exists("rsync")) {
      cloud.command = SyncCommand{"rsync", "-a", "{source}", "{target}"};
    } else {
      cloud.command = SyncCommand([](const std::string& source, const std::string& target) {
        copy_tree(source, target);
      });
    }
    return cloud;
  }
  const std::string scheme = upload.substr(0, scheme_end);
  cloud.remote = experiment_name.empty() ? upload : upload + "/" + experiment_name;
  if (!config.sync_to_cloud.is_default()) {
    cloud.command = config.sync_to_cloud;
    return cloud;
  }
  if (scheme == "s3") {
    if (!program_exists("aws")) {
      throw TuneError(fmt::format("sync_config.upload_dir: '{}' is uploaded with `aws s3 sync`, but the aws command "
                                  "is not in PATH; install the AWS CLI or give sync_config.sync_to_cloud",
                                  config.upload_dir));
    }
    cloud.command = SyncCommand{"aws", "s3", "sync", "{source}", "{target}"};
  } else if (scheme == "gs") {
    if (!program_exists("gsutil")) {
      throw TuneError(fmt::format("sync_config.upload_dir: '{}' is uploaded with `gsutil -m rsync -r`, but the "
                                  "gsutil command is not in PATH; install it or give sync_config.sync_to_cloud",
                                  config.upload_dir));
    }
    cloud.command = SyncCommand{"gsutil", "-m", "rsync", "-r", "{source}", "{target}"};
  } else {
    throw TuneError(fmt::format("sync_config.upload_dir: '{}' has no default sync command (only plain paths, s3:// "
                                "and gs:// have one); give sync_config.sync_to_cloud",
                                config.upload_dir));
  }
  return cloud;
}

std::optional<SyncCommand> resolve_driver_sync(const SyncConfig& config) {
  if (config.sync_to_driver.off) return std::nullopt;
  if (config.sync_to_driver.is_default()) return SyncCommand{"rsync", "-a", "{source}", "{target}"};
  return config.sync_to_driver;
}

std::string pull_trial_dir(const SyncCommand& command, const TrialPlacement& placement,
                           const std::filesystem::path& local_dir, double timeout_s) {
  std::error_code ec;
  std::filesystem::create_directories(local_dir, ec);
  SyncJob job;
  job.start(command, placement.location(), local_dir.string() + "/", "sync_config.sync_to_driver");
  return job.wait(timeout_s);
}

std::filesystem::path push_checkpoint(const SyncCommand& command, const TrialPlacement& placement,
                                      const std::filesystem::path& checkpoint, double timeout_s) {
  const std::filesystem::path name = strip_trailing_slashes(checkpoint.string());
  const std::filesystem::path remote = placement.remote_dir / name.filename();
  if (placement.node.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(placement.remote_dir, ec);  // this machine: rsync makes one level only
  }
  TrialPlacement target = placement;
  target.remote_dir = remote;
  SyncJob job;
  job.start(command, name.string() + "/", target.location(), "sync_config.sync_to_driver");
  const std::string error = job.wait(timeout_s);
  if (!error.empty()) {
    throw TuneError(fmt::format("sync_config.sync_to_driver: pushing checkpoint {} to {} failed: {}",
                                checkpoint.string(), target.location(), error));
  }
  return remote;
}

SyncJob::~SyncJob() {
  if (pid_ > 0) kill_process();
  if (thread_.joinable()) thread_.join();
  if (output_ != nullptr) std::fclose(output_);
}

void SyncJob::start(const SyncCommand& command, const std::string& source, const std::string& target,
                    const std::string& field) {
  started_ = now_s();
  spawn_error_.reset();
  if (command.function) {
    description_ = field;
    thread_done_ = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      thread_error_.clear();
    }
    thread_ = std::thread([this, fn = command.function, source, target] {
      std::string error;
      try {
        fn(source, target);
      } catch (const std::exception& e) {
        error = e.what();
        if (error.empty()) error = "failed";
      } catch (...) {
        error = "threw a non-standard exception";
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        thread_error_ = std::move(error);
      }
      thread_done_ = true;
    });
    return;
  }
  const std::vector<std::string> argv = fill_sync_argv(command.argv, source, target, field);
  description_ = fmt::format("{} ({})", field, argv[0]);
  program_ = std::filesystem::path(argv[0]).filename().string();
  if (output_ != nullptr) std::fclose(output_);
  output_ = std::tmpfile();
  SpawnOptions options;
  options.argv = argv;
  options.dev_null(0, O_RDONLY);
  if (output_ != nullptr) {
    options.dup(fileno(output_), 1);
    options.dup(fileno(output_), 2);
  } else {
    options.dev_null(1, O_WRONLY);
    options.dev_null(2, O_WRONLY);
  }
  options.close_from = 3;
  options.new_process_group = true;  // a timeout kill reaches what it started (ssh, python)
  options.reset_signals = true;
  const Spawned spawned = spawn_process(options);
  if (!spawned) {
    spawn_error_ = fmt::format("{}: cannot run '{}': {}", field, argv[0], std::strerror(spawned.error));
    return;
  }
  pid_ = spawned.pid;
}

void SyncJob::kill_process() {
  ::kill(-pid_, SIGKILL);
  wait_for_exit(pid_);
  pid_ = -1;
}

std::optional<std::string> SyncJob::finish_process(int status) {
  pid_ = -1;
  // rsync's 24: files vanished while it ran, which is expected of a running experiment.
  const bool rsync_vanished = WIFEXITED(status) && WEXITSTATUS(status) == 24 && program_ == "rsync";
  if ((WIFEXITED(status) && WEXITSTATUS(status) == 0) || rsync_vanished) return std::string();
  const std::string output = tail_of(output_, 1000);
  return fmt::format("{} {}{}", description_, describe_wait_status(status, false),
                     output.empty() ? "" : ": " + output);
}

std::optional<std::string> SyncJob::poll(double timeout_s) {
  if (spawn_error_) {
    std::string error = std::move(*spawn_error_);
    spawn_error_.reset();
    return error;
  }
  if (pid_ > 0) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) return finish_process(status);
    if (done < 0 && errno != EINTR) {
      pid_ = -1;
      return fmt::format("{}: lost track of the command: {}", description_, std::strerror(errno));
    }
    if (now_s() - started_ > timeout_s) {
      kill_process();
      return fmt::format("{} did not finish within {:g} s and was killed", description_, timeout_s);
    }
    return std::nullopt;
  }
  if (thread_.joinable()) {
    if (!thread_done_) return std::nullopt;
    thread_.join();
    std::lock_guard<std::mutex> lock(mutex_);
    return thread_error_.empty() ? std::string() : fmt::format("{} failed: {}", description_, thread_error_);
  }
  return std::nullopt;
}

std::string SyncJob::wait(double timeout_s) {
  if (thread_.joinable()) {
    thread_.join();  // a function cannot be killed: it is waited for
    std::lock_guard<std::mutex> lock(mutex_);
    return thread_error_.empty() ? std::string() : fmt::format("{} failed: {}", description_, thread_error_);
  }
  while (true) {
    if (auto outcome = poll(timeout_s)) return *outcome;
    if (!running()) return std::string();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace detail
}  // namespace tune
