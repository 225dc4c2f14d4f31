// Checking the paths a state file names (see state_paths.h).
#include "analysis/state_paths.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace tune::detail {
namespace {

namespace fs = std::filesystem;

// True when `path` is `base` or below it; both lexically normal and absolute.
bool is_below(const fs::path& base, const fs::path& path) {
  const fs::path relative = path.lexically_relative(base);
  return !relative.empty() && *relative.begin() != ".." && relative != ".";
}

fs::path absolute_normal(const fs::path& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  if (ec) absolute = path;
  absolute = absolute.lexically_normal();
  // "a/b/" normalises to "a/b/" (an empty last element): drop it so comparisons see "a/b".
  if (!absolute.empty() && absolute.filename().empty()) absolute = absolute.parent_path();
  return absolute;
}

}  // namespace

ContainedPath resolve_inside(const std::filesystem::path& base, std::string_view stored) {
  return InsideChecker(base).resolve(stored);
}

InsideChecker::InsideChecker(const std::filesystem::path& base) : root_(absolute_normal(base)) {
  real_root_ = fs::weakly_canonical(root_, real_root_error_);
  root_fd_ = UniqueFd(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
}

ContainedPath InsideChecker::resolve(std::string_view stored) const {
  ContainedPath out;
  if (stored.empty()) {
    out.error = "is empty";
    return out;
  }
  if (stored.find('\0') != std::string_view::npos) {
    out.error = "holds a NUL byte";
    return out;
  }
  // The common shape: relative, lexically normal ("a/b", no "", "." or ".." part). It is below
  // the root by its letters; by its links too unless one of its parts that exists is a link.
  if (stored.front() == '/' || real_root_error_) return resolve_general(stored);
  std::string candidate = root_.string();
  if (!candidate.empty() && candidate.back() == '/') candidate.pop_back();  // the root "/"
  const size_t relative_at = candidate.size() + 1;  // where the stored path starts in candidate
  // Part by part: each must be plain, and each that exists is looked up without following it,
  // relative to the base's descriptor (one lookup per part) when there is one, else by the
  // absolute path.
  bool exists = true;
  for (size_t begin = 0; begin <= stored.size();) {
    const size_t end = std::min(stored.find('/', begin), stored.size());
    const std::string_view part = stored.substr(begin, end - begin);
    if (part.empty() || part == "." || part == "..") return resolve_general(stored);
    candidate += '/';
    candidate += part;
    if (exists) {
      struct stat info {};
      const int looked = root_fd_ ? ::fstatat(root_fd_.get(), candidate.c_str() + relative_at, &info, AT_SYMLINK_NOFOLLOW)
                                  : ::lstat(candidate.c_str(), &info);
      if (looked != 0) {
        if (errno != ENOENT && errno != ENOTDIR) return resolve_general(stored);
        exists = false;  // nothing further exists to follow
      } else if (S_ISLNK(info.st_mode)) {
        return resolve_general(stored);
      }
    }
    begin = end + 1;
  }
  out.path = std::move(candidate);
  return out;
}

ContainedPath InsideChecker::resolve_general(std::string_view stored) const {
  ContainedPath out;
  const fs::path given{std::string(stored)};
  for (const fs::path& part : given) {
    if (part == "..") {
      out.error = fmt::format("'{}' goes through '..'", stored);
      return out;
    }
  }
  const fs::path candidate = absolute_normal(given.is_absolute() ? given : root_ / given);
  if (!is_below(root_, candidate)) {
    out.error = fmt::format("'{}' leads outside {}", stored, root_.string());
    return out;
  }
  // Where it exists, following its symlinks must not lead out either (a trial directory, or a
  // directory above it, replaced by a link to /etc).
  std::error_code ec = real_root_error_;
  const fs::path real = ec ? fs::path() : fs::weakly_canonical(candidate, ec);
  if (ec || !is_below(real_root_, real)) {
    out.error = fmt::format("'{}' leads outside {} through a symbolic link{}", stored, root_.string(),
                            ec ? " (" + ec.message() + ")" : std::string());
    return out;
  }
  out.path = candidate;
  return out;
}

std::string checkpoint_name_error(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name == "." || name == "..") return fmt::format("'{}' is not a directory name", name);
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return fmt::format("'{}' must be one directory name inside the trial directory", name);
  }
  return {};
}

std::string checkpoint_entry_error(const Json& checkpoint) {
  if (!checkpoint.is_object()) return "a checkpoint must be an object";
  auto dir = checkpoint.find("dir");
  if (dir == checkpoint.end() || !dir->is_string()) return "field 'dir': must be a string";
  const std::string why = checkpoint_name_error(dir->get_ref<const std::string&>());
  return why.empty() ? why : "field 'dir': " + why;
}

std::string trial_paths_error(const std::filesystem::path& experiment_dir, const Json& trial) {
  return trial_paths_error(InsideChecker(experiment_dir), trial);
}

std::string trial_paths_error(const InsideChecker& experiment_dir, const Json& trial) {
  if (!trial.is_object()) return {};  // not a trial: the record's own decoder says so
  std::string_view stored;
  auto logdir = trial.find("logdir");
  if (logdir != trial.end() && !logdir->is_null()) {
    if (!logdir->is_string()) return "field 'logdir': must be a string";
    stored = logdir->get_ref<const std::string&>();
  }
  auto checkpoints = trial.find("checkpoints");
  return trial_paths_error(experiment_dir, stored, checkpoints == trial.end() ? nullptr : &*checkpoints);
}

std::string trial_paths_error(const InsideChecker& experiment_dir, std::string_view logdir, const Json* checkpoints) {
  if (!logdir.empty()) {
    if (ContainedPath inside = experiment_dir.resolve(logdir); !inside) return "field 'logdir': " + inside.error;
  }
  if (checkpoints == nullptr || !checkpoints->is_array()) return {};
  for (size_t k = 0; k < checkpoints->size(); ++k) {
    if (std::string why = checkpoint_entry_error((*checkpoints)[k]); !why.empty()) {
      return fmt::format("checkpoints[{}]: {}", k, why);
    }
  }
  return {};
}

}  // namespace tune::detail
