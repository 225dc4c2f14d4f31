// Tests of spec files (tune/spec.h): every accepted key, YAML typing, --set overrides, and each
// error with the line it cites.
#include "tune/spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "support/spec_parse.h"
#include "support/temp_dir.h"
#include "tune/process.h"
#include "tune/searchers.h"

namespace tune {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TempDir;

RunSpec parse(const std::string& text, std::vector<std::string> overrides = {}) {
  return testing::parse_spec(text, std::move(overrides));
}
SpecError error_of(const std::string& text, std::vector<std::string> overrides = {}) {
  return testing::spec_error_of(text, std::move(overrides));
}

const std::string kTrainable = "trainable: {command: [sh, -c, 'echo 1'], protocol: plain}\n";

TEST(SpecTest, MinimalCommandSpecBuildsAPlainProcessTrainable) {
  RunSpec spec = parse(kTrainable);
  ASSERT_TRUE(spec.trainable.process);
  EXPECT_EQ(spec.trainable.process->argv, (std::vector<std::string>{"sh", "-c", "echo 1"}));
  EXPECT_EQ(spec.trainable.process->protocol, ProcessSpec::Protocol::kPlain);
  EXPECT_EQ(spec.trainable.name, "sh");
  // Defaults are RunOptions' own.
  const RunOptions defaults;
  EXPECT_EQ(spec.options.num_samples, defaults.num_samples);
  EXPECT_EQ(spec.options.local_dir, defaults.local_dir);
  EXPECT_EQ(spec.options.verbose, defaults.verbose);
  EXPECT_TRUE(spec.options.raise_on_failed_trial);
  EXPECT_TRUE(spec.options.config.empty());
  EXPECT_TRUE(spec.options.stop.empty());
  EXPECT_TRUE(spec.warnings.empty());
  EXPECT_EQ(spec.json["trainable"]["protocol"], "plain");
}

TEST(SpecTest, EveryRunOptionKeyIsMapped) {
  const std::string text = R"(name: sweep
trainable:
  command: [sh, -c, 'echo 1']
  protocol: client
  name: shell
  env: {A: x, B: 2, C: true}
  working_dir: /tmp
  step_timeout_s: 30
  stop_grace_s: 1.5
  echo_output: true
  max_message_bytes: 1000
config:
  lr: {loguniform: [1.0e-4, 1.0e-1]}
num_samples: 7
stop: {training_iteration: 10, nested: {acc: 0.9}}
resources_per_trial: {cpu: 2, gpu: 0.5, custom_resources: {tpu: 1}}
local_dir: /tmp/results
scheduler: fifo
search_alg: variant_generator
checkpoint_freq: 0
checkpoint_at_end: false
keep_checkpoints_num: null
checkpoint_score_attr: training_iteration
max_failures: 3
fail_fast: false
resume: false
restore: null
reuse_actors: false
metric: loss
mode: min
seed: 42
max_concurrent_trials: 4
time_budget_s: 60.5
verbose: 1
raise_on_failed_trial: false
num_cpus: 8
num_gpus: 1
custom_resources: {tpu: 4}
write_trial_files: false
)";
  RunSpec spec = parse(text);
  const RunOptions& o = spec.options;
  EXPECT_EQ(o.name, "sweep");
  EXPECT_EQ(spec.trainable.name, "shell");
  const ProcessSpec& p = *spec.trainable.process;
  EXPECT_EQ(p.protocol, ProcessSpec::Protocol::kWorker);
  EXPECT_EQ(p.env, (std::map<std::string, std::string>{{"A", "x"}, {"B", "2"}, {"C", "true"}}));
  EXPECT_EQ(p.working_dir, "/tmp");
  EXPECT_EQ(p.step_timeout_s, 30);
  EXPECT_EQ(p.stop_grace_s, 1.5);
  EXPECT_TRUE(p.echo_output);
  EXPECT_EQ(p.max_message_bytes, 1000u);
  ASSERT_NE(o.config.find("lr"), nullptr);
  EXPECT_TRUE(o.config.find("lr")->is_domain());
  EXPECT_EQ(o.num_samples, 7);
  EXPECT_EQ(o.stop.criteria(), Json::parse(R"({"training_iteration": 10, "nested": {"acc": 0.9}})"));
  ASSERT_TRUE(o.resources_per_trial);
  EXPECT_EQ(o.resources_per_trial->cpu, 2);
  EXPECT_EQ(o.resources_per_trial->gpu, 0.5);
  EXPECT_EQ(o.resources_per_trial->custom.at("tpu"), 1);
  EXPECT_EQ(o.local_dir, "/tmp/results");
  EXPECT_EQ(o.max_failures, 3);
  EXPECT_FALSE(o.fail_fast);
  EXPECT_EQ(o.metric, "loss");
  EXPECT_EQ(o.mode, "min");
  EXPECT_EQ(o.seed, 42u);
  EXPECT_EQ(o.max_concurrent_trials, 4);
  EXPECT_EQ(o.time_budget_s, 60.5);
  EXPECT_EQ(o.verbose, 1);
  EXPECT_FALSE(o.raise_on_failed_trial);
  EXPECT_EQ(o.num_cpus, 8);
  EXPECT_EQ(o.num_gpus, 1);
  EXPECT_EQ(o.custom_resources.at("tpu"), 4);
  EXPECT_FALSE(o.write_trial_files);
  EXPECT_FALSE(o.scheduler);   // fifo is the default
  EXPECT_FALSE(o.search_alg);  // so is the variant generator
}

