// TensorBoard logger: TFRecord framing and CRC32C, and event files decoded with libprotobuf.
#include "tune/tensorboard.h"

#include <google/protobuf/struct.pb.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "callbacks/proto/tb_event.pb.h"
#include "callbacks/proto/tb_hparams.pb.h"
#include "callbacks/tensorboard_logger.h"
#include "callbacks/tfrecord.h"
#include "trial/trial.h"
#include "tune/error.h"
#include "tune/search_space.h"

namespace tune {
namespace {

namespace fs = std::filesystem;
namespace pb = google::protobuf;
using detail::TensorBoardWriter;
using detail::TensorBoardWriterOptions;
using Event = tune_test::tensorboard::Event;
using SummaryValue = tune_test::tensorboard::Summary::Value;
using tune_test::hparams::HParamsPluginData;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void append_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

uint64_t le(std::string_view bytes, size_t at, size_t size) {
  uint64_t value = 0;
  for (size_t i = 0; i < size; ++i) value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[at + i])) << (8 * i);
  return value;
}

// Every field written must be one the schema declares: no unknown fields at any depth.
void expect_no_unknown_fields(const pb::Message& message) {
  const pb::Reflection* reflection = message.GetReflection();
  EXPECT_EQ(reflection->GetUnknownFields(message).field_count(), 0) << message.GetTypeName();
  std::vector<const pb::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const pb::FieldDescriptor* field : fields) {
    if (field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        expect_no_unknown_fields(reflection->GetRepeatedMessage(message, field, i));
      }
    } else {
      expect_no_unknown_fields(reflection->GetMessage(message, field));
    }
  }
}

// Checks the framing of the whole file byte by byte (independently of read_records) and decodes
// every record as an Event with libprotobuf.
std::vector<Event> decode_file(const fs::path& path) {
  const std::string bytes = read_file(path);
  std::vector<Event> events;
  size_t pos = 0;
  while (pos < bytes.size()) {
    EXPECT_GE(bytes.size() - pos, 16u) << "torn record at " << pos;
    if (bytes.size() - pos < 16) break;
    const uint64_t length = le(bytes, pos, 8);
    EXPECT_EQ(le(bytes, pos + 8, 4), detail::masked_crc32c(std::string_view(bytes).substr(pos, 8)));
    EXPECT_LE(pos + 16 + length, bytes.size());
    const std::string data = bytes.substr(pos + 12, length);
    EXPECT_EQ(le(bytes, pos + 12 + length, 4), detail::masked_crc32c(data));
    Event event;
    EXPECT_TRUE(event.ParseFromString(data));
    expect_no_unknown_fields(event);
    events.push_back(event);
    pos += 16 + length;
  }
  EXPECT_EQ(detail::read_records(path).size(), events.size());
  return events;
}

bool is_hparams_value(const SummaryValue& value) {
  return value.has_metadata() && value.metadata().plugin_data().plugin_name() == "hparams";
}

// The HParamsPluginData of the events holding `tag`, decoded and checked like TensorBoard does.
std::vector<HParamsPluginData> hparams_records(const std::vector<Event>& events, const std::string& tag) {
  std::vector<HParamsPluginData> out;
  for (const Event& event : events) {
    for (const SummaryValue& value : event.summary().value()) {
      if (value.tag() != tag) continue;
      EXPECT_TRUE(is_hparams_value(value));
      // The empty DT_FLOAT tensor TensorBoard's own hparams summaries carry.
      EXPECT_TRUE(value.has_tensor());
      EXPECT_EQ(value.tensor().dtype(), 1);
      EXPECT_EQ(value.tensor().tensor_shape().dim_size(), 1);
      if (value.tensor().tensor_shape().dim_size() == 1) {
        EXPECT_EQ(value.tensor().tensor_shape().dim(0).size(), 0);
      }
      HParamsPluginData data;
      EXPECT_TRUE(data.ParseFromString(value.metadata().plugin_data().content()));
      expect_no_unknown_fields(data);
      EXPECT_EQ(data.version(), 0);
      out.push_back(data);
    }
  }
  return out;
}

