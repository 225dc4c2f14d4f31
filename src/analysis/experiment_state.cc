// Reading an experiment's snapshot and journal (see experiment_state.h).
#include "analysis/experiment_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <functional>
#include <map>
#include <variant>

#include "analysis/snapshot_scan.h"
#include "analysis/state_paths.h"
#include "common/untrusted_json.h"
#include "tune/error.h"
#include "tune/scheduler.h"

namespace tune::detail {
namespace {

namespace fs = std::filesystem;

double number_or_nan(const Json& value) {
  return value.is_number() ? value.get<double>() : std::numeric_limits<double>::quiet_NaN();
}

void check_version(const fs::path& file, const Json& version) {
  if (version.is_number_integer() && (version.get<int64_t>() == 1 || version.get<int64_t>() == kStateVersion)) return;
  throw TuneError(fmt::format("{}: 'version' must be 1 or {}, got {} (written by a newer tune?)", file.string(),
                              kStateVersion, version.dump()));
}

// A record naming a path outside (state_paths.h): an error, or (kSkip) a warning and false.
// `where` names the record; it is only called for a message.
bool paths_ok(const std::string& why, const std::function<std::string()>& where, UnsafePaths unsafe,
              StoredExperiment& out) {
  if (why.empty()) return true;
  const std::string message = fmt::format("{}: {}", where(), why);
  if (unsafe == UnsafePaths::kRefuse) {
    throw TuneError(message + " (the state file is damaged or was tampered with; nothing was written)");
  }
  out.warnings.push_back(message + "; left out");
  return false;
}

void finish_snapshot_header(const fs::path& file, Json header, StoredExperiment& out);

// Streams the snapshot: each trial becomes a record (or a kept JSON state) as soon as its
// object ends, so a million-trial snapshot never exists as one JSON tree.
void read_snapshot(const fs::path& file, const fs::path& experiment_dir, UnsafePaths unsafe, StoredExperiment& out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw TuneError(fmt::format("cannot read '{}'", file.string()));
  std::error_code ec;
  if (const uintmax_t size = fs::file_size(file, ec); !ec) out.finished.reserve(size / 256);
  std::string top_key;
  bool in_array = false;
  const InsideChecker inside(experiment_dir);
  auto on_event = [&](int depth, Json::parse_event_t event, Json& parsed) -> bool {
    using Event = Json::parse_event_t;
    if ((event == Event::object_start || event == Event::array_start) && depth >= static_cast<int>(kMaxJsonDepth)) {
      throw TuneError(fmt::format("{}: is nested deeper than {} levels (damaged or not written by tune)",
                                  file.string(), kMaxJsonDepth));
    }
    if (depth == 1 && event == Event::key) {
      top_key = parsed.get<std::string>();
    } else if (depth == 1 && event == Event::value && top_key == "version") {
      check_version(file, parsed);  // before any record, so a newer format fails clearly
    } else if (depth == 1 && (top_key == "trials" || top_key == "live") &&
               (event == Event::array_start || event == Event::array_end)) {
      in_array = event == Event::array_start;
    } else if (depth == 2 && in_array && event == Event::object_end) {
      auto where = [&] {
        const size_t index = top_key == "trials" ? out.finished.size() : out.unfinished.size();
        return fmt::format("{}: trial {} of '{}'", file.string(), index, top_key);
      };
      if (!paths_ok(trial_paths_error(inside, parsed), where, unsafe, out)) return false;
      try {
        if (top_key == "trials") {
          out.finished.push_back(TrialRecord::from_json(parsed, experiment_dir));
        } else {
          out.unfinished.push_back(std::move(parsed));
        }
      } catch (const TuneError& error) {
        throw TuneError(fmt::format("{}: {}", file.string(), error.what()));
      }
      return false;  // the trial's JSON is kept elsewhere now
    }
    return true;
  };
  Json header = Json::parse(in, on_event, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) {
    throw TuneError(fmt::format("{}: is not a JSON object (truncated or corrupt)", file.string()));
  }
  finish_snapshot_header(file, std::move(header), out);
}

// The snapshot's top-level fields once its trials are read (by either reader).
void finish_snapshot_header(const fs::path& file, Json header, StoredExperiment& out) {
  check_version(file, header.value("version", Json()));
  for (const char* list : {"trials", "live"}) {
    if (header.contains(list) && !header[list].is_array()) {
      throw TuneError(fmt::format("{}: '{}' must be an array of trial objects", file.string(), list));
    }
  }
  header.erase("trials");
  header.erase("live");
  out.searcher_state = header.value("searcher", Json());
  out.scheduler_state = header.value("scheduler", Json());
  out.next_index = header.value("next_index", static_cast<int64_t>(out.finished.size()));
  out.completed = header.value("completed", true);
  header.erase("searcher");
  header.erase("scheduler");
  out.header = std::move(header);
}

// Applies one decoded journal record to the state being read (unfinished trials by index).
struct JournalReplay {
  const fs::path& file;
  const fs::path& experiment_dir;
  StoredExperiment& out;
  std::map<int64_t, Json>& live;
  std::function<TuneError(const std::string&)> bad;  // names the record's byte
  std::function<std::string()> where;                // the file and the record's line
  UnsafePaths unsafe;
  InsideChecker inside = InsideChecker(experiment_dir);  // resolved once for every "dir" and "end" record