TEST(SpecTest, FailFastMaps) { EXPECT_TRUE(parse(kTrainable + "fail_fast: true\n").options.fail_fast); }

TEST(SpecTest, SearchSpaceFormsBecomeDomains) {
  RunSpec spec = parse(kTrainable + R"(config:
  lr: {loguniform: [1.0e-4, 1.0e-1]}
  layers: {grid_search: [16, 64, 256]}
  act: {choice: [relu, tanh]}
  model: {width: {randint: [1, 10]}, depth: 3}
)");
  const Space& config = spec.options.config;
  EXPECT_EQ(config.find("lr")->as_domain().type, Domain::Type::kLogUniform);
  EXPECT_EQ(config.find("layers")->as_domain().type, Domain::Type::kGridSearch);
  EXPECT_EQ(config.find("act")->as_domain().values, (std::vector<Json>{"relu", "tanh"}));
  EXPECT_EQ(config.find("model/width")->as_domain().type, Domain::Type::kRandint);
  EXPECT_EQ(config.find("model/depth")->as_value(), 3);
}

TEST(SpecTest, ScalarsFollowTheYaml12CoreSchema) {
  RunSpec spec = parse(kTrainable + R"(config:
  int: 12
  neg: -3
  hex: 0x1F
  oct: 0o17
  float: 1.5
  exp: 1e-3
  bool: true
  Bool: False
  null1: ~
  null2: null
  empty:
  quoted_int: "12"
  quoted_bool: 'true'
  yes_is_a_string: yes
  tagged: !!str 5
  text: hello world
)");
  const Space& c = spec.options.config;
  EXPECT_EQ(c.find("int")->as_value(), Json(12));
  EXPECT_TRUE(c.find("int")->as_value().is_number_integer());
  EXPECT_EQ(c.find("neg")->as_value(), Json(-3));
  EXPECT_EQ(c.find("hex")->as_value(), Json(31));
  EXPECT_EQ(c.find("oct")->as_value(), Json(15));
  EXPECT_TRUE(c.find("float")->as_value().is_number_float());
  EXPECT_EQ(c.find("float")->as_value(), Json(1.5));
  EXPECT_EQ(c.find("exp")->as_value(), Json(1e-3));
  EXPECT_EQ(c.find("bool")->as_value(), Json(true));
  EXPECT_EQ(c.find("Bool")->as_value(), Json(false));
  EXPECT_TRUE(c.find("null1")->as_value().is_null());
  EXPECT_TRUE(c.find("null2")->as_value().is_null());
  EXPECT_TRUE(c.find("empty")->as_value().is_null());
  EXPECT_EQ(c.find("quoted_int")->as_value(), Json("12"));
  EXPECT_EQ(c.find("quoted_bool")->as_value(), Json("true"));
  EXPECT_EQ(c.find("yes_is_a_string")->as_value(), Json("yes"));
  EXPECT_EQ(c.find("tagged")->as_value(), Json("5"));
  EXPECT_EQ(c.find("text")->as_value(), Json("hello world"));
}

TEST(SpecTest, JsonSpecsParseToo) {
  RunSpec spec = parse(R"({"trainable": {"command": ["sh", "-c", "true"], "protocol": "plain"},
                          "config": {"x": {"grid_search": [1, 2]}}, "num_samples": 2})");
  EXPECT_EQ(spec.options.num_samples, 2);
  EXPECT_TRUE(spec.options.config.find("x")->is_domain());
}

TEST(SpecTest, CommandDefaultsToThePlainProtocol) {
  RunSpec spec = parse("trainable: {command: [sh]}\n");
  EXPECT_EQ(spec.trainable.process->protocol, ProcessSpec::Protocol::kPlain);
}

TEST(SpecTest, SearchAlgTakesPointsToEvaluate) {
  RunSpec spec = parse(kTrainable + R"(config: {x: {uniform: [0, 1]}}
search_alg: {type: variant_generator, points_to_evaluate: [{x: 0.25}]}
seed: 1
)");
  auto* generator = dynamic_cast<BasicVariantGenerator*>(spec.options.search_alg.get());
  ASSERT_NE(generator, nullptr);
  EXPECT_EQ(generator->generate(0).config["x"], 0.25);
  EXPECT_EQ(generator->seed(), 1u);
}

