// Nothing is left behind (no process, no /dev/shm name) after any ending of nmr-run: a normal
// exit, a replica killed for divergence, SIGINT/SIGTERM while the program blocks on a pipe
// (nmr-run must then die by that same signal, as the program does natively), and SIGKILL of
// nmr-run itself (the replicas must die with it, through PDEATHSIG).
//
// The test process is a child subreaper (harness.h): nmr-run's orphans become our children,
// so ReapAll sees every one of them and waits for each, bounded by a deadline.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <thread>
#include <tuple>

#include "checks.h"
#include "harness.h"

namespace nmr::test {
namespace {

using std::chrono::seconds;

// A program started with stdin a pipe we hold open, once it has printed its first line.
struct Started {
  pid_t pid = -1;
  int stdin_writer = -1, stdout_reader = -1, stderr_file = -1;
  std::string first_output;

  std::string Stderr() const {
    lseek(stderr_file, 0, SEEK_SET);
    return ReadFd(stderr_file);
  }
  ~Started() {
    for (int fd : {stdin_writer, stdout_reader, stderr_file}) {
      if (fd >= 0) close(fd);
    }
  }
};

void StartUntilFirstLine(Started& s, const std::vector<std::string>& argv, const fs::path& dir) {
  int in[2], out[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  s.stderr_file = memfd_create("harness-stderr", MFD_CLOEXEC);
  s.pid = Spawn(argv, dir, in[0], out[1], s.stderr_file);
  close(in[0]);
  close(out[1]);
  s.stdin_writer = in[1];
  s.stdout_reader = out[0];
  s.first_output = ReadUntil(s.stdout_reader, "\n", In(seconds(60)));
  ASSERT_NE(s.first_output.find('\n'), std::string::npos)
      << argv[0] << " printed no first line; stderr:\n" << s.Stderr();
}

const std::vector<std::string> kBlocked = {TestProgram("wait_stdin")};  // prints "ready", reads stdin
// The same in Python, which handles SIGINT itself (KeyboardInterrupt, a traceback, then it
// kills itself with SIGINT again): the signal must reach the program's handler.
const std::vector<std::string> kBlockedPython = {
    "/usr/bin/python3", "-c", "import sys; print('ready', flush=True); sys.stdin.read()"};

TEST(Cleanup, AfterNormalExit) {
  TempDir tmp;
  WriteFile(tmp.path() / "in.txt", Lines(1000, 7));
  const std::set<std::string> shm_before = NmrShmEntries();
  RunResult r = RunProgram(UnderNmr(3, tmp.path() / "report.json", {"cat", "in.txt"}), {.dir = tmp.path()});
  EXPECT_EQ(r.status, Exited(0)) << r.err;
  EXPECT_EQ(r.out, Lines(1000, 7));
  ExpectNothingLeftBehind(shm_before);
}

// Every process of a long tree is released when it ends: with 160 fds (the channel's fd
// number at start-up is 100) nmr-run starts 150 processes (3 replicas each) one after the
// other. When an ended process kept its channels, pipes and responder (4 fds and a thread
// each), this stopped at about the 15th.
TEST(Cleanup, ManyProcessesOneAfterAnotherHoldNoFds) {
  TempDir tmp;
  const std::set<std::string> shm_before = NmrShmEntries();
  std::vector<std::string> argv = {"prlimit", "--nofile=160"};
  for (const std::string& a : UnderNmr(3, tmp.path() / "report.json",
                                       {"bash", "-c", "for i in $(seq 150); do /bin/true; done; echo done"})) {
    argv.push_back(a);
  }
  RunResult r = RunProgram(argv, {.dir = tmp.path()});
  EXPECT_EQ(r.status, Exited(0)) << r.err;
  EXPECT_EQ(r.out, "done\n");
  nlohmann::json report = LoadReport(tmp.path() / "report.json");
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["processes"].size(), 152u);  // bash, seq (for $(seq 150)), 150 /bin/true
  ExpectNothingLeftBehind(shm_before);
}

TEST(Cleanup, AfterAReplicaIsKilledForDivergence) {
  TempDir tmp;
  const std::set<std::string> shm_before = NmrShmEntries();
  const fs::path report_path = tmp.path() / "report.json";
  RunResult r = RunProgram(UnderNmr(3, report_path, {TestProgram("write_lines"), "50"},
                             {"--inject", "kind=corrupt-vote,replica=2,at_vote=3,syscall=write"}),
                    {.dir = tmp.path()});
  EXPECT_EQ(r.status, Exited(0)) << r.err;
  ExpectNothingLeftBehind(shm_before);
  const nlohmann::json report = LoadReport(report_path);
  if (report.is_object()) {
    EXPECT_EQ(report["divergences"].size(), 1u) << report.dump(2);
  }
}

// SIGINT or SIGTERM to nmr-run while the program blocks reading a pipe on stdin: nmr-run
// ends as the program does natively (by that signal), with the same output.
class SignalWhileBlocked : public ::testing::TestWithParam<std::tuple<bool, int, int>> {};

TEST_P(SignalWhileBlocked, NmrRunEndsAsTheProgramDoesNatively) {
  const auto [python, sig, replicas] = GetParam();
  const std::vector<std::string>& program = python ? kBlockedPython : kBlocked;
  TempDir tmp;
  ExitStatus native_status;
  std::string native_out, native_err;
  {
    Started native;
    ASSERT_NO_FATAL_FAILURE(StartUntilFirstLine(native, program, tmp.path()));
    ASSERT_EQ(kill(native.pid, sig), 0);
    std::optional<ExitStatus> status = WaitFor(native.pid, In(seconds(30)));
    ASSERT_TRUE(status.has_value());
    native_status = *status;
    ASSERT_EQ(native_status, Killed(sig));  // the premise
    native_out = native.first_output + ReadFd(native.stdout_reader);
    native_err = native.Stderr();
  }
  const std::set<std::string> shm_before = NmrShmEntries();
  Started nmr;
  ASSERT_NO_FATAL_FAILURE(StartUntilFirstLine(nmr, UnderNmr(replicas, tmp.path() / "report.json", program), tmp.path()));
  ASSERT_EQ(kill(nmr.pid, sig), 0);
  std::optional<ExitStatus> status = WaitFor(nmr.pid, In(seconds(30)));
  if (!status) kill(nmr.pid, SIGKILL);
  ASSERT_TRUE(status.has_value()) << "nmr-run did not end within 30 s of " << strsignal(sig);
  EXPECT_EQ(*status, native_status) << "stderr of nmr-run:\n" << nmr.Stderr();
  ExpectNothingLeftBehind(shm_before);
  fcntl(nmr.stdout_reader, F_SETFL, O_NONBLOCK);  // every writer is gone: EOF, or nothing
  ExpectSameBytes("stdout", native_out, nmr.first_output + ReadFd(nmr.stdout_reader));
  ExpectSameBytes("stderr", native_err, nmr.Stderr());
}

INSTANTIATE_TEST_SUITE_P(Signals, SignalWhileBlocked,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(SIGINT, SIGTERM), ::testing::Values(1, 3, 5)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "python_" : "c_") +
                                  (std::get<1>(info.param) == SIGINT ? "SIGINT" : "SIGTERM") + "_n" +
                                  std::to_string(std::get<2>(info.param));
                         });

