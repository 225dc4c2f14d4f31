// tune/tensorboard.h — the TensorBoard logger: scalars and HParams for every trial.
//
// Each trial directory gets an `events.out.tfevents.<time>.<host>` file, so
//   tensorboard --logdir=~/tune_results/my_experiment
// shows every trial's numeric results as scalars (step = training_iteration, wall time = when the
// driver received the result, nested names as `a/b` tags) and, in the HParams dashboard, one row
// per trial with its hyperparameters (the search space's domains), final metrics and status. The
// file is written without TensorFlow or libprotobuf. Records are buffered and written whole, every
// `flush_period_s` and when the trial ends; a crash leaves at most a torn final record, which
// readers skip and a resumed trial truncates before appending.
// Thread-safety: like every Logger, called on the driver thread only.
#pragma once

#include "tune/callback.h"

namespace tune {

struct TensorBoardOptions {
  // Write buffered records at the first result after this many seconds (0: at every result).
  // Records are always written when the trial ends.
  double flush_period_s = 5;
  // Write the HParams plugin's records (experiment, session start and end).
  bool hparams = true;
};

// Throws TuneError for a negative or non-finite flush_period_s.
LoggerFactory tensorboard_logger(TensorBoardOptions options = {});

}  // namespace tune