// tag -> (step, value) of every scalar, in file order.
std::multimap<std::string, std::pair<int64_t, float>> scalars(const std::vector<Event>& events) {
  std::multimap<std::string, std::pair<int64_t, float>> out;
  for (const Event& event : events) {
    for (const SummaryValue& value : event.summary().value()) {
      if (value.value_case() == SummaryValue::kSimpleValue)
        out.emplace(value.tag(), std::make_pair(event.step(), value.simple_value()));
    }
  }
  return out;
}

class TensorBoardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("tune_tb_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  TensorBoardWriterOptions options(double flush_period_s = 0) {
    TensorBoardWriterOptions result;
    result.flush_period_s = flush_period_s;
    result.clock = [this] { return now_; };
    return result;
  }

  fs::path dir_;
  double now_ = 1700000000.25;
};

// ---- framing ----

TEST(TfRecordTest, Crc32cMatchesKnownVectors) {
  EXPECT_EQ(detail::crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(detail::crc32c(""), 0u);
  const std::string zeros(32, '\0');
  EXPECT_EQ(detail::crc32c(zeros), 0x8A9136AAu);  // RFC 3720 B.4
  // Extending a CRC equals one pass over the concatenation (both the 8-byte and the byte path).
  const std::string text = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(detail::crc32c(text.substr(13), detail::crc32c(text.substr(0, 13))), detail::crc32c(text));
  const uint32_t crc = 0xE3069283u;
  EXPECT_EQ(detail::mask_crc(crc), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
  EXPECT_EQ(detail::masked_crc32c("123456789"), detail::mask_crc(crc));
}

TEST(TfRecordTest, Crc32cInstructionMatchesTables) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) bytes += static_cast<char>((i * 131 + 7) & 0xFF);
  for (size_t length = 0; length <= bytes.size(); length += 7) {
    const std::string_view data(bytes.data(), length);
    EXPECT_EQ(detail::crc32c(data), detail::crc32c_portable(data)) << length;
    EXPECT_EQ(detail::crc32c(data, 0x12345678u), detail::crc32c_portable(data, 0x12345678u)) << length;
  }
  EXPECT_EQ(detail::crc32c_portable("123456789"), 0xE3069283u);
}

TEST(TfRecordTest, AppendRecordFramesLengthDataAndChecksums) {
  std::string out;
  detail::append_record(out, "hello");
  ASSERT_EQ(out.size(), 8u + 4 + 5 + 4);
  EXPECT_EQ(le(out, 0, 8), 5u);
  EXPECT_EQ(le(out, 8, 4), detail::masked_crc32c(out.substr(0, 8)));
  EXPECT_EQ(out.substr(12, 5), "hello");
  EXPECT_EQ(le(out, 17, 4), detail::masked_crc32c("hello"));
}

TEST_F(TensorBoardTest, ReadRecordsStopsAtTornOrCorruptTail) {
  fs::create_directories(dir_);
  const fs::path path = dir_ / "records";
  EXPECT_TRUE(detail::read_records(path).empty());  // missing file
  std::string bytes;
  for (const char* data : {"first", "", "third record"}) detail::append_record(bytes, data);
  append_file(path, bytes);
  EXPECT_EQ(detail::read_records(path), (std::vector<std::string>{"first", "", "third record"}));

  // Torn in the middle of the last record's data: the first two survive.
  fs::resize_file(path, bytes.size() - 6);
  detail::RecordScan scan = detail::scan_records(path);
  EXPECT_EQ(scan.records, (std::vector<std::string>{"first", ""}));
  EXPECT_EQ(scan.valid_bytes, 21u + 16u);
  EXPECT_EQ(scan.file_bytes, bytes.size() - 6);

  // Torn inside a header.
  fs::resize_file(path, scan.valid_bytes + 5);
  EXPECT_EQ(detail::scan_records(path).records.size(), 2u);

  // A flipped data byte fails the data CRC; a flipped length byte fails the length CRC.
  std::string corrupt = bytes;
  corrupt[12 + 2] ^= 0x01;
  fs::remove(path);
  append_file(path, corrupt);
  EXPECT_TRUE(detail::read_records(path).empty());
  corrupt = bytes;
  corrupt[21 + 1] ^= 0x40;  // second record's length
  fs::remove(path);
  append_file(path, corrupt);
  EXPECT_EQ(detail::read_records(path), (std::vector<std::string>{"first"}));
}

