// Internal: the one owner of the on-disk experiment state format — the file names, and
// every record kind of the journal (experiment_state.jsonl) with its encoder and decoder
// side by side, as LevelDB's version_edit.cc keeps EncodeTo and DecodeFrom together.
// The runner's store (runner/experiment_store.h) writes records only through encode();
// the replay (experiment_state.cc) reads them only through decode_record(). No other code
// spells a record kind.
//
// A record is one JSON object {"e": <kind>, ...fields}; the records of one runner event are
// one line, a kBatch record {"e":"batch","r":[...]} when there are several
// (runner/experiment_journal.h). Decoders are lenient in the same way the format always was:
// a missing field takes its default, a field of the wrong type throws (nlohmann's type_error).
// Thread-safety: plain functions and values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tune/json.h"

namespace tune::detail {

// --- File names of an experiment directory -------------------------------------------------
inline constexpr const char* kSnapshotFile = "experiment_state.json";  // compacted snapshot
inline constexpr const char* kJournalFile = "experiment_state.jsonl";  // append-only journal
// What every state file's name starts with (the two above and their temporary files).
inline constexpr std::string_view kStateFilePrefix = "experiment_state";
inline constexpr int kStateVersion = 2;
// Written before each upload (sync_config): {"journal_bytes": N}, the journal's length when the
// upload began. The files uploaded after it are at least that new, so the journal cut to N bytes
// (without the snapshot, which may be newer) is a consistent state to resume = "REMOTE" from.
inline constexpr const char* kUploadMarkFile = ".tune_upload.json";

// --- Record kinds --------------------------------------------------------------------------
enum class RecordKind {
  kHead,              // "head": the experiment's identity and settings; the journal's first line
  kStart,             // "start": a session (first run or resume) began
  kAdd,               // "add": a trial was created
  kDir,               // "dir": a trial's first start, with its directory
  kRun,               // "run": a trial started again (paused, failed, resumed)
  kPause,             // "pause": a scheduler paused a trial; it waits to be chosen again
  kCheckpoint,        // "ckpt": a checkpoint was committed (and older ones dropped)
  kFail,              // "fail": a trial failed (a retry, or its end, follows)
  kStatus,            // "status": a trial's status (read only; older journals)
  kEnd,               // "end": a trial finished, with its whole record
  kConfig,            // "config": a trial got a new config (PBT exploit, reconfigure)
  kSchedulerState,    // "sched": the scheduler's whole save()
  kSchedulerChanges,  // "schedc": changes to the scheduler state of the "sched" before
  kSearcherState,     // "srch": the searcher's whole save() (once per session)
  kSearcherChanges,   // "srchc": changes to the searcher state since
  kDone,              // "done": the run ended by itself
  kBatch,             // "batch": the records of one event, {"r": [...]}
};

std::string_view to_string(RecordKind kind);
// How a journal line holding several records begins (the kBatch record, its list opened).
inline constexpr std::string_view kBatchOpen = R"({"e":"batch","r":[)";
// nullopt for a kind this version does not know (a reader skips it).
std::optional<RecordKind> record_kind_from_string(std::string_view name);

// --- Records -------------------------------------------------------------------------------
// The experiment's identity: the journal's head record and the snapshot's header share it.
struct HeadRecord {
  std::string name;
  std::string experiment_id;
  std::string trainable;
  std::string metric;
  std::string mode;
  Json spec;    // the run's settings (compared on resume)
  Json source;  // the spec file as given, when there was one
  // Decoded only: every field as read ("e" left out), the version and any this version does
  // not name included; the stored experiment's header is this.
  Json fields = Json::object();
};
struct StartRecord {
  int64_t time = 0;  // seconds since the epoch
};
struct AddRecord {
  int64_t index = 0;
  std::string trial_id;
  std::string name;
  std::string tag;
  Json config = Json::object();
  std::optional<std::string> replaces;  // the errored trial it reruns (resume errored_only)
  std::optional<Json> searcher_state;   // read only: older journals kept it here
};
struct DirRecord {
  int64_t index = -1;
  std::string dir;  // relative to the experiment directory (absolute when outside it)
};
struct RunRecord {
  int64_t index = -1;
};
struct PauseRecord {
  int64_t index = -1;
};
struct CheckpointRecord {
  int64_t index = -1;
  Json checkpoint = Json::object();  // CheckpointEntry::to_json()
  std::vector<std::string> deleted;  // checkpoint directories it drops
};
struct FailRecord {
  int64_t index = -1;
  int num_failures = 0;
  std::string message;
};
struct StatusRecord {
  int64_t index = -1;
  std::string status = "PENDING";
};
struct EndRecord {
  int64_t index = -1;
  Json trial = Json::object();  // TrialRecord::to_json() plus index, tag, num_failures
};
struct ConfigRecord {
  int64_t index = -1;
  Json config = Json::object();
  std::string tag;
  std::string from;  // the trial whose config (and checkpoint) it took
};
struct SchedulerStateRecord {
  Json state;
};
struct SchedulerChangesRecord {
  Json changes = Json::array();  // state_changes_to_json()
};
struct SearcherStateRecord {
  Json state;
};
struct SearcherChangesRecord {
  Json changes = Json::array();
};
struct DoneRecord {};

using StateRecord =
    std::variant<HeadRecord, StartRecord, AddRecord, DirRecord, RunRecord, PauseRecord, CheckpointRecord, FailRecord,
                 StatusRecord, EndRecord, ConfigRecord, SchedulerStateRecord, SchedulerChangesRecord,
                 SearcherStateRecord, SearcherChangesRecord, DoneRecord>;

// The record as its JSON object, "e" included.
Json encode(const StateRecord& record);
// The head's fields (version included, no "e"): the snapshot's header starts with them.
Json encode_head_fields(const HeadRecord& head);

// A journal line decoded: a batch's records, or the one record. Kinds this version does not
// know are skipped; a record that is not an object, or a batch without a list of records (or
// one holding a batch), throws TuneError saying what is wrong.
std::vector<StateRecord> decode_line(Json& line);
// One record (not a batch). nullopt for an unknown kind.
std::optional<StateRecord> decode_record(Json& record);

}  // namespace tune::detail
