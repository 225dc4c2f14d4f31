// The TensorBoard logger: event files with scalars and HParams records, encoded by hand.
#include "callbacks/tensorboard_logger.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <system_error>

#include "callbacks/protobuf_encoder.h"
#include "callbacks/tfrecord.h"
#include "tune/error.h"
#include "tune/tensorboard.h"

namespace tune {
namespace detail {
namespace {

using proto::append_bytes_field;
using proto::append_double_field;
using proto::append_float_field;
using proto::append_key;
using proto::append_varint;
using proto::append_varint_field;
using proto::WireType;

// Field numbers of tensorboard's event.proto / summary.proto / tensor.proto.
constexpr uint32_t kEventWallTime = 1;
constexpr uint32_t kEventStep = 2;
constexpr uint32_t kEventFileVersion = 3;
constexpr uint32_t kEventSummary = 5;
constexpr uint32_t kSummaryValue = 1;
constexpr uint32_t kValueTag = 1;
constexpr uint32_t kValueSimpleValue = 2;
constexpr uint32_t kValueTensor = 8;
constexpr uint32_t kValueMetadata = 9;
constexpr uint32_t kMetadataPluginData = 1;
constexpr uint32_t kPluginDataName = 1;
constexpr uint32_t kPluginDataContent = 2;
// ... of the hparams plugin's plugin_data.proto / api.proto.
constexpr uint32_t kPluginDataExperiment = 2;
constexpr uint32_t kPluginDataSessionStart = 3;
constexpr uint32_t kPluginDataSessionEnd = 4;
constexpr uint32_t kExperimentTimeCreated = 3;
constexpr uint32_t kExperimentHParamInfos = 4;
constexpr uint32_t kExperimentMetricInfos = 5;
constexpr uint32_t kExperimentName = 6;
constexpr uint32_t kHParamInfoName = 1;
constexpr uint32_t kHParamInfoType = 4;
constexpr uint32_t kHParamInfoDiscrete = 5;
constexpr uint32_t kHParamInfoInterval = 6;
constexpr uint32_t kIntervalMin = 1;
constexpr uint32_t kIntervalMax = 2;
constexpr uint32_t kMetricInfoName = 1;
constexpr uint32_t kMetricNameTag = 2;
constexpr uint32_t kSessionStartHParams = 1;
constexpr uint32_t kSessionStartTime = 5;
constexpr uint32_t kSessionEndStatus = 1;
constexpr uint32_t kSessionEndTime = 2;
constexpr uint32_t kMapKey = 1;
constexpr uint32_t kMapValue = 2;
// ... of google/protobuf/struct.proto.
constexpr uint32_t kValueNumber = 2;
constexpr uint32_t kValueString = 3;
constexpr uint32_t kValueBool = 4;
constexpr uint32_t kListValues = 1;

constexpr int kDataTypeUnset = 0;
constexpr int kDataTypeString = 1;
constexpr int kDataTypeBool = 2;
constexpr int kDataTypeFloat64 = 3;
constexpr int kStatusSuccess = 1;
constexpr int kStatusFailure = 2;

// Bounds the buffer of a trial reporting very fast: written early rather than held for the period.
constexpr size_t kMaxPendingBytes = size_t{1} << 20;

constexpr std::string_view kFileVersion = "brain.Event:2";
constexpr std::string_view kHParamsPlugin = "hparams";
constexpr std::string_view kExperimentTag = "_hparams_/experiment";
constexpr std::string_view kSessionStartTag = "_hparams_/session_start_info";
constexpr std::string_view kSessionEndTag = "_hparams_/session_end_info";
// TensorProto{dtype: DT_FLOAT, tensor_shape{dim{size: 0}}}: the empty tensor TensorBoard's own
// hparams summaries carry, so readers that expect a tensor on every value get one.
constexpr std::string_view kNullTensor("\x08\x01\x12\x02\x12\x00", 6);

double system_clock_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool is_number(const Json& value) { return value.is_number(); }  // nlohmann: bools are not numbers

std::string to_text(const Json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); }

// google.protobuf.Value of the type an hparam was declared with, so a session's value matches its domain.
std::string protobuf_value(const Json& value, int type) {
  std::string out;
  if (type == kDataTypeFloat64 && is_number(value)) {
    append_double_field(out, kValueNumber, value.get<double>());
  } else if (type == kDataTypeBool && value.is_boolean()) {
    append_varint_field(out, kValueBool, value.get<bool>() ? 1 : 0);
  } else {
    append_bytes_field(out, kValueString, to_text(value));
  }
  return out;
}

int value_type(const Json& value) {
  if (is_number(value)) return kDataTypeFloat64;
  if (value.is_boolean()) return kDataTypeBool;
  return kDataTypeString;
}

// The hparam's type and domain (HParamInfo fields 4-6) from a search-space domain; `resolved` is
// this trial's value, the only type evidence a sample_from has.
std::string hparam_info(const std::string& name, const Domain& domain, const Json& resolved, int& type) {
  std::string out;
  append_bytes_field(out, kHParamInfoName, name);
  std::string domain_bytes;
  uint32_t domain_field = 0;
  switch (domain.type) {
    case Domain::Type::kGridSearch:
    case Domain::Type::kChoice: {
      type = domain.values.empty() ? kDataTypeString : value_type(domain.values.front());
      for (const Json& value : domain.values) {
        if (value_type(value) != type) type = kDataTypeString;  // mixed: shown as text
      }
      for (const Json& value : domain.values)
        append_bytes_field(domain_bytes, kListValues, protobuf_value(value, type));
      domain_field = kHParamInfoDiscrete;
      break;
    }
    case Domain::Type::kUniform:
    case Domain::Type::kQUniform:
    case Domain::Type::kLogUniform:
    case Domain::Type::kQLogUniform:
    case Domain::Type::kRandint:
    case Domain::Type::kQRandint:
    case Domain::Type::kLogRandint:
    case Domain::Type::kQLogRandint: {
      type = kDataTypeFloat64;
      // randint/lograndint exclude the upper bound; TensorBoard's interval is closed.
      const bool exclusive = domain.type == Domain::Type::kRandint || domain.type == Domain::Type::kLogRandint;
      append_double_field(domain_bytes, kIntervalMin, domain.lower);
      append_double_field(domain_bytes, kIntervalMax, exclusive ? domain.upper - 1 : domain.upper);
      domain_field = kHParamInfoInterval;
      break;
    }
    case Domain::Type::kRandn:
    case Domain::Type::kQRandn:
      type = kDataTypeFloat64;  // unbounded: no domain
      break;
    case Domain::Type::kSampleFrom:
      type = resolved.is_null() ? kDataTypeUnset : value_type(resolved);
      break;
  }
  if (type != kDataTypeUnset) append_varint_field(out, kHParamInfoType, type);
  if (domain_field != 0) append_bytes_field(out, domain_field, domain_bytes);
  return out;
}

void collect_domains(const Space& space, const std::string& path,
                     std::vector<std::pair<std::string, const Domain*>>& out) {
  auto child_path = [&](const std::string& key) { return path.empty() ? key : path + "/" + key; };
  if (space.is_domain()) {
    if (!path.empty()) out.emplace_back(path, &space.as_domain());
  } else if (space.is_object()) {
    for (const auto& [key, child] : space.as_object()) collect_domains(child, child_path(key), out);
  } else if (space.is_array()) {
    for (size_t i = 0; i < space.as_array().size(); ++i)
      collect_domains(space.as_array()[i], child_path(std::to_string(i)), out);
  }
}

// SummaryMetadata.plugin_data.plugin_name of an encoded SummaryMetadata.
std::string_view plugin_name(std::string_view metadata) {
  proto::Reader metadata_reader(metadata);
  proto::Field field;
  while (metadata_reader.next(field)) {
    if (field.number != kMetadataPluginData || field.type != WireType::kLengthDelimited) continue;
    proto::Reader plugin_reader(field.bytes);
    proto::Field plugin_field;
    while (plugin_reader.next(plugin_field)) {
      if (plugin_field.number == kPluginDataName && plugin_field.type == WireType::kLengthDelimited)
        return plugin_field.bytes;
    }
  }
  return {};
}

std::string host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') return "localhost";
  return buffer;
}

[[noreturn]] void throw_errno(const std::string& what, const std::filesystem::path& path) {
  throw std::system_error(errno, std::generic_category(), "tensorboard: " + what + " " + path.string());
}

}  // namespace