TEST(SpecTest, SearchAlgTpeWithWrappersAndTheRunsSeed) {
  RunSpec spec = parse(kTrainable + R"(config: {x: {uniform: [0, 1]}}
metric: loss
mode: min
seed: 7
search_alg: {type: tpe, n_startup_trials: 3, multivariate: false, scott_bandwidth: 0, max_concurrent: 2}
)");
  auto* limiter = dynamic_cast<ConcurrencyLimiter*>(spec.options.search_alg.get());
  ASSERT_NE(limiter, nullptr);
  auto* tpe = dynamic_cast<const TPESearcher*>(&limiter->searcher());
  ASSERT_NE(tpe, nullptr);
  EXPECT_EQ(tpe->seed(), 7u);
  EXPECT_NE(dynamic_cast<TPESearcher*>(parse(kTrainable + "search_alg: tpe\n").options.search_alg.get()), nullptr);
  const SpecError bad = error_of(kTrainable + "search_alg:\n  type: tpe\n  n_ei_candidates: 0\n");
  EXPECT_EQ(bad.line(), 4);
  EXPECT_THAT(bad.what(), HasSubstr("search_alg/n_ei_candidates: must be >= 1"));
  const SpecError bandwidth = error_of(kTrainable + "search_alg:\n  type: tpe\n  scott_bandwidth: -1\n");
  EXPECT_THAT(bandwidth.what(), HasSubstr("search_alg/scott_bandwidth: must be >= 0"));
  // Left out, it is the rule by dimension; given, it must be a number (an optional field).
  const SpecError bandwidth_text = error_of(kTrainable + "search_alg:\n  type: tpe\n  scott_bandwidth: wide\n");
  EXPECT_EQ(bandwidth_text.line(), 4);
  EXPECT_THAT(bandwidth_text.what(), HasSubstr("search_alg/scott_bandwidth: must be a number"));
  const SpecError unknown = error_of(kTrainable + "search_alg:\n  type: tpe\n  gama: 2\n");
  EXPECT_EQ(unknown.line(), 4);
  EXPECT_THAT(unknown.what(), HasSubstr("search_alg: unknown key 'gama'"));
}

TEST(SpecTest, SearchAlgGpCmaesAndBohbAndTheirKeys) {
  const RunSpec spec = parse(kTrainable + "seed: 5\nsearch_alg: {type: gp, acquisition: ucb, kappa: 1.5}\n");
  auto* gp = dynamic_cast<GPSearcher*>(spec.options.search_alg.get());
  ASSERT_NE(gp, nullptr);
  EXPECT_EQ(gp->seed(), 5u);
  EXPECT_NE(dynamic_cast<CMAESSearcher*>(parse(kTrainable + "search_alg: cmaes\n").options.search_alg.get()), nullptr);
  EXPECT_NE(dynamic_cast<BOHBSearcher*>(parse(kTrainable + "search_alg: {type: bohb, top_n_percent: 20}\n").options.search_alg.get()),
            nullptr);
  const std::vector<std::pair<std::string, std::string>> errors = {
      {"  type: gp\n  acquisition: eii\n", "search_alg/acquisition: 'eii' is not an acquisition function (did you mean 'ei'?)"},
      {"  type: gp\n  n_candidates: 0\n", "search_alg/n_candidates: must be >= 1"},
      {"  type: gp\n  kapa: 2\n", "search_alg: unknown key 'kapa' (did you mean 'kappa'?)"},
      {"  type: cmaes\n  restarts: ipopp\n", "search_alg/restarts: must be 'ipop' or 'none', got 'ipopp' (did you mean 'ipop'?)"},
      {"  type: cmaes\n  sigma0: -1\n", "search_alg/sigma0: must be > 0"},
      {"  type: bohb\n  top_n_percent: 150\n", "search_alg/top_n_percent: must be > 0 and < 100"},
      {"  type: bohb\n  min_point_in_model: 3\n", "(did you mean 'min_points_in_model'?)"},
      {"  type: gpp\n", "search_alg/type: unknown search algorithm 'gpp' (did you mean 'gp'?)"},
  };
  for (const auto& [body, message] : errors) {
    const SpecError error = error_of(kTrainable + "search_alg:\n" + body);
    EXPECT_THAT(error.what(), HasSubstr(message)) << body;
    EXPECT_EQ(error.line(), body.find("type: gpp") == std::string::npos ? 4 : 3) << body;
  }
}

// ---- errors, each with its line ----

struct ErrorCase {
  const char* label;
  std::string text;
  int line;
  std::string message;  // a substring of what(), after "spec.yaml:<line>: "
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.label; }

class SpecErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(SpecErrorTest, NamesTheLineAndTheRule) {
  const ErrorCase& c = GetParam();
  const SpecError error = error_of(c.text);
  const std::string where = c.line > 0 ? "spec.yaml:" + std::to_string(c.line) + ": " : "spec.yaml: ";
  EXPECT_THAT(error.what(), StartsWith(where)) << c.label;
  EXPECT_THAT(error.what(), HasSubstr(c.message)) << c.label;
  EXPECT_EQ(error.line(), c.line) << c.label;
  EXPECT_EQ(error.source(), "spec.yaml") << c.label;
}

const std::string T = kTrainable;  // line 1 of every case below

