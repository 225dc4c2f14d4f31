// The experiment state's record kinds: each encoder beside its decoder (see state_records.h).
#include "analysis/state_records.h"

#include <array>
#include <utility>

#include "tune/error.h"

namespace tune::detail {
namespace {

// Index = the RecordKind's value.
constexpr std::array<std::string_view, 17> kKindNames = {
    "head", "start", "add",    "dir",   "run",  "pause", "ckpt", "fail",  "status",
    "end",  "config", "sched", "schedc", "srch", "srchc", "done", "batch"};
static_assert(kKindNames.size() == static_cast<size_t>(RecordKind::kBatch) + 1);

// A record: its kind "e" and `fields`.
Json tagged(RecordKind kind, Json fields = Json::object()) {
  fields["e"] = std::string(to_string(kind));
  return fields;
}
// A record about one trial: its kind, the trial's index "i", and `fields`.
Json about_trial(RecordKind kind, int64_t index, Json fields = Json::object()) {
  fields["i"] = index;
  return tagged(kind, std::move(fields));
}

// --- Encoders, in the order of RecordKind --------------------------------------------------
Json encode_one(const HeadRecord& r) { return tagged(RecordKind::kHead, encode_head_fields(r)); }
Json encode_one(const StartRecord& r) { return tagged(RecordKind::kStart, {{"time", r.time}}); }
Json encode_one(const AddRecord& r) {
  Json out =
      about_trial(RecordKind::kAdd, r.index, {{"id", r.trial_id}, {"name", r.name}, {"tag", r.tag}, {"config", r.config}});
  if (r.replaces) out["replaces"] = *r.replaces;
  if (r.searcher_state) out["s"] = *r.searcher_state;
  return out;
}
Json encode_one(const DirRecord& r) { return about_trial(RecordKind::kDir, r.index, {{"dir", r.dir}}); }
Json encode_one(const RunRecord& r) { return about_trial(RecordKind::kRun, r.index); }
Json encode_one(const PauseRecord& r) { return about_trial(RecordKind::kPause, r.index); }
Json encode_one(const CheckpointRecord& r) {
  return about_trial(RecordKind::kCheckpoint, r.index, {{"c", r.checkpoint}, {"del", r.deleted}});
}
Json encode_one(const FailRecord& r) {
  return about_trial(RecordKind::kFail, r.index, {{"n", r.num_failures}, {"msg", r.message}});
}
Json encode_one(const StatusRecord& r) { return about_trial(RecordKind::kStatus, r.index, {{"status", r.status}}); }
Json encode_one(const EndRecord& r) { return about_trial(RecordKind::kEnd, r.index, {{"trial", r.trial}}); }
Json encode_one(const ConfigRecord& r) {
  return about_trial(RecordKind::kConfig, r.index, {{"config", r.config}, {"tag", r.tag}, {"from", r.from}});
}
Json encode_one(const SchedulerStateRecord& r) { return tagged(RecordKind::kSchedulerState, {{"s", r.state}}); }
Json encode_one(const SchedulerChangesRecord& r) {
  return tagged(RecordKind::kSchedulerChanges, {{"c", r.changes}});
}
Json encode_one(const SearcherStateRecord& r) { return tagged(RecordKind::kSearcherState, {{"s", r.state}}); }
Json encode_one(const SearcherChangesRecord& r) { return tagged(RecordKind::kSearcherChanges, {{"c", r.changes}}); }
Json encode_one(const DoneRecord&) { return tagged(RecordKind::kDone); }

// --- Decoders, in the same order ------------------------------------------------------------
int64_t index_of(const Json& record) { return record.value("i", int64_t{-1}); }

StateRecord decode_as(RecordKind kind, Json& record) {
  switch (kind) {
    case RecordKind::kHead: {
      // Kept whole: the header is read field by field where it is used (resume, analysis).
      record.erase("e");
      HeadRecord r;
      r.fields = std::move(record);
      return r;
    }
    case RecordKind::kStart:
      return StartRecord{record.value("time", int64_t{0})};
    case RecordKind::kAdd: {
      AddRecord r;
      r.index = record.value("i", int64_t{0});
      r.trial_id = record.value("id", "");
      r.name = record.value("name", "");
      r.tag = record.value("tag", "");
      r.config = record.value("config", Json::object());
      if (auto it = record.find("replaces"); it != record.end() && it->is_string()) r.replaces = it->get<std::string>();
      if (auto it = record.find("s"); it != record.end()) r.searcher_state = std::move(*it);
      return r;
    }
    case RecordKind::kDir:
      return DirRecord{index_of(record), record.value("dir", "")};
    case RecordKind::kRun:
      return RunRecord{index_of(record)};
    case RecordKind::kPause:
      return PauseRecord{index_of(record)};
    case RecordKind::kCheckpoint: {
      CheckpointRecord r;
      r.index = index_of(record);
      r.checkpoint = record.value("c", Json::object());
      if (auto it = record.find("del"); it != record.end() && it->is_array()) {
        for (const Json& gone : *it) {
          if (gone.is_string()) r.deleted.push_back(gone.get<std::string>());
        }
      }
      return r;
    }
    case RecordKind::kFail:
      return FailRecord{index_of(record), record.value("n", 0), record.value("msg", "")};
    case RecordKind::kStatus:
      return StatusRecord{index_of(record), record.value("status", "PENDING")};
    case RecordKind::kEnd:
      return EndRecord{index_of(record), record.value("trial", Json::object())};
    case RecordKind::kConfig:
      return ConfigRecord{index_of(record), record.value("config", Json::object()), record.value("tag", ""),
                          record.value("from", "")};
    case RecordKind::kSchedulerState:
      return SchedulerStateRecord{record.value("s", Json())};
    case RecordKind::kSchedulerChanges:
      return SchedulerChangesRecord{record.value("c", Json::array())};
    case RecordKind::kSearcherState:
      return SearcherStateRecord{record.value("s", Json())};
    case RecordKind::kSearcherChanges:
      return SearcherChangesRecord{record.value("c", Json::array())};
    case RecordKind::kDone:
      return DoneRecord{};
    case RecordKind::kBatch:
      break;
  }
  throw TuneError("a batch holds records (JSON objects, not batches), got " + record.dump().substr(0, 80));
}

}  // namespace

std::string_view to_string(RecordKind kind) { return kKindNames[static_cast<size_t>(kind)]; }

std::optional<RecordKind> record_kind_from_string(std::string_view name) {
  for (size_t k = 0; k < kKindNames.size(); ++k) {
    if (kKindNames[k] == name) return static_cast<RecordKind>(k);
  }
  return std::nullopt;
}

Json encode_head_fields(const HeadRecord& head) {
  return Json{{"version", kStateVersion}, {"name", head.name},     {"experiment_id", head.experiment_id},
              {"trainable", head.trainable}, {"metric", head.metric}, {"mode", head.mode},
              {"spec", head.spec},           {"source", head.source}};
}

Json encode(const StateRecord& record) {
  return std::visit([](const auto& r) { return encode_one(r); }, record);
}

std::optional<StateRecord> decode_record(Json& record) {
  const std::optional<RecordKind> kind = record_kind_from_string(record.value("e", ""));
  if (!kind) return std::nullopt;
  return decode_as(*kind, record);
}

std::vector<StateRecord> decode_line(Json& line) {
  std::vector<StateRecord> out;
  if (record_kind_from_string(line.value("e", "")) != RecordKind::kBatch) {
    if (auto record = decode_record(line)) out.push_back(std::move(*record));
    return out;
  }
  auto it = line.find("r");
  if (it == line.end() || !it->is_array()) throw TuneError("a batch record needs 'r', a list of records");
  for (Json& inner : *it) {
    if (!inner.is_object() || record_kind_from_string(inner.value("e", "")) == RecordKind::kBatch) {
      throw TuneError("a batch holds records (JSON objects, not batches), got " + inner.dump().substr(0, 80));
    }
    if (auto record = decode_record(inner)) out.push_back(std::move(*record));
  }
  return out;
}

}  // namespace tune::detail
