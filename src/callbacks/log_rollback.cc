// Rolling result files back to a checkpoint (see log_rollback.h).
#include "callbacks/log_rollback.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

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

void replace_if_changed(const fs::path& path, const std::string& old_text, const std::string& new_text) {
  if (old_text.size() == new_text.size()) return;  // only ever shrinks: same size means unchanged
  write_file_atomic(path, new_text);
}

void rollback_json(const fs::path& path, int64_t iteration, const std::function<void(Result&&)>& on_kept) {
  if (!is_file(path)) return;
  const std::string text = read_file(path);
  std::string kept;
  kept.reserve(text.size());
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) break;  // a torn last line
    const std::string_view line(text.data() + start, end - start);
    Json result = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (result.is_object()) {
      const Json* it = find_path(result, "training_iteration");
      if (it != nullptr && it->is_number_integer() && it->get<int64_t>() <= iteration) {
        kept.append(line).push_back('\n');
        if (on_kept) on_kept(std::move(result));
      }
    }
    start = end + 1;
  }
  replace_if_changed(path, text, kept);
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
  const std::vector<std::string_view> rows = csv_rows(text);
  std::string kept;
  if (!rows.empty()) {
    kept.append(rows[0]);
    const std::vector<std::string> header = split_csv_row(rows[0]);
    const auto column = std::find(header.begin(), header.end(), "training_iteration") - header.begin();
    for (size_t r = 1; r < rows.size() && column < static_cast<ptrdiff_t>(header.size()); ++r) {
      const std::vector<std::string> cells = split_csv_row(rows[r]);
      if (static_cast<size_t>(column) >= cells.size() || cells[column].empty()) continue;
      char* end = nullptr;
      const long long value = std::strtoll(cells[column].c_str(), &end, 10);
      if (end != cells[column].c_str() && value <= iteration) kept.append(rows[r]);
    }
  }
  replace_if_changed(path, text, kept);
}

// The `step` (field 2) of a serialized tensorboard Event; nullopt when absent or malformed.
std::optional<int64_t> event_step(std::string_view event) {
  size_t at = 0;
  auto varint = [&](uint64_t& value) {
    value = 0;
    for (int shift = 0; shift < 64 && at < event.size(); shift += 7) {
      const auto byte = static_cast<uint8_t>(event[at++]);
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  };
  while (at < event.size()) {
    uint64_t key = 0;
    if (!varint(key)) return std::nullopt;
    const uint64_t field = key >> 3;
    const uint64_t type = key & 7;
    uint64_t value = 0;
    switch (type) {
      case 0:
        if (!varint(value)) return std::nullopt;
        if (field == 2) return static_cast<int64_t>(value);
        break;
      case 1:
        at += 8;
        break;
      case 2:
        if (!varint(value)) return std::nullopt;
        at += value;
        break;
      case 5:
        at += 4;
        break;
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

void rollback_events(const fs::path& logdir, int64_t iteration) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(logdir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || !name.starts_with("events.out.tfevents.")) continue;
    if (iteration <= 0) {  // back to the start: the logger begins a new file
      fs::remove(entry.path(), ec);
      continue;
    }
    const RecordScan scan = scan_records(entry.path());
    std::string kept;
    size_t dropped = 0;
    for (const std::string& event : scan.records) {
      const std::optional<int64_t> step = event_step(event);
      if (step && *step > iteration) {
        ++dropped;
        continue;
      }
      append_record(kept, event);
    }
    if (dropped > 0 || scan.valid_bytes < scan.file_bytes) write_file_atomic(entry.path(), kept);
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