// ---- event files ----

TEST_F(TensorBoardTest, FileStartsWithFileVersionEvent) {
  fs::path path;
  {
    TensorBoardWriter writer(dir_ / "trial_0", Json::object(), nullptr, "exp", options());
    path = writer.path();
  }
  EXPECT_EQ(path.parent_path(), dir_ / "trial_0");
  const std::string name = path.filename().string();
  ASSERT_TRUE(name.starts_with("events.out.tfevents.1700000000.")) << name;
  EXPECT_GT(name.size(), std::string("events.out.tfevents.1700000000.").size());  // the host
  const std::vector<Event> events = decode_file(path);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].what_case(), Event::kFileVersion);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_DOUBLE_EQ(events[0].wall_time(), now_);
  for (size_t i = 1; i < events.size(); ++i) EXPECT_NE(events[i].what_case(), Event::kFileVersion);
}

TEST_F(TensorBoardTest, EveryNumericLeafIsAScalarAtTheTrainingIteration) {
  TensorBoardWriter writer(dir_, Json::object(), nullptr, "exp", options());
  now_ += 1.5;
  writer.on_result(Json::parse(R"({
      "training_iteration": 3, "loss": 0.5, "acc": 1, "big": 18446744073709551615,
      "nested": {"a": {"b": 2.5}, "c": -4},
      "name": "text", "done": false, "nothing": null, "list": [1, 2], "empty": {},
      "config": {"lr": 0.1}, "timestamp": 1700000000, "pid": 42})"));
  Json odd = {{"training_iteration", 4},
              {"nan", std::numeric_limits<double>::quiet_NaN()},
              {"inf", std::numeric_limits<double>::infinity()}};
  now_ += 1;
  writer.on_result(odd);
  writer.on_result(Json{{"only", "strings"}, {"flag", true}});  // nothing numeric: no event
  writer.on_result(Json{{"loss", 0.25}});                       // no training_iteration: step 0
  writer.flush();

  const std::vector<Event> events = decode_file(writer.path());
  std::vector<Event> results;
  for (const Event& event : events) {
    if (event.has_summary() && !is_hparams_value(event.summary().value(0))) results.push_back(event);
  }
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].step(), 3);
  EXPECT_DOUBLE_EQ(results[0].wall_time(), 1700000001.75);
  std::map<std::string, float> first;
  for (const SummaryValue& value : results[0].summary().value()) {
    ASSERT_EQ(value.value_case(), SummaryValue::kSimpleValue) << value.tag();
    EXPECT_FALSE(value.has_metadata());
    first[value.tag()] = value.simple_value();
  }
  EXPECT_EQ(first, (std::map<std::string, float>{{"acc", 1.0f},
                                                 {"big", 18446744073709551615.0f},
                                                 {"loss", 0.5f},
                                                 {"nested/a/b", 2.5f},
                                                 {"nested/c", -4.0f},
                                                 {"training_iteration", 3.0f}}));
  EXPECT_EQ(results[1].step(), 4);
  ASSERT_EQ(results[1].summary().value_size(), 2);  // NaN skipped, inf kept
  EXPECT_EQ(results[1].summary().value(0).tag(), "inf");
  EXPECT_TRUE(std::isinf(results[1].summary().value(0).simple_value()));
  EXPECT_EQ(results[2].step(), 0);
  EXPECT_FLOAT_EQ(results[2].summary().value(0).simple_value(), 0.25f);
}