  Json* trial(int64_t index) {
    auto it = live.find(index);
    return it == live.end() ? nullptr : &it->second;
  }
  void apply_changes(Json& state, const Json& changes) {
    try {
      apply_state_changes(state, state_changes_from_json(changes));
    } catch (const TuneError& error) {
      throw bad(error.what());
    }
  }

  void operator()(HeadRecord& r) {
    if (!out.header.empty()) return;
    check_version(file, r.fields.value("version", Json()));
    out.header = std::move(r.fields);
  }
  void operator()(StartRecord&) { out.completed = false; }  // a new session of the same experiment began
  void operator()(AddRecord& r) {
    if (r.replaces) {
      std::erase_if(out.finished, [&](const TrialRecord& t) { return t.trial_id() == *r.replaces; });
    }
    out.next_index = std::max(out.next_index, r.index + 1);
    if (r.searcher_state) out.searcher_state = std::move(*r.searcher_state);
    live[r.index] = Json{{"index", r.index},
                         {"trial_id", r.trial_id},
                         {"name", r.name},
                         {"tag", r.tag},
                         {"config", std::move(r.config)},
                         {"status", "PENDING"},
                         {"logdir", ""},
                         {"num_failures", 0},
                         {"error", ""},
                         {"checkpoints", Json::array()},
                         {"last_result", nullptr}};
  }
  void operator()(DirRecord& r) {
    const ContainedPath path = inside.resolve(r.dir);
    if (!paths_ok(path ? "" : "\"dir\" record, field 'dir': " + path.error, where, unsafe, out)) {
      live.erase(r.index);  // a trial that cannot be followed is left out, with what comes after
      return;
    }
    if (Json* t = trial(r.index)) {  // its first start
      (*t)["logdir"] = r.dir;
      (*t)["status"] = "RUNNING";
    }
  }
  void operator()(RunRecord& r) {
    if (Json* t = trial(r.index)) (*t)["status"] = "RUNNING";
  }
  void operator()(PauseRecord& r) {
    if (Json* t = trial(r.index)) (*t)["status"] = "PAUSED";
  }
  void operator()(CheckpointRecord& r) {
    Json* t = trial(r.index);
    if (t == nullptr) return;
    const std::string why = checkpoint_entry_error(r.checkpoint);
    if (!paths_ok(why.empty() ? why : "\"ckpt\" record, " + why, where, unsafe, out)) return;
    Json& list = (*t)["checkpoints"];
    auto drop = [&](const std::string& dir) {
      for (size_t k = 0; k < list.size(); ++k) {
        if (list[k].value("dir", "") == dir) {
          list.erase(k);
          return;
        }
      }
    };
    for (const std::string& gone : r.deleted) drop(gone);
    drop(r.checkpoint.value("dir", ""));
    list.push_back(std::move(r.checkpoint));
  }
  void operator()(FailRecord& r) {
    if (Json* t = trial(r.index)) {
      (*t)["num_failures"] = r.num_failures;
      (*t)["status"] = "PENDING";  // waits to be retried (or its end follows)
      (*t)["error"] = r.message;
    }
  }
  void operator()(StatusRecord& r) {
    if (Json* t = trial(r.index)) (*t)["status"] = r.status;
  }
  void operator()(EndRecord& r) {
    live.erase(r.index);
    const std::string why = trial_paths_error(inside, r.trial);
    if (!paths_ok(why.empty() ? why : "\"end\" record, " + why, where, unsafe, out)) return;
    try {
      out.finished.push_back(TrialRecord::from_json(r.trial, experiment_dir));
    } catch (const TuneError& error) {
      throw bad(error.what());
    }
  }
  void operator()(ConfigRecord& r) {
    if (Json* t = trial(r.index)) {
      (*t)["config"] = std::move(r.config);
      (*t)["tag"] = r.tag;
    }
  }
  void operator()(SchedulerStateRecord& r) { out.scheduler_state = std::move(r.state); }
  void operator()(SchedulerChangesRecord& r) { apply_changes(out.scheduler_state, r.changes); }
  void operator()(SearcherStateRecord& r) { out.searcher_state = std::move(r.state); }
  void operator()(SearcherChangesRecord& r) { apply_changes(out.searcher_state, r.changes); }
  void operator()(DoneRecord&) { out.completed = true; }
};

// The line number of the journal's byte `at` (counted only for a message).
uint64_t line_at(const fs::path& file, uint64_t at) {
  std::ifstream in(file, std::ios::binary);
  uint64_t line = 1;
  char buffer[1 << 16];
  while (at > 0 && in) {
    in.read(buffer, static_cast<std::streamsize>(std::min<uint64_t>(sizeof buffer, at)));
    const auto got = in.gcount();
    line += static_cast<uint64_t>(std::count(buffer, buffer + got, '\n'));
    at -= static_cast<uint64_t>(got);
    if (got == 0) break;
  }
  return line;
}

// Applies the journal's records after `from` bytes to the state.
void replay_journal(const fs::path& file, uint64_t from, const fs::path& experiment_dir, UnsafePaths unsafe,
                    StoredExperiment& out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return;
  in.seekg(0, std::ios::end);
  out.journal_file_bytes = static_cast<uint64_t>(in.tellg());
  out.journal_valid_bytes = std::min(from, out.journal_file_bytes);
  if (from >= out.journal_file_bytes) return;
  in.seekg(static_cast<std::streamoff>(from));
  // Unfinished trials by index; the snapshot's come first.
  std::map<int64_t, Json> live;
  for (Json& state : out.unfinished) live.emplace(state.value("index", int64_t{0}), std::move(state));
  out.unfinished.clear();
  std::string line;
  uint64_t offset = from;
  uint64_t at = from;  // where the line being applied starts
  int64_t line_number = 0;  // counted from `from`, where the snapshot left off
  auto bad = [&](const std::string& why) -> TuneError {
    return TuneError(fmt::format("{}: record at byte {} (line {} after the snapshot's part): {}", file.string(), at,
                                 line_number, why));
  };
  auto where = [&] { return fmt::format("{}: line {} (byte {})", file.string(), line_at(file, at), at); };
  JournalReplay replay{file, experiment_dir, out, live, bad, where, unsafe};
  while (std::getline(in, line)) {
    ++line_number;
    // Bounded before parsing: a line nested deeper than kMaxJsonDepth is damage, not a torn tail.
    if (const size_t deep = nesting_overflow_offset(line); deep != std::string::npos) {
      at = offset;
      throw bad(fmt::format("nested deeper than {} levels (at offset {}); it begins: {}", kMaxJsonDepth, deep,
                            quoted_excerpt(line, 80)));
    }
    // A crash tears at most the last line (each event is one write() of one line): without
    // its newline, or not JSON, it is cut off with the whole event in it. Anything after such
    // a line is damage no crash makes, and cutting it off would lose trials silently.
    const bool torn_tail = in.eof();  // no newline
    Json record = torn_tail ? Json() : Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (torn_tail || record.is_discarded() || !record.is_object()) {
      if (!torn_tail && in.peek() != std::char_traits<char>::eof()) {
        throw TuneError(fmt::format("{}: the line at byte {} (line {} after the snapshot's part) is not a JSON "
                                    "record but more follows it: the journal is damaged (a crash only ever tears "
                                    "the last line); it begins: {}",
                                    file.string(), offset, line_number, quoted_excerpt(line, 80)));
      }
      break;
    }
    at = offset;
    offset += line.size() + 1;
    try {
      std::vector<StateRecord> records = decode_line(record);
      for (StateRecord& decoded : records) std::visit(replay, decoded);
    } catch (const TuneError& error) {
      throw bad(error.what());
    } catch (const Json::exception& error) {  // a field of the wrong type, a number out of range
      throw bad(fmt::format("{}; it begins: {}", error.what(), quoted_excerpt(line, 80)));
    }
    out.journal_valid_bytes = offset;
  }
  for (auto& [index, state] : live) out.unfinished.push_back(std::move(state));
}

}  // namespace

Json CheckpointEntry::to_json() const {
  return Json{{"iteration", iteration},
              {"dir", dir},
              {"time_total_s", time_total_s},
              {"timesteps_total", timesteps_total},
              {"episodes_total", episodes_total},
              {"score", std::isfinite(score) ? Json(score) : Json(nullptr)},
              {"done", done}};
}

CheckpointEntry CheckpointEntry::from_json(const Json& json) {
  if (!json.is_object()) throw TuneError("checkpoint entry: must be an object, got " + json.dump());
  CheckpointEntry entry;
  entry.iteration = json.value("iteration", int64_t{0});
  entry.dir = json.value("dir", "");
  entry.time_total_s = number_or_nan(json.value("time_total_s", Json(0.0)));
  entry.timesteps_total = json.value("timesteps_total", int64_t{0});
  entry.episodes_total = json.value("episodes_total", int64_t{0});
  entry.score = number_or_nan(json.value("score", Json()));
  entry.done = json.value("done", false);
  if (entry.dir.empty() || entry.dir.find('/') != std::string::npos) {
    throw TuneError("checkpoint entry: 'dir' must be a directory name inside the trial directory, got " + json.dump());
  }
  return entry;
}

bool has_stored_experiment(const std::filesystem::path& dir) {
  std::error_code ec;
  return fs::exists(dir / kJournalFile, ec) || fs::exists(dir / kSnapshotFile, ec);
}

StoredExperiment read_stored_experiment(const std::filesystem::path& dir, UnsafePaths unsafe) {
  StoredExperiment out;
  std::error_code ec;
  const fs::path snapshot = dir / kSnapshotFile;
  const fs::path journal = dir / kJournalFile;
  const bool has_snapshot = fs::exists(snapshot, ec);
  const bool has_journal = fs::exists(journal, ec);
  if (!has_snapshot && !has_journal) {
    throw TuneError(fmt::format("'{}' holds no experiment state ({} or {})", dir.string(), kSnapshotFile, kJournalFile));
  }
  uint64_t from = 0;
  // Both files are outside input: a field of the wrong type is a refusal naming the file.
  try {
    if (has_snapshot) {
      if (std::optional<ScannedSnapshot> scanned = scan_snapshot(snapshot, dir, unsafe)) {
        out.finished = std::move(scanned->finished);
        out.unfinished = std::move(scanned->unfinished);
        out.warnings = std::move(scanned->warnings);
        finish_snapshot_header(snapshot, std::move(scanned->header), out);
      } else {
        read_snapshot(snapshot, dir, unsafe, out);  // the careful reader words what is wrong
      }
      from = out.header.value("journal_bytes", uint64_t{0});
      if (!has_journal) out.completed = out.header.value("completed", true);
    }
  } catch (const Json::exception& error) {
    throw TuneError(fmt::format("{}: {} (damaged or not written by tune)", snapshot.string(), error.what()));
  }
  if (has_journal) {
    if (!has_snapshot) out.completed = false;
    try {
      replay_journal(journal, from, dir, unsafe, out);
    } catch (const Json::exception& error) {
      throw TuneError(fmt::format("{}: {} (damaged or not written by tune)", journal.string(), error.what()));
    }
  }
  if (out.header.empty()) throw TuneError(fmt::format("{}: the journal has no head record", journal.string()));
  return out;
}

}  // namespace tune::detail
