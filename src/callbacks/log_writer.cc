// The per-trial loggers (see log_writer.h).
#include "callbacks/log_writer.h"

#include <fmt/format.h>

#include <iostream>

namespace tune::detail {

LogWriter::LogWriter(const ExperimentInfo& experiment, std::vector<LoggerFactory> factories)
    : experiment_(experiment), factories_(std::move(factories)) {}

void LogWriter::fail(int64_t key, const std::exception& e) {
  open_[key].failed = true;
  failures_.emplace_back(key, e.what());
}

void LogWriter::open(const Trial& trial) {
  if (factories_.empty()) return;
  Open& entry = open_[trial.index];
  entry.failed = false;
  if (!entry.loggers.empty()) return;
  try {
    for (const auto& factory : factories_) entry.loggers.push_back(factory(experiment_, TrialView(trial)));
  } catch (const std::exception& e) {
    fail(trial.index, e);
  }
}

void LogWriter::write(int64_t key, const Result& result) {
  auto it = open_.find(key);
  if (it == open_.end() || it->second.failed) return;
  try {
    for (auto& logger : it->second.loggers) logger->on_result(result);
  } catch (const std::exception& e) {
    fail(key, e);
  }
}

void LogWriter::close(const Trial& trial) {
  auto it = open_.find(trial.index);
  if (it == open_.end()) return;
  for (auto& logger : it->second.loggers) {
    try {
      logger->close(TrialView(trial));
    } catch (const std::exception& e) {
      std::cerr << fmt::format("tune: closing the logs of {} failed: {}\n", trial.name, e.what());
    }
  }
  open_.erase(it);
}

void LogWriter::config_changed(const Trial& trial) {
  auto it = open_.find(trial.index);
  if (it == open_.end() || it->second.failed) return;
  for (auto& logger : it->second.loggers) {
    try {
      logger->on_config_change(TrialView(trial));
    } catch (const std::exception& e) {
      fail(trial.index, e);
      return;
    }
  }
}

void LogWriter::flush_all() {
  for (auto& [key, entry] : open_) {
    for (auto& logger : entry.loggers) {
      try {
        logger->flush();
      } catch (const std::exception& e) {
        fail(key, e);
      }
    }
  }
}

bool LogWriter::flush(int64_t key) {
  auto it = open_.find(key);
  if (it == open_.end()) return true;  // no files of its own (write_trial_files off)
  if (it->second.failed) return false;
  for (auto& logger : it->second.loggers) {
    try {
      logger->flush();
    } catch (const std::exception& e) {
      fail(key, e);
      return false;
    }
  }
  return true;
}

std::vector<std::pair<int64_t, std::string>> LogWriter::take_failures() { return std::exchange(failures_, {}); }

}  // namespace tune::detail
