// tune/object_store.h — large read-only objects (a dataset, model weights) made once in the
// driver and used by every trial without copies: the guide's "Handling Large Datasets".
//
//   tune::PinnedObject X = tune::pin_in_object_store(features);  // e.g. a std::vector<float>
//   options.config = {{"data", X.id()}, {"lr", tune::loguniform(1e-4, 1e-1)}};
//   // in the trainable, in this process or in a process trial:
//   tune::PinnedView<float> x = tune::get_pinned_object<float>(config["data"].get<std::string>());
//
// Where the bytes live: an anonymous memfd, filled once and sealed read-only (F_SEAL_WRITE,
// F_SEAL_GROW, F_SEAL_SHRINK). In-process trials read the driver's own mapping (the same
// address every time, nothing copied). Process trials (tune/process.h) inherit the memfd and
// map the same pages read-only, so 8 process trials reading a pinned 1 GB array cost 1 GB, not
// 8; the process executor passes every object pinned at spawn time (TUNE_PINNED_OBJECTS,
// docs/protocol.md). Clients get them too: tune::client::get_pinned_object (tune/client.h) and
// get_pinned_object in clients/python/tune_client.py (a read-only memoryview).
//
// Lifetime: an object stays pinned while its PinnedObject handle lives: keep the handle across
// tune::run. Destroying it unpins (get_pinned_object no longer finds the id); the memory goes
// when the last PinnedView and the last child process using it are gone. Nothing is named in
// the file system, so a driver that crashes (even by SIGKILL) leaves nothing behind: the
// kernel frees the memfd with the last process that holds it.
//
// Thread-safety: every function here may be called from any thread; a PinnedView is an
// immutable value that may be shared between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "tune/pinned_memory.h"

namespace tune {

namespace detail {
// One pinned object's memory, mapped read-only in this process (shared by the handle and the
// views that use it; implemented in src/object_store/).
struct PinnedRegion {
  virtual ~PinnedRegion() = default;
  std::string id;
  const void* data = nullptr;  // null when empty
  size_t bytes = 0;
  size_t item_size = 1;
  char format = '\0';
};

// A fresh memfd of `bytes`, handed to `fill` (writable), then sealed and mapped read-only.
std::shared_ptr<const PinnedRegion> pin_region(size_t bytes, size_t item_size, char format,
                                               const std::function<void(void* data)>& fill);
// The object `id` pinned here or inherited from the driver, checked against the item type.
std::shared_ptr<const PinnedRegion> find_region(std::string_view id, size_t item_size, char format, bool byte_like);
void unpin(const std::string& id);
}  // namespace detail

// A read-only view of a pinned object as an array of T. Keeps the memory mapped while it
// lives (also after the object is unpinned), so a trainable may hold one.
template <typename T>
class PinnedView {
 public:
  PinnedView() = default;

  const T* data() const { return items_.data(); }
  size_t size() const { return items_.size(); }
  size_t size_bytes() const { return items_.size_bytes(); }
  bool empty() const { return items_.empty(); }
  const T& operator[](size_t i) const { return items_[i]; }
  const T* begin() const { return items_.data(); }
  const T* end() const { return items_.data() + items_.size(); }
  std::span<const T> span() const { return items_; }
  operator std::span<const T>() const { return items_; }  // NOLINT: a view converts to a span
  // The bytes as text (a pinned string).
  std::string_view str() const
    requires pinned::kByteLike<T>
  {
    return {reinterpret_cast<const char*>(items_.data()), items_.size()};
  }
  // The object's id; empty for a default-constructed view.
  const std::string& id() const {
    static const std::string kNone;
    return region_ ? region_->id : kNone;
  }

 private:
  template <typename U>
  friend PinnedView<U> get_pinned_object(std::string_view id);
  explicit PinnedView(std::shared_ptr<const detail::PinnedRegion> region)
      : region_(std::move(region)),
        items_(static_cast<const T*>(region_->data), region_->data == nullptr ? 0 : region_->bytes / sizeof(T)) {}

