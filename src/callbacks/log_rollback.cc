// Rolling result files back to a checkpoint (see log_rollback.h).
#include "callbacks/log_rollback.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "callbacks/protobuf_encoder.h"
#include "callbacks/tfrecord.h"
#include "common/file_writer.h"
#include "common/strings.h"

namespace tune::detail {
namespace {

namespace fs = std::filesystem;

bool is_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// Results are appended in iteration order (a restart cuts the file first), so the ones to
// keep are a prefix: cutting the file there needs no free space, even on a full disk.
void cut(const fs::path& path, size_t old_size, size_t keep) {
  if (keep >= old_size) return;
  std::error_code ec;
  fs::resize_file(path, keep, ec);
  if (ec) throw std::system_error(ec, "cannot truncate " + path.string());
}

// One line (or CSV row) of a result file, as the rollback sorts it.
enum class Row { kKeep, kAfter, kDamaged };

// What stays of a result file: its rows up to the checkpoint, in order, and the damaged ones,
// which are never deleted. Without damage the kept rows are a prefix, cut in place; with it,
// the damaged rows go to <file>.damaged-<n> first and then the file is rewritten (atomically)
// with the kept rows, so valid rows after a damaged one stay.
struct Sorted {
  std::string head;  // written before the rows in both files (a CSV header)
  std::vector<std::string_view> kept;
  std::vector<std::string_view> damaged;
  size_t prefix_end = 0;  // with no damage: the end of the kept prefix
};

fs::path free_side_file(const fs::path& path) {
  std::error_code ec;
  for (int n = 1;; ++n) {
    fs::path side = path;
    side += ".damaged-" + std::to_string(n);
    if (!fs::exists(side, ec)) return side;
  }
}

void apply(const fs::path& path, size_t old_size, const Sorted& sorted) {
  if (sorted.damaged.empty()) {
    cut(path, old_size, sorted.prefix_end);
    return;
  }
  const fs::path side = free_side_file(path);
  std::string text = sorted.head;
  for (std::string_view row : sorted.damaged) text += row;
  write_file_atomic(side, text);
  text = sorted.head;
  for (std::string_view row : sorted.kept) text += row;
  write_file_atomic(path, text);
  std::cerr << fmt::format("tune: {}: {} damaged line(s) moved to {}; the valid rows around them are kept\n",
                           path.string(), sorted.damaged.size(), side.filename().string());
}

// Sorts rows (each ending in its newline): kept up to the first one after `iteration`,
// dropped from there on, damaged wherever `iteration_of` finds none.
template <typename IterationOf>
Sorted sort_rows(const std::vector<std::string_view>& rows, int64_t iteration, size_t offset,
                 const IterationOf& iteration_of) {
  Sorted sorted;
  sorted.prefix_end = offset;
  bool after = false;
  for (std::string_view row : rows) {
    const std::optional<int64_t> at = iteration_of(row);
    if (!at) {
      sorted.damaged.push_back(row);
      continue;
    }
    after = after || *at > iteration;
    if (after) continue;
    sorted.kept.push_back(row);
    if (sorted.damaged.empty()) sorted.prefix_end += row.size();
  }
  return sorted;
}

// The text's whole lines, each with its newline (a torn last line, a crash's, is left out and cut).
std::vector<std::string_view> json_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start);
    if (end == std::string_view::npos) break;
    lines.push_back(text.substr(start, end + 1 - start));
    start = end + 1;
  }
  return lines;
}

void rollback_json(const fs::path& path, int64_t iteration, const std::function<void(Result&&)>& on_kept) {
  if (!is_file(path)) return;
  const std::string text = read_file(path);
  std::vector<Json> parsed;
  const Sorted sorted = sort_rows(json_lines(text), iteration, 0, [&](std::string_view line) -> std::optional<int64_t> {
    Json result = Json::parse(line.substr(0, line.size() - 1), nullptr, /*allow_exceptions=*/false);
    const Json* it = result.is_object() ? find_path(result, "training_iteration") : nullptr;
    if (it == nullptr || !it->is_number_integer()) return std::nullopt;
    const int64_t at = it->get<int64_t>();
    if (at <= iteration) parsed.push_back(std::move(result));
    return at;
  });
  apply(path, text.size(), sorted);
  // Rows at or below the checkpoint after one above it were parsed but are not kept.
  parsed.resize(std::min(parsed.size(), sorted.kept.size()));
  if (on_kept) {
    for (Json& result : parsed) on_kept(std::move(result));
  }
}

// Splits CSV text into rows (a quoted cell may hold newlines); the last row counts only when
// it ends in a newline.
std::vector<std::string_view> csv_rows(std::string_view text) {
  std::vector<std::string_view> rows;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') quoted = !quoted;
    if (text[i] == '\n' && !quoted) {
      rows.push_back(text.substr(start, i + 1 - start));
      start = i + 1;
    }
  }
  return rows;
}

void rollback_csv(const fs::path& path, int64_t iteration) {
  if (!is_file(path)) return;
  const std::string text = read_file(path);
  std::vector<std::string_view> rows = csv_rows(text);
  if (rows.empty()) {
    cut(path, text.size(), 0);
    return;
  }
  const std::vector<std::string> header = split_csv_row(rows[0]);
  const size_t column = static_cast<size_t>(std::find(header.begin(), header.end(), "training_iteration") - header.begin());
  const std::string_view header_row = rows[0];
  rows.erase(rows.begin());
  Sorted sorted = sort_rows(rows, iteration, header_row.size(), [&](std::string_view row) -> std::optional<int64_t> {
    const std::vector<std::string> cells = split_csv_row(row);
    if (column >= header.size() || column >= cells.size() || cells[column].empty()) return std::nullopt;
    char* end = nullptr;
    errno = 0;
    const long long value = std::strtoll(cells[column].c_str(), &end, 10);
    if (end == cells[column].c_str() || *end != '\0' || errno == ERANGE) return std::nullopt;
    return static_cast<int64_t>(value);
  });
  sorted.head = std::string(header_row);
  apply(path, text.size(), sorted);
}

// The `step` (field 2) of a serialized tensorboard Event; nullopt when absent or malformed.
std::optional<int64_t> event_step(std::string_view event) {
  proto::Reader reader(event);
  proto::Field field;
  while (reader.next(field)) {
    if (field.number == 2 && field.type == proto::WireType::kVarint) return static_cast<int64_t>(field.varint);
  }
  return std::nullopt;
}

void rollback_events(const fs::path& logdir, int64_t iteration) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(logdir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.starts_with("events.out.tfevents.")) files.push_back(entry.path());
  }
  for (const fs::path& file : files) {
    if (iteration <= 0) {  // back to the start: the logger begins a new file
      fs::remove(file, ec);
      continue;
    }
    const RecordScan scan = scan_records(file);
    // A record is its length (8 bytes), a checksum (4), the data and a checksum (4).
    uint64_t keep = 0;
    for (const std::string& event : scan.records) {
      const std::optional<int64_t> step = event_step(event);
      if (step && *step > iteration) break;
      keep += 16 + event.size();
    }
    cut(file, scan.file_bytes, keep);
  }
}

}  // namespace

void rollback_trial_logs(const std::filesystem::path& logdir, int64_t iteration,
                         const std::function<void(Result&&)>& on_kept) {
  rollback_json(logdir / "result.json", iteration, on_kept);
  rollback_csv(logdir / "progress.csv", iteration);
  rollback_events(logdir, iteration);
}

}  // namespace tune::detail
