// The status table's counters (see status_counters.h).
#include "callbacks/status_counters.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "common/strings.h"
#include "tune/trial.h"

namespace tune::detail {
namespace {

void collect_domain_paths(const Space& space, const std::string& path, std::vector<std::string>& out) {
  if (space.is_domain()) {
    out.push_back(path);
  } else if (space.is_object()) {
    for (const auto& [key, child] : space.as_object()) collect_domain_paths(child, path.empty() ? key : path + "/" + key, out);
  } else if (space.is_array()) {
    const auto& items = space.as_array();
    for (size_t i = 0; i < items.size(); ++i) {
      collect_domain_paths(items[i], path.empty() ? std::to_string(i) : path + "/" + std::to_string(i), out);
    }
  }
}

}  // namespace

std::vector<std::string> param_columns(const Space& space) {
  std::vector<std::string> out;
  collect_domain_paths(space, "", out);
  return out;
}

std::optional<double> metric_value(const Result& result, const std::string& metric) {
  if (metric.empty()) return std::nullopt;
  const Json* v = find_path(result, metric);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->get<double>();
}

StatusCounters::StatusCounters(std::string metric, std::string mode, int max_progress_rows, int max_error_rows)
    : metric_(std::move(metric)),
      mode_(std::move(mode)),
      max_rows_(static_cast<size_t>(std::max(1, max_progress_rows))),
      max_error_rows_(static_cast<size_t>(std::max(1, max_error_rows))) {}

StatusRow StatusCounters::row_of(const Trial& trial) {
  return StatusRow{trial.name, trial.status, trial.location, trial.config, TrialView(trial).last_result()};
}

int64_t StatusCounters::count(TrialStatus status) const {
  auto it = counts_.find(status);
  return it == counts_.end() ? 0 : it->second;
}

void StatusCounters::offer_best(std::optional<std::pair<double, std::string>>& best, const Result& result,
                                const std::string& name) const {
  if (auto value = metric_value(result, metric_); value && std::isfinite(*value)) {
    if (!best || better(*value, best->first)) best = {*value, name};
  }
}

void StatusCounters::finished(const Trial& trial, TrialStatus from) {
  moved(from, trial.status);
  // Bounded samples for the status table.
  auto& recent = trial.status == TrialStatus::kError ? recent_errored_ : recent_terminated_;
  recent.push_back(row_of(trial));
  if (recent.size() > max_rows_) recent.pop_front();
  if (trial.status == TrialStatus::kError) {
    error_rows_.push_back({trial.name, trial.num_failures,
                           trial.logdir.empty() ? std::string() : (trial.logdir / "error.txt").string()});
    if (error_rows_.size() > max_error_rows_) error_rows_.pop_front();
  }
  offer_best(best_finished_, TrialView(trial).last_result(), trial.name);
}

void StatusCounters::restored(const TrialRecord& record) {
  ++counts_[record.status()];
  if (metric_.empty()) return;
  std::optional<double> value = record.metric_stats.count(metric_) ? std::optional<double>(record.metric_stats.at(metric_).last)
                                                                   : metric_value(record.last_result(), metric_);
  if (value && std::isfinite(*value) && (!best_finished_ || better(*value, best_finished_->first))) {
    best_finished_ = {*value, record.name()};
  }
}

StatusSnapshot StatusCounters::status_view(const LiveTrials& live) const {
  StatusSnapshot s;
  s.counts = counts_;
  // Live trials: at most max_rows of each state are needed for a fair cut.
  std::map<TrialStatus, size_t> taken;
  for (const auto& [key, trial] : live) {
    if (taken[trial->status]++ < max_rows_) s.rows.push_back(row_of(*trial));
  }
  for (const auto& row : recent_terminated_) s.rows.push_back(row);
  for (const auto& row : recent_errored_) s.rows.push_back(row);
  s.errors.assign(error_rows_.begin(), error_rows_.end());
  s.num_errored = count(TrialStatus::kError);
  if (!metric_.empty()) {
    std::optional<std::pair<double, std::string>> best = best_finished_;
    for (const auto& [key, trial] : live) offer_best(best, TrialView(*trial).last_result(), trial->name);
    if (best) {
      s.best_line =
          fmt::format("Current best trial: {} with {}={}", escape_for_terminal(best->second),
                      escape_for_terminal(metric_), format_float(best->first, 6));
    }
  }
  return s;
}

void StatusCounters::print_summary(std::ostream& out, double elapsed_s, const std::string& results_dir) {
  int64_t total = 0;
  for (const auto& [status, count] : counts_) total += count;
  out << fmt::format("== Summary ==\n{} trials: {} TERMINATED, {} ERROR; wall time {}\n", total,
                     count(TrialStatus::kTerminated), count(TrialStatus::kError), format_duration(elapsed_s));
  if (best_finished_) {
    out << fmt::format("Best trial: {} with {}={}\n", escape_for_terminal(best_finished_->second),
                       escape_for_terminal(metric_),
                       format_float(best_finished_->first, 6));
  }
  out << "Results: " << results_dir << "\n" << std::flush;
}

StatusPrinter::StatusPrinter(const RunOptions& options, std::string logdir, Context context)
    : out_(options.reporter.out ? *options.reporter.out : std::cout),
      verbose_(options.verbose),
      max_report_frequency_s_(options.reporter.max_report_frequency_s),
      logdir_(std::move(logdir)),
      context_(std::move(context)),
      reporter_(options.reporter, options.metric, param_columns(options.config)),
      counters_(options.metric, options.mode, options.reporter.max_progress_rows, options.reporter.max_error_rows),
      start_(Clock::now()),
      last_report_(start_),
      last_bar_(start_) {
  is_tty_ = options.reporter.progress_bar && &out_ == &std::cout && isatty(STDOUT_FILENO) && verbose_ >= 1;
}

void StatusPrinter::print(bool done, const LiveTrials& live) {
  last_report_ = Clock::now();
  StatusSnapshot s = counters_.status_view(live);
  s.scheduler_line = context_.scheduler_line();
  s.resources_line = context_.resources_line();
  s.logdir = logdir_;
  s.total_trials = context_.total_trials();
  s.elapsed_s = elapsed_s();
  s.done = done;
  reporter_.print(out_, reporter_.render(s));
}

void StatusPrinter::periodic(const LiveTrials& live, bool with_table) {
  const auto now = Clock::now();
  if (verbose_ >= 1 && with_table && std::chrono::duration<double>(now - last_report_).count() >= max_report_frequency_s_) {
    print(false, live);
  }
  if (is_tty_ && std::chrono::duration<double>(now - last_bar_).count() >= 0.1) {
    last_bar_ = now;
    reporter_.draw_progress_bar(out_, counters_.finished_count(), context_.total_trials());
  }
}

}  // namespace tune::detail