  std::shared_ptr<const detail::PinnedRegion> region_;
  std::span<const T> items_;
};

template <typename T>
PinnedView<T> get_pinned_object(std::string_view id);

// The handle of a pinned object: pins on creation (pin_in_object_store), unpins on destruction.
// Move-only. Its id() is what configs carry to trials.
class PinnedObject {
 public:
  PinnedObject() = default;  // holds nothing
  PinnedObject(PinnedObject&& other) noexcept = default;
  PinnedObject& operator=(PinnedObject&& other) noexcept {
    if (this != &other) {
      reset();
      region_ = std::move(other.region_);
    }
    return *this;
  }
  PinnedObject(const PinnedObject&) = delete;
  PinnedObject& operator=(const PinnedObject&) = delete;
  ~PinnedObject() { reset(); }

  // "tune-pin-<pid>-<n>": unique on this machine while the driver runs; empty for an empty handle.
  const std::string& id() const {
    static const std::string kNone;
    return region_ ? region_->id : kNone;
  }
  size_t size_bytes() const { return region_ ? region_->bytes : 0; }
  explicit operator bool() const { return region_ != nullptr; }
  // The object as an array of T (checked like get_pinned_object).
  template <typename T>
  PinnedView<T> get() const {
    if (!region_) throw TuneError("PinnedObject::get: the handle is empty (moved from or reset)");
    return get_pinned_object<T>(region_->id);
  }
  // Unpins now; nothing happens on an empty handle.
  void reset() noexcept {
    if (region_) detail::unpin(region_->id);
    region_.reset();
  }

 private:
  template <typename T, typename Fill>
  friend PinnedObject pin_in_object_store(size_t count, Fill&& fill);
  explicit PinnedObject(std::shared_ptr<const detail::PinnedRegion> region) : region_(std::move(region)) {}

  std::shared_ptr<const detail::PinnedRegion> region_;
};

// Pins `count` items of T that `fill(std::span<T>)` writes in place, straight into the shared
// memory (no second copy of a large array in the driver). T must be trivially copyable. Throws
// TuneError when the memory cannot be had; what `fill` throws propagates, and nothing is pinned.
template <typename T, typename Fill>
PinnedObject pin_in_object_store(size_t count, Fill&& fill) {
  static_assert(std::is_trivially_copyable_v<T>, "pin_in_object_store<T>: T must be trivially copyable");
  static_assert(std::is_invocable_v<Fill&, std::span<T>>, "pin_in_object_store<T>(count, fill): fill(std::span<T>)");
  if (count > SIZE_MAX / sizeof(T)) throw TuneError("pin_in_object_store: count is too large");
  return PinnedObject(detail::pin_region(count * sizeof(T), sizeof(T), pinned::format_of<T>(),
                                         [&](void* data) { fill(std::span<T>(static_cast<T*>(data), count)); }));
}

// Pins a copy of raw bytes or a string (read it back as char, unsigned char or std::byte).
inline PinnedObject pin_in_object_store(std::string_view bytes) {
  return pin_in_object_store<char>(bytes.size(), [&](std::span<char> out) {
    if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  });
}

// Pins a copy of a contiguous array of trivially copyable items: std::vector<float>,
// std::span<const double>, std::array<Row, n>, ...
template <std::ranges::contiguous_range R>
  requires std::is_trivially_copyable_v<std::ranges::range_value_t<R>> &&
           (!std::is_convertible_v<const R&, std::string_view>)
PinnedObject pin_in_object_store(const R& items) {
  using T = std::ranges::range_value_t<R>;
  const size_t count = static_cast<size_t>(std::ranges::size(items));
  return pin_in_object_store<T>(count, [&](std::span<T> out) {
    if (count > 0) std::memcpy(out.data(), std::ranges::data(items), count * sizeof(T));
  });
}

// The pinned object `id` as a read-only array of T: the driver's own mapping in the driver's
// process (the same address each time), a read-only shared mapping of the inherited memfd in a
// process trial. Throws TuneError when no object has that id here, or when T does not match
// the pinned items (char, unsigned char and std::byte view any object as bytes; any other T
// must have the pinned item's size and, for arithmetic types, its type).
template <typename T>
PinnedView<T> get_pinned_object(std::string_view id) {
  static_assert(std::is_trivially_copyable_v<T>, "get_pinned_object<T>: T must be trivially copyable");
  return PinnedView<T>(detail::find_region(id, sizeof(T), pinned::format_of<T>(), pinned::kByteLike<T>));
}

}  // namespace tune
