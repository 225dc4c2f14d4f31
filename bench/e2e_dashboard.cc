// End-to-end benchmark of `tune dashboard` at scale: writes an experiment of N finished trials
// (default 100,000) the way the runner stores it (a snapshot of TrialRecords covering the
// journal's head record), serves it on a loopback port and times the API's requests from a
// client: cold (the first request reads the experiment) and warm (cached). Target: the
// experiment endpoint in under 1 s of server time. Beside it, measured in the same run: reading
// the snapshot's bytes, and parsing them into one nlohmann::json tree (what any reader built on a
// JSON tree pays at least). Usage: e2e_dashboard [N] [DIR] (DIR is kept
// when given; default: a temporary directory, removed). docs/dashboard.md has the figures.
#include <fmt/format.h>
#include <httplib.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>

#include <unistd.h>

#include "analysis/experiment_state.h"
#include "dashboard/dashboard_server.h"
#include "tune/analysis.h"

namespace fs = std::filesystem;
using tune::Json;

namespace {

void write_experiment(const fs::path& dir, int64_t trials) {
  fs::create_directories(dir);
  const std::string journal = Json{{"e", "head"},   {"version", tune::detail::kStateVersion}, {"name", "big"},
                                   {"metric", "loss"}, {"mode", "min"}}
                                  .dump() +
                              "\n";
  std::ofstream(dir / tune::detail::kJournalFile, std::ios::binary) << journal;
  std::mt19937_64 random(42);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Json records = Json::array();
  for (int64_t i = 0; i < trials; ++i) {
    const double lr = std::pow(10.0, -4 + 3 * unit(random));
    const int64_t batch = int64_t{16} << (i % 4);
    const Json config = {{"lr", lr}, {"batch", batch}, {"optimizer", i % 3 ? "adam" : "sgd"}};
    const std::string id = fmt::format("{:08x}", i);
    tune::MetricStats stats;
    double loss = 0;
    for (int step = 1; step <= 10; ++step) {
      loss = std::abs(std::log10(lr) + 2.5) / step + 0.01 * unit(random);
      stats.add(loss);
    }
    const Json last = {{"loss", loss},      {"training_iteration", 10}, {"time_total_s", 12.5},
                       {"timestamp", 1.7e9 + static_cast<double>(i)}, {"trial_id", id}, {"done", true}};
    tune::TrialRecord record(id, "train_" + id, tune::TrialStatus::kTerminated, config, last,
                             dir / ("train_" + id), "");
    record.metric_stats["loss"] = stats;
    records.push_back(record.to_json(dir));
  }
  const Json snapshot = {{"version", tune::detail::kStateVersion},
                         {"name", "big"},
                         {"metric", "loss"},
                         {"mode", "min"},
                         {"journal_bytes", journal.size()},
                         {"completed", true},
                         {"trials", std::move(records)},
                         {"live", Json::array()}};
  std::ofstream(dir / tune::detail::kSnapshotFile, std::ios::binary) << snapshot.dump();
}

// Resident memory now, in MB (/proc/self/statm).
double rss_mb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1e6;
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Times one GET; returns the milliseconds and checks the answer is 200.
double timed_get(httplib::Client& client, const std::string& path, size_t* bytes = nullptr) {
  const auto start = std::chrono::steady_clock::now();
  const httplib::Result response = client.Get(path.c_str());
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!response || response->status != 200) {
    std::fprintf(stderr, "GET %s failed: %s\n", path.c_str(), response ? response->body.c_str() : "no response");
    std::exit(1);
  }
  if (bytes) *bytes = response->body.size();
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t trials = argc > 1 ? std::atoll(argv[1]) : 100000;
  const bool keep = argc > 2;
  const fs::path root = keep ? fs::path(argv[2]) : fs::temp_directory_path() / fmt::format("tune_dash_bench_{}", ::getpid());
  const auto written = std::chrono::steady_clock::now();
  write_experiment(root / "big", trials);
  std::printf("wrote %lld trials in %.1f s (%s)\n", static_cast<long long>(trials),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - written).count(), root.c_str());
  const fs::path snapshot = root / "big" / tune::detail::kSnapshotFile;
  auto started = std::chrono::steady_clock::now();
  std::string bytes_read;
  {
    std::ifstream in(snapshot, std::ios::binary);
    bytes_read.resize(fs::file_size(snapshot));
    in.read(bytes_read.data(), static_cast<std::streamsize>(bytes_read.size()));
  }
  const double read_ms = ms_since(started);
  started = std::chrono::steady_clock::now();
  const size_t parsed_trials = Json::parse(bytes_read)["trials"].size();
  const double parse_ms = ms_since(started);
  std::printf("floor: read the snapshot (%.1f MB)                  %8.1f ms\n", static_cast<double>(bytes_read.size()) / 1e6,
              read_ms);
  std::printf("floor: nlohmann::json::parse of it (%zu trials)   %8.1f ms\n", parsed_trials, parse_ms);
  bytes_read = std::string();
  {
    tune::dashboard::DashboardServer server({root, "127.0.0.1", 0});
    server.start();
    httplib::Client client("127.0.0.1", server.port());
    client.set_read_timeout(300, 0);
    size_t bytes = 0;
    const double rss_before = rss_mb();
    const double cold_ms = timed_get(client, "/api/experiments/big", &bytes);
    std::printf("GET /api/experiments/big (cold: reads the experiment) %8.1f ms (%.2fx the tree parse)\n", cold_ms,
                cold_ms / parse_ms);
    std::printf("GET /api/experiments/big (warm)                      %8.1f ms (%zu bytes)\n",
                timed_get(client, "/api/experiments/big", &bytes), bytes);
    const char* warm[] = {"/api/experiments",
                          "/api/experiments/big/trials?limit=50",
                          "/api/experiments/big/trials?sort=config/lr&order=desc&offset=50000&limit=50",
                          "/api/experiments/big/trials?status=TERMINATED&config=optimizer%3Dsgd&limit=50",
                          "/api/experiments/big/points?limit=2000",
                          "/api/experiments/big/importance"};
    for (const char* path : warm) std::printf("GET %-70s %8.1f ms\n", path, timed_get(client, path));
    std::printf("resident memory: %.0f MB before the first request, %.0f MB with the experiment served\n", rss_before,
                rss_mb());
  }
  if (!keep) fs::remove_all(root);
  return 0;
}
