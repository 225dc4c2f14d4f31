// The console status block (ray-tune-semantics.md §8).
#include "callbacks/status_reporter.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "common/strings.h"
#include "trial/auto_fill.h"

namespace tune::detail {
namespace {

// Result keys shown by default, with their column titles (Ray's CLIReporter).
const std::vector<std::pair<std::string, std::string>> kDefaultMetricColumns = {
    {"mean_accuracy", "acc"}, {"mean_loss", "loss"}, {"episode_reward_mean", "reward"},
    {"training_iteration", "iter"}, {"time_total_s", "total time (s)"}, {"timesteps_total", "ts"}};

// Row order in the table.
constexpr std::array<TrialStatus, 5> kStateOrder = {TrialStatus::kRunning, TrialStatus::kPaused,
                                                    TrialStatus::kPending, TrialStatus::kTerminated,
                                                    TrialStatus::kError};

const std::vector<std::string> kAutoFilled = {"done", "training_iteration", "time_this_iter_s", "time_total_s",
                                              "timestamp", "date", "hostname", "node_ip", "pid", "trial_id",
                                              "experiment_id", "iterations_since_restore", "time_since_restore",
                                              "timesteps_total", "episodes_total", "timesteps_since_restore",
                                              "config", "neg_mean_loss", "experiment_tag", "should_checkpoint"};

// A value from a trial (its config or its result) as a cell: escaped, since it may hold control
// characters (an ANSI escape, a carriage return) that would draw over the table.
std::string cell(const Json* value) {
  if (value == nullptr || value->is_null()) return "";
  if (value->is_number_float()) return format_float(value->get<double>(), 6);
  if (value->is_string()) return escape_for_terminal(value->get_ref<const std::string&>());
  return escape_for_terminal(value->dump(-1, ' ', false, Json::error_handler_t::replace));
}

bool is_right_aligned(const Json* value) { return value != nullptr && value->is_number(); }

}  // namespace

StatusReporter::StatusReporter(ReporterOptions options, std::string metric, std::vector<std::string> param_columns)
    : options_(std::move(options)), metric_(std::move(metric)), param_columns_(std::move(param_columns)) {}

std::string format_duration(double seconds) {
  const auto total = static_cast<int64_t>(seconds);
  const double frac = seconds - static_cast<double>(total);
  return fmt::format("{:02d}:{:02d}:{:05.2f}", total / 3600, (total / 60) % 60, static_cast<double>(total % 60) + frac);
}

std::string memory_usage_line() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double value = 0, total = 0, available = 0;
  std::string unit;
  while (in >> key >> value >> unit) {
    if (key == "MemTotal:") total = value;
    if (key == "MemAvailable:") available = value;
  }
  if (total <= 0) return "Memory usage on this node: unknown";
  const double gib = 1024.0 * 1024.0;
  return fmt::format("Memory usage on this node: {:.1f}/{:.1f} GiB", (total - available) / gib, total / gib);
}

std::string StatusReporter::progress_bar(int64_t finished, std::optional<int64_t> total, int width) {
  if (!total || *total <= 0) return fmt::format("{} trials finished", finished);
  const double frac = std::clamp(static_cast<double>(finished) / static_cast<double>(*total), 0.0, 1.0);
  const int filled = static_cast<int>(frac * width);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>';
  bar.resize(static_cast<size_t>(width), ' ');
  return fmt::format("[{}] {}/{} trials finished", bar, finished, *total);
}