INSTANTIATE_TEST_SUITE_P(
    Spec, SpecErrorTest,
    ::testing::Values(
        ErrorCase{"unknown key", T + "name: x\nnum_sample: 3\n", 3,
                  "unknown key 'num_sample' (did you mean 'num_samples'?)"},
        ErrorCase{"unknown key, far from all", T + "zzzzzzzz: 1\n", 2, "unknown key 'zzzzzzzz'; valid keys: "},
        ErrorCase{"nested unknown key", "trainable:\n  comand: [sh]\n", 2,
                  "trainable: unknown key 'comand' (did you mean 'command'?)"},
        ErrorCase{"num_samples type", T + "num_samples: ten\n", 2,
                  "num_samples: must be an integer, got 'ten' (a string)"},
        ErrorCase{"num_samples float", T + "num_samples: 2.5\n", 2, "num_samples: must be an integer, got 2.5"},
        ErrorCase{"num_samples zero", T + "num_samples: 0\n", 2, "num_samples: must be >= 1, or -1 for no limit"},
        ErrorCase{"loguniform bound", T + "config:\n  a: 1\n  lr: {loguniform: [0, 1]}\n", 4,
                  "config/lr: loguniform: lower"},
        ErrorCase{"domain deep in the tree", T + "config:\n  model:\n    width:\n      randint: [1, 2.5]\n", 4,
                  "config/model/width: randint argument 2 must be an integer"},
        ErrorCase{"sample_from", T + "config:\n  f: {sample_from: x}\n", 3, "config/f: sample_from cannot be read"},
        ErrorCase{"config not a mapping", T + "config: [1, 2]\n", 2, "config: must be a mapping, got a list"},
        ErrorCase{"resources unknown key", T + "resources_per_trial:\n  cpus: 2\n", 3,
                  "resources_per_trial: unknown key 'cpus' (did you mean 'cpu'?)"},
        ErrorCase{"resources negative", T + "resources_per_trial:\n  cpu: 1\n  gpu: -1\n", 4,
                  "resources_per_trial/gpu: must be >= 0"},
        ErrorCase{"resources from the library", T + "resources_per_trial:\n  gpu: 1.5\n", 3,
                  "resources_per_trial.gpu: a request above one GPU must be a whole number"},
        ErrorCase{"mode", T + "metric: loss\nmode: minimum\n", 3, "mode: must be 'min' or 'max', got 'minimum'"},
        ErrorCase{"metric without mode", T + "metric: loss\n", 2, "metric: is given without 'mode'"},
        ErrorCase{"mode without metric", T + "mode: max\n", 2, "mode: is given without 'metric'"},
        ErrorCase{"verbose", T + "verbose: 4\n", 2, "verbose: must be 0, 1, 2 or 3, got 4"},
        ErrorCase{"max_failures", T + "max_failures: -2\n", 2, "max_failures: must be >= 0, or -1"},
        ErrorCase{"fail_fast with retries", T + "max_failures: 2\nfail_fast: true\n", 3,
                  "fail_fast: cannot be combined with max_failures"},
        ErrorCase{"bool", T + "fail_fast: yes\n", 2, "fail_fast: must be true or false, got 'yes' (a string)"},
        ErrorCase{"seed", T + "seed: -1\n", 2, "seed: must be >= 0, got -1"},
        ErrorCase{"time budget", T + "time_budget_s: -5\n", 2, "time_budget_s: must be >= 0"},
        ErrorCase{"max_concurrent_trials", T + "max_concurrent_trials: -1\n", 2, "max_concurrent_trials: must be >= 1"},
        ErrorCase{"num_cpus", T + "num_cpus: many\n", 2, "num_cpus: must be a number, got 'many'"},
        ErrorCase{"custom_resources builtin", T + "custom_resources: {gpu: 1}\n", 2,
                  "custom_resources/gpu: use num_cpus/num_gpus"},
        ErrorCase{"name with a slash", T + "name: a/b\n", 2, "name: 'a/b' must be a single directory name"},
        ErrorCase{"local_dir", T + "local_dir: ''\n", 2, "local_dir: must not be empty"},
        ErrorCase{"stop threshold", T + "stop:\n  training_iteration: ten\n", 3,
                  "stop/training_iteration: must be a number"},
        ErrorCase{"stop nested threshold", T + "stop:\n  a:\n    b: [1]\n", 4, "stop/a/b: must be a number"},
        ErrorCase{"NaN", T + "config:\n  x: .nan\n", 3,
                  "config/x: '.nan' is not allowed: numbers in a spec must be finite"},
        ErrorCase{"infinity", T + "stop: {loss: -.inf}\n", 2, "'-.inf' is not allowed"},
        ErrorCase{"duplicate key", T + "num_samples: 1\nseed: 2\nnum_samples: 3\n", 4,
                  "duplicate key 'num_samples' (first at line 2)"},
        ErrorCase{"YAML syntax", T + "config: {a: [1, 2}\n", 2, "YAML syntax error"},
        ErrorCase{"invalid UTF-8", T + "name: \"caf\xc3\"\n", 2, "invalid UTF-8 (byte 0xc3 at column 11)"},
        ErrorCase{"overlong UTF-8", T + "name: \"\xc0\xaf\"\n", 2, "invalid UTF-8 (byte 0xc0"},
        ErrorCase{"two documents", T + "---\nname: x\n", 0, "holds 2 YAML documents"},
        ErrorCase{"empty", "\n# nothing\n", 0, "the spec is empty; it needs at least 'trainable'"},
        ErrorCase{"a list", "- trainable\n", 1, "a spec must be a mapping of options"},
        ErrorCase{"no trainable", "name: x\n", 0, "missing key 'trainable'"},
        ErrorCase{"trainable not a mapping", "trainable: sh\n", 1, "trainable: must be a mapping, got 'sh'"},
        ErrorCase{"command and binary", "trainable:\n  command: [sh]\n  binary: /bin/sh\n  name: x\n", 1,
                  "trainable: give either 'command' or 'binary', not both"},
        ErrorCase{"neither command nor binary", "trainable:\n  protocol: plain\n", 1, "trainable: needs 'command'"},
        ErrorCase{"command as a string", "trainable:\n  command: python3 train.py\n", 2,
                  "trainable/command: must be a list (argv), got the string 'python3 train.py'"},
        ErrorCase{"empty command", "trainable:\n  command: []\n", 2, "trainable/command: must be a non-empty list"},
        ErrorCase{"numeric argument", "trainable:\n  command:\n    - sh\n    - 10\n", 4,
                  "trainable/command/1: must be a string, got 10 (quote it: \"10\")"},
        ErrorCase{"program not in PATH", "\ntrainable: {command: [no-such-program-xyz, a]}\n", 2,
                  "trainable/command/0: program 'no-such-program-xyz' not found in PATH"},
        ErrorCase{"program path missing", "trainable: {command: [/no/such/dir/prog]}\n", 1,
                  "program '/no/such/dir/prog' does not exist"},
        ErrorCase{"program is a directory", "trainable: {command: [/tmp/]}\n", 1, "program '/tmp/' is a directory"},
        ErrorCase{"binary without name", "trainable:\n  binary: /bin/sh\n", 1, "trainable: 'binary' needs 'name'"},
        ErrorCase{"binary with protocol", "trainable:\n  binary: /bin/sh\n  name: X\n  protocol: plain\n", 4,
                  "trainable/protocol: only applies to 'command'"},
        ErrorCase{"launch of a command", "trainable:\n  command: [sh]\n  launch: exec\n", 3,
                  "trainable/launch: only applies to 'binary'"},
        ErrorCase{"launch", "trainable:\n  binary: /bin/sh\n  name: X\n  launch: zygot\n", 4,
                  "trainable/launch: must be 'zygote' or 'exec', got 'zygot' (did you mean 'zygote'?)"},
        ErrorCase{"protocol", "trainable:\n  command: [sh]\n  protocol: plane\n", 3,
                  "trainable/protocol: must be 'plain' or 'client', got 'plane' (did you mean 'plain'?)"},
        ErrorCase{"trainable name", "trainable: {command: [sh], name: 'a/b'}\n", 1,
                  "trainable/name: must be a non-empty name without '/'"},
        ErrorCase{"step timeout", "trainable:\n  command: [sh]\n  step_timeout_s: -1\n", 3,
                  "trainable/step_timeout_s: must be >= 0"},
        ErrorCase{"env value", "trainable:\n  command: [sh]\n  env:\n    A: [1]\n", 4,
                  "trainable/env/A: must be a string, number or bool"},
        ErrorCase{"unknown scheduler", T + "scheduler: ashaa\n", 2,
                  "scheduler: unknown scheduler 'ashaa' (did you mean 'asha'?)"},
        ErrorCase{"scheduler with parameters", T + "scheduler: {type: fifo, grace: 1}\n", 2,
                  "scheduler: unknown key 'grace'"},
        ErrorCase{"unknown search_alg", T + "search_alg: {type: hyperopd}\n", 2,
                  "search_alg/type: unknown search algorithm 'hyperopd' (did you mean 'hyperopt'?)"},
        ErrorCase{"points_to_evaluate", T + "search_alg:\n  type: random\n  points_to_evaluate: [1]\n", 4,
                  "search_alg/points_to_evaluate/0: must be a mapping, got 1"},
        ErrorCase{"YAML tag", T + "seed: !!binary aGVsbG8=\n", 2, "seed: unsupported YAML tag"},
        ErrorCase{"huge integer", T + "seed: 123456789012345678901234567890\n", 2, "seed: integer 1234"},
        ErrorCase{"mapping key", T + "config:\n  [a, b]: 1\n", 3, "config: a key must be a plain string"}),
    [](const ::testing::TestParamInfo<ErrorCase>& param) {
      std::string name;
      for (const char* c = param.param.label; *c; ++c) name += std::isalnum(static_cast<unsigned char>(*c)) ? *c : '_';
      return name;
    });

