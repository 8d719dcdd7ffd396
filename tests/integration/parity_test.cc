// Every case of the table runs natively and under nmr-run -n N (N = 1, 3, 5, and 3 with
// --no-fast-path: every call through the SIGSYS trap, none through the shim's wrappers), each
// in a fresh directory holding copies of its inputs; stdout, stderr, the exit status and the
// files left in the directory must be the same, byte for byte, and nothing may be left behind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <tuple>

#include "cases.h"
#include "checks.h"
#include "harness.h"

namespace nmr::test {
namespace {

struct Outcome {
  RunResult result;
  std::map<std::string, std::string> files;
};

// Runs `argv` for case `c` in ROOT/run (a fresh copy of ROOT/inputs), then moves the
// directory to ROOT/LABEL: both runs see the same absolute path (getcwd, tracebacks).
Outcome RunCase(const Case& c, const fs::path& root, const std::vector<std::string>& argv,
                const std::string& label) {
  const fs::path run = root / "run";
  CopyTree(root / "inputs", run);
  RunOptions options{.dir = run, .stdout_is_file = c.stdout_is_file};
  if (!c.stdin_file.empty()) {
    options.stdin_kind = StdinKind::kFile;
    options.stdin_path = run / c.stdin_file;
  } else if (c.stdin_pipe) {
    options.stdin_kind = StdinKind::kPipe;
    options.stdin_data = *c.stdin_pipe;
  }
  Outcome outcome{RunProgram(argv, options), {}};
  outcome.files = Snapshot(run);
  fs::rename(run, root / label);
  return outcome;
}

struct Mode {
  int replicas;
  bool trap_only;  // --no-fast-path
};
void PrintTo(const Mode& m, std::ostream* os) { *os << "n" << m.replicas << (m.trap_only ? " trap only" : ""); }

class Parity : public ::testing::TestWithParam<std::tuple<Case, Mode>> {};

TEST_P(Parity, SameAsNative) {
  const auto& [c, mode] = GetParam();
  const int replicas = mode.replicas;
  if (c.KnownFailing(replicas)) GTEST_SKIP() << "KNOWN-FAILING: " << c.known_failing;
  TempDir tmp;
  const fs::path inputs = tmp.path() / "inputs";
  fs::create_directory(inputs);
  for (const auto& [name, content] : c.files) WriteFile(inputs / name, content);
  for (const auto& argv : c.setup) {
    RunResult setup = RunProgram(argv, {.dir = inputs});
    ASSERT_EQ(setup.status, Exited(0)) << "setup failed: " << argv[0] << ": " << setup.err;
  }

  const Outcome native = RunCase(c, tmp.path(), c.argv, "native");
  ASSERT_FALSE(native.result.timed_out) << "the native run timed out";
  const std::set<std::string> shm_before = NmrShmEntries();
  const fs::path report_path = tmp.path() / "report.json";
  const std::vector<std::string> flags = mode.trap_only ? std::vector<std::string>{"--no-fast-path"} : std::vector<std::string>{};
  const Outcome nmr = RunCase(c, tmp.path(), UnderNmr(replicas, report_path, c.argv, flags), "nmr");

  EXPECT_FALSE(nmr.result.timed_out) << "nmr-run timed out";
  EXPECT_EQ(nmr.result.status, native.result.status) << "stderr under nmr-run:\n" << nmr.result.err;
  ExpectSameBytes("stdout", native.result.out, nmr.result.out);
  ExpectSameBytes("stderr", native.result.err, nmr.result.err);
  EXPECT_TRUE(native.files == nmr.files) << "the directory differs from the native run's:\n"
                                         << Diff(native.files, nmr.files);
  ExpectNothingLeftBehind(shm_before);

  const nlohmann::json report = LoadReport(report_path);
  ExpectReportMatches(report, replicas, native.result.status);
  if (report.is_object()) {
    EXPECT_TRUE(report["divergences"].empty()) << "healthy replicas diverged: " << report["divergences"].dump(2);
  }
  if (c.extra) c.extra(native.result, nmr.result, report);
}

std::string ParityName(const ::testing::TestParamInfo<Parity::ParamType>& info) {
  const Mode& mode = std::get<1>(info.param);
  return std::get<0>(info.param).name + "_n" + std::to_string(mode.replicas) + (mode.trap_only ? "_trap_only" : "");
}

INSTANTIATE_TEST_SUITE_P(Programs, Parity,
                         ::testing::Combine(::testing::ValuesIn(Cases()),
                                            ::testing::Values(Mode{1, false}, Mode{3, false}, Mode{5, false}, Mode{3, true})),
                         ParityName);

// Stdin is read once, on the real fd: with a regular file as stdin shared with the caller,
// what the program leaves unread is exactly what it leaves natively (`(head -n 1; cat) <f`).
class SharedStdin : public ::testing::TestWithParam<int> {};

TEST_P(SharedStdin, ProgramLeavesTheSameRestForTheNextReader) {
  const int replicas = GetParam();
  TempDir tmp;
  const fs::path file = tmp.path() / "lines.txt";
  const std::string content = Lines(400, 4);
  WriteFile(file, content);

  struct Read {
    RunResult result;
    std::string rest;  // what the test reads from the same fd afterwards
  };
  auto run = [&](const std::vector<std::string>& argv) {
    int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    Read read{RunProgram(argv, {.dir = tmp.path(), .stdin_kind = StdinKind::kFd, .stdin_fd = fd}), ""};
    read.rest = ReadFd(fd);
    close(fd);
    return read;
  };
  const std::vector<std::vector<std::string>> programs = {
      {"head", "-n", "1"},  // reads a buffer, then lseeks back to just after line 1
      {"/usr/bin/python3", "-c", "import os; print(len(os.read(0, 100)))"},  // reads 100 bytes
  };
  for (const auto& program : programs) {
    SCOPED_TRACE(program[0] + " " + program.back());
    const Read native = run(program);
    ASSERT_EQ(native.result.status, Exited(0)) << native.result.err;
    ASSERT_LT(native.rest.size(), content.size());  // the premise: it consumed a part only
    ASSERT_GT(native.rest.size(), 0u);
    const fs::path report = tmp.path() / "report.json";
    const std::set<std::string> shm_before = NmrShmEntries();
    const Read nmr = run(UnderNmr(replicas, report, program));
    EXPECT_EQ(nmr.result.status, native.result.status) << nmr.result.err;
    ExpectSameBytes("stdout", native.result.out, nmr.result.out);
    ExpectSameBytes("stderr", native.result.err, nmr.result.err);
    ExpectSameBytes("what is left of stdin", native.rest, nmr.rest);
    ExpectNothingLeftBehind(shm_before);
    const nlohmann::json r = LoadReport(report);
    if (r.is_object()) {
      EXPECT_TRUE(r["divergences"].empty()) << r["divergences"].dump(2);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Replicas, SharedStdin, ::testing::Values(1, 3, 5),
                         [](const auto& info) { return "n" + std::to_string(info.param); });

}  // namespace
}  // namespace nmr::test
