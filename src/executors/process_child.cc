// A trial child's environment and the words for its failures (process_child.h).
#include "executors/process_child.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

#include "common/process_tree.h"
#include "executors/zygote.h"
#include "tune/client.h"

extern char** environ;  // NOLINT: POSIX

namespace tune::detail::proc {
namespace {

std::string stderr_tail_of_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  const off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size <= 0) return {};
  const off_t from = std::max<off_t>(0, size - 16384);
  std::string text(static_cast<size_t>(size - from), '\0');
  const ssize_t n = ::pread(fd.get(), text.data(), text.size(), from);
  if (n <= 0) return {};
  text.resize(static_cast<size_t>(n));
  return text;
}

std::string format_tail(std::deque<std::string> lines, const std::string& where) {
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  while (lines.size() > kStderrTailLines) lines.pop_front();
  if (lines.empty()) return {};
  std::string out = fmt::format("\nlast {} lines of stderr ({}):", lines.size(), where);
  for (const auto& line : lines) out += "\n  " + line;
  return out;
}

// The driver's environment without the variables tune sets for its children.
std::map<std::string, std::string> inherited_environment() {
  static const char* const kOwned[] = {"TUNE_TRIAL_ID",        "TUNE_TRIAL_NAME",       "TUNE_EXPERIMENT_ID",
                                       "TUNE_TRIAL_DIR",       "TUNE_CHECKPOINT_DIR",   "TUNE_RESTORE_FROM",
                                       "TUNE_PROTOCOL_FDS",    "TUNE_PROTOCOL_VERSION", "TUNE_WORKER",
                                       "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS",       pinned::kEnvVar,
                                       zygote::kEnvVar,        kTrialTokenVar};
  std::map<std::string, std::string> vars;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (eq == nullptr) continue;
    std::string name(*e, static_cast<size_t>(eq - *e));
    if (std::find(std::begin(kOwned), std::end(kOwned), name) != std::end(kOwned)) continue;
    vars[std::move(name)] = eq + 1;
  }
  return vars;
}

std::vector<std::string> as_environment(const std::map<std::string, std::string>& vars) {
  std::vector<std::string> out;
  out.reserve(vars.size());
  for (const auto& [name, value] : vars) out.push_back(name + "=" + value);
  return out;
}

}  // namespace

void keep_tail(std::deque<std::string>& tail, std::string_view line) {
  // Appended rather than `std::string(...) + "..."`, which GCC 12's -Warray-bounds misreads
  // under ThreadSanitizer.
  std::string cut(line.substr(0, kStderrTailLineBytes));
  if (line.size() > kStderrTailLineBytes) cut += "...";
  tail.push_back(std::move(cut));
  if (tail.size() > kStderrTailLines + 1) tail.pop_front();
}

std::string stderr_tail(const Child& child) {
  if (!child.err_path.empty() && !child.err) {
    std::deque<std::string> lines;
    const std::string text = stderr_tail_of_file(child.err_path);
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      keep_tail(lines, std::string_view(text).substr(start, end - start));
      start = end + 1;
    }
    return format_tail(std::move(lines), child.err_path.string());
  }
  std::deque<std::string> lines = child.err_tail;
  if (child.err_buf.pending() > 0) keep_tail(lines, child.err_buf.rest());
  return format_tail(std::move(lines),
                     child.err_path.empty() ? "not kept: no trial directory" : child.err_path.string());
}

std::string omp_threads(const TrialInfo& info, const ProcessSpec& spec) {
  if (auto it = spec.env.find("OMP_NUM_THREADS"); it != spec.env.end()) return it->second;
  const double cpu = info.resources.cpu;
  return std::to_string(std::isfinite(cpu) ? std::max<int64_t>(1, static_cast<int64_t>(cpu)) : 1);
}

std::vector<std::string> child_environment(const StartRequest& request, const ProcessSpec& spec,
                                           const std::filesystem::path& checkpoint_dir,
                                           const std::string& pinned_objects, bool launched) {
  std::map<std::string, std::string> vars = inherited_environment();
  const TrialInfo& info = request.info;
  vars["TUNE_TRIAL_ID"] = info.trial_id;
  vars["TUNE_TRIAL_NAME"] = info.trial_name;
  vars["TUNE_EXPERIMENT_ID"] = info.experiment_id;
  vars["TUNE_TRIAL_DIR"] = info.trial_dir.string();
  vars["TUNE_CHECKPOINT_DIR"] = checkpoint_dir.string();
  if (!info.restore_from.empty()) vars["TUNE_RESTORE_FROM"] = info.restore_from.string();
  std::string gpus;
  for (size_t i = 0; i < info.gpu_ids.size(); ++i) gpus += (i > 0 ? "," : "") + std::to_string(info.gpu_ids[i]);
  if (!launched) vars["CUDA_VISIBLE_DEVICES"] = gpus;  // empty: no GPU access (the guide's rule)
  vars["OMP_NUM_THREADS"] = omp_threads(info, spec);
  if (spec.protocol == ProcessSpec::Protocol::kWorker) {
    vars["TUNE_PROTOCOL_FDS"] = launched ? "0,1" : "3,4";
    vars["TUNE_PROTOCOL_VERSION"] = std::to_string(client::kProtocolVersion);
  }
  if (!pinned_objects.empty()) vars[pinned::kEnvVar] = pinned_objects;
  for (const auto& [name, value] : spec.env) vars[name] = value;
  // Inherited by all it starts, and not the trainable's to change: how its leftovers are found
  // (common/process_tree.h).
  vars[kTrialTokenVar] = trial_token(info.experiment_id, info.trial_id);
  return as_environment(vars);
}

std::vector<std::string> zygote_environment(const ProcessSpec& spec, const std::string& omp) {
  std::map<std::string, std::string> vars = inherited_environment();
  vars[zygote::kEnvVar] = "3";
  vars["TUNE_PROTOCOL_FDS"] = "3,4";
  vars["TUNE_PROTOCOL_VERSION"] = std::to_string(client::kProtocolVersion);
  vars["CUDA_VISIBLE_DEVICES"] = "";
  for (const auto& [name, value] : spec.env) vars[name] = value;
  vars["OMP_NUM_THREADS"] = omp;
  return as_environment(vars);
}

std::string spawn_error(int error, const std::string& command) {
  if (error == ENOENT) {
    if (command.find('/') != std::string::npos) {
      return fmt::format("cannot start the trial process: '{}' does not exist (or its interpreter does not)", command);
    }
    const char* path = std::getenv("PATH");
    return fmt::format("cannot start the trial process: command '{}' not found (searched PATH={})", command,
                       path != nullptr ? path : "");
  }
  if (error == EACCES) {
    return fmt::format("cannot start the trial process: permission denied for '{}' (is it executable?)", command);
  }
  if (error == ENOEXEC) return fmt::format("cannot start the trial process: '{}' is not an executable", command);
  return fmt::format("cannot start the trial process '{}': {}", command, std::strerror(error));
}

}  // namespace tune::detail::proc
