// The `trainable` section of a spec: command or binary, protocol, environment, paths; and the
// check that the command's "{placeholders}" name config paths.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <limits>

#include "common/saturate.h"
#include "common/subprocess.h"
#include "spec/spec_checker.h"
#include "tune/searcher.h"

namespace tune::spec_internal {

void SpecChecker::check_trainable(const Json& value) {
  const std::string path = "trainable";
  mapping(value, path);
  check_keys(value, path, kTrainableKeys);  // a misspelt 'command' is better named than missing
  const bool has_command = value.contains("command");
  const bool has_binary = value.contains("binary");
  process_.protocol = ProcessSpec::Protocol::kPlain;  // a command prints result lines unless it says otherwise
  if (has_command == has_binary) {
    fail(path, has_command ? "give either 'command' or 'binary', not both"
                           : "needs 'command' (a program and its arguments: [python3, train.py]) or 'binary' + "
                             "'name' (a trainable registered in a binary built with tune)");
  }
  for (const auto& [key, item] : ordered(value, path)) {
    const std::string item_path = child_path(path, key);
    const Json& v = *item;
    if (key == "command") {
      process_.argv = check_command(v, item_path);
    } else if (key == "binary") {
      const std::string binary = string(v, item_path);
      if (binary.empty()) fail(item_path, "must not be empty");
      process_.argv = {resolve_program(binary, item_path).string()};
      registered_ = true;
    } else if (key == "name") {
      trainable_name_ = string(v, item_path);
      if (trainable_name_.empty() || trainable_name_.find('/') != std::string::npos ||
          find_control_character(trainable_name_) != std::string::npos) {
        fail(item_path, fmt::format("must be a non-empty name without '/' or control characters, got '{}'",
                                    escape_for_terminal(trainable_name_)));
      }
    } else if (key == "protocol") {
      if (has_binary)
        fail(item_path, "only applies to 'command' (a registered trainable always speaks the worker protocol)");
      const std::string protocol = string(v, item_path);
      if (protocol == "plain")
        process_.protocol = ProcessSpec::Protocol::kPlain;
      else if (protocol == "client")
        process_.protocol = ProcessSpec::Protocol::kWorker;
      else
        fail(item_path, fmt::format("must be 'plain' or 'client', got '{}'{}", protocol,
                                    did_you_mean(protocol, {"plain", "client"})));
    } else if (key == "env") {
      mapping(v, item_path);
      for (const auto& [name, env_value] : ordered(v, item_path)) {
        const std::string env_path = child_path(item_path, name);
        if (name.empty() || name.find('=') != std::string::npos)
          fail(env_path, "is not a valid environment variable name");
        if (env_value->is_string())
          process_.env[name] = env_value->get<std::string>();
        else if (env_value->is_number() || env_value->is_boolean())
          process_.env[name] = env_value->dump();
        else
          fail(env_path, "must be a string, number or bool, got " + describe(*env_value));
      }
    } else if (key == "launch") {
      if (!has_binary) fail(item_path, "only applies to 'binary' (a command is always started by exec)");
      const std::string launch = string(v, item_path);
      if (launch == "zygote")
        process_.launch = ProcessSpec::Launch::kZygote;
      else if (launch == "exec")
        process_.launch = ProcessSpec::Launch::kExec;
      else
        fail(item_path, fmt::format("must be 'zygote' or 'exec', got '{}'{}", launch,
                                    did_you_mean(launch, {"zygote", "exec"})));
    } else if (key == "working_dir") {
      const std::string dir = string(v, item_path);
      if (dir.empty()) fail(item_path, "must not be empty (leave it out to run in the trial directory)");
      process_.working_dir = resolve_path(dir, item_path);
    } else if (key == "step_timeout_s") {
      // Saturated: 1e10 s means "never", and now + 1e10 s in nanoseconds is past int64.
      process_.step_timeout_s = saturate_seconds(number(v, item_path, 0));
    } else if (key == "stop_grace_s") {
      process_.stop_grace_s = saturate_seconds(number(v, item_path, 0));
    } else if (key == "echo_output") {
      process_.echo_output = boolean(v, item_path);
    } else if (key == "max_message_bytes") {
      process_.max_message_bytes =
          static_cast<size_t>(integer(v, item_path, 1, std::numeric_limits<int64_t>::max(), "must be >= 1"));
    }
  }
  if (registered_) {
    if (trainable_name_.empty()) {
      fail(path, "'binary' needs 'name': the name the trainable was registered under (TUNE_REGISTER_TRAINABLE)");
    }
  } else if (trainable_name_.empty()) {
    trainable_name_ = sanitize_filename(fs::path(process_.argv[0]).filename().string(), 100);
  }
}

std::vector<std::string> SpecChecker::check_command(const Json& value, const std::string& path) {
  if (value.is_string()) {
    fail(path, fmt::format("must be a list (argv), got the string '{}'; no shell is used, so write "
                           "[prog, arg, ...], or [sh, -c, '...'] to get one",
                           value.get<std::string>()));
  }
  if (!value.is_array() || value.empty())
    fail(path, "must be a non-empty list: [program, arg, ...], got " + describe(value));
  std::vector<std::string> argv;
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string item_path = child_path(path, std::to_string(i));
    const Json& arg = value[i];
    if (!arg.is_string()) {
      fail(item_path,
           fmt::format("must be a string, got {}{}", describe(arg),
                       arg.is_number() || arg.is_boolean() ? fmt::format(" (quote it: \"{}\")", arg.dump()) : ""));
    }
    argv.push_back(arg.get<std::string>());
  }
  if (argv[0].empty()) fail(child_path(path, "0"), "the program must not be empty");
  // A relative path names a file next to the spec; the child runs in its trial directory, so
  // it must be made absolute. A bare name is looked up in PATH by the executor.
  const fs::path program = resolve_program(argv[0], child_path(path, "0"));
  if (argv[0].find('/') != std::string::npos) argv[0] = program.string();
  // An argument naming a file next to the spec (`train.py` of [python3, train.py]) is made
  // absolute for the same reason. Options, placeholders and words naming no file stay as written.
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (word.empty() || word[0] == '-' || word.find('{') != std::string::npos) continue;
    std::error_code ec;
    const fs::path written = expand_user(word);
    if (!fs::is_regular_file(written.is_absolute() ? written : base_dir_ / written, ec)) continue;
    argv[i] = resolve_path(word, child_path(path, std::to_string(i))).string();
  }
  return argv;
}

