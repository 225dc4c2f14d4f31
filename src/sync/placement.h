// Internal: where a trial's files are when its executor runs it on a node that does not share
// the driver's filesystem — the hook between such an executor (Slurm without a shared
// filesystem) and the runner's sync_to_driver (tune/sync.h).
//
// How an executor uses it:
//  * once it knows where a trial runs, it sets ExecutorEvent::placement on the trial's next
//    event (any type; later events may leave it empty). The trial's TUNE_TRIAL_DIR on that node
//    is `remote_dir`, and paths the runner hands over (save_trial's dir) must be read as the
//    same path under remote_dir there: the runner pulls <node>:<remote_dir>/ into the local
//    trial directory (sync_config.sync_to_driver) before it commits a checkpoint (kSaved, or a
//    result with should_checkpoint), and when the trial ends or fails;
//  * before a restarted trial restores on a node, it calls StartRequest::push_checkpoint with
//    the placement: the checkpoint is copied to <node>:<remote_dir>/<checkpoint name>/ and that
//    path (on the node) is what the trial must restore from.
// Thread-safety: a value type.
#pragma once

#include <filesystem>
#include <string>

namespace tune::detail {

struct TrialPlacement {
  // An rsync/ssh host ("node07", "user@10.0.0.7"); empty: a directory of this machine.
  std::string node;
  // The trial's directory on that node (absolute).
  std::filesystem::path remote_dir;

  // The directory's contents in rsync's spelling: "node07:/scratch/t1/" or "/scratch/t1/".
  std::string location() const {
    std::string path = remote_dir.string();
    if (path.empty() || path.back() != '/') path += '/';
    return node.empty() ? path : node + ":" + path;
  }
  bool operator==(const TrialPlacement&) const = default;
};

}  // namespace tune::detail
