// Spec files: YAML/JSON -> RunOptions + a process trainable, with every error tied to a line.
//
// The text becomes Json with a line per path (spec_yaml.cc), then SpecChecker checks it key by
// key (spec_checker.h). Errors from library validators (Space::from_json, Resources::from_json)
// name a path already; it is mapped back to its line. This file holds the schema's key lists
// and the entry points.
#include "tune/spec.h"

#include <fmt/format.h>

#include <fstream>

#include "spec/spec_checker.h"

namespace tune {
namespace spec_internal {

const std::vector<std::string> kTopKeys = {"checkpoint_at_end",
                                           "checkpoint_freq",
                                           "checkpoint_score_attr",
                                           "config",
                                           "custom_resources",
                                           "dashboard",
                                           "executor",
                                           "fail_fast",
                                           "keep_checkpoints_num",
                                           "local_dir",
                                           "max_concurrent_trials",
                                           "max_failures",
                                           "metric",
                                           "mode",
                                           "name",
                                           "num_cpus",
                                           "num_gpus",
                                           "num_samples",
                                           "overwrite",
                                           "raise_on_failed_trial",
                                           "resources_per_trial",
                                           "restore",
                                           "resume",
                                           "reuse_actors",
                                           "scheduler",
                                           "search_alg",
                                           "seed",
                                           "stop",
                                           "sync_config",
                                           "time_budget_s",
                                           "trainable",
                                           "verbose",
                                           "write_trial_files"};
// Ray's SyncConfig (tune.run(sync_config=...), 1.1+), periods in seconds as everywhere here.
const std::vector<std::string> kSyncKeys = {"upload_dir",    "sync_to_cloud",      "sync_to_driver",
                                            "sync_period_s", "sync_on_checkpoint", "sync_timeout_s"};
const std::vector<std::string> kUnsupportedKeys = {};
const std::vector<std::string> kTrainableKeys = {
    "binary", "command",  "echo_output",    "env",          "launch",     "max_message_bytes",
    "name",   "protocol", "step_timeout_s", "stop_grace_s", "working_dir"};
const std::vector<std::string> kExecutorNames = {"process", "slurm"};
const std::vector<std::string> kSlurmKeys = {"type",        "partition", "account", "time_limit",
                                             "mem_per_cpu", "extra_srun_args", "srun"};
const std::vector<std::string> kResourceKeys = {
    "cpu", "gpu", "memory", "extra_cpu", "extra_gpu", "extra_memory", "custom_resources", "extra_custom_resources"};

}  // namespace spec_internal

using spec_internal::apply_override;
using spec_internal::check_utf8;
using spec_internal::Locations;
using spec_internal::parse_yaml;
using spec_internal::SpecChecker;
namespace fs = std::filesystem;

RunSpec parse_run_spec(const std::string& text, const SpecSource& source) {
  Locations locations(source.name);
  if (text.size() > spec_internal::kMaxSpecBytes) {
    throw SpecError(fmt::format("{}: is {} bytes; a spec file may hold at most {} (4 MiB)", source.name, text.size(),
                                spec_internal::kMaxSpecBytes),
                    source.name, 0, {});
  }
  check_utf8(text, source.name, 1, source.name, {});
  Json spec = parse_yaml(text, "", locations, /*is_override=*/false, {});
  for (const std::string& arg : source.overrides) {
    if (spec.is_null()) spec = Json::object();
    if (!spec.is_object()) break;  // the checker reports a non-mapping spec
    apply_override(spec, locations, arg);
  }
  std::error_code ec;
  fs::path base = source.base_dir.empty() ? fs::current_path(ec) : fs::absolute(source.base_dir, ec);
  return SpecChecker(spec, locations, base).check();
}

RunSpec load_run_spec(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  const std::string name = file.string();
  std::error_code ec;
  if (fs::is_directory(file, ec))
    throw SpecError(fmt::format("{}: is a directory, not a spec file", name), name, 0, {});
  std::ifstream in(file, std::ios::binary);
  if (!in) throw SpecError(fmt::format("{}: cannot read the spec file (does it exist?)", name), name, 0, {});
  // Read at most one byte past the limit: a huge file (or /dev/zero) is refused, not slurped.
  std::string text(spec_internal::kMaxSpecBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  SpecSource source;
  source.name = name;
  source.base_dir = file.parent_path();
  source.overrides = overrides;
  return parse_run_spec(text, source);
}

const std::vector<std::string>& run_spec_keys() { return spec_internal::kTopKeys; }
const std::vector<std::string>& unsupported_spec_keys() { return spec_internal::kUnsupportedKeys; }

}  // namespace tune
