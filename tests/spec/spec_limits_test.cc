// Tests of the limits on spec files (issue 17, item 5; docs/spec.md "Limits"): YAML aliases
// (recursion, alias bombs), unknown tags, sizes, control characters in names and keys, --set
// indices, and numbers that saturate. Every refusal is a SpecError naming the file, the line or
// key, and what is wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "common/saturate.h"
#include "support/spec_parse.h"
#include "support/temp_dir.h"
#include "tune/process.h"
#include "tune/spec.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using testing::parse_spec;
using testing::spec_error_of;

const std::string kTrainable = "trainable: {command: [sh, -c, 'echo 1'], protocol: plain}\n";


TEST(SpecLimitsTest, ASelfReferencingAliasIsRefusedNotARecursion) {
  for (const char* cycle : {"config: &a {x: *a}\n", "config:\n  l: &a [1, *a]\n", "config: &a\n  b: [*a]\n"}) {
    const SpecError error = spec_error_of(kTrainable + cycle);
    EXPECT_THAT(error.what(), ::testing::MatchesRegex("spec.yaml:[23]: config.*")) << cycle;
    EXPECT_THAT(error.what(), HasSubstr("contains it (recursion is not allowed)")) << cycle;
  }
}

TEST(SpecLimitsTest, AnAliasBombIsRefusedQuicklyAndSmall) {
  // "Billion laughs": 9 levels of 10 aliases each, 10^9 values if expanded; about 700 bytes.
  std::string bomb = kTrainable + "config:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int level = 1; level <= 9; ++level) {
    const std::string previous = "*l" + std::to_string(level - 1);
    bomb += "  l" + std::to_string(level) + ": &l" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) bomb += (i ? ", " : "") + previous;
    bomb += "]\n";
  }
  EXPECT_LT(bomb.size(), 800u);
  const auto start = std::chrono::steady_clock::now();
  const SpecError error = spec_error_of(bomb);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_THAT(error.what(), HasSubstr("spec.yaml:"));
  EXPECT_THAT(error.what(), HasSubstr("YAML aliases expand to more than 100000 values"));
}

TEST(SpecLimitsTest, AliasesWithinTheBudgetStillWork) {
  const RunSpec spec = parse_spec(kTrainable + "config:\n  base: &b {lr: 0.1, layers: [1, 2, 3]}\n  copy: *b\n");
  EXPECT_EQ(spec.json["config"]["copy"], spec.json["config"]["base"]);
  EXPECT_EQ(spec.json["config"]["copy"]["layers"][2], 3);
}

TEST(SpecLimitsTest, UnknownTagsAreRefusedNamingTheTagAndLine) {
  const SpecError python = spec_error_of(kTrainable + "config: !!python/object:os.system {a: 1}\n");
  EXPECT_THAT(python.what(), HasSubstr("spec.yaml:2: config: unsupported YAML tag '!!python/object:os.system'"));
  EXPECT_EQ(python.line(), 2);
  const SpecError custom = spec_error_of(kTrainable + "config:\n  x: !foo 3\n");
  EXPECT_THAT(custom.what(), HasSubstr("spec.yaml:3: config/x: unsupported YAML tag '!foo'"));
  const SpecError list = spec_error_of(kTrainable + "config:\n  x: !set [1]\n");
  EXPECT_THAT(list.what(), HasSubstr("spec.yaml:3: config/x: unsupported YAML tag '!set' on a list"));
  // The core schema's own tags stay accepted.
  EXPECT_EQ(parse_spec(kTrainable + "config: !!map {x: !!seq [!!str 1]}\n").json["config"]["x"][0], "1");
}

TEST(SpecLimitsTest, AnOverlongSpecOrSetValueIsRefused) {
  const std::string big = kTrainable + "config: {x: '" + std::string(4 << 20, 'a') + "'}\n";
  EXPECT_THAT(spec_error_of(big).what(),
              HasSubstr("spec.yaml: is " + std::to_string(big.size()) + " bytes; a spec file may hold at most 4194304"));
  const SpecError set = spec_error_of(kTrainable, {"config.x=" + std::string(70000, 'b')});
  EXPECT_THAT(set.what(), HasSubstr("--set config.x=bbb"));
  EXPECT_THAT(set.what(), HasSubstr("is 70009 bytes; a --set argument may hold at most 65536"));

  testing::TempDir dir;
  const auto file = dir.path() / "huge.yaml";
  std::ofstream(file) << big;
  try {
    load_run_spec(file);
    ADD_FAILURE() << "a 4 MiB + spec file was accepted";
  } catch (const SpecError& error) {
    EXPECT_THAT(error.what(), HasSubstr("huge.yaml: is 4194305 bytes"));  // read no further than the limit
  }
}