TEST_F(TensorBoardTest, RecordsAreWrittenOnThePeriodAndAtClose) {
  TensorBoardWriter writer(dir_, Json::object(), nullptr, "exp", options(/*flush_period_s=*/5));
  const size_t opened = decode_file(writer.path()).size();  // header + session start, written at once
  EXPECT_EQ(opened, 2u);
  now_ += 1;
  writer.on_result(Json{{"training_iteration", 1}, {"loss", 1.0}});
  now_ += 1;
  writer.on_result(Json{{"training_iteration", 2}, {"loss", 0.5}});
  EXPECT_EQ(decode_file(writer.path()).size(), opened);  // buffered
  now_ += 3;
  writer.on_result(Json{{"training_iteration", 3}, {"loss", 0.25}});
  EXPECT_EQ(decode_file(writer.path()).size(), opened + 3);  // 5 s since the last write
  now_ += 1;
  writer.on_result(Json{{"training_iteration", 4}, {"loss", 0.125}});
  EXPECT_EQ(decode_file(writer.path()).size(), opened + 3);
  writer.close(TrialStatus::kTerminated);
  EXPECT_EQ(scalars(decode_file(writer.path())).count("loss"), 4u);
}

TEST_F(TensorBoardTest, DestructorWritesWhatIsBuffered) {
  fs::path path;
  {
    TensorBoardWriter writer(dir_, Json::object(), nullptr, "exp", options(/*flush_period_s=*/60));
    path = writer.path();
    writer.on_result(Json{{"training_iteration", 1}, {"loss", 1.0}});
  }
  EXPECT_EQ(scalars(decode_file(path)).count("loss"), 1u);
}

// ---- HParams ----

Space hparams_space() {
  return Space::object({
      {"layers", grid_search({16, 64, 256})},
      {"act", choice({"relu", "tanh"})},
      {"mixed", choice({1, "two"})},
      {"momentum", uniform(0.0, 0.9)},
      {"lr", loguniform(1e-4, 1e-1)},
      {"depth", randint(1, 10)},
      {"width", qrandint(8, 64, 8)},
      {"noise", randn(0, 1)},
      {"beta", sample_from([](Spec&) { return Json(0.5); })},
      {"model", Space::object({{"norm", grid_search({true, false})}, {"name", "fixed"}})},
      {"epochs", 10},
  });
}

Json hparams_config() {
  return Json::parse(R"({"layers": 64, "act": "tanh", "mixed": 1, "momentum": 0.5, "lr": 0.001,
                         "depth": 3, "width": 16, "noise": -0.25, "beta": 0.5,
                         "model": {"norm": true, "name": "fixed"}, "epochs": 10})");
}