TEST(SpecTest, UnknownKeyMessageIsExact) {
  EXPECT_STREQ(error_of(T + "\nnum_sample: 3\n").what(),
               "spec.yaml:3: unknown key 'num_sample' (did you mean 'num_samples'?)");
  EXPECT_EQ(error_of(T + "\nnum_sample: 3\n").key(), "num_sample");
}

TEST(SpecTest, LibraryErrorKeepsItsPathAndGetsTheLine) {
  const SpecError error = error_of(T + "config:\n\n  lr:\n    loguniform: [0, 0.1]\n");
  EXPECT_THAT(error.what(), StartsWith("spec.yaml:4: config/lr: loguniform: "));
  EXPECT_EQ(error.key(), "config/lr");
}

TEST(SpecTest, SyncConfigKeysAndErrors) {
  const RunSpec spec = parse(T + R"(name: up
sync_config:
  upload_dir: /tmp/cloud
  sync_to_cloud: [rsync, -a, --exclude=*.tmp, "{source}", "{target}"]
  sync_to_driver: rsync -az -e "ssh -p 2222" {source} {target}
  sync_period_s: 60
  sync_on_checkpoint: false
  sync_timeout_s: 30
resume: REMOTE
)");
  const SyncConfig& sync = spec.options.sync_config;
  EXPECT_EQ(sync.upload_dir, "/tmp/cloud");
  EXPECT_EQ(sync.sync_to_cloud.argv,
            (std::vector<std::string>{"rsync", "-a", "--exclude=*.tmp", "{source}", "{target}"}));
  EXPECT_EQ(sync.sync_to_driver.argv,
            (std::vector<std::string>{"rsync", "-az", "-e", "ssh -p 2222", "{source}", "{target}"}));
  EXPECT_EQ(sync.sync_period_s, 60);
  EXPECT_FALSE(sync.sync_on_checkpoint);
  EXPECT_EQ(sync.sync_timeout_s, 30);
  EXPECT_EQ(spec.options.resume.value, "REMOTE");
  EXPECT_TRUE(parse(T + "sync_config: {sync_to_driver: false}\n").options.sync_config.sync_to_driver.off);

  EXPECT_THAT(error_of(T + "sync_config:\n  upload_dri: /x\n").what(),
              StartsWith("spec.yaml:3: sync_config: unknown key 'upload_dri' (did you mean 'upload_dir'?)"));
  EXPECT_THAT(error_of(T + "sync_config:\n  upload_dir: /x\n  sync_to_cloud: cp -r {source}\n").what(),
              StartsWith("spec.yaml:4: sync_config/sync_to_cloud: the command template must contain both"));
  EXPECT_THAT(error_of(T + "sync_config:\n  upload_dir: /x\n  sync_to_cloud: \"cp 'x {source} {target}\"\n").what(),
              HasSubstr("unterminated"));
  EXPECT_THAT(error_of(T + "sync_config:\n  upload_dir: ftp://x\n").what(),
              StartsWith("spec.yaml:3: sync_config.upload_dir: 'ftp://x' has no default sync command"));
  EXPECT_THAT(error_of(T + "sync_config:\n  sync_period_s: -1\n").what(),
              StartsWith("spec.yaml:3: sync_config/sync_period_s: must be >= 0"));
  EXPECT_THAT(error_of(T + "sync_config:\n  sync_to_cloud: 3\n").what(), HasSubstr("must be a command"));
  EXPECT_THAT(error_of(T + "name: x\nresume: REMOTE\n").what(),
              HasSubstr("resume: REMOTE pulls the experiment from sync_config.upload_dir, which is not given"));
  EXPECT_THAT(error_of(T + "resume: REMOTE\nsync_config: {upload_dir: /x}\n").what(), HasSubstr("REMOTE needs 'name'"));
}