TEST(SpecLimitsTest, ControlCharactersAreRefusedInNamesAndKeys) {
  const SpecError name = spec_error_of(kTrainable + "name: \"exp\\e[2J\"\n");
  EXPECT_THAT(name.what(), HasSubstr("spec.yaml:2: name: 'exp\\x1b[2J' holds a control character"));
  const SpecError key = spec_error_of(kTrainable + "config:\n  \"lr\\r\": 1\n");
  EXPECT_THAT(key.what(), HasSubstr("spec.yaml:3: config: key 'lr\\r' holds a control character"));
  const SpecError c1 = spec_error_of(kTrainable + "config: {\"a\\x85b\": 1}\n");
  EXPECT_THAT(c1.what(), HasSubstr("key 'a\\u0085b' holds a control character"));
  const SpecError trainable = spec_error_of("trainable: {command: [sh], name: \"t\\tx\"}\n");
  EXPECT_THAT(trainable.what(), HasSubstr("trainable/name: must be a non-empty name without '/' or control"));
  EXPECT_THAT(spec_error_of(kTrainable, {"name=a\x1b" "b"}).what(), HasSubstr("'a\\x1bb' holds a control character"));
  EXPECT_EQ(parse_spec(kTrainable + "name: caf\xc3\xa9\n").options.name, "caf\xc3\xa9");  // UTF-8 is fine
}

TEST(SpecLimitsTest, HugeAndNegativeSetIndicesNameTheKey) {
  const std::string list = kTrainable;
  for (const std::string index : {"99999999999999999999", "18446744073709551616", "-1", "1e3", "5"}) {
    const SpecError error = spec_error_of(list, {"trainable.command." + index + "=x"});
    EXPECT_THAT(error.what(), HasSubstr("'trainable/command' is a list of 3 items; '" + index + "' is no index of it"))
        << index;
    EXPECT_EQ(error.key(), "trainable/command/" + index);
  }
  const SpecError deep = spec_error_of(list, {"trainable.command.99999999999999999999.x=1"});
  EXPECT_THAT(deep.what(), HasSubstr("'99999999999999999999' is no index of it"));
  EXPECT_EQ(parse_spec(list, {"trainable.command.3=x"}).trainable.process->argv.back(), "x");  // append still works
}

// Plain scalars are typed by YAML 1.2's core schema, scanned by hand: a float of 1 MB (under the
// 4 MiB file limit) used to overflow the stack in std::regex, one frame per character.
TEST(SpecLimitsTest, ALongNumericScalarIsReadNotARecursion) {
  const RunSpec spec = parse_spec(kTrainable + "config: {x: 1." + std::string(1 << 20, '1') + ", y: " +
                                  std::string(3000, '9') + "e-3000, z: -.5e+2, v: 1e5x}\n");
  EXPECT_DOUBLE_EQ(spec.json["config"]["x"].get<double>(), 1.0 + 1.0 / 9.0);
  EXPECT_DOUBLE_EQ(spec.json["config"]["y"].get<double>(), 1.0);
  EXPECT_EQ(spec.json["config"]["z"], -50.0);
  EXPECT_EQ(spec.json["config"]["v"], "1e5x") << "not a float: stays a string";
  for (const char* text : {"1.", ".5", "-1e3", "+2.5E-1", "007"}) {
    EXPECT_TRUE(parse_spec(kTrainable + "config: {x: " + text + "}\n").json["config"]["x"].is_number()) << text;
  }
  for (const char* text : {".", "e3", "1e", "1e+", "--1", "1.2.3", ".e1", "0x1p3"}) {
    EXPECT_TRUE(parse_spec(kTrainable + "config: {x: '" + text + "'}\n").json["config"]["x"].is_string()) << text;
    EXPECT_TRUE(parse_spec(kTrainable + "config: {x: " + text + "}\n").json["config"]["x"].is_string()) << text;
  }
}

TEST(SpecLimitsTest, HugeTimeoutsSaturateInsteadOfOverflowing) {
  const RunSpec spec =
      parse_spec("trainable: {command: [sh], step_timeout_s: 1e10, stop_grace_s: 1e300}\nstop: {training_iteration: 1e300}\n");
  EXPECT_EQ(spec.trainable.process->step_timeout_s, kMaxSeconds);
  EXPECT_EQ(spec.trainable.process->stop_grace_s, kMaxSeconds);
  EXPECT_THAT(spec_error_of(kTrainable + "time_budget_s: .inf\n").what(), HasSubstr("spec.yaml:2: time_budget_s"));
  EXPECT_THAT(spec_error_of(kTrainable + "num_samples: 1e300\n").what(), HasSubstr("num_samples: must be an integer"));
  EXPECT_THAT(spec_error_of(kTrainable + "max_failures: 99999999999\n").what(),
              HasSubstr("max_failures: must be a 32-bit integer"));
}

}  // namespace
}  // namespace tune
