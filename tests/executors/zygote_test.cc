// The zygote's control messages (executors/zygote.h): what is encoded decodes to the same, and
// a cut or malformed request is refused rather than misread.
#include "executors/zygote.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tune::detail::zygote {
namespace {

ForkRequest sample() {
  ForkRequest request;
  request.serial = 0x0123456789abcdefULL;
  request.targets = {3, 4, 5};
  request.cwd = "/tmp/some trial dir";
  request.env = {"A=1", "EMPTY=", "WITH=equals=inside"};
  request.opens = {{1, "/tmp/x/stdout.log"}, {2, "/tmp/x/stderr.log"}};
  return request;
}

TEST(ZygoteWireTest, ForkRequestsRoundTrip) {
  const ForkRequest request = sample();
  ForkRequest back;
  ASSERT_TRUE(decode_fork(encode_fork(request), back));
  EXPECT_EQ(back.serial, request.serial);
  EXPECT_EQ(back.targets, request.targets);
  EXPECT_EQ(back.cwd, request.cwd);
  EXPECT_EQ(back.env, request.env);
  EXPECT_EQ(back.opens, request.opens);
  ForkRequest empty;
  ASSERT_TRUE(decode_fork(encode_fork(ForkRequest{}), empty));
  EXPECT_TRUE(empty.targets.empty() && empty.env.empty() && empty.opens.empty() && empty.cwd.empty());
}

TEST(ZygoteWireTest, CutOrForeignRequestsAreRefused) {
  const std::string message = encode_fork(sample());
  ForkRequest out;
  for (size_t size = 0; size < message.size(); ++size) {
    EXPECT_FALSE(decode_fork(std::string_view(message).substr(0, size), out)) << "cut at " << size;
  }
  EXPECT_FALSE(decode_fork(message + "x", out));  // trailing bytes
  EXPECT_FALSE(decode_fork("R" + message.substr(1), out));
  EXPECT_EQ(hello_line(",\"pid\":7"), "{\"type\":\"zygote\",\"version\":1,\"pid\":7}\n");
}

TEST(ZygoteWireTest, MessagesCarryDescriptorsAcrossASeqpacketPair) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ASSERT_TRUE(send_message(pair[0], encode_fork(sample()), {pipe_fds[1]}));
  ASSERT_TRUE(send_message(pair[0], encode_reap({42, 43})));
  std::vector<char> buffer;
  std::string_view message;
  std::vector<int> fds;
  bool truncated = true;
  ASSERT_GT(receive_message(pair[1], buffer, message, fds, truncated), 0);
  EXPECT_FALSE(truncated);
  ForkRequest request;
  EXPECT_TRUE(decode_fork(message, request));
  ASSERT_EQ(fds.size(), 1u);
  ASSERT_EQ(::write(fds[0], "x", 1), 1);  // the pipe's write end, received
  char c = 0;
  ASSERT_EQ(::read(pipe_fds[0], &c, 1), 1);
  EXPECT_EQ(c, 'x');
  ::close(fds[0]);
  fds.clear();
  ASSERT_GT(receive_message(pair[1], buffer, message, fds, truncated), 0);
  EXPECT_EQ(message, encode_reap({42, 43}));  // one message per datagram
  EXPECT_TRUE(fds.empty());
  ::close(pair[0]);
  EXPECT_EQ(receive_message(pair[1], buffer, message, fds, truncated), 0);  // end of file
  for (int fd : {pair[1], pipe_fds[0], pipe_fds[1]}) ::close(fd);
}

}  // namespace
}  // namespace tune::detail::zygote