// Keys Ray Tune has that this version cannot run: valid at their defaults, refused otherwise.
TEST(SpecTest, UnsupportedKeysAreAcceptedAtTheirDefaultAndRefusedOtherwise) {
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"scheduler: pb2", "not supported yet: scheduler 'pb2'"},
      {"scheduler: {type: resource_changing}", "not supported yet: scheduler 'resource_changing'"},
      {"search_alg: hyperopt", "not supported yet: search_alg 'hyperopt'"},
  };
  for (const auto& [line, message] : refused) {
    const SpecError error = error_of(T + "num_samples: 1\n" + line + "\n");
    EXPECT_THAT(error.what(), StartsWith("spec.yaml:3: " + message)) << line;
  }
  EXPECT_THAT(error_of(T + "num_samples: 1\nreuse_actors: true\n").what(),
              StartsWith("spec.yaml:3: reuse_actors: true needs an in-process class trainable"));
  const std::vector<std::string> accepted = {"checkpoint_freq: 0",
                                             "checkpoint_freq: 5",
                                             "checkpoint_at_end: true",
                                             "keep_checkpoints_num: 2",
                                             "checkpoint_score_attr: min-loss",
                                             "resume: true",
                                             "resume: LOCAL",
                                             "resume: ERRORED_ONLY",
                                             "resume: PROMPT",
                                             "restore: /tmp/ckpt",
                                             "checkpoint_at_end: false",
                                             "keep_checkpoints_num: null",
                                             "checkpoint_score_attr: training_iteration",
                                             "resume: false",
                                             "restore: null",
                                             "restore: ''",
                                             "reuse_actors: false",
                                             "scheduler: fifo",
                                             "scheduler: {type: fifo}",
                                             "search_alg: random",
                                             "search_alg: {type: variant_generator}"};
  for (const std::string& line : accepted) EXPECT_NO_THROW(parse(T + line + "\n")) << line;
  // Wrong types are still type errors, not "not supported yet".
  EXPECT_THAT(error_of(T + "checkpoint_freq: often\n").what(), HasSubstr("checkpoint_freq: must be an integer"));
  EXPECT_THAT(error_of(T + "resume: AUTO\n").what(), HasSubstr("'AUTO' is not a resume mode"));
  EXPECT_THAT(error_of(T + "resume: LOCALL\n").what(), HasSubstr("did you mean 'LOCAL'"));
  EXPECT_THAT(error_of(T + "keep_checkpoints_num: 0\n").what(), HasSubstr("keep_checkpoints_num: must be >= 1"));
  EXPECT_THAT(error_of(T + "checkpoint_score_attr: min-\n").what(), HasSubstr("must name a result key"));
}

TEST(SpecTest, KeyListsAreConsistent) {
  const std::vector<std::string>& keys = run_spec_keys();
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  for (const char* key : {"name",
                          "trainable",
                          "config",
                          "num_samples",
                          "stop",
                          "resources_per_trial",
                          "local_dir",
                          "scheduler",
                          "search_alg",
                          "checkpoint_freq",
                          "checkpoint_at_end",
                          "keep_checkpoints_num",
                          "checkpoint_score_attr",
                          "max_failures",
                          "fail_fast",
                          "resume",
                          "restore",
                          "metric",
                          "mode",
                          "seed",
                          "max_concurrent_trials",
                          "time_budget_s",
                          "verbose"}) {
    EXPECT_TRUE(std::binary_search(keys.begin(), keys.end(), key)) << key;
  }
  for (const std::string& key : unsupported_spec_keys()) {
    EXPECT_TRUE(std::binary_search(keys.begin(), keys.end(), key)) << key;
  }
}

