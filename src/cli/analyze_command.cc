// `tune analyze EXPERIMENT_DIR [--metric M --mode min|max] [--scope S]`: the best trial, its config
// and its logdir.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <ostream>

#include "analysis/experiment_reader.h"
#include "analysis/trial_score.h"
#include "cli/commands.h"
#include "common/strings.h"
#include "tune/error.h"

namespace tune::cli {

namespace fs = std::filesystem;

int analyze_command(const AnalyzeArgs& args, std::ostream& out, std::ostream& err) {
  if (args.output != "text" && args.output != "json") {
    throw TuneError(fmt::format("--output: must be text or json, got '{}'", args.output));
  }
  const fs::path dir(args.experiment_dir);
  // The experiment as the one reader sees it: the run's metric and mode from its head record,
  // unfinished trials with their latest result (live and killed runs alike).
  detail::ExperimentOnDisk experiment = detail::read_experiment(dir);
  const std::string metric = args.metric.empty() ? experiment.metric : args.metric;
  const std::string mode = args.mode.empty() ? experiment.mode : args.mode;
  if (metric.empty()) throw TuneError("--metric: the experiment has no metric of its own; give --metric NAME");
  if (mode.empty()) throw TuneError("--mode: the experiment has no mode of its own; give --mode min or --mode max");
  const ExperimentAnalysis analysis(dir, std::move(experiment.trials), metric, mode);
  const std::optional<TrialRecord> best = analysis.get_best_trial(metric, mode, args.scope);
  if (!best) {
    err << fmt::format("tune analyze: no trial of {} reported a finite value of '{}' ({} trials)\n", dir.string(),
                       metric, analysis.trials().size());
    return kExitFailed;
  }
  const std::optional<double> value = detail::trial_score(*best, metric, mode, args.scope);
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
                                           {"finished", experiment.completed},
                                           {"last_result", best->last_result()}};
    out << result.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    return kExitOk;
  }
  // Names and paths come from the experiment's files: escaped, so that they cannot draw on the terminal.
  out << fmt::format("Best trial: {} (id {}, {})\n", escape_for_terminal(best->name()),
                     escape_for_terminal(best->trial_id()), to_string(best->status()));
  out << fmt::format("Metric: {} = {} ({}, scope {})\n", escape_for_terminal(metric),
                     value ? format_float(*value, 6) : "?", mode, args.scope);
  out << "Logdir: " << escape_for_terminal(logdir) << "\n";
  if (!experiment.completed) out << "Experiment: not finished (running, or stopped: tune resume continues it)\n";
  out << "Config:\n" << best->config().dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  return kExitOk;
}

}  // namespace tune::cli
