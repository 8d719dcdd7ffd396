// Programs on a terminal: script(1) gives the program a pseudo-terminal, and the terminal
// ioctls (TCGETS, TIOCGWINSZ) and ttyname (readlink of /proc/self/fd/0) must answer under
// nmr-run as they do natively.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "checks.h"
#include "harness.h"

namespace nmr::test {
namespace {

class OnATerminal : public ::testing::TestWithParam<int> {};

TEST_P(OnATerminal, TerminalCallsAnswerAsNatively) {
  const int replicas = GetParam();
  TempDir tmp;
  RunOptions options;
  options.dir = tmp.path();
  // One shell command line for script(1): the commands run on the pty, one after the other.
  auto line = [&](const std::string& prefix) {
    return prefix + "stty -a; " + prefix + "tty; " + prefix + "test -t 1; echo $?";
  };
  std::string nmr = NmrRun().string() + " -n " + std::to_string(replicas) + " --log-level error -- ";
  RunResult native = RunProgram({"script", "-qec", line(""), "/dev/null"}, options);
  RunResult under = RunProgram({"script", "-qec", line(nmr), "/dev/null"}, options);
  ASSERT_FALSE(native.timed_out);
  ASSERT_FALSE(under.timed_out);
  ASSERT_NE(native.out.find("speed"), std::string::npos) << "no terminal natively:\n" << native.out;
  EXPECT_EQ(under.status, native.status);
  ExpectSameBytes("stdout", native.out, under.out);
}

INSTANTIATE_TEST_SUITE_P(Tty, OnATerminal, ::testing::Values(1, 3),
                         [](const auto& info) { return "n" + std::to_string(info.param); });

}  // namespace
}  // namespace nmr::test
