// The dashboard in a real browser: headless Chromium loads the pages of a finished experiment
// served on an ephemeral loopback port, and the test reads the DOM it built (trial ids, axis
// labels) and checks that its screenshot is not blank. Skipped with a message when Chromium is
// not installed, unless TUNE_TEST_REQUIRE_CHROMIUM=1 (then that is a failure).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "dashboard/dashboard_api.h"
#include "dashboard/dashboard_server.h"
#include "dashboard/dashboard_fixtures.h"
#include "support/tune_cli.h"

namespace tune {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::TempDir;

std::string find_chromium() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
      std::error_code ec;
      if (!dir.empty() && fs::exists(fs::path(dir) / name, ec)) return (fs::path(dir) / name).string();
    }
  }
  return {};
}

// Runs a command, returns its stdout.
std::string output_of(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

// How many different byte values the PNG's decompressed image data holds. A blank (one colour)
// page's scanlines hold a handful (the colour's bytes and the filter types); a page with text and
// coloured plots holds well over a hundred.
size_t distinct_pixel_bytes(const fs::path& png) {
  std::ifstream in(png, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (file.size() < 8 || file.compare(1, 3, "PNG") != 0) return 0;
  std::string idat;
  for (size_t at = 8; at + 12 <= file.size();) {
    const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(file[i])); };
    const uint32_t length = byte(at) << 24 | byte(at + 1) << 16 | byte(at + 2) << 8 | byte(at + 3);
    if (file.compare(at + 4, 4, "IDAT") == 0) idat += file.substr(at + 8, length);
    at += 12 + length;
  }
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) return 0;
  stream.next_in = reinterpret_cast<Bytef*>(idat.data());
  stream.avail_in = static_cast<uInt>(idat.size());
  std::set<unsigned char> seen;
  unsigned char chunk[1 << 16];
  int status = Z_OK;
  while (status == Z_OK) {
    stream.next_out = chunk;
    stream.avail_out = sizeof chunk;
    status = inflate(&stream, Z_NO_FLUSH);
    seen.insert(chunk, chunk + (sizeof chunk - stream.avail_out));
  }
  inflateEnd(&stream);
  return seen.size();
}

class DashboardBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    chromium_ = find_chromium();
    if (chromium_.empty()) {
      const char* require = std::getenv("TUNE_TEST_REQUIRE_CHROMIUM");
      if (require && std::string(require) == "1") FAIL() << "TUNE_TEST_REQUIRE_CHROMIUM=1 but no chromium on PATH";
      GTEST_SKIP() << "chromium is not installed (apt-get install chromium); the browser test is skipped";
    }
    testing::run_grid(root_, "exp",
                      Space{{"lr", grid_search({0.1, 0.01, 0.001})}, {"momentum", grid_search({0.5, 0.9})}}, 8,
                      [](const Config& config, Reporter& reporter) {
                        for (int i = 1; i <= 8; ++i) {
                          const double lr = config["lr"].get<double>();
                          reporter.report({{"loss", lr * config["momentum"].get<double>() * 10 / i}});
                        }
                      });
    server_ = std::make_unique<dashboard::DashboardServer>(dashboard::DashboardOptions{root_.path(), "127.0.0.1", 0});
    server_->start();
  }

  // Chromium's flags: headless, its profile in the test's directory, time for the page's fetches.
  std::string chromium(const std::string& what, const std::string& url) {
    return testing::quote(chromium_) + " --headless --no-sandbox --disable-gpu --hide-scrollbars" +
           " --user-data-dir=" + testing::quote((profile_.path() / "profile").string()) +
           " --virtual-time-budget=8000 --window-size=1280,1800 " + what + " " + testing::quote(url) + " 2>/dev/null";
  }

  std::string chromium_;
  TempDir root_;
  TempDir profile_;
  std::unique_ptr<dashboard::DashboardServer> server_;
};