fs::path SpecChecker::resolve_program(const std::string& program, const std::string& path) {
  auto executable = [](const fs::path& candidate) {
    std::error_code ec;
    return fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) {
    const fs::path candidate = resolve_path(program, path);
    std::error_code ec;
    if (!fs::exists(candidate, ec))
      fail(path, fmt::format("program '{}' does not exist ({})", program, candidate.string()));
    if (fs::is_directory(candidate, ec)) fail(path, fmt::format("program '{}' is a directory", program));
    if (!executable(candidate)) fail(path, fmt::format("program '{}' is not executable (chmod +x?)", program));
    return candidate;
  }
  const char* env_path = std::getenv("PATH");
  for (const std::string& dir : split(env_path ? env_path : "/usr/local/bin:/usr/bin:/bin", ':')) {
    const fs::path candidate = (dir.empty() ? fs::path(".") : fs::path(dir)) / program;
    if (executable(candidate)) return candidate;
  }
  fail(path, fmt::format("program '{}' not found in PATH", program));
}

// "--lr={lr}" must name a config path: every trial resolves the same paths, so a typo there would
// fail every trial at its start. Checked with the executor's own substitution on variant 0.
void SpecChecker::check_placeholders() {
  if (registered_) return;  // a worker's arguments are its own
  Config sample;
  try {
    sample = BasicVariantGenerator(out_.options.config, 1, 0).generate(0).config;
  } catch (const TuneError& error) {
    rethrow(error, "config");
  }
  try {
    detail::substitute_argv(process_.argv, sample);
  } catch (const TuneError& error) {
    // "argv[2]: ..." -> trainable/command/2
    const std::string message = error.what();
    std::string path = "trainable/command";
    if (message.starts_with("argv[")) path += "/" + message.substr(5, message.find(']') - 5);
    throw_at(locations_, path,
             fmt::format("trainable/command: {} (write '{{{{' and '}}}}' for literal braces)", message));
  }
}

}  // namespace tune::spec_internal
