#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "platform/posix_process.h"

namespace dblab {
namespace {

TEST(ProcessTest, RunCapturesOutputErrorAndExitCodeWithoutAShell) {
  PosixProcessRunner runner;
  auto result = runner.Run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->out, "out\n");
  EXPECT_EQ(result->err, "err\n");
  EXPECT_EQ(result->exit_code, 3);
  // Arguments are passed verbatim: no globbing or expansion.
  auto echo = runner.Run({"echo", "$HOME", "*"});
  ASSERT_TRUE(echo.ok());
  EXPECT_EQ(echo->out, "$HOME *\n");
}

TEST(ProcessTest, RunCheckedPutsStderrIntoTheError) {
  PosixProcessRunner runner;
  auto result = RunChecked(runner, {"sh", "-c", "echo 'disk is full' >&2; exit 1"});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("disk is full"), std::string::npos);
  EXPECT_NE(result.error().message.find("exit 1"), std::string::npos);
}

TEST(ProcessTest, MissingProgramIsAClearError) {
  PosixProcessRunner runner;
  auto result = runner.Run({"dblab-no-such-program"});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("not found"), std::string::npos);
}

TEST(ProcessTest, TimeoutKillsTheProgram) {
  PosixProcessRunner runner;
  RunOptions options;
  options.timeout = std::chrono::milliseconds(200);
  auto start = std::chrono::steady_clock::now();
  auto result = runner.Run({"sleep", "10"}, options);
  EXPECT_FALSE(result.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ProcessTest, EnvironmentOverridesAndStderrLines) {
  PosixProcessRunner runner;
  RunOptions options;
  options.env["DBLAB_TEST_VALUE"] = "42";
  std::vector<std::string> lines;
  options.on_stderr_line = [&](const std::string& line) { lines.push_back(line); };
  auto result = runner.Run({"sh", "-c", "echo $DBLAB_TEST_VALUE; echo a >&2; echo b >&2"}, options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->out, "42\n");
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "b"}));
}

TEST(ProcessTest, SpawnDetachedOutlivesItsParentAndLogs) {
  PosixProcessRunner runner;
  char dir_template[] = "/tmp/dblab-process-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string log = std::string(dir_template) + "/daemon.log";
  auto pid = runner.SpawnDetached({"sh", "-c", "echo started; sleep 30"}, {.log_file = log});
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  EXPECT_EQ(kill(*pid, 0), 0);
  // Not our child: it runs in its own session.
  EXPECT_NE(getsid(*pid), getsid(0));  // its own session, not ours
  std::string content;
  for (int i = 0; i < 100 && content.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::ifstream in(log);
    std::getline(in, content);
  }
  EXPECT_EQ(content, "started");
  kill(*pid, SIGKILL);
  unlink(log.c_str());
  rmdir(dir_template);
}

}  // namespace
}  // namespace dblab

namespace dblab {
namespace {

TEST(ProcessTest, SecretsInTheEnginesEnvironmentDoNotReachChildren) {
  setenv("PGPASSWORD", "production-secret", 1);
  setenv("DBLAB_VERIFICATION_TOKEN", "api-token", 1);
  PosixProcessRunner runner;
  auto result = runner.Run({"env"});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->out.find("production-secret"), std::string::npos);
  EXPECT_EQ(result->out.find("api-token"), std::string::npos);
  // Unless a caller passes one explicitly, for that program only.
  RunOptions options;
  options.env["PGPASSWORD"] = "for-pg-dump";
  auto explicit_env = runner.Run({"env"}, options);
  EXPECT_NE(explicit_env->out.find("PGPASSWORD=for-pg-dump"), std::string::npos);
  unsetenv("PGPASSWORD");
  unsetenv("DBLAB_VERIFICATION_TOKEN");
}

TEST(ProcessTest, ChildrenDoNotInheritTheEnginesFileDescriptors) {
  // Given a descriptor without close-on-exec, like a listening socket a library opened.
  int leaked = dup2(1, 57);
  ASSERT_EQ(leaked, 57);
  PosixProcessRunner runner;
  auto result = runner.Run({"sh", "-c", "ls /proc/self/fd"});
  ASSERT_TRUE(result.ok());
  // sh's own fds are 0-2 (and one for the listing itself); never ours.
  std::string target = "\n" + std::to_string(leaked) + "\n";
  EXPECT_EQ(("\n" + result->out).find(target), std::string::npos) << result->out;
  close(leaked);
}

}  // namespace
}  // namespace dblab