void validate_flush_period(double flush_period_s) {
  if (!std::isfinite(flush_period_s) || flush_period_s < 0) {
    throw TuneError("TensorBoardOptions.flush_period_s must be a finite number of seconds >= 0, got " +
                    std::to_string(flush_period_s));
  }
}

TensorBoardWriter::TensorBoardWriter(const std::filesystem::path& logdir, const Config& config, const Space* space,
                                     std::string experiment_name, TensorBoardWriterOptions options)
    : options_(std::move(options)), experiment_name_(std::move(experiment_name)) {
  validate_flush_period(options_.flush_period_s);
  start_time_ = now();
  last_flush_ = start_time_;
  if (options_.hparams) add_hparams(config, space);
  open_file(logdir);
  if (options_.hparams && !wrote_session_start_) {
    append_hparams_event(kSessionStartTag, kPluginDataSessionStart, session_start_info());
    wrote_session_start_ = true;
  }
  flush();  // TensorBoard sees the run (and its hparams) before the first result
}

TensorBoardWriter::~TensorBoardWriter() {
  try {
    flush();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor cannot report; close() would have
  }
  if (fd_ >= 0) ::close(fd_);
}

double TensorBoardWriter::now() const { return options_.clock ? options_.clock() : system_clock_seconds(); }

