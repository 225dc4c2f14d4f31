// Test support: running the built `tune` binary (TUNE_CLI_PATH, tests/CMakeLists.txt) and
// capturing its exit code, stdout and stderr.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "support/files.h"

namespace tune::testing {

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

// `arg` quoted for sh: between single quotes, each ' written as '\''.
inline std::string quote(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Runs the built `tune` with `args` (each quoted), capturing stdout and stderr; in `cwd` if given.
inline Outcome tune_cli(const std::vector<std::string>& args, const std::filesystem::path& cwd = {}) {
#ifndef TUNE_CLI_PATH
  ADD_FAILURE() << "TUNE_CLI_PATH is not defined (tests/CMakeLists.txt)";
  return {};
#else
  static int counter = 0;
  const std::filesystem::path err_file = std::filesystem::temp_directory_path() /
                                         ("tune_cli_err_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
  std::string command = cwd.empty() ? std::string() : "cd " + quote(cwd.string()) + " && ";
  command += quote(TUNE_CLI_PATH);
  for (const std::string& arg : args) command += " " + quote(arg);
  command += " 2>" + quote(err_file.string());
  Outcome outcome;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) {
    ADD_FAILURE() << "popen failed: " << command;
    return outcome;
  }
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) outcome.out.append(buffer, n);
  const int status = ::pclose(pipe);
  outcome.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  outcome.err = read_text(err_file);
  std::filesystem::remove(err_file);
  return outcome;
#endif
}

// The built `tune`, quoted for a shell script (`false` without TUNE_CLI_PATH).
inline std::string tune_command() {
#ifdef TUNE_CLI_PATH
  return quote(TUNE_CLI_PATH);
#else
  return "false";
#endif
}

// Runs `script` with sh; its exit code, or -1 when a signal ended the shell.
inline int run_shell(const std::string& script) {
  const int status = std::system(script.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace tune::testing