TEST_F(DashboardBrowserTest, TheExperimentPageShowsTrialIdsAxisLabelsAndPlots) {
  const std::string page = server_->url() + "?exp=exp";
  const std::string dom = output_of(chromium("--dump-dom", page));
  ASSERT_THAT(dom, HasSubstr("data-ready=\"1\"")) << "the page finished loading its data:\n" << dom.substr(0, 2000);
  dashboard::DashboardApi api(root_.path());
  const Json table = api.trials("exp", {});
  ASSERT_EQ(table["trials"].size(), 6u);
  for (const Json& trial : table["trials"]) {
    EXPECT_THAT(dom, HasSubstr("data-trial=\"" + trial["trial_id"].get<std::string>() + "\""));
  }
  EXPECT_THAT(dom, HasSubstr("<div class=\"axis-label x\">training_iteration</div>"));
  EXPECT_THAT(dom, HasSubstr("<div class=\"axis-label y\">loss</div>"));
  EXPECT_THAT(dom, HasSubstr("Parallel coordinates"));
  EXPECT_THAT(dom, HasSubstr("Where finished trials ended"));
  EXPECT_THAT(dom, HasSubstr("<span class=\"bar-label\">lr</span>")) << "parameter importance";
  EXPECT_THAT(dom, HasSubstr("<figure class=\"plot small\"><figcaption></figcaption><div class=\"axis-label y\">loss</div>"))
      << "a score-per-parameter plot";
  EXPECT_THAT(dom, HasSubstr("<option value=\"ERROR\">ERROR</option>")) << "the trials' status filter";
  EXPECT_THAT(dom, HasSubstr("<button>next</button><span> 1-6 of 6</span>")) << "the trials' pager";

  const fs::path png = profile_.path() / "experiment.png";
  output_of(chromium("--screenshot=" + testing::quote(png.string()), page));
  ASSERT_TRUE(fs::exists(png)) << "chromium wrote no screenshot";
  EXPECT_GT(distinct_pixel_bytes(png), 64u) << "the screenshot is blank";
  if (const char* keep = std::getenv("TUNE_DASHBOARD_SCREENSHOT")) fs::copy_file(png, keep, fs::copy_options::overwrite_existing);
}

TEST_F(DashboardBrowserTest, TheListAndTrialPagesShowTheExperimentAndTheTrialsConfig) {
  const std::string list = output_of(chromium("--dump-dom", server_->url()));
  EXPECT_THAT(list, HasSubstr("?exp=exp\">exp</a>"));
  EXPECT_THAT(list, HasSubstr("6 TERMINATED"));
  dashboard::DashboardApi api(root_.path());
  const std::string id = api.trials("exp", {})["trials"][0]["trial_id"];
  const std::string trial = output_of(chromium("--dump-dom", server_->url() + "?exp=exp&trial=" + id));
  EXPECT_THAT(trial, HasSubstr("Trial " + id));
  EXPECT_THAT(trial, HasSubstr("\"momentum\""));
  EXPECT_THAT(trial, HasSubstr("<div class=\"axis-label y\">loss</div>"));
}

TEST_F(DashboardBrowserTest, ARunningExperimentsPageShowsItsRunningTrialsCurvesAndThatItIsLive) {
  testing::write_running_experiment(root_.path() / "live");
  const std::string dom = output_of(chromium("--dump-dom", server_->url() + "?exp=live"));
  ASSERT_THAT(dom, HasSubstr("data-ready=\"1\"")) << dom.substr(0, 2000);
  EXPECT_THAT(dom, HasSubstr("live (updates every 2 s)"));
  EXPECT_THAT(dom, HasSubstr("2 RUNNING"));
  for (const char* id : {"run0", "run1", "run2"}) EXPECT_THAT(dom, HasSubstr(std::string("data-trial=\"") + id + "\""));
  EXPECT_THAT(dom, HasSubstr("<div class=\"axis-label y\">loss</div>"));
  EXPECT_THAT(dom, HasSubstr("\u25A0 run1")) << "the running trials' curves are drawn (legend)";
}

}  // namespace
}  // namespace tune
