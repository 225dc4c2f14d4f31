// Internal: cutting a trial's result files back to a checkpoint.
//
// When a trial restarts from a checkpoint at iteration N (after a failure, on resume, after
// a PAUSE), the results it reported after N are rolled back: result.json, progress.csv and
// the TensorBoard event file keep only iterations <= N (N = 0 empties them), so the results
// that follow are not interleaved with ones that no longer happened. A torn last line (a
// crash's, without its newline) goes too. Results are appended in iteration order, so what
// stays is normally a prefix of each file: it is cut in place (no free space needed, so this
// works on a full disk too). A damaged line (not a result with an integer
// training_iteration) is never deleted: the damaged lines go to <file>.damaged-<n> (the
// first free n), the file is rewritten with its valid rows up to N — those after a damaged
// line included — and the move is reported on stderr.
// Custom loggers own their files; they see the results from N+1 on again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

#include "tune/json.h"

namespace tune::detail {

// `on_kept` sees every result kept in result.json, oldest first. Throws std::system_error
// naming the file when one cannot be read or written.
void rollback_trial_logs(const std::filesystem::path& logdir, int64_t iteration,
                         const std::function<void(Result&&)>& on_kept);

}  // namespace tune::detail
