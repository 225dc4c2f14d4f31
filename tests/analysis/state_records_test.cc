// The state records: every kind's encoder and decoder agree, batches decode in order, and the
// kinds' names are the journal's.
#include "analysis/state_records.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <variant>

#include "tune/error.h"

namespace tune::detail {
namespace {

using ::testing::HasSubstr;

StateRecord round_trip(const StateRecord& record) {
  Json encoded = encode(record);
  std::optional<StateRecord> decoded = decode_record(encoded);
  EXPECT_TRUE(decoded.has_value());
  return decoded ? *decoded : StateRecord(DoneRecord{});
}

TEST(StateRecordsTest, EveryKindHasOneNameAndBack) {
  for (int k = 0; k <= static_cast<int>(RecordKind::kBatch); ++k) {
    const auto kind = static_cast<RecordKind>(k);
    EXPECT_EQ(record_kind_from_string(to_string(kind)), kind) << to_string(kind);
  }
  EXPECT_EQ(to_string(RecordKind::kCheckpoint), "ckpt");
  EXPECT_EQ(to_string(RecordKind::kSearcherChanges), "srchc");
  EXPECT_FALSE(record_kind_from_string("nope").has_value());
}

TEST(StateRecordsTest, TrialRecordsSurviveEncodeAndDecode) {
  const auto add = std::get<AddRecord>(
      round_trip(AddRecord{3, "abc_00003", "T_abc_00003", "q=0.5", Config{{"q", 0.5}}, "abc_00001", std::nullopt}));
  EXPECT_EQ(add.index, 3);
  EXPECT_EQ(add.trial_id, "abc_00003");
  EXPECT_EQ(add.name, "T_abc_00003");
  EXPECT_EQ(add.tag, "q=0.5");
  EXPECT_EQ(add.config, (Config{{"q", 0.5}}));
  EXPECT_EQ(add.replaces.value_or(""), "abc_00001");
  EXPECT_EQ(std::get<DirRecord>(round_trip(DirRecord{3, "T_dir"})).dir, "T_dir");
  EXPECT_EQ(std::get<RunRecord>(round_trip(RunRecord{4})).index, 4);
  EXPECT_EQ(std::get<PauseRecord>(round_trip(PauseRecord{5})).index, 5);
  const auto ckpt = std::get<CheckpointRecord>(
      round_trip(CheckpointRecord{3, Json{{"dir", "checkpoint_4"}}, {"checkpoint_1", "checkpoint_2"}}));
  EXPECT_EQ(ckpt.checkpoint.value("dir", ""), "checkpoint_4");
  EXPECT_EQ(ckpt.deleted, (std::vector<std::string>{"checkpoint_1", "checkpoint_2"}));
  const auto fail = std::get<FailRecord>(round_trip(FailRecord{3, 2, "boom"}));
  EXPECT_EQ(fail.num_failures, 2);
  EXPECT_EQ(fail.message, "boom");
  EXPECT_EQ(std::get<StatusRecord>(round_trip(StatusRecord{3, "PAUSED"})).status, "PAUSED");
  EXPECT_EQ(std::get<EndRecord>(round_trip(EndRecord{3, Json{{"status", "ERROR"}}})).trial.value("status", ""),
            "ERROR");
  const auto config = std::get<ConfigRecord>(round_trip(ConfigRecord{3, Config{{"q", 0.9}}, "tag", "abc_00000"}));
  EXPECT_EQ(config.config, (Config{{"q", 0.9}}));
  EXPECT_EQ(config.tag, "tag");
  EXPECT_EQ(config.from, "abc_00000");
}

TEST(StateRecordsTest, PluginAndSessionRecordsSurviveEncodeAndDecode) {
  EXPECT_EQ(std::get<SchedulerStateRecord>(round_trip(SchedulerStateRecord{Json{{"a", 1}}})).state, Json({{"a", 1}}));
  EXPECT_EQ(std::get<SearcherStateRecord>(round_trip(SearcherStateRecord{Json{{"b", 2}}})).state, Json({{"b", 2}}));
  const Json changes = Json::array({Json::array({"x"})});
  EXPECT_EQ(std::get<SchedulerChangesRecord>(round_trip(SchedulerChangesRecord{changes})).changes, changes);
  EXPECT_EQ(std::get<SearcherChangesRecord>(round_trip(SearcherChangesRecord{changes})).changes, changes);
  EXPECT_EQ(std::get<StartRecord>(round_trip(StartRecord{1234})).time, 1234);
  EXPECT_TRUE(std::holds_alternative<DoneRecord>(round_trip(DoneRecord{})));
  // The head keeps every field as read, the version included.
  HeadRecord head;
  head.name = "exp";
  head.metric = "acc";
  const auto decoded = std::get<HeadRecord>(round_trip(head));
  EXPECT_EQ(decoded.fields.value("name", ""), "exp");
  EXPECT_EQ(decoded.fields.value("metric", ""), "acc");
  EXPECT_EQ(decoded.fields.value("version", 0), kStateVersion);
  EXPECT_FALSE(decoded.fields.contains("e"));
}

TEST(StateRecordsTest, ABatchLineDecodesItsRecordsInOrderAndSkipsUnknownKinds) {
  Json line = Json::parse(std::string(kBatchOpen) + encode(RunRecord{1}).dump() + R"(,{"e":"future"},)" +
                          encode(PauseRecord{2}).dump() + "]}");
  const std::vector<StateRecord> records = decode_line(line);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(std::get<RunRecord>(records[0]).index, 1);
  EXPECT_EQ(std::get<PauseRecord>(records[1]).index, 2);
  Json single = encode(DoneRecord{});
  EXPECT_EQ(decode_line(single).size(), 1u);
}

TEST(StateRecordsTest, AMalformedBatchIsAnErrorSayingWhy) {
  Json no_list = Json::parse(R"({"e":"batch"})");
  EXPECT_THROW(
      {
        try {
          decode_line(no_list);
        } catch (const TuneError& e) {
          EXPECT_THAT(e.what(), HasSubstr("'r', a list of records"));
          throw;
        }
      },
      TuneError);
  Json nested = Json::parse(R"({"e":"batch","r":[{"e":"batch","r":[]}]})");
  EXPECT_THROW(decode_line(nested), TuneError);
}

}  // namespace
}  // namespace tune::detail