// SIGUSR1 to nmr-run reaches the program's own handler while it blocks in read(0), and the
// read is restarted (SA_RESTART) or fails with EINTR exactly as it does natively.
class HandledSignal : public ::testing::TestWithParam<std::tuple<bool, int>> {};

// Whether some thread of `pid` is blocked in read(0, ...): /proc/PID/task/TID/syscall starts
// with the syscall number and its first argument ("0 0x0 ...") while it waits.
bool BlockedReadingStdin(pid_t pid) {
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "syscall");
    std::string nr, fd;
    if (in >> nr >> fd && nr == "0" && fd == "0x0") {
      return true;
    }
  }
  return false;
}

std::string RunHandledSignal(const std::vector<std::string>& argv, const fs::path& dir,
                             ExitStatus* status) {
  Started s;
  StartUntilFirstLine(s, argv, dir);
  // The signal must find the program waiting in read, natively and under nmr-run (there,
  // nmr-run's executor thread waits for it): otherwise the handler runs before the read and
  // nothing is interrupted, which is a different (and racy) test.
  Deadline deadline = In(seconds(30));
  while (!BlockedReadingStdin(s.pid) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling a state, bounded
  }
  EXPECT_TRUE(BlockedReadingStdin(s.pid)) << "never blocked in read(0)";
  EXPECT_EQ(kill(s.pid, SIGUSR1), 0);
  std::string out = s.first_output + ReadUntil(s.stdout_reader, "handler\n", In(seconds(30)));
  // Natively the interrupted read reports EINTR before anything else happens; wait for it
  // in that mode, so that the data below cannot overtake the signal.
  if (argv.back() == "interrupt") {
    out += ReadUntil(s.stdout_reader, "(handler ran 1)\n", In(seconds(30)));
  }
  EXPECT_EQ(write(s.stdin_writer, "abc", 3), 3);
  close(s.stdin_writer);
  s.stdin_writer = -1;
  std::optional<ExitStatus> ended = WaitFor(s.pid, In(seconds(30)));
  if (!ended) {
    kill(s.pid, SIGKILL);
    ADD_FAILURE() << argv[0] << " did not end; stderr:\n" << s.Stderr();
    return out;
  }
  *status = *ended;
  return out + ReadFd(s.stdout_reader);
}