void TensorBoardWriter::open_file(const std::filesystem::path& logdir) {
  std::error_code error;
  std::filesystem::create_directories(logdir, error);
  if (error) throw std::system_error(error, "tensorboard: cannot create " + logdir.string());
  // Resume: append to the newest event file (names sort by creation time), after its last whole record.
  std::filesystem::path existing;
  for (const auto& entry : options_.resume ? std::filesystem::directory_iterator(logdir, error)
                                           : std::filesystem::directory_iterator()) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.starts_with(kFilePrefix) &&
        (existing.empty() || name > existing.filename().string())) {
      existing = entry.path();
    }
  }
  bool fresh = true;
  if (!existing.empty()) {
    const RecordScan scan = scan_records(existing);
    if (scan.valid_bytes < scan.file_bytes) {
      std::filesystem::resize_file(existing, scan.valid_bytes, error);  // cut the torn tail
      if (error) throw std::system_error(error, "tensorboard: cannot truncate " + existing.string());
    }
    path_ = existing;
    file_bytes_ = scan.valid_bytes;
    fresh = scan.records.empty();
    for (const std::string& event : scan.records) note_existing_record(event);
  } else {
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "%010" PRId64, static_cast<int64_t>(start_time_));
    path_ = logdir / (std::string(kFilePrefix) + stamp + "." + host_name());
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_errno("cannot open", path_);
  if (fresh) {
    std::string what;
    append_bytes_field(what, kEventFileVersion, kFileVersion);
    append_event(start_time_, 0, what);
  }
}

// Learns from a record written earlier what not to repeat: HParams records and seen metric tags.
void TensorBoardWriter::note_existing_record(std::string_view event) {
  proto::Reader event_reader(event);
  proto::Field field;
  while (event_reader.next(field)) {
    if (field.number != kEventSummary || field.type != WireType::kLengthDelimited) continue;
    proto::Reader summary_reader(field.bytes);
    proto::Field value;
    while (summary_reader.next(value)) {
      if (value.number != kSummaryValue || value.type != WireType::kLengthDelimited) continue;
      proto::Reader value_reader(value.bytes);
      proto::Field part;
      std::string_view tag;
      bool scalar = false;
      bool hparams_plugin = false;
      while (value_reader.next(part)) {
        if (part.number == kValueTag && part.type == WireType::kLengthDelimited) tag = part.bytes;
        if (part.number == kValueSimpleValue) scalar = true;
        if (part.number == kValueMetadata && part.type == WireType::kLengthDelimited) {
          hparams_plugin = plugin_name(part.bytes) == kHParamsPlugin;
        }
      }
      if (hparams_plugin && tag == kSessionStartTag) wrote_session_start_ = true;
      if (hparams_plugin && tag == kExperimentTag) wrote_experiment_ = true;
      if (hparams_plugin && tag == kSessionEndTag) wrote_session_end_ = true;
      if (scalar && options_.hparams) {
        tag_.assign(tag);
        note_metric_tag();
      }
    }
  }
}