TEST_F(TensorBoardTest, HParamsRecordsDescribeTheSearchSpaceAndTheTrial) {
  const Space space = hparams_space();
  TensorBoardWriter writer(dir_, hparams_config(), &space, "my_experiment", options());
  writer.on_result(Json{{"training_iteration", 1}, {"loss", 1.0}, {"eval", {{"acc", 0.5}}}});
  writer.on_result(Json{{"training_iteration", 2}, {"loss", 0.5}, {"final", 9}});
  now_ += 10;
  writer.close(TrialStatus::kTerminated);
  const std::vector<Event> events = decode_file(writer.path());

  // Session start: the resolved values of the searched paths, typed like their domains.
  const auto starts = hparams_records(events, "_hparams_/session_start_info");
  ASSERT_EQ(starts.size(), 1u);
  ASSERT_TRUE(starts[0].has_session_start_info());
  const auto& start = starts[0].session_start_info();
  EXPECT_DOUBLE_EQ(start.start_time_secs(), 1700000000.25);
  std::set<std::string> names;
  for (const auto& [name, value] : start.hparams()) names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{"act", "beta", "depth", "layers", "lr", "mixed", "model/norm", "momentum",
                                          "noise", "width"}));
  EXPECT_EQ(start.hparams().at("layers").number_value(), 64);
  EXPECT_EQ(start.hparams().at("act").string_value(), "tanh");
  EXPECT_EQ(start.hparams().at("mixed").string_value(), "1");  // a mixed choice is shown as text
  EXPECT_DOUBLE_EQ(start.hparams().at("lr").number_value(), 0.001);
  EXPECT_EQ(start.hparams().at("model/norm").kind_case(), pb::Value::kBoolValue);
  EXPECT_TRUE(start.hparams().at("model/norm").bool_value());
  EXPECT_EQ(start.hparams().at("beta").number_value(), 0.5);

  // Experiment: one HParamInfo per domain, in path order, and a MetricInfo per scalar tag.
  const auto experiments = hparams_records(events, "_hparams_/experiment");
  ASSERT_EQ(experiments.size(), 1u);
  const auto& experiment = experiments[0].experiment();
  EXPECT_EQ(experiment.name(), "my_experiment");
  std::map<std::string, tune_test::hparams::HParamInfo> infos;
  std::vector<std::string> order;
  for (const auto& info : experiment.hparam_infos()) {
    infos[info.name()] = info;
    order.push_back(info.name());
  }
  EXPECT_EQ(order, (std::vector<std::string>{"act", "beta", "depth", "layers", "lr", "mixed", "model/norm", "momentum",
                                             "noise", "width"}));
  using tune_test::hparams::HParamInfo;
  auto discrete = [](const HParamInfo& info) {
    std::vector<std::string> values;
    for (const pb::Value& value : info.domain_discrete().values()) {
      values.push_back(value.kind_case() == pb::Value::kNumberValue ? std::to_string(value.number_value())
                       : value.kind_case() == pb::Value::kBoolValue ? (value.bool_value() ? "true" : "false")
                                                                    : "'" + value.string_value() + "'");
    }
    return values;
  };
  EXPECT_EQ(infos["layers"].type(), tune_test::hparams::DATA_TYPE_FLOAT64);
  ASSERT_EQ(infos["layers"].domain_case(), HParamInfo::kDomainDiscrete);
  EXPECT_EQ(discrete(infos["layers"]), (std::vector<std::string>{"16.000000", "64.000000", "256.000000"}));
  EXPECT_EQ(infos["act"].type(), tune_test::hparams::DATA_TYPE_STRING);
  EXPECT_EQ(discrete(infos["act"]), (std::vector<std::string>{"'relu'", "'tanh'"}));
  EXPECT_EQ(infos["mixed"].type(), tune_test::hparams::DATA_TYPE_STRING);
  EXPECT_EQ(discrete(infos["mixed"]), (std::vector<std::string>{"'1'", "'two'"}));
  EXPECT_EQ(infos["model/norm"].type(), tune_test::hparams::DATA_TYPE_BOOL);
  EXPECT_EQ(discrete(infos["model/norm"]), (std::vector<std::string>{"true", "false"}));
  auto interval = [&](const std::string& name) {
    EXPECT_EQ(infos[name].type(), tune_test::hparams::DATA_TYPE_FLOAT64) << name;
    EXPECT_EQ(infos[name].domain_case(), HParamInfo::kDomainInterval) << name;
    return std::make_pair(infos[name].domain_interval().min_value(), infos[name].domain_interval().max_value());
  };
  EXPECT_EQ(interval("momentum"), std::make_pair(0.0, 0.9));
  EXPECT_EQ(interval("lr"), std::make_pair(1e-4, 1e-1));
  EXPECT_EQ(interval("depth"), std::make_pair(1.0, 9.0));  // randint's upper bound is exclusive
  EXPECT_EQ(interval("width"), std::make_pair(8.0, 64.0));
  EXPECT_EQ(infos["noise"].type(), tune_test::hparams::DATA_TYPE_FLOAT64);
  EXPECT_EQ(infos["noise"].domain_case(), HParamInfo::DOMAIN_NOT_SET);
  EXPECT_EQ(infos["beta"].type(), tune_test::hparams::DATA_TYPE_FLOAT64);  // from the trial's value
  std::vector<std::string> metrics;
  for (const auto& metric : experiment.metric_infos()) {
    EXPECT_EQ(metric.name().group(), "");
    metrics.push_back(metric.name().tag());
  }
  EXPECT_EQ(metrics, (std::vector<std::string>{"eval/acc", "loss", "training_iteration", "final"}));

  // Session end.
  const auto ends = hparams_records(events, "_hparams_/session_end_info");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].session_end_info().status(), tune_test::hparams::STATUS_SUCCESS);
  EXPECT_DOUBLE_EQ(ends[0].session_end_info().end_time_secs(), 1700000010.25);
}