TEST_P(HandledSignal, ReachesTheHandlerAndRestartsOrInterruptsTheRead) {
  const auto [restart, replicas] = GetParam();
  const std::vector<std::string> program = {TestProgram("signal_handled"),
                                            restart ? "restart" : "interrupt"};
  TempDir tmp;
  ExitStatus native_status, nmr_status;
  const std::string native_out = RunHandledSignal(program, tmp.path(), &native_status);
  const std::string nmr_out = RunHandledSignal(
      UnderNmr(replicas, tmp.path() / "report.json", program), tmp.path(), &nmr_status);
  EXPECT_EQ(nmr_status, native_status);
  ExpectSameBytes("stdout", native_out, nmr_out);
}

INSTANTIATE_TEST_SUITE_P(Signals, HandledSignal,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(1, 3, 5)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "restart" : "interrupt") +
                                  "_n" + std::to_string(std::get<1>(info.param));
                         });

// SIGKILL to nmr-run, while the program blocks on stdin or keeps writing: the replicas,
// reparented to the test, must all die (PDEATHSIG) rather than run on.
class SigkillNmrRun : public ::testing::TestWithParam<std::tuple<bool, int>> {};

// SIGKILLs nmr-run once `program` has written its first line; then no process it started
// may live on, and at least `processes` of them are reaped by the test (their subreaper).
void ExpectEverythingDiesWithNmrRun(const std::vector<std::string>& program, int replicas,
                                    int processes) {
  TempDir tmp;
  ReapAll(In(seconds(10)));  // start from no children at all
  const std::set<std::string> shm_before = NmrShmEntries();
  Started nmr;
  ASSERT_NO_FATAL_FAILURE(StartUntilFirstLine(nmr, UnderNmr(replicas, tmp.path() / "report.json", program), tmp.path()));
  ASSERT_EQ(kill(nmr.pid, SIGKILL), 0);
  std::optional<ExitStatus> status = WaitFor(nmr.pid, In(seconds(30)));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, Killed(SIGKILL));
  ReapResult reap = ReapAll(In(seconds(20)));
  std::string survivors;
  for (const std::string& s : reap.survivors) survivors += "\n  " + s;
  EXPECT_TRUE(reap.survivors.empty()) << "still alive after nmr-run was SIGKILLed:" << survivors;
  EXPECT_GE(reap.reaped, processes) << "the replicas should have been reparented to the test";
  ExpectNothingLeftBehind(shm_before);
}

TEST_P(SigkillNmrRun, ReplicasDieWithIt) {
  const auto [busy, replicas] = GetParam();
  ExpectEverythingDiesWithNmrRun(
      busy ? std::vector<std::string>{"seq", "1", "1000000000"} : kBlocked, replicas, replicas);
}

// The same in the middle of a pipeline: every process of the tree (bash, seq, cat, each as
// three replicas, forked by replicas with CLONE_PARENT) dies with nmr-run.
TEST(SigkillNmrRunTree, EveryProcessOfAPipelineDiesWithIt) {
  ExpectEverythingDiesWithNmrRun({"bash", "-c", "seq 1 1000000000 | cat"}, 3, 9);
}

INSTANTIATE_TEST_SUITE_P(Programs, SigkillNmrRun, ::testing::Combine(::testing::Bool(), ::testing::Values(1, 3, 5)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "busy_writer" : "blocked_reader") + "_n" +
                                  std::to_string(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace nmr::test