TEST(SpecTest, ReportsTheFirstErrorInFileOrder) {
  // 'verbose' sorts after 'num_samples' but comes first in the file.
  const SpecError error = error_of(T + "verbose: 9\nnum_samples: x\n");
  EXPECT_EQ(error.line(), 2);
  EXPECT_EQ(error.key(), "verbose");
  // An unknown key later in the file does not jump the queue, nor does a missing 'trainable'.
  EXPECT_EQ(error_of(T + "verbose: 9\nnum_sampl: 1\n").key(), "verbose");
  EXPECT_EQ(error_of("seed: x\n").key(), "seed");
}

// ---- --set ----

TEST(SpecTest, OverridesReplaceValuesBeforeChecking) {
  RunSpec spec = parse(T + "num_samples: 1\nconfig:\n  lr: 0.1\n",
                       {"num_samples=5", "config.lr={loguniform: [0.001, 0.1]}", "stop/training_iteration=3",
                        "config.name='007'", "trainable.command.2=echo 2", "metric=loss", "mode=max"});
  EXPECT_EQ(spec.options.num_samples, 5);
  EXPECT_TRUE(spec.options.config.find("lr")->is_domain());
  EXPECT_EQ(spec.options.config.find("name")->as_value(), "007");
  EXPECT_EQ(spec.options.stop.criteria(), Json::parse(R"({"training_iteration": 3})"));
  EXPECT_EQ(spec.trainable.process->argv[2], "echo 2");
  EXPECT_EQ(spec.options.metric, "loss");
  EXPECT_EQ(spec.json["num_samples"], 5);
}

TEST(SpecTest, OverrideCanAppendToAList) {
  RunSpec spec = parse(T, {"trainable.command.3=extra"});
  EXPECT_EQ(spec.trainable.process->argv.back(), "extra");
}

TEST(SpecTest, OverrideErrorsNameTheOverride) {
  EXPECT_STREQ(error_of(T, {"num_sample=3"}).what(),
               "--set num_sample=3: unknown key 'num_sample' (did you mean 'num_samples'?)");
  EXPECT_EQ(error_of(T, {"num_sample=3"}).source(), "--set num_sample=3");
  EXPECT_EQ(error_of(T, {"num_sample=3"}).line(), 0);
  EXPECT_STREQ(error_of(T + "num_samples: 2\n", {"num_samples=many"}).what(),
               "--set num_samples=many: num_samples: must be an integer, got 'many' (a string)");
  EXPECT_THAT(error_of(T, {"config.lr={loguniform: [0, 1]}"}).what(),
              StartsWith("--set config.lr={loguniform: [0, 1]}: config/lr: loguniform: "));
  EXPECT_THAT(error_of(T, {"num_samples"}).what(), StartsWith("--set num_samples: expected KEY=VALUE"));
  EXPECT_THAT(error_of(T, {"=3"}).what(), HasSubstr("expected KEY=VALUE"));
  EXPECT_THAT(error_of(T, {"config..lr=1"}).what(), HasSubstr("empty path component"));
  EXPECT_THAT(error_of(T + "seed: 1\n", {"seed.x=1"}).what(), StartsWith("--set seed.x=1: 'seed' is 1, not a mapping"));
  EXPECT_THAT(error_of(T, {"trainable.command.9=x"}).what(), HasSubstr("'trainable/command' is a list of 3 items"));
  EXPECT_THAT(error_of(T, {"config.x=[1, 2"}).what(), StartsWith("--set config.x=[1, 2: the value is not valid YAML"));
  EXPECT_THAT(error_of(T, {"config.x=.nan"}).what(),
              StartsWith("--set config.x=.nan: config/x: '.nan' is not allowed"));
  EXPECT_THAT(error_of(T, {"name=caf\xc3"}).what(), StartsWith("--set name=caf\xef\xbf\xbd: invalid UTF-8"));
}

TEST(SpecTest, OverrideOfAFileValueStillCitesTheOthersLines) {
  // The override fixes num_samples; the next error is on line 3 of the file.
  const SpecError error = error_of(T + "num_samples: 0\nverbose: 7\n", {"num_samples=2"});
  EXPECT_THAT(error.what(), StartsWith("spec.yaml:3: verbose"));
}

// ---- warnings ----

TEST(SpecTest, WarnsAboutAMisspeltSearchSpaceForm) {
  RunSpec spec = parse(T + "config:\n  lr: {logunifrom: [0.001, 0.1]}\n");
  ASSERT_EQ(spec.warnings.size(), 1u);
  EXPECT_THAT(spec.warnings[0], HasSubstr("spec.yaml:3: config/lr: 'logunifrom' is no search space form (did you mean "
                                          "'loguniform'?)"));
}

TEST(SpecTest, APlaceholderMustNameAConfigPath) {
  const SpecError error = error_of(
      "trainable:\n  command: [sh, '--w={model/width}', '--lr={lrr}']\n"
      "config: {lr: 0.1, model: {width: 2}}\n");
  EXPECT_THAT(error.what(), StartsWith("spec.yaml:2: trainable/command: argv[2]: \"{lrr}\" names no config value"));
  EXPECT_EQ(error.key(), "trainable/command/2");
  RunSpec spec = parse(
      "trainable:\n  command: [sh, '--lr={lr}', '{model/width}', '{{literal}}', '{not a key}']\n"
      "config: {lr: {grid_search: [1, 2]}, model: {width: 2}}\n");
  EXPECT_EQ(spec.trainable.process->argv[3], "{{literal}}");  // substituted per trial, not here
}

