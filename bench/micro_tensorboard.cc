// Cost of the TensorBoard logger per result and per metric (target: under 1 µs per metric).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "callbacks/tensorboard_logger.h"

namespace {

namespace fs = std::filesystem;

constexpr int kMetrics = 10;

// training_iteration plus 9 more numeric metrics, two of them nested.
tune::Result numeric_result() {
  return tune::Json{{"training_iteration", 12},
                    {"loss", 0.125},
                    {"accuracy", 0.875},
                    {"lr", 1e-3},
                    {"grad_norm", 3.5},
                    {"time_this_iter_s", 0.25},
                    {"time_total_s", 3.0},
                    {"timesteps_total", 12000},
                    {"eval", {{"loss", 0.25}, {"accuracy", 0.75}}}};
}

// The same metrics inside a result as the runner auto-fills it (strings, bools, config: skipped).
tune::Result full_result() {
  tune::Result result = numeric_result();
  result["trial_id"] = "a1b2c3d4";
  result["experiment_id"] = "0123456789abcdef";
  result["date"] = "2024-01-01_12-00-00";
  result["hostname"] = "node-17";
  result["node_ip"] = "10.0.0.17";
  result["pid"] = 4242;
  result["timestamp"] = 1704110400;
  result["done"] = false;
  result["config"] = {{"lr", 1e-3}, {"layers", 64}};
  return result;
}

void run(benchmark::State& state, const tune::Result& result, bool hparams) {
  const fs::path dir = fs::temp_directory_path() / ("tune_bench_tb_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  {
    tune::detail::TensorBoardWriterOptions options;
    options.hparams = hparams;  // flush_period_s stays at its default: buffered writes are part of the cost
    tune::detail::TensorBoardWriter writer(dir, tune::Json{{"lr", 1e-3}}, nullptr, "bench", options);
    for (auto _ : state) writer.on_result(result);
    writer.flush();
  }
  fs::remove_all(dir);
  state.SetItemsProcessed(state.iterations() * kMetrics);
  // CPU seconds per metric (the console shows it as e.g. "250ns").
  state.counters["per_metric"] =
      benchmark::Counter(kMetrics, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_TensorBoardOnResult(benchmark::State& state) { run(state, numeric_result(), state.range(0) != 0); }
BENCHMARK(BM_TensorBoardOnResult)->ArgName("hparams")->Arg(0)->Arg(1);

void BM_TensorBoardOnFullResult(benchmark::State& state) { run(state, full_result(), true); }
BENCHMARK(BM_TensorBoardOnFullResult);

}  // namespace

BENCHMARK_MAIN();