namespace {

// "Number of trials: N[/total] (k RUNNING, ...)".
std::string trial_count_line(const StatusSnapshot& s) {
  int64_t shown_total = 0;
  std::vector<std::string> parts;
  for (TrialStatus state : kStateOrder) {
    auto it = s.counts.find(state);
    if (it == s.counts.end() || it->second == 0) continue;
    shown_total += it->second;
    parts.push_back(fmt::format("{} {}", it->second, to_string(state)));
  }
  std::string line = fmt::format("Number of trials: {}", shown_total);
  if (s.total_trials && *s.total_trials != shown_total) line += fmt::format("/{}", *s.total_trials);
  return line + " (" + join(parts, ", ") + ")\n";
}

// The rows shown: a fair cut across states, each state getting rows in turn until max_rows are
// used. `quota` says how many rows of each state are shown.
std::vector<const StatusRow*> rows_shown(const StatusSnapshot& s, size_t max_rows,
                                         std::map<TrialStatus, size_t>& quota) {
  std::map<TrialStatus, std::vector<const StatusRow*>> by_state;
  for (const auto& row : s.rows) by_state[row.status].push_back(&row);
  size_t used = 0;
  bool progress = true;
  while (used < max_rows && progress) {
    progress = false;
    for (TrialStatus state : kStateOrder) {
      if (used >= max_rows) break;
      if (quota[state] < by_state[state].size()) {
        ++quota[state];
        ++used;
        progress = true;
      }
    }
  }
  std::vector<const StatusRow*> shown;
  for (TrialStatus state : kStateOrder) {
    const auto& rows = by_state[state];
    for (size_t i = 0; i < quota[state] && i < rows.size(); ++i) shown.push_back(rows[i]);
  }
  return shown;
}

// The metric columns (result keys and titles): the run's metric, the default ones present, then
// up to 3 other numeric results of the rows shown.
std::vector<std::pair<std::string, std::string>> metric_columns(const std::vector<const StatusRow*>& shown,
                                                                const std::string& metric) {
  std::vector<std::pair<std::string, std::string>> columns;
  const auto has_key = [&](const std::string& key) {
    return std::any_of(shown.begin(), shown.end(), [&](const StatusRow* r) {
      return r->last_result.is_object() && find_path(r->last_result, key) != nullptr;
    });
  };
  const auto taken = [&](const std::string& key) {
    return std::any_of(columns.begin(), columns.end(), [&](const auto& c) { return c.first == key; });
  };
  if (!metric.empty() && has_key(metric)) columns.emplace_back(metric, metric);
  for (const auto& [key, title] : kDefaultMetricColumns) {
    if (key != metric && has_key(key)) columns.emplace_back(key, title);
  }
  int inferred = 0;
  for (const StatusRow* row : shown) {
    if (!row->last_result.is_object()) continue;
    for (const auto& [key, value] : row->last_result.items()) {
      if (inferred >= 3) break;
      if (!value.is_number() || std::find(kAutoFilled.begin(), kAutoFilled.end(), key) != kAutoFilled.end()) continue;
      if (taken(key)) continue;
      if (std::any_of(kDefaultMetricColumns.begin(), kDefaultMetricColumns.end(),
                      [&](const auto& c) { return c.first == key; })) {
        continue;
      }
      columns.emplace_back(key, key);
      ++inferred;
    }
  }
  return columns;
}

// A boxed table: titles left-aligned, each cell left or right-aligned as `right` says.
std::string boxed_table(const std::vector<std::string>& titles, const std::vector<std::vector<std::string>>& cells,
                        const std::vector<std::vector<bool>>& right) {
  std::vector<size_t> widths(titles.size());
  for (size_t c = 0; c < titles.size(); ++c) {
    widths[c] = titles[c].size();
    for (const auto& line : cells) widths[c] = std::max(widths[c], line[c].size());
  }
  const auto rule = [&](char corner, char fill) {
    std::string r(1, corner);
    for (size_t c = 0; c < widths.size(); ++c) {
      r += std::string(widths[c] + 2, fill);
      r += corner;
    }
    return r + "\n";
  };
  std::string out = rule('+', '-') + "|";
  for (size_t c = 0; c < titles.size(); ++c) out += fmt::format(" {:<{}} |", titles[c], widths[c]);
  out += "\n" + rule('|', '-');
  for (size_t r = 0; r < cells.size(); ++r) {
    out += "|";
    for (size_t c = 0; c < titles.size(); ++c) {
      out += right[r][c] ? fmt::format(" {:>{}} |", cells[r][c], widths[c])
                         : fmt::format(" {:<{}} |", cells[r][c], widths[c]);
    }
    out += "\n";
  }
  return out + rule('+', '-');
}

// "... N more trials not shown (k RUNNING, ...)", counted against all trials, not just the rows
// the runner handed in; empty when every trial is shown.
std::string hidden_line(const StatusSnapshot& s, const std::map<TrialStatus, size_t>& quota) {
  std::vector<std::string> more;
  int64_t hidden = 0;
  for (TrialStatus state : kStateOrder) {
    auto it = s.counts.find(state);
    const int64_t count = it == s.counts.end() ? 0 : it->second;
    auto shown = quota.find(state);
    const int64_t not_shown = count - static_cast<int64_t>(shown == quota.end() ? 0 : shown->second);
    if (not_shown > 0) {
      hidden += not_shown;
      more.push_back(fmt::format("{} {}", not_shown, to_string(state)));
    }
  }
  return hidden > 0 ? fmt::format("... {} more trials not shown ({})\n", hidden, join(more, ", ")) : "";
}

// The errored trials' table, at most max_errors rows; empty when none errored.
std::string error_table(const StatusSnapshot& s, size_t max_errors) {
  if (s.num_errored <= 0) return "";
  std::string out = fmt::format("Number of errored trials: {}\n", s.num_errored);
  size_t w1 = 10, w3 = 10;
  for (const auto& e : s.errors) {
    w1 = std::max(w1, escape_for_terminal(e.name).size());
    w3 = std::max(w3, escape_for_terminal(e.error_file).size());
  }
  const std::string sep = fmt::format("+-{}-+------------+-{}-+\n", std::string(w1, '-'), std::string(w3, '-'));
  out += sep + fmt::format("| {:<{}} | # failures | {:<{}} |\n", "Trial name", w1, "error file", w3) + sep;
  for (size_t i = 0; i < s.errors.size() && i < max_errors; ++i) {
    out += fmt::format("| {:<{}} | {:>10} | {:<{}} |\n", escape_for_terminal(s.errors[i].name), w1,
                       s.errors[i].failures, escape_for_terminal(s.errors[i].error_file), w3);
  }
  out += sep;
  const int64_t listed = static_cast<int64_t>(std::min(s.errors.size(), max_errors));
  if (s.num_errored > listed) out += fmt::format("... {} more errored trials not shown\n", s.num_errored - listed);
  return out;
}

}  // namespace