void TensorBoardWriter::add_hparams(const Config& config, const Space* space) {
  auto add_value = [this](const std::string& name, const Json& value, int type) {
    std::string entry;  // a map<string, Value> entry
    append_bytes_field(entry, kMapKey, name);
    append_bytes_field(entry, kMapValue, protobuf_value(value, type));
    append_bytes_field(hparam_values_, kSessionStartHParams, entry);
  };
  std::vector<std::pair<std::string, const Domain*>> domains;
  if (space != nullptr) collect_domains(*space, "", domains);
  for (const auto& [name, domain] : domains) {
    const Json* resolved = find_path(config, name);
    int type = kDataTypeUnset;
    append_bytes_field(hparam_infos_, kExperimentHParamInfos,
                       hparam_info(name, *domain, resolved ? *resolved : Json(), type));
    if (resolved != nullptr && !resolved->is_null()) add_value(name, *resolved, type);
  }
  if (domains.empty()) {
    // No search space: every config value; TensorBoard infers the hparams from the sessions.
    const Json flat = flatten(config);
    if (!flat.is_object()) return;
    for (const auto& [name, value] : flat.items()) {
      if (!value.is_null()) add_value(name, value, value_type(value));
    }
  }
}

std::string TensorBoardWriter::session_start_info() const {
  std::string info = hparam_values_;
  append_double_field(info, kSessionStartTime, start_time_);
  return info;
}

void TensorBoardWriter::on_result(const Result& result) {
  const double wall_time = now();
  int64_t step = 0;
  if (auto it = result.find("training_iteration"); it != result.end() && it->is_number()) {
    if (it->is_number_float() ? std::isfinite(it->get<double>()) : true) step = it->get<int64_t>();
  }
  summary_.clear();
  tag_.clear();
  tag_position_ = 0;
  if (result.is_object()) encode_scalars(result, true);
  if (!summary_.empty()) {
    event_.clear();
    append_bytes_field(event_, kEventSummary, summary_);
    append_event(wall_time, step, event_);
  }
  if (wall_time - last_flush_ >= options_.flush_period_s || pending_.size() >= kMaxPendingBytes) flush();
}

void TensorBoardWriter::encode_scalars(const Json& object, bool top) {
  const size_t prefix = tag_.size();
  for (const auto& [key, value] : object.get_ref<const Json::object_t&>()) {
    if (top && (key == "config" || key == "pid" || key == "timestamp")) continue;
    tag_.resize(prefix);
    if (!top) tag_ += '/';
    tag_ += key;
    double number = 0;
    switch (value.type()) {
      case Json::value_t::number_integer:
        number = static_cast<double>(value.get_ref<const Json::number_integer_t&>());
        break;
      case Json::value_t::number_unsigned:
        number = static_cast<double>(value.get_ref<const Json::number_unsigned_t&>());
        break;
      case Json::value_t::number_float:
        number = value.get_ref<const Json::number_float_t&>();
        if (std::isnan(number)) continue;
        break;
      case Json::value_t::object:
        encode_scalars(value, false);
        continue;
      default:
        continue;  // strings, bools, nulls, arrays: not scalars
    }
    // Summary.value { tag, simple_value }: the nested length is known up front, so no scratch copy.
    const size_t value_size = 1 + proto::varint_size(tag_.size()) + tag_.size() + 5;
    append_key(summary_, kSummaryValue, WireType::kLengthDelimited);
    append_varint(summary_, value_size);
    append_bytes_field(summary_, kValueTag, tag_);
    append_float_field(summary_, kValueSimpleValue, static_cast<float>(number));
    if (options_.hparams) {
      if (tag_position_ >= previous_tags_.size() || previous_tags_[tag_position_] != tag_) {
        previous_tags_.resize(tag_position_);
        previous_tags_.push_back(tag_);
        note_metric_tag();
      }
      ++tag_position_;
    }
  }
  tag_.resize(prefix);
}

void TensorBoardWriter::note_metric_tag() {
  if (metric_tag_set_.find(std::string_view(tag_)) != metric_tag_set_.end()) return;
  metric_tag_set_.insert(tag_);
  metric_tags_.push_back(tag_);
}

void TensorBoardWriter::append_event(double wall_time, int64_t step, std::string_view what_field) {
  record_.clear();
  append_double_field(record_, kEventWallTime, wall_time);
  append_varint_field(record_, kEventStep, step);
  record_.append(what_field);
  append_record(pending_, record_);
}

