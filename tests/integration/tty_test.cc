// Programs on a terminal: script(1) gives the program a pseudo-terminal, and the terminal
// ioctls (TCGETS, TIOCGWINSZ) and ttyname (readlink of /proc/self/fd/0) must answer under
// nmr-run as they do natively. Interactive programs are typed at through the same pty (what
// script reads from its stdin): the Python REPL, bash -i with a pipeline and a background
// job (job control: process groups and the terminal's foreground group), sqlite3's shell,
// and less paging a file; the terminal's whole transcript must be the native one. Ctrl-Z,
// `jobs` and `fg` stop and continue a job, of a shell under nmr-run and of nmr-run itself.
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

// Job control at a terminal, typed step by step through a pty (scripts/pty_session.py waits
// for each text before it types): Ctrl-Z stops a job, `jobs` lists it, `fg` continues it and
// it ends by itself (it waits for a file the session creates while the job is stopped).
class JobControl : public ::testing::TestWithParam<int> {};

std::string JobSession(const std::string& job) {
  nlohmann::json steps = nlohmann::json::array({
      {"$ ", job + " go\n"},
      {"ready2", "\x1a"},  // Ctrl-Z
      {"Stopped", "", "go"},
      {"$ ", "jobs\n"},
      {"Stopped", ""},
      {"$ ", "fg\n"},
      {"went5", ""},
      {"$ ", "exit 3\n"},
  });
  return steps.dump();
}

RunResult TypeAt(const TempDir& tmp, const std::string& job, const std::vector<std::string>& shell) {
  std::vector<std::string> argv = {"/usr/bin/python3", TestData("scripts/pty_session.py").string(),
                                   JobSession(job)};
  argv.insert(argv.end(), shell.begin(), shell.end());
  fs::remove(tmp.path() / "go");
  RunOptions options{.dir = tmp.path()};
  return RunProgram(argv, options);
}

const std::vector<std::string> kShell = {"env", "PS1=$ ", "bash", "--norc", "--noprofile", "-i"};

// bash -i runs under nmr-run: the job is a process of the tree, stopped and continued by
// bash's own job control (virtual process groups, the terminal's SIGTSTP routed to them).
TEST_P(JobControl, CtrlZStopsAJobOfAShellUnderNmr) {
  TempDir tmp;
  std::string job = TestProgram("wait_for_file").string();
  RunResult native = TypeAt(tmp, job, kShell);
  std::vector<std::string> under_nmr = {NmrRun().string(), "-n", std::to_string(GetParam()),
                                        "--log-level", "error", "--"};
  under_nmr.insert(under_nmr.end(), kShell.begin(), kShell.end());
  RunResult under = TypeAt(tmp, job, under_nmr);
  ASSERT_EQ(native.status, Exited(3)) << native.out << native.err;
  EXPECT_EQ(under.status, native.status) << under.out << under.err;
  ExpectSameBytes("the terminal", native.out, under.out);
}

// nmr-run is itself the job of a native shell: Ctrl-Z stops the program, then nmr-run, so the
// shell sees its job stopped; `fg` continues nmr-run, which continues the program.
TEST_P(JobControl, CtrlZStopsNmrRunAndFgContinuesIt) {
  TempDir tmp;
  std::string job = TestProgram("wait_for_file").string();
  RunResult native = TypeAt(tmp, job, kShell);
  std::string prefix = NmrRun().string() + " -n " + std::to_string(GetParam()) + " --log-level error -- ";
  RunResult under = TypeAt(tmp, prefix + job, kShell);
  ASSERT_EQ(native.status, Exited(3)) << native.out << native.err;
  EXPECT_EQ(under.status, native.status) << under.out << under.err;
  std::string shown = under.out;
  for (size_t at; (at = shown.find(prefix)) != std::string::npos;) {
    shown.erase(at, prefix.size());  // the command line the shell echoes and lists
  }
  ExpectSameBytes("the terminal", native.out, shown);
}

INSTANTIATE_TEST_SUITE_P(Tty, JobControl, ::testing::Values(1, 3),
                         [](const auto& info) { return "n" + std::to_string(info.param); });

}  // namespace
}  // namespace nmr::test
