// Rolling result files back to a checkpoint (see log_rollback.h).
#include "callbacks/log_rollback.h"

#include <algorithm>
#include <cstdlib>
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

void rollback_json(const fs::path& path, int64_t iteration, const std::function<void(Result&&)>& on_kept) {
  if (!is_file(path)) return;
  const std::string text = read_file(path);
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) break;  // a torn last line
    Json result = Json::parse(std::string_view(text.data() + start, end - start), nullptr, /*allow_exceptions=*/false);
    const Json* it = result.is_object() ? find_path(result, "training_iteration") : nullptr;
    if (it == nullptr || !it->is_number_integer() || it->get<int64_t>() > iteration) break;
    if (on_kept) on_kept(std::move(result));
    start = end + 1;
  }
  cut(path, text.size(), start);
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
  size_t keep = 0;
  if (!rows.empty()) {
    keep = rows[0].size();
    const std::vector<std::string> header = split_csv_row(rows[0]);
    const size_t column = static_cast<size_t>(std::find(header.begin(), header.end(), "training_iteration") - header.begin());
    for (size_t r = 1; r < rows.size() && column < header.size(); ++r) {
      const std::vector<std::string> cells = split_csv_row(rows[r]);
      if (column >= cells.size() || cells[column].empty()) break;
      char* end = nullptr;
      const long long value = std::strtoll(cells[column].c_str(), &end, 10);
      if (end == cells[column].c_str() || value > iteration) break;
      keep += rows[r].size();
    }
  }
  cut(path, text.size(), keep);
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
