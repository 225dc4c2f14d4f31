// `tune analyze EXPERIMENT_DIR [--metric M --mode min|max] [--scope S]`: the best trial, its config
// and its logdir.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "analysis/state_records.h"
#include "cli/commands.h"
#include "common/strings.h"
#include "tune/error.h"

namespace tune::cli {
namespace {

namespace fs = std::filesystem;

// Reads the run's metric and mode from experiment_state.json, stopping at "trials" so a huge
// state file costs nothing (the runner writes them before the trials).
class StateHeader : public nlohmann::json_sax<Json> {
 public:
  std::string metric;
  std::string mode;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t& value) override {
    if (depth_ == 1 && key_ == "metric") metric = value;
    if (depth_ == 1 && key_ == "mode") mode = value;
    return true;
  }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return ++depth_, true; }
  bool end_object() override { return --depth_, true; }
  bool start_array(std::size_t) override { return ++depth_, true; }
  bool end_array() override { return --depth_, true; }
  bool key(string_t& value) override {
    if (depth_ == 1) key_ = value;
    return !(depth_ == 1 && value == "trials");
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  int depth_ = 0;
  std::string key_;
};

StateHeader read_header(const fs::path& dir) {
  StateHeader header;
  std::ifstream in(dir / detail::kSnapshotFile, std::ios::binary);
  if (in) Json::sax_parse(in, &header, nlohmann::detail::input_format_t::json, /*strict=*/false);
  return header;
}

// The metric's value for the trial under the scope, when it can be told from the record.
std::optional<double> scoped_value(const TrialRecord& trial, const std::string& metric, const std::string& mode,
                                   const std::string& scope) {
  if (auto it = trial.metric_stats.find(metric); it != trial.metric_stats.end()) {
    const MetricStats& stats = it->second;
    if (scope == "last") return stats.last;
    if (scope == "avg") return stats.avg();
    if (scope == "last-5-avg") return stats.last_n_avg(5);
    if (scope == "last-10-avg") return stats.last_n_avg(10);
    if (scope == "all") return mode == "min" ? stats.min : stats.max;
  }
  if (scope == "last") {
    const Result last = trial.last_result();
    if (const Json* value = find_path(last, metric); value && value->is_number()) return value->get<double>();
  }
  return std::nullopt;
}

}  // namespace

int analyze_command(const AnalyzeArgs& args, std::ostream& out, std::ostream& err) {
  if (args.output != "text" && args.output != "json") {
    throw TuneError(fmt::format("--output: must be text or json, got '{}'", args.output));
  }
  const fs::path dir(args.experiment_dir);
  const ExperimentAnalysis analysis = ExperimentAnalysis::load(dir);
  std::string metric = args.metric;
  std::string mode = args.mode;
  if (metric.empty() || mode.empty()) {
    const StateHeader header = read_header(dir);
    if (metric.empty()) metric = header.metric;
    if (mode.empty()) mode = header.mode;
  }
  if (metric.empty()) throw TuneError("--metric: the experiment has no metric of its own; give --metric NAME");
  if (mode.empty()) throw TuneError("--mode: the experiment has no mode of its own; give --mode min or --mode max");
  const std::optional<TrialRecord> best = analysis.get_best_trial(metric, mode, args.scope);
  if (!best) {
    err << fmt::format("tune analyze: no trial of {} reported a finite value of '{}' ({} trials)\n", dir.string(),
                       metric, analysis.trials().size());
    return kExitFailed;
  }
  const std::optional<double> value = scoped_value(*best, metric, mode, args.scope);
  std::error_code ec;
  const std::string logdir = best->logdir().empty() ? std::string() : fs::absolute(best->logdir(), ec).string();
  if (args.output == "json") {
    const nlohmann::ordered_json result = {{"trial_id", best->trial_id()},
                                           {"name", best->name()},
                                           {"status", std::string(to_string(best->status()))},
                                           {"metric", metric},
                                           {"mode", mode},
                                           {"scope", args.scope},
                                           {"value", value ? Json(*value) : Json()},
                                           {"config", best->config()},
                                           {"logdir", logdir},
                                           {"last_result", best->last_result()}};
    out << result.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    return kExitOk;
  }
  out << fmt::format("Best trial: {} (id {}, {})\n", best->name(), best->trial_id(), to_string(best->status()));
  out << fmt::format("Metric: {} = {} ({}, scope {})\n", metric, value ? format_float(*value, 6) : "?", mode,
                     args.scope);
  out << "Logdir: " << logdir << "\n";
  out << "Config:\n" << best->config().dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  return kExitOk;
}

}  // namespace tune::cli