TEST_F(TensorBoardTest, SessionEndStatusFollowsTheTrialStatus) {
  const Space space = hparams_space();
  auto end_status = [&](const std::string& trial, TrialStatus status) {
    TensorBoardWriter writer(dir_ / trial, hparams_config(), &space, "exp", options());
    writer.close(status);
    writer.close(status);  // a second close repeats nothing
    const std::vector<Event> events = decode_file(writer.path());
    EXPECT_EQ(hparams_records(events, "_hparams_/experiment").size(), 1u);
    const auto ends = hparams_records(events, "_hparams_/session_end_info");
    return ends.empty() ? -1 : static_cast<int>(ends.at(0).session_end_info().status());
  };
  EXPECT_EQ(end_status("ok", TrialStatus::kTerminated), tune_test::hparams::STATUS_SUCCESS);
  EXPECT_EQ(end_status("failed", TrialStatus::kError), tune_test::hparams::STATUS_FAILURE);
  EXPECT_EQ(end_status("interrupted", TrialStatus::kRunning), -1);  // may resume: status left open
}

TEST_F(TensorBoardTest, WithoutASearchSpaceEveryConfigValueIsAnHParam) {
  const Json config =
      Json::parse(R"({"lr": 0.1, "opt": {"name": "sgd", "nesterov": true}, "sizes": [1, 2], "none": null})");
  TensorBoardWriter writer(dir_, config, nullptr, "exp", options());
  writer.on_result(Json{{"loss", 1.0}});
  writer.close(TrialStatus::kTerminated);
  const std::vector<Event> events = decode_file(writer.path());
  EXPECT_TRUE(hparams_records(events, "_hparams_/experiment").empty());  // TensorBoard infers it
  const auto starts = hparams_records(events, "_hparams_/session_start_info");
  ASSERT_EQ(starts.size(), 1u);
  const auto& hparams = starts[0].session_start_info().hparams();
  EXPECT_EQ(hparams.size(), 4u);
  EXPECT_DOUBLE_EQ(hparams.at("lr").number_value(), 0.1);
  EXPECT_EQ(hparams.at("opt/name").string_value(), "sgd");
  EXPECT_TRUE(hparams.at("opt/nesterov").bool_value());
  EXPECT_EQ(hparams.at("sizes").string_value(), "[1,2]");
  EXPECT_EQ(hparams_records(events, "_hparams_/session_end_info").size(), 1u);
}

TEST_F(TensorBoardTest, HParamsCanBeTurnedOff) {
  const Space space = hparams_space();
  TensorBoardWriterOptions opts = options();
  opts.hparams = false;
  TensorBoardWriter writer(dir_, hparams_config(), &space, "exp", opts);
  writer.on_result(Json{{"loss", 1.0}});
  writer.close(TrialStatus::kTerminated);
  const std::vector<Event> events = decode_file(writer.path());
  ASSERT_EQ(events.size(), 2u);  // header + one result
  EXPECT_FALSE(is_hparams_value(events[1].summary().value(0)));
}

// ---- crash and resume ----

