// The object store: pinned objects as sealed memfds (tune/object_store.h), found by id from any
// trainable of this process, inherited by process trials (tune/pinned_memory.h).
#include "object_store/object_store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "tune/error.h"

namespace tune::detail {
namespace {

// Our memfds live at or above this fd (see pinned_objects_for_child).
constexpr int kFdFloor = 10;

class Region final : public PinnedRegion {
 public:
  Region() = default;
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  ~Region() override {
    mapping = {};  // unmapped before the descriptor goes
    if (fd >= 0) ::close(fd);
  }

  int fd = -1;  // owned: close-on-exec, >= kFdFloor
  pinned::Mapping mapping;
};

// A close-on-exec copy of `fd` at or above kFdFloor; closes `fd` when `owned`.
int lift(int fd, bool owned, const std::string& what) {
  const int lifted = ::fcntl(fd, F_DUPFD_CLOEXEC, kFdFloor);
  const int error = errno;
  if (owned) ::close(fd);
  if (lifted < 0) throw TuneError(fmt::format("{}: cannot duplicate a descriptor: {}", what, std::strerror(error)));
  return lifted;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

// Pinned objects are found by id from any trainable, on any thread, and their memory belongs
// to the process: the one justified piece of process-wide state here. Never destroyed, so no
// PinnedObject in a static outlives its store.
class ObjectStore {
 public:
  static ObjectStore& instance() {
    static ObjectStore* store = new ObjectStore;  // NOLINT: intentionally never destroyed
    return *store;
  }

  std::string next_id() { return fmt::format("tune-pin-{}-{}", ::getpid(), next_.fetch_add(1)); }

  void add(std::shared_ptr<const Region> region) {
    std::lock_guard lock(mutex_);
    pinned_[region->id] = std::move(region);
  }

  void remove(const std::string& id) {
    std::shared_ptr<const Region> last;  // destroyed after the lock is released
    std::lock_guard lock(mutex_);
    if (auto it = pinned_.find(id); it != pinned_.end()) {
      last = std::move(it->second);
      pinned_.erase(it);
    }
  }

  std::shared_ptr<const Region> find(std::string_view id) {
    std::lock_guard lock(mutex_);
    if (auto it = pinned_.find(id); it != pinned_.end()) return it->second;
    if (auto it = attached_.find(id); it != attached_.end()) return it->second;
    const std::vector<pinned::Descriptor>& inherited = inherited_locked();
    for (const pinned::Descriptor& d : inherited) {
      if (d.id == id) return attach_locked(d);
    }
    std::vector<std::string> here, from_driver;
    for (const auto& [name, region] : pinned_) here.push_back(name);
    for (const pinned::Descriptor& d : inherited) from_driver.push_back(d.id);
    throw TuneError(fmt::format(
        "get_pinned_object: no pinned object '{}' (pinned in this process: {}; inherited through {}: {}); an object "
        "reaches a process trial only when it is pinned before the trial starts",
        id, joined(here), pinned::kEnvVar, joined(from_driver)));
  }

  std::vector<std::shared_ptr<const Region>> all() {
    std::lock_guard lock(mutex_);
    try {
      for (const pinned::Descriptor& d : inherited_locked()) {
        if (!attached_.contains(d.id) && !pinned_.contains(d.id)) attach_locked(d);
      }
    } catch (const TuneError&) {
      // A malformed or stale TUNE_PINNED_OBJECTS: get_pinned_object says what is wrong when
      // asked; children simply do not inherit what this process cannot read.
    }
    std::vector<std::shared_ptr<const Region>> out;
    for (const auto& [id, region] : pinned_) out.push_back(region);
    for (const auto& [id, region] : attached_) out.push_back(region);
    return out;
  }

 private:
  ObjectStore() = default;

  const std::vector<pinned::Descriptor>& inherited_locked() {
    if (!inherited_) {
      const char* value = std::getenv(pinned::kEnvVar);
      inherited_ = pinned::decode(value != nullptr ? value : "");
    }
    return *inherited_;
  }

  std::shared_ptr<const Region> attach_locked(const pinned::Descriptor& d) {
    auto region = std::make_shared<Region>();
    region->mapping = pinned::attach(d);
    // Our own copy of the descriptor, for the children of this process; the inherited one is
    // left alone (it belongs to whatever else this process runs).
    region->fd = lift(d.fd, /*owned=*/false, "pinned object '" + d.id + "'");
    region->id = d.id;
    region->data = region->mapping.data();
    region->bytes = d.bytes;
    region->item_size = d.item_size;
    region->format = d.format;
    attached_[d.id] = region;
    return region;
  }

  std::mutex mutex_;
  std::atomic<uint64_t> next_{1};
  std::map<std::string, std::shared_ptr<const Region>, std::less<>> pinned_;    // held by handles
  std::map<std::string, std::shared_ptr<const Region>, std::less<>> attached_;  // inherited: the process's life
  std::optional<std::vector<pinned::Descriptor>> inherited_;                    // parsed on first use
};

}  // namespace

std::shared_ptr<const PinnedRegion> pin_region(size_t bytes, size_t item_size, char format,
                                               const std::function<void(void* data)>& fill) {
  ObjectStore& store = ObjectStore::instance();
  auto region = std::make_shared<Region>();
  region->id = store.next_id();
  const std::string what = "pin_in_object_store";
  const int fd = ::memfd_create(region->id.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) throw TuneError(fmt::format("{}: memfd_create failed: {}", what, std::strerror(errno)));
  region->fd = lift(fd, /*owned=*/true, what);
  if (bytes > 0) {
    // Reserved up front: a machine without the memory says so here, not by SIGBUS in fill().
    if (const int rc = ::posix_fallocate(region->fd, 0, static_cast<off_t>(bytes)); rc != 0) {
      throw TuneError(fmt::format("{}: cannot reserve {} bytes of shared memory: {}", what, bytes, std::strerror(rc)));
    }
    void* writable = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, region->fd, 0);
    if (writable == MAP_FAILED) {
      throw TuneError(fmt::format("{}: cannot map {} bytes: {}", what, bytes, std::strerror(errno)));
    }
    // The writable mapping must be gone before F_SEAL_WRITE, also when fill() throws.
    const pinned::Mapping unmap_after_fill(writable, bytes);
    fill(writable);
  }
  if (::fcntl(region->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    throw TuneError(fmt::format("{}: cannot seal the object read-only: {}", what, std::strerror(errno)));
  }
  region->mapping = pinned::map_read_only(region->fd, bytes, region->id);
  region->data = region->mapping.data();
  region->bytes = bytes;
  region->item_size = item_size;
  region->format = format;
  store.add(region);
  return region;
}

std::shared_ptr<const PinnedRegion> find_region(std::string_view id, size_t item_size, char format, bool byte_like) {
  std::shared_ptr<const Region> region = ObjectStore::instance().find(id);
  pinned::check_item_type(region->id, region->item_size, region->format, item_size, format, byte_like);
  return region;
}

void unpin(const std::string& id) { ObjectStore::instance().remove(id); }

ChildPinnedObjects pinned_objects_for_child(int first_fd) {
  if (first_fd > kFdFloor) throw std::logic_error("pinned_objects_for_child: first_fd must be <= 10");
  std::vector<std::shared_ptr<const Region>> regions = ObjectStore::instance().all();
  std::sort(regions.begin(), regions.end(), [](const auto& a, const auto& b) { return a->fd < b->fd; });
  ChildPinnedObjects out;
  std::vector<pinned::Descriptor> descriptors;
  int target = first_fd;
  for (const auto& region : regions) {
    out.dup2.emplace_back(region->fd, target);
    descriptors.push_back({region->id, target, region->bytes, region->item_size, region->format});
    out.keep.push_back(region);
    ++target;
  }
  out.env = pinned::encode(descriptors);
  out.next_free_fd = target;
  return out;
}

}  // namespace tune::detail
