// Programs on a terminal: script(1) gives the program a pseudo-terminal, and the terminal
// ioctls (TCGETS, TIOCGWINSZ) and ttyname (readlink of /proc/self/fd/0) must answer under
// nmr-run as they do natively. Interactive programs are typed at through the same pty (what
// script reads from its stdin): the Python REPL, bash -i with a pipeline and a background
// job (job control: process groups and the terminal's foreground group), sqlite3's shell,
// and less paging a file; the terminal's whole transcript must be the native one.
#include <gtest/gtest.h>

#include <regex>
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
  // Each script(1) gets the next free pty; other tests take some at the same time.
  const std::regex pty(R"(/dev/pts/[0-9]+)");
  ExpectSameBytes("stdout", std::regex_replace(native.out, pty, "/dev/pts/N"),
                  std::regex_replace(under.out, pty, "/dev/pts/N"));
}

INSTANTIATE_TEST_SUITE_P(Tty, OnATerminal, ::testing::Values(1, 3),
                         [](const auto& info) { return "n" + std::to_string(info.param); });

struct Session {
  std::string name;
  std::string command;  // run by script(1) on the pty
  std::string typed;    // what is typed at it
};
void PrintTo(const Session& s, std::ostream* os) { *os << s.name; }

class Interactive : public ::testing::TestWithParam<std::tuple<Session, int>> {};

TEST_P(Interactive, SameTranscriptAsNatively) {
  const auto& [session, replicas] = GetParam();
  TempDir tmp;
  std::string lines;
  for (int i = 1; i <= 300; ++i) lines += "line " + std::to_string(i) + "\n";
  WriteFile(tmp.path() / "lines.txt", lines);
  RunOptions options{.dir = tmp.path(), .stdin_kind = StdinKind::kPipe, .stdin_data = session.typed};
  std::string nmr = NmrRun().string() + " -n " + std::to_string(replicas) + " --log-level error -- ";
  RunResult native = RunProgram({"script", "-qec", session.command, "/dev/null"}, options);
  RunResult under = RunProgram({"script", "-qec", nmr + session.command, "/dev/null"}, options);
  ASSERT_FALSE(native.timed_out);
  ASSERT_FALSE(under.timed_out) << under.out;
  EXPECT_EQ(under.status, native.status);
  // bash prints a background job's pid ("[1] 12345"): a real pid natively, a virtual one here.
  const std::regex job_pid(R"(\[1\] [0-9]+)");
  ExpectSameBytes("the terminal", std::regex_replace(native.out, job_pid, "[1] PID"),
                  std::regex_replace(under.out, job_pid, "[1] PID"));
}

const Session kSessions[] = {
    {"python_repl", "/usr/bin/python3 -q",
     "x = 6 * 7\nprint(x)\nimport subprocess\nprint(subprocess.run(['echo', 'sub']).returncode)\n"
     "exit(4)\n"},
    {"bash_i_pipeline_and_job", "bash --norc --noprofile -i",
     "echo hi | tr a-z A-Z\nsleep 0.2 &\nwait\necho done $?\nsort -r lines.txt | head -3\nexit 3\n"},
    {"sqlite3_shell", "sqlite3",
     "create table t(a);\ninsert into t values (1), (2);\nselect sum(a) from t;\n.quit\n"},
    {"less_pages_and_quits", "less lines.txt", " q"},
};

INSTANTIATE_TEST_SUITE_P(Tty, Interactive,
                         ::testing::Combine(::testing::ValuesIn(kSessions), ::testing::Values(1, 3)),
                         [](const auto& info) {
                           return std::get<0>(info.param).name + "_n" +
                                  std::to_string(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace nmr::test
