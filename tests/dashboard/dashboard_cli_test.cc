// `tune dashboard` end to end: the built binary serves a results root, prints its URL, answers
// the API there, and exits 0 on SIGTERM; misuse is exit code 2 with a message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <thread>

#include "dashboard/dashboard_fixtures.h"
#include "support/tune_cli.h"

namespace tune {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::TempDir;

#ifdef TUNE_CLI_PATH
TEST(DashboardCliTest, ServesARootPrintsItsUrlAndStopsOnSigterm) {
  TempDir root;
  testing::write_running_experiment(root.path() / "live");
  const fs::path out = root.path() / "out.txt";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string out_path = out.string();
    FILE* file = std::freopen(out_path.c_str(), "w", stdout);
    if (!file) ::_exit(127);
    ::execl(TUNE_CLI_PATH, "tune", "dashboard", root.str().c_str(), "--port", "0", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait for the URL line (the ASan build starts in about a second).
  std::smatch url;
  std::string text;
  const std::regex pattern(R"(http://127\.0\.0\.1:(\d+)/)");
  for (int i = 0; i < 300 && !std::regex_search(text, url, pattern); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    text = testing::read_text(out);
  }
  ASSERT_FALSE(url.empty()) << "no URL printed: " << text;
  EXPECT_THAT(text, HasSubstr("(read-only)"));
  httplib::Client client("127.0.0.1", std::stoi(url[1].str()));
  const httplib::Result response = client.Get("/api/experiments");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->body, HasSubstr("\"name\":\"live\""));
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by the signal instead of stopping";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_THAT(testing::read_text(out), HasSubstr("stopped"));
}

TEST(DashboardCliTest, ANonexistentDirectoryOrABadPortIsAUsageError) {
  TempDir root;
  const testing::Outcome missing = testing::tune_cli({"dashboard", (root.path() / "nope").string(), "--port", "0"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("is not a directory"));
  const testing::Outcome port = testing::tune_cli({"dashboard", root.str(), "--port", "70000"});
  EXPECT_EQ(port.code, 2);
  EXPECT_THAT(port.err, HasSubstr("port"));
}
#endif

}  // namespace
}  // namespace tune
