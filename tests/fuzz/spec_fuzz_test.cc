// Fuzz tests of spec files (tune/spec.h), the parser behind `tune run --check`: every mutated or
// generated spec text, and every `--set` argument, is either accepted or refused with a
// SpecError (a TuneError naming the file, line or key) — never another exception, a crash, a
// hang or a sanitizer report. Seeds: the specs in examples/ and spec fragments of the tests,
// with YAML anchors, aliases, merge keys and tags.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <typeinfo>
#include <vector>

#include "support/fuzz.h"
#include "tune/spec.h"

namespace tune {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> spec_seeds() {
  std::vector<std::string> seeds;
  for (const char* name : {"awk_plain.yaml", "digits_process.yaml", "python_client.yaml"}) {
    const std::string text = read_file(std::filesystem::path(TUNE_SOURCE_DIR) / "examples" / name);
    EXPECT_FALSE(text.empty()) << name;
    seeds.push_back(text);
  }
  seeds.insert(seeds.end(), {
      "trainable: {command: [sh, -c, 'echo 1'], protocol: plain}\n",
      "{\"trainable\": {\"command\": [\"sh\"]}, \"config\": {\"x\": {\"grid_search\": [1, 2]}}, \"num_samples\": 2}\n",
      "name: sweep\ntrainable:\n  command: [sh, -c, 'echo {x}']\n  step_timeout_s: 30\n  stop_grace_s: 1.5\n"
      "config:\n  x: {uniform: [0, 1]}\n  lr: {loguniform: [1.0e-4, 1.0e-1]}\nstop: {training_iteration: 10}\n"
      "scheduler: {type: asha, max_t: 81, grace_period: 1}\nmetric: loss\nmode: min\n",
      "trainable: {command: [sh]}\nconfig:\n  base: &b {lr: 0.1, layers: [1, 2, 3]}\n  copy: *b\n  more: [*b, *b]\n",
      "trainable: {command: [sh]}\nconfig: &a {x: *a}\n",
      "trainable: {command: [sh]}\nconfig:\n  a: &a [x, x, x, x]\n  b: &b [*a, *a, *a, *a]\n  c: [*b, *b, *b]\n",
      "trainable: {command: [sh]}\nconfig: !!python/object:os.system {a: !foo 1, b: !!str 2, c: !!int 3}\n",
      "trainable: {command: [sh]}\nconfig:\n  defaults: &d {a: 1}\n  x:\n    <<: *d\n    b: 2\n",
      "trainable: {command: [sh]}\nresources_per_trial: {cpu: 2, gpu: 0.5}\nmax_failures: 3\ncheckpoint_freq: 1\n"
      "search_alg: {type: tpe, n_initial_points: 5}\nsync_config: {sync_period_s: 1e10}\ntime_budget_s: 1e300\n",
  });
  return seeds;
}

TEST(FuzzTest, SpecFilesAreAcceptedOrRefusedWithASpecError) {
  testing::Mutator mutator(spec_seeds());
  const size_t inputs = testing::fuzz_input_count();
  size_t accepted = 0;
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < inputs; ++i) {
    const std::string text = mutator.next();
    SpecSource source;
    source.name = "fuzz.yaml";
    source.base_dir = "/nonexistent-fuzz-dir";  // relative programs resolve nowhere
    try {
      parse_run_spec(text, source);
      ++accepted;
    } catch (const SpecError& error) {
      ASSERT_NE(std::string(error.what()).find("fuzz.yaml"), std::string::npos) << "input " << i << ": " << error.what();
    } catch (const std::exception& error) {
      FAIL() << "input " << i << " raised " << typeid(error).name() << ": " << error.what() << "\n" << text;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ fuzz     ] " << inputs << " spec files, " << accepted << " accepted, " << seconds << " s\n";
  EXPECT_EQ(mutator.count(), inputs);
  EXPECT_GT(accepted, 0u);            // the mutations keep some specs valid
  EXPECT_LT(accepted, inputs / 2);    // and reach the refusal paths
}

TEST(FuzzTest, SetOverridesAreAcceptedOrRefusedWithASpecError) {
  testing::Mutator mutator({
      "num_samples=10", "config.lr=0.01", "config.x={grid_search: [1, 2]}", "trainable.command.0=python3",
      "trainable.command.3=--flag", "trainable/env/A=x", "stop.training_iteration=1e300",
      "trainable.step_timeout_s=1e10", "config.l=&a [1, *a]", "name=exp", "scheduler={type: asha, max_t: 9}",
      "trainable.command.99999999999999999999=1", "config.a.b.c.d=[1, {x: 2}]",
  });
  const std::string base =
      "name: base\ntrainable: {command: [sh, -c, 'echo 1'], env: {A: a}}\nconfig: {lr: 0.1, l: [1, 2]}\n";
  const size_t inputs = testing::fuzz_input_count();
  size_t accepted = 0;
  for (size_t i = 0; i < inputs; ++i) {
    SpecSource source;
    source.name = "base.yaml";
    source.overrides = {mutator.next()};
    if (i % 3 == 0) source.overrides.push_back(mutator.next());
    try {
      parse_run_spec(base, source);
      ++accepted;
    } catch (const SpecError&) {
    } catch (const std::exception& error) {
      FAIL() << "input " << i << " raised " << typeid(error).name() << ": " << error.what();
    }
  }
  EXPECT_GT(accepted, 0u);
  EXPECT_LT(accepted, inputs);
}

}  // namespace
}  // namespace tune