std::string StatusReporter::render(const StatusSnapshot& s) const {
  int64_t trials = 0;
  for (const auto& [state, count] : s.counts) trials += count;
  if (trials == 0 && !s.done) return {};
  std::ostringstream out;
  out << "== Status ==\n";
  out << fmt::format("Current time: {} (running for {})\n", date_string(std::time(nullptr)),
                     format_duration(s.elapsed_s));
  out << memory_usage_line() << "\n";
  if (!s.scheduler_line.empty()) out << s.scheduler_line << "\n";
  out << s.resources_line << "\n";
  if (!s.best_line.empty()) out << s.best_line << "\n";
  out << "Result logdir: " << s.logdir << "\n";
  out << trial_count_line(s);

  std::map<TrialStatus, size_t> quota;
  const std::vector<const StatusRow*> shown =
      rows_shown(s, static_cast<size_t>(std::max(1, options_.max_progress_rows)), quota);
  const auto metrics = metric_columns(shown, metric_);
  // Columns: name, status, loc, params, metrics.
  std::vector<std::string> titles = {"Trial name", "status", "loc"};
  for (const auto& p : param_columns_) titles.push_back(escape_for_terminal(p));
  for (const auto& [key, title] : metrics) titles.push_back(escape_for_terminal(title));
  std::vector<std::vector<std::string>> cells;
  std::vector<std::vector<bool>> right;
  for (const StatusRow* row : shown) {
    std::vector<std::string> line = {escape_for_terminal(row->name), std::string(to_string(row->status)),
                                     escape_for_terminal(row->location)};
    std::vector<bool> align = {false, false, false};
    const auto add = [&](const Json& from, const std::string& path) {
      const Json* v = from.is_object() ? find_path(from, path) : nullptr;
      line.push_back(cell(v));
      align.push_back(is_right_aligned(v));
    };
    for (const auto& p : param_columns_) add(row->config, p);
    for (const auto& [key, title] : metrics) add(row->last_result, key);
    cells.push_back(std::move(line));
    right.push_back(std::move(align));
  }
  out << boxed_table(titles, cells, right);
  out << hidden_line(s, quota);
  out << error_table(s, static_cast<size_t>(std::max(0, options_.max_error_rows)));
  out << "\n";
  return out.str();
}

std::string StatusReporter::result_line(const std::string& trial, const Result& result, int verbose,
                                        Clock::time_point now) {
  if (verbose < 2) return {};
  const bool done = detail::result_flag(result, "done");
  auto it = last_result_line_.find(trial);
  if (!done && it != last_result_line_.end() &&
      std::chrono::duration<double>(now - it->second.printed).count() < options_.max_report_frequency_s) {
    it->second.held_back = true;
    return {};
  }
  if (done) {
    if (it != last_result_line_.end()) last_result_line_.erase(it);
  } else {
    last_result_line_[trial] = Throttle{now, false};
  }
  return format_result_line(trial, result, verbose);
}

std::string StatusReporter::final_result_line(const std::string& trial, const Result& last, int verbose) {
  auto it = last_result_line_.find(trial);
  if (it == last_result_line_.end()) return {};
  const bool held_back = it->second.held_back;
  last_result_line_.erase(it);
  return verbose >= 2 && held_back && !last.is_null() ? format_result_line(trial, last, verbose) : std::string();
}

std::string StatusReporter::format_result_line(const std::string& trial, const Result& result, int verbose) const {
  const bool done = detail::result_flag(result, "done");
  if (verbose >= 3) {
    return fmt::format("Result for {}:{} {}\n", escape_for_terminal(trial), done ? " (done)" : "",
                       result.dump(-1, ' ', false, Json::error_handler_t::replace));
  }
  std::vector<std::string> parts;
  auto add = [&](const std::string& key) {
    if (const Json* value = find_path(result, key)) parts.push_back(escape_for_terminal(key) + "=" + cell(value));
  };
  add("training_iteration");
  if (!metric_.empty() && metric_ != "training_iteration") add(metric_);
  if (metric_.empty()) {
    // Without a metric: the first few values the trainable reported itself.
    size_t shown = 0;
    for (const auto& [key, value] : result.items()) {
      if (shown == 3) break;
      if (std::find(kAutoFilled.begin(), kAutoFilled.end(), key) != kAutoFilled.end() || value.is_object()) continue;
      parts.push_back(escape_for_terminal(key) + "=" + cell(&value));
      ++shown;
    }
  }
  return fmt::format("Result for {}: {}{}\n", escape_for_terminal(trial), join(parts, ", "), done ? " (done)" : "");
}

void StatusReporter::print(std::ostream& out, std::string_view text) {
  if (bar_drawn_) out << "\r\033[K";
  bar_drawn_ = false;
  out << text << std::flush;
}

void StatusReporter::draw_progress_bar(std::ostream& out, int64_t finished, std::optional<int64_t> total) {
  out << "\r\033[K" << progress_bar(finished, total) << std::flush;
  bar_drawn_ = true;
}

}  // namespace tune::detail
