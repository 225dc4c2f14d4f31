// Internal: what the process executor needs of the object store (tune/object_store.h): every
// pinned object of this process, renumbered for a child about to be spawned.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tune/object_store.h"

namespace tune::detail {

struct ChildPinnedObjects {
  // (fd here, fd in the child), ascending: posix_spawn dup2 actions, in this order.
  std::vector<std::pair<int, int>> dup2;
  std::string env;       // the child's TUNE_PINNED_OBJECTS; empty when nothing is pinned
  int next_free_fd = 0;  // the first fd after the objects' (close everything from here)
  // Keeps the descriptors open until the spawn is done, even if a handle goes meanwhile.
  std::vector<std::shared_ptr<const PinnedRegion>> keep;
};

// Every object pinned in this process, and every valid one it inherited, as fds first_fd,
// first_fd + 1, ... of a child. Our own descriptors are all >= 10 and are copied in ascending
// order, so for first_fd <= 10 no copy overwrites a descriptor that is still to be copied.
ChildPinnedObjects pinned_objects_for_child(int first_fd);

}  // namespace tune::detail
