// The snapshot's fast path (see snapshot_scan.h).
#include "analysis/snapshot_scan.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "analysis/state_paths.h"
#include "common/untrusted_json.h"
#include "tune/error.h"

namespace tune::detail {
namespace {

namespace fs = std::filesystem;
namespace od = simdjson::ondemand;

// "Read this one the careful way": never leaves the scanner.
struct NotPlain {};

// Bigger snapshots are streamed by the careful reader (this one holds the file in memory).
constexpr uint64_t kMaxScanBytes = uint64_t{1} << 30;
// Deeper values go to the careful reader, which enforces kMaxJsonDepth and words the error.
constexpr size_t kMaxScanDepth = 64;
constexpr size_t kMaxLastValues = 10;  // MetricStats keeps the last 10

// CBOR as nlohmann::json::to_cbor writes it (RFC 8949; minimal heads, a double as a float when
// that is exact), so a record decodes to the same JSON either way.
class CborWriter {
 public:
  explicit CborWriter(std::vector<uint8_t>& out) : out_(out) {}

  void head(uint8_t major, uint64_t n) {
    uint8_t bytes[9];
    out_.insert(out_.end(), bytes, bytes + head_bytes(major, n, bytes));
  }
  // A container whose size is known at its end: a 5-byte head now, made minimal by close().
  size_t open(uint8_t major) {
    const size_t at = out_.size();
    out_.push_back(static_cast<uint8_t>(major << 5 | 26));
    out_.insert(out_.end(), 4, 0);
    return at;
  }
  void close(size_t at, uint64_t count) {
    uint8_t minimal[9];
    const size_t size = head_bytes(static_cast<uint8_t>(out_[at] >> 5), count, minimal);
    const size_t body = at + 5;
    std::memmove(out_.data() + at + size, out_.data() + body, out_.size() - body);
    out_.resize(out_.size() - (5 - size));
    std::memcpy(out_.data() + at, minimal, size);
  }
  void text(std::string_view s) {
    head(3, s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void integer(int64_t n) {
    if (n >= 0) {
      head(0, static_cast<uint64_t>(n));
    } else {
      head(1, static_cast<uint64_t>(-(n + 1)));
    }
  }
  void unsigned_integer(uint64_t n) { head(0, n); }
  void number(double d) {
    if (d >= static_cast<double>(std::numeric_limits<float>::lowest()) &&
        d <= static_cast<double>(std::numeric_limits<float>::max()) &&
        static_cast<double>(static_cast<float>(d)) == d) {
      out_.push_back(0xfa);
      uint32_t bits = 0;
      const float f = static_cast<float>(d);
      std::memcpy(&bits, &f, sizeof bits);
      big_endian(bits, 4);
    } else {
      out_.push_back(0xfb);
      uint64_t bits = 0;
      std::memcpy(&bits, &d, sizeof bits);
      big_endian(bits, 8);
    }
  }
  void boolean(bool b) { out_.push_back(b ? 0xf5 : 0xf4); }
  void null() { out_.push_back(0xf6); }

 private:
  // An item's head (major type, then its argument in the fewest bytes) into `out`; its length.
  static size_t head_bytes(uint8_t major, uint64_t n, uint8_t (&out)[9]) {
    const uint8_t type = static_cast<uint8_t>(major << 5);
    if (n < 24) {
      out[0] = type | static_cast<uint8_t>(n);
      return 1;
    }
    const int length = n <= 0xff ? 1 : n <= 0xffff ? 2 : n <= 0xffffffff ? 4 : 8;
    out[0] = type | static_cast<uint8_t>(length == 1 ? 24 : length == 2 ? 25 : length == 4 ? 26 : 27);
    for (int i = 0; i < length; ++i) out[1 + i] = static_cast<uint8_t>(n >> (8 * (length - 1 - i)));
    return 1 + static_cast<size_t>(length);
  }
  void big_endian(uint64_t n, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out_.push_back(static_cast<uint8_t>(n >> (8 * i)));
  }
  std::vector<uint8_t>& out_;
};

// Whether the value is null; a token that only starts like null (the careful reader refuses it)
// leaves the scanner.
bool is_null(od::value& value) {
  if (value.type() != od::json_type::null) return false;
  if (!value.is_null()) throw NotPlain{};
  return true;
}

double finite_number(od::value& value) {
  const double d = value.get_double();
  if (!std::isfinite(d)) throw NotPlain{};
  return d;
}

void encode(od::value value, CborWriter& cbor, size_t depth, std::string_view skip_key = {});
Json parsed(od::value value);

void encode_number(od::value& value, CborWriter& cbor) {
  od::number number = value.get_number();
  switch (number.get_number_type()) {
    case od::number_type::signed_integer: cbor.integer(number.get_int64()); return;
    case od::number_type::unsigned_integer: cbor.unsigned_integer(number.get_uint64()); return;
    case od::number_type::floating_point_number: {
      const double d = number.get_double();
      if (!std::isfinite(d)) throw NotPlain{};  // the careful reader refuses the file
      cbor.number(d);
      return;
    }
  }
  throw NotPlain{};
}

// A JSON value as CBOR; `skip_key` leaves that key of an object out (a result's "config").
void encode(od::value value, CborWriter& cbor, size_t depth, std::string_view skip_key) {
  if (depth > kMaxScanDepth) throw NotPlain{};
  switch (value.type()) {
    case od::json_type::object: {
      const size_t at = cbor.open(5);
      uint64_t count = 0;
      // A repeated key is written twice: decoding keeps the last, as parsing the JSON does.
      for (od::field field : value.get_object()) {
        const std::string_view key = field.unescaped_key();
        if (!skip_key.empty() && key == skip_key) {
          (void)parsed(field.value());  // left out, but it must be JSON the careful reader accepts
          continue;
        }
        cbor.text(key);
        encode(field.value(), cbor, depth + 1);
        ++count;
      }
      cbor.close(at, count);
      return;
    }
    case od::json_type::array: {
      const size_t at = cbor.open(4);
      uint64_t count = 0;
      for (od::value element : value.get_array()) {
        encode(element, cbor, depth + 1);
        ++count;
      }
      cbor.close(at, count);
      return;
    }
    case od::json_type::string: cbor.text(value.get_string()); return;
    case od::json_type::number: encode_number(value, cbor); return;
    case od::json_type::boolean: cbor.boolean(value.get_bool()); return;
    case od::json_type::null:
      if (!value.is_null()) throw NotPlain{};
      cbor.null();
      return;
  }
  throw NotPlain{};
}

// The value's JSON text, checked and parsed by nlohmann (fields the scanner does not decode).
Json parsed(od::value value) {
  std::string_view raw;
  switch (value.type()) {
    case od::json_type::object: {
      od::object object = value.get_object();
      raw = object.raw_json();
      break;
    }
    case od::json_type::array: {
      od::array array = value.get_array();
      raw = array.raw_json();
      break;
    }
    default: raw = value.raw_json_token(); break;
  }
  // Skipping a value does not check its depth: too deep is the careful reader's to refuse.
  if (nesting_overflow_offset(raw, kMaxScanDepth) != std::string_view::npos) throw NotPlain{};
  Json json = Json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) throw NotPlain{};
  return json;
}

std::string optional_string(od::value value) {
  if (is_null(value)) return {};
  if (value.type() != od::json_type::string) throw NotPlain{};
  return std::string(std::string_view(value.get_string()));
}

// An object (CBOR) or null (empty): TrialRecord::from_json's optional_object.
std::vector<uint8_t> optional_object(od::value value, std::string_view skip_key = {}) {
  std::vector<uint8_t> bytes;
  if (is_null(value)) return bytes;
  if (value.type() != od::json_type::object) throw NotPlain{};
  CborWriter cbor(bytes);
  encode(value, cbor, 1, skip_key);
  return bytes;
}

// MetricStats::from_json: null is NaN, anything but a number refuses.
double stat_number(od::value value) {
  if (is_null(value)) return std::numeric_limits<double>::quiet_NaN();
  if (value.type() != od::json_type::number) throw NotPlain{};
  return finite_number(value);
}

MetricStats metric_stats_entry(od::value value) {
  if (value.type() != od::json_type::object) throw NotPlain{};
  MetricStats stats;
  for (od::field field : value.get_object()) {  // a repeated field: the last one counts, as in JSON
    const std::string_view key = field.unescaped_key();
    od::value v = field.value();
    if (key == "last") {
      stats.last = stat_number(v);
    } else if (key == "min") {
      stats.min = stat_number(v);
    } else if (key == "max") {
      stats.max = stat_number(v);
    } else if (key == "sum") {
      stats.sum = stat_number(v);
    } else if (key == "count") {
      if (v.type() != od::json_type::number) throw NotPlain{};
      od::number n = v.get_number();
      if (n.get_number_type() != od::number_type::signed_integer || n.get_int64() < 0) throw NotPlain{};
      stats.count = n.get_int64();
    } else if (key == "last_values") {
      if (v.type() != od::json_type::array) throw NotPlain{};
      std::vector<double> values;
      for (od::value element : v.get_array()) values.push_back(stat_number(element));
      const size_t skip = values.size() > kMaxLastValues ? values.size() - kMaxLastValues : 0;
      stats.last_values.assign(values.begin() + static_cast<std::ptrdiff_t>(skip), values.end());
    } else {
      (void)parsed(v);  // an unknown field must still be JSON the careful reader accepts
    }
  }
  return stats;
}

// What a trial object holds, decoded; `checkpoints` kept as JSON for the path check.
struct ScannedTrial {
  std::optional<std::string> trial_id;
  std::optional<std::string> status;
  TrialRecordParts parts;
  std::optional<std::string> logdir;
  Json checkpoints;
};

ScannedTrial scan_trial(od::object object) {
  ScannedTrial trial;
  for (od::field field : object) {  // a repeated field: the last one counts, as in JSON
    const std::string_view key = field.unescaped_key();
    od::value value = field.value();
    if (key == "trial_id") {
      if (value.type() != od::json_type::string) throw NotPlain{};
      trial.trial_id = std::string(std::string_view(value.get_string()));
    } else if (key == "status") {
      if (value.type() != od::json_type::string) throw NotPlain{};
      trial.status = std::string(std::string_view(value.get_string()));
    } else if (key == "name") {
      trial.parts.name = optional_string(value);
    } else if (key == "logdir") {
      trial.logdir = optional_string(value);
    } else if (key == "error") {
      trial.parts.error = optional_string(value);
    } else if (key == "config") {
      trial.parts.config = optional_object(value);
    } else if (key == "last_result") {
      trial.parts.last_result = optional_object(value, "config");  // the record's config is kept once
    } else if (key == "metric_stats") {
      trial.parts.metric_stats.clear();
      if (is_null(value)) continue;
      if (value.type() != od::json_type::object) throw NotPlain{};
      for (od::field entry : value.get_object()) {
        trial.parts.metric_stats.insert_or_assign(std::string(std::string_view(entry.unescaped_key())),
                                                  metric_stats_entry(entry.value()));
      }
    } else if (key == "checkpoints") {
      trial.checkpoints = parsed(value);
    } else {
      (void)parsed(value);
    }
  }
  return trial;
}

TrialRecord finished_record(ScannedTrial&& trial, const std::string& experiment_dir) {
  if (!trial.trial_id || !trial.status) throw NotPlain{};
  const std::optional<TrialStatus> status = trial_status_from_string(*trial.status);
  if (!status) throw NotPlain{};
  TrialRecordParts& parts = trial.parts;
  parts.trial_id = std::move(*trial.trial_id);
  parts.status = *status;
  if (parts.name.empty()) parts.name = parts.trial_id;
  if (trial.logdir && !trial.logdir->empty()) {
    // TrialRecord::from_json: a relative logdir is below the experiment directory.
    if (trial.logdir->front() != '/' && !experiment_dir.empty()) {
      parts.logdir = experiment_dir;
      if (parts.logdir.back() != '/') parts.logdir += '/';
      parts.logdir += *trial.logdir;
    } else {
      parts.logdir = std::move(*trial.logdir);
    }
  }
  return std::move(parts).build();
}

}  // namespace

std::optional<ScannedSnapshot> scan_snapshot(const fs::path& file, const fs::path& experiment_dir,
                                             UnsafePaths unsafe) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(file, ec);
  if (ec || size > kMaxScanBytes) return std::nullopt;
  try {
    simdjson::padded_string text;
    if (simdjson::padded_string::load(file.string()).get(text)) return std::nullopt;
    od::parser parser;
    if (parser.allocate(text.size(), kMaxScanDepth + 2)) return std::nullopt;
    od::document document = parser.iterate(text);
    ScannedSnapshot out;
    const InsideChecker inside(experiment_dir);
    const std::string dir_text = experiment_dir.string();
    out.finished.reserve(text.size() / 512);
    bool seen_version = false;
    for (od::field field : document.get_object()) {
      const std::string_view key = field.unescaped_key();
      od::value value = field.value();
      if (key == "version") {
        if (seen_version) throw NotPlain{};  // the careful reader checks each one as it comes
        seen_version = true;
      }
      if (key != "trials" && key != "live") {
        out.header[std::string(key)] = parsed(value);
        continue;
      }
      const bool live = key == "live";
      for (od::value element : value.get_array()) {
        if (element.type() != od::json_type::object) throw NotPlain{};
        if (live) {
          Json state = parsed(element);
          if (const std::string why = trial_paths_error(inside, state); !why.empty()) {
            if (unsafe == UnsafePaths::kRefuse) throw NotPlain{};
            out.warnings.push_back(fmt::format("{}: trial {} of 'live': {}; left out", file.string(),
                                               out.unfinished.size(), why));
            continue;
          }
          out.unfinished.push_back(std::move(state));
          continue;
        }
        ScannedTrial trial = scan_trial(element.get_object());
        if (const std::string why = trial_paths_error(inside, trial.logdir.value_or(""), &trial.checkpoints);
            !why.empty()) {
          if (unsafe == UnsafePaths::kRefuse) throw NotPlain{};
          out.warnings.push_back(fmt::format("{}: trial {} of 'trials': {}; left out", file.string(),
                                             out.finished.size(), why));
          continue;
        }
        out.finished.push_back(finished_record(std::move(trial), dir_text));
      }
    }
    // Nothing may follow the object (the careful reader refuses trailing text).
    if (!document.current_location().error()) return std::nullopt;
    return out;
  } catch (const NotPlain&) {
  } catch (const simdjson::simdjson_error&) {
  } catch (const TuneError&) {
  } catch (const Json::exception&) {
  }
  return std::nullopt;
}

}  // namespace tune::detail
