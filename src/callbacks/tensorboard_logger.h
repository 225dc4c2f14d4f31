// TensorBoardWriter: the core of the TensorBoard logger, over plain values so it is testable alone.
//
// Writes one trial's event file: a `brain.Event:2` header, one Event per result holding a
// scalar Summary.Value (simple_value) per numeric leaf, and the HParams plugin's records:
//  * `_hparams_/session_start_info` when the file is opened (the trial's hyperparameter values);
//  * `_hparams_/experiment` at close: the hparam infos from the search space (discrete values for
//    grid_search/choice, intervals for the numeric ranges) and a metric info per scalar tag seen.
//    It goes into every trial's file, as tensorboardX does: TensorBoard takes the first it finds,
//    and until one exists it infers the experiment from the session records and scalars;
//  * `_hparams_/session_end_info` at close when the trial is TERMINATED (success) or ERROR (failure).
// Choices: wall_time is the clock at on_result (the driver's receipt of the result, finer than the
// result's whole-second `timestamp`); bools, strings, nulls, arrays and NaN are skipped (as Ray's
// TBXLogger does), +/-inf is written; `config`, `pid` and `timestamp` are not logged.
// Reopening a trial directory that has an event file appends to the newest one after its last
// complete record (a torn tail is cut first) and does not repeat the header or HParams records.
// Thread-safety: none; one writer per trial, used on one thread.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "tune/json.h"
#include "tune/search_space.h"
#include "tune/trial.h"

namespace tune::detail {

struct TensorBoardWriterOptions {
  double flush_period_s = 5;  // see TensorBoardOptions
  bool hparams = true;
  // Look for an event file to continue (a resumed trial); false for a trial known to be new,
  // which skips the directory scan.
  bool resume = true;
  // Seconds since the Unix epoch, for wall times and the flush period; empty: the system clock.
  std::function<double()> clock;
};

// Throws TuneError unless `flush_period_s` is finite and >= 0.
void validate_flush_period(double flush_period_s);

class TensorBoardWriter {
 public:
  static constexpr std::string_view kFilePrefix = "events.out.tfevents.";

  // Creates `logdir` if needed and opens (or resumes) the event file there. `space` is not kept; when it
  // is null or holds no domain, every config value is an hparam and no experiment record is written
  // (TensorBoard then infers the experiment from the sessions).
  // Throws std::system_error when the file cannot be opened or written.
  TensorBoardWriter(const std::filesystem::path& logdir, const Config& config, const Space* space,
                    std::string experiment_name, TensorBoardWriterOptions options = {});
  ~TensorBoardWriter();  // writes what is still buffered (errors are dropped)
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  void on_result(const Result& result);
  // Writes the buffered records with one write() of whole records.
  void flush();
  // Writes the experiment and (for TERMINATED/ERROR) session end records once, then flushes.
  void close(TrialStatus status);

  const std::filesystem::path& path() const { return path_; }

 private:
  struct TransparentHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };

  double now() const;
  void open_file(const std::filesystem::path& logdir);
  void note_existing_record(std::string_view event);
  void add_hparams(const Config& config, const Space* space);
  void encode_scalars(const Json& object, bool top);
  void note_metric_tag();
  void append_event(double wall_time, int64_t step, std::string_view what_field);
  void append_hparams_event(std::string_view tag, uint32_t data_field, std::string_view message);
  std::string session_start_info() const;

  TensorBoardWriterOptions options_;
  std::string experiment_name_;
  std::filesystem::path path_;
  int fd_ = -1;
  uint64_t file_bytes_ = 0;  // bytes known to be in the file: a failed write is cut back to this
  std::string pending_;      // whole framed records not yet written
  double last_flush_ = 0;
  // Reused across results so the steady state allocates nothing.
  std::string tag_;
  std::string summary_;
  std::string event_;
  std::string record_;

  std::string hparam_values_;  // encoded SessionStartInfo.hparams map entries
  std::string hparam_infos_;   // encoded Experiment.hparam_infos; empty: no experiment record
  double start_time_ = 0;
  std::vector<std::string> metric_tags_;  // first-seen order, for the experiment's metric infos
  std::unordered_set<std::string, TransparentHash, std::equal_to<>> metric_tag_set_;
  // The scalar tags of the previous result in order: a result with the same tags skips the set.
  std::vector<std::string> previous_tags_;
  size_t tag_position_ = 0;
  bool wrote_session_start_ = false;
  bool wrote_experiment_ = false;
  bool wrote_session_end_ = false;
};

}  // namespace tune::detail