TEST_F(TensorBoardTest, ResumeCutsATornTailAndAppendsAfterTheLastCompleteRecord) {
  const Space space = hparams_space();
  fs::path path;
  {
    TensorBoardWriter writer(dir_, hparams_config(), &space, "exp", options());
    writer.on_result(Json{{"training_iteration", 1}, {"loss", 1.0}});
    writer.on_result(Json{{"training_iteration", 2}, {"early", 7}});
    path = writer.path();
  }  // the process "crashed": no close
  const uintmax_t complete = fs::file_size(path);
  std::string torn;
  detail::append_record(torn, "a record cut short by the crash");
  append_file(path, torn.substr(0, torn.size() - 9));
  EXPECT_EQ(detail::read_records(path).size(), 4u);  // readers tolerate the torn tail

  now_ += 100;  // a later file name would sort after: the existing one must still be chosen
  {
    TensorBoardWriter writer(dir_, hparams_config(), &space, "exp", options());
    EXPECT_EQ(writer.path(), path);
    EXPECT_EQ(fs::file_size(path), complete);  // torn tail cut before anything is appended
    writer.on_result(Json{{"training_iteration", 3}, {"loss", 0.5}});
    writer.close(TrialStatus::kTerminated);
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
  const std::vector<Event> events = decode_file(path);  // every byte is a complete record
  size_t headers = 0;
  for (const Event& event : events) headers += event.what_case() == Event::kFileVersion;
  EXPECT_EQ(headers, 1u);
  EXPECT_EQ(hparams_records(events, "_hparams_/session_start_info").size(), 1u);
  const auto loss = scalars(events);
  std::vector<int64_t> loss_steps;
  for (auto [it, end] = loss.equal_range("loss"); it != end; ++it) loss_steps.push_back(it->second.first);
  EXPECT_EQ(loss_steps, (std::vector<int64_t>{1, 3}));
  // Tags seen before the crash still make it into the experiment's metrics.
  const auto experiments = hparams_records(events, "_hparams_/experiment");
  ASSERT_EQ(experiments.size(), 1u);
  std::set<std::string> metrics;
  for (const auto& metric : experiments[0].experiment().metric_infos()) metrics.insert(metric.name().tag());
  EXPECT_EQ(metrics, (std::set<std::string>{"early", "loss", "training_iteration"}));
}

TEST_F(TensorBoardTest, ResumeOfAFileWithNoCompleteRecordStartsItAfresh) {
  fs::create_directories(dir_);
  const fs::path path = dir_ / "events.out.tfevents.0000000001.host";
  append_file(path, "garbage");
  TensorBoardWriter writer(dir_, Json::object(), nullptr, "exp", options());
  EXPECT_EQ(writer.path(), path);
  writer.close(TrialStatus::kTerminated);
  const std::vector<Event> events = decode_file(path);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
}

// ---- the Logger ----

TEST_F(TensorBoardTest, LoggerWritesIntoTheTrialDirectory) {
  const Space space = hparams_space();
  ExperimentInfo experiment;
  experiment.name = "my_experiment";
  experiment.dir = dir_;
  experiment.space = &space;
  detail::Trial trial;
  trial.config = hparams_config();
  trial.logdir = dir_ / "trial_00000";
  trial.status = TrialStatus::kRunning;
  const TrialView view(trial);
  std::unique_ptr<Logger> logger = tensorboard_logger()(experiment, view);
  logger->on_result(Json{{"training_iteration", 1}, {"loss", 1.0}});
  trial.status = TrialStatus::kError;
  logger->close(view);
  std::vector<fs::path> files(fs::directory_iterator(trial.logdir), fs::directory_iterator());
  ASSERT_EQ(files.size(), 1u);
  const std::vector<Event> events = decode_file(files[0]);
  EXPECT_EQ(scalars(events).count("loss"), 1u);
  const auto ends = hparams_records(events, "_hparams_/session_end_info");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].session_end_info().status(), tune_test::hparams::STATUS_FAILURE);

  // Per-trial files off: the logger does nothing.
  detail::Trial no_dir;
  std::unique_ptr<Logger> quiet = tensorboard_logger()(experiment, TrialView(no_dir));
  quiet->on_result(Json{{"loss", 1.0}});
  quiet->close(TrialView(no_dir));
}

TEST(TensorBoardOptionsTest, FlushPeriodMustBeFiniteAndNonNegative) {
  EXPECT_THROW(tensorboard_logger({.flush_period_s = -1}), TuneError);
  EXPECT_THROW(tensorboard_logger({.flush_period_s = std::numeric_limits<double>::infinity()}), TuneError);
  EXPECT_NO_THROW(tensorboard_logger({.flush_period_s = 0}));
  try {
    tensorboard_logger({.flush_period_s = -1});
  } catch (const TuneError& error) {
    EXPECT_NE(std::string(error.what()).find("flush_period_s"), std::string::npos);
  }
}

}  // namespace
}  // namespace tune