// ---- files and programs ----

// docs/spec.md#paths: every relative path is the spec file's, and the stored spec holds it absolute.
TEST(SpecTest, LoadResolvesRelativePathsAgainstTheSpecFileAndStoresThemAbsolute) {
  TempDir dir;
  const auto specs = dir.path() / "specs";
  std::filesystem::create_directories(specs / "ckpt");
  std::ofstream(specs / "train.py") << "print('{\"x\": 1}')\n";
  std::ofstream(specs / "s.yaml") << "trainable:\n  command: [sh, train.py, -v, missing.py, '{x}', /bin/true]\n"
                                     "config: {x: 1}\nlocal_dir: out\nrestore: ckpt\n";
  const RunSpec spec = load_run_spec(specs / "s.yaml");
  EXPECT_EQ(spec.trainable.process->argv,
            (std::vector<std::string>{"sh", (specs / "train.py").string(), "-v", "missing.py", "{x}", "/bin/true"}));
  EXPECT_EQ(spec.options.local_dir, (specs / "out").string());
  EXPECT_EQ(spec.options.restore, (specs / "ckpt").string());
  EXPECT_EQ(spec.json["trainable"]["command"][1], (specs / "train.py").string());
  EXPECT_EQ(spec.json["trainable"]["command"][3], "missing.py");
  EXPECT_EQ(spec.json["local_dir"], (specs / "out").string());
  EXPECT_EQ(spec.json["restore"], (specs / "ckpt").string());
  // The stored spec means the same when parsed again from anywhere.
  SpecSource elsewhere;
  elsewhere.base_dir = "/";
  const RunSpec again = parse_run_spec(spec.json.dump(), elsewhere);
  EXPECT_EQ(again.trainable.process->argv, spec.trainable.process->argv);
  EXPECT_EQ(again.options.local_dir, spec.options.local_dir);
}

TEST(SpecTest, LoadResolvesProgramPathsAgainstTheSpecFile) {
  TempDir dir;
  const auto script = dir.path() / "train.sh";
  std::ofstream(script) << "#!/bin/sh\necho '{\"x\": 1}'\n";
  ::chmod(script.c_str(), 0755);
  std::filesystem::create_directories(dir.path() / "specs" / "work");
  std::ofstream(dir.path() / "specs" / "s.yaml") << "trainable:\n  command: [../train.sh, a]\n  working_dir: work\n";
  RunSpec spec = load_run_spec(dir.path() / "specs" / "s.yaml");
  EXPECT_EQ(spec.trainable.process->argv[0], script.string());
  EXPECT_EQ(spec.trainable.process->argv[1], "a");
  EXPECT_EQ(spec.trainable.process->working_dir, dir.path() / "specs" / "work");
  EXPECT_EQ(spec.trainable.name, "train.sh");

  std::ofstream(dir.path() / "specs" / "bad.yaml") << "trainable:\n  command: [./train.sh]\n";
  try {
    load_run_spec(dir.path() / "specs" / "bad.yaml");
    ADD_FAILURE() << "accepted";
  } catch (const SpecError& error) {
    EXPECT_THAT(error.what(),
                StartsWith((dir.path() / "specs" / "bad.yaml").string() + ":2: trainable/command/0: "
                                                                          "program './train.sh' does not exist"));
  }
  std::ofstream(dir.path() / "plain.txt") << "x";
  std::ofstream(dir.path() / "specs" / "noexec.yaml") << "trainable: {command: [../plain.txt]}\n";
  EXPECT_THROW(
      {
        try {
          load_run_spec(dir.path() / "specs" / "noexec.yaml");
        } catch (const SpecError& error) {
          EXPECT_THAT(error.what(), HasSubstr("is not executable"));
          throw;
        }
      },
      SpecError);
}

TEST(SpecTest, LoadOfAMissingFileIsASpecError) {
  TempDir dir;
  try {
    load_run_spec(dir.path() / "nope.yaml");
    ADD_FAILURE() << "accepted";
  } catch (const SpecError& error) {
    EXPECT_THAT(error.what(), HasSubstr("nope.yaml: cannot read the spec file"));
  }
  EXPECT_THROW(load_run_spec(dir.path()), SpecError);
}

TEST(SpecTest, RegisteredTrainableOfABinaryRunsItAsAWorker) {
  RunSpec spec = parse("trainable:\n  binary: /bin/sh\n  name: MyTrainable\n");
  EXPECT_EQ(spec.trainable.name, "MyTrainable");
  EXPECT_EQ(spec.trainable.process->protocol, ProcessSpec::Protocol::kWorker);
  EXPECT_EQ(spec.trainable.process->argv, std::vector<std::string>{"/bin/sh"});
  EXPECT_EQ(spec.trainable.process->env.at("TUNE_WORKER"), "MyTrainable");
  EXPECT_EQ(spec.trainable.process->launch, ProcessSpec::Launch::kZygote);  // the default
  RunSpec exec = parse("trainable:\n  binary: /bin/sh\n  name: MyTrainable\n  launch: exec\n");
  EXPECT_EQ(exec.trainable.process->launch, ProcessSpec::Launch::kExec);
}

}  // namespace
}  // namespace tune