// A summary value as TensorBoard's hparams summary.py builds it: the tag, plugin metadata whose
// content is HParamsPluginData{version: 0, <data_field>: message}, and the empty tensor.
void TensorBoardWriter::append_hparams_event(std::string_view tag, uint32_t data_field, std::string_view message) {
  std::string plugin_data_content;  // version 0 is proto3's default: left out, as protobuf does
  append_bytes_field(plugin_data_content, data_field, message);
  std::string plugin_data;
  append_bytes_field(plugin_data, kPluginDataName, kHParamsPlugin);
  append_bytes_field(plugin_data, kPluginDataContent, plugin_data_content);
  std::string metadata;
  append_bytes_field(metadata, kMetadataPluginData, plugin_data);
  std::string value;
  append_bytes_field(value, kValueTag, tag);
  append_bytes_field(value, kValueMetadata, metadata);
  append_bytes_field(value, kValueTensor, kNullTensor);
  std::string summary;
  append_bytes_field(summary, kSummaryValue, value);
  std::string what;
  append_bytes_field(what, kEventSummary, summary);
  append_event(now(), 0, what);
}

void TensorBoardWriter::flush() {
  last_flush_ = now();
  size_t written = 0;
  while (written < pending_.size()) {
    const ssize_t n = ::write(fd_, pending_.data() + written, pending_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      // A partial write would leave a torn record in the middle of the file once more follows.
      if (written > 0 && ::ftruncate(fd_, static_cast<off_t>(file_bytes_)) != 0) {
        // Nothing better to do: the reader still stops at the torn record.
      }
      errno = n == 0 ? EIO : saved;
      throw_errno("cannot write", path_);
    }
    written += static_cast<size_t>(n);
  }
  file_bytes_ += pending_.size();
  pending_.clear();
}

void TensorBoardWriter::close(TrialStatus status) {
  if (options_.hparams && !wrote_experiment_ && !hparam_infos_.empty()) {
    std::string experiment;
    append_bytes_field(experiment, kExperimentName, experiment_name_);
    append_double_field(experiment, kExperimentTimeCreated, start_time_);
    experiment += hparam_infos_;
    for (const std::string& tag : metric_tags_) {
      std::string metric_name;
      append_bytes_field(metric_name, kMetricNameTag, tag);  // group "": the scalars are in the session's run
      std::string metric_info;
      append_bytes_field(metric_info, kMetricInfoName, metric_name);
      append_bytes_field(experiment, kExperimentMetricInfos, metric_info);
    }
    append_hparams_event(kExperimentTag, kPluginDataExperiment, experiment);
    wrote_experiment_ = true;
  }
  // A trial that is not finished (an interrupted experiment) may be resumed: its status stays open.
  if (options_.hparams && !wrote_session_end_ && is_finished(status)) {
    std::string end_info;
    append_varint_field(end_info, kSessionEndStatus,
                        status == TrialStatus::kTerminated ? kStatusSuccess : kStatusFailure);
    append_double_field(end_info, kSessionEndTime, now());
    append_hparams_event(kSessionEndTag, kPluginDataSessionEnd, end_info);
    wrote_session_end_ = true;
  }
  flush();
}

}  // namespace detail

namespace {

class TensorBoardLogger final : public Logger {
 public:
  TensorBoardLogger(const ExperimentInfo& experiment, const TrialView& trial, const TensorBoardOptions& options) {
    if (trial.logdir().empty()) return;  // per-trial files are off
    writer_ = std::make_unique<detail::TensorBoardWriter>(
        trial.logdir(), trial.config(), experiment.space, experiment.name,
        detail::TensorBoardWriterOptions{
            .flush_period_s = options.flush_period_s,
            .hparams = options.hparams,
            // A trial that never reported and never failed has no event file to continue.
            .resume = trial.iteration() > 0 || trial.num_failures() > 0,
            .clock = {}});
  }

  void on_result(const Result& result) override {
    if (writer_) writer_->on_result(result);
  }
  void flush() override {
    if (writer_) writer_->flush();
  }
  void close(const TrialView& trial) override {
    if (writer_) writer_->close(trial.status());
  }

 private:
  std::unique_ptr<detail::TensorBoardWriter> writer_;  // null when the trial has no directory
};

}  // namespace

LoggerFactory tensorboard_logger(TensorBoardOptions options) {
  detail::validate_flush_period(options.flush_period_s);
  return [options](const ExperimentInfo& experiment, const TrialView& trial) -> std::unique_ptr<Logger> {
    return std::make_unique<TensorBoardLogger>(experiment, trial, options);
  };
}

}  // namespace tune
