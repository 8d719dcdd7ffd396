// A corrupted vote (--inject kind=corrupt-vote) in one replica is outvoted: the output, exit
// status and files are still the native run's, the report names exactly that one divergence,
// the replica is gone from the last view, and nothing is left behind.
#include <gtest/gtest.h>

#include <tuple>

#include "checks.h"
#include "harness.h"

namespace nmr::test {
namespace {

struct Injection {
  std::string name;
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> files;
  int replica;          // counted from the end when negative (-1: the last one)
  std::string at;       // the rest of the spec: "at_vote=K[,syscall=NAME]"
  std::string syscall;  // the syscall the divergence must name ("" when not pinned)
  std::string known_failing = {};  // non-empty: skipped with this note
};

void PrintTo(const Injection& i, std::ostream* os) { *os << i.name; }

std::vector<Injection> Injections() {
  const auto big = std::make_pair(std::string("big.txt"), Lines(20000, 5));
  const auto in = std::make_pair(std::string("in.txt"), Lines(300, 6));
  const std::string python = "/usr/bin/python3";
  const std::string script = "import hashlib, json\nfor i in range(50):\n"
                             "    print(json.dumps({'i': i, 'h': hashlib.sha256(str(i).encode()).hexdigest()}), flush=True)\n";
  return {
      {"sort_first_write", {"sort", "big.txt"}, {big}, 1, "at_vote=1,syscall=write", "write"},
      {"sort_first_write_last_replica", {"sort", "big.txt"}, {big}, -1, "at_vote=1,syscall=write", "write"},
      // `--inject SPEC -- sort -r`: the program's own options after `--` stay the program's.
      {"sort_r_program_option_after_inject", {"sort", "-r", "big.txt"}, {big}, 1, "at_vote=1,syscall=write", "write"},
      {"write_lines_tenth_write", {TestProgram("write_lines"), "100"}, {}, 1, "at_vote=10,syscall=write", "write"},
      {"raw_syscalls_twentieth_write", {TestProgram("raw_syscalls"), "in.txt"}, {in}, 1, "at_vote=20,syscall=write", "write"},
      // Vote 5 is getpid(), which has no arguments: the injector flips the syscall number.
      {"raw_syscalls_fifth_vote", {TestProgram("raw_syscalls"), "in.txt"}, {in}, 1, "at_vote=5", ""},
      {"cp_first_openat", {"cp", "in.txt", "out.txt"}, {in}, 0, "at_vote=1,syscall=openat", "openat"},
      {"python_write", {python, "script.py"}, {{"script.py", script}}, 1, "at_vote=20,syscall=write", "write"},
      {"python_vote_300", {python, "script.py"}, {{"script.py", script}}, 2, "at_vote=300", ""},
  };
}

class Inject : public ::testing::TestWithParam<std::tuple<Injection, int>> {};

TEST_P(Inject, OutvotedWithOneDivergence) {
  const auto& [inj, replicas] = GetParam();
  if (!inj.known_failing.empty()) GTEST_SKIP() << "KNOWN-FAILING: " << inj.known_failing;
  const int victim = inj.replica >= 0 ? inj.replica : replicas + inj.replica;
  TempDir tmp;
  const fs::path native_dir = tmp.path() / "native", nmr_dir = tmp.path() / "nmr";
  // Same inputs in two directories; nothing here prints the directory's path.
  for (const fs::path& dir : {native_dir, nmr_dir}) {
    fs::create_directory(dir);
    for (const auto& [name, content] : inj.files) WriteFile(dir / name, content);
  }
  const RunResult native = RunProgram(inj.argv, {.dir = native_dir});
  ASSERT_FALSE(native.timed_out);

  const std::set<std::string> shm_before = NmrShmEntries();
  const fs::path report_path = tmp.path() / "report.json";
  const std::string spec = "kind=corrupt-vote,replica=" + std::to_string(victim) + "," + inj.at;
  const RunResult nmr = RunProgram(UnderNmr(replicas, report_path, inj.argv, {"--inject", spec}), {.dir = nmr_dir});

  EXPECT_FALSE(nmr.timed_out);
  EXPECT_EQ(nmr.status, native.status) << nmr.err;
  ExpectSameBytes("stdout", native.out, nmr.out);
  ExpectSameBytes("stderr", native.err, nmr.err);
  EXPECT_TRUE(Snapshot(native_dir) == Snapshot(nmr_dir)) << Diff(Snapshot(native_dir), Snapshot(nmr_dir));
  ExpectNothingLeftBehind(shm_before);

  const nlohmann::json report = LoadReport(report_path);
  if (!report.is_object()) return;
  ExpectReportMatches(report, replicas, native.status);
  const nlohmann::json& divergences = report["divergences"];
  ASSERT_EQ(divergences.size(), 1u) << divergences.dump(2);
  EXPECT_EQ(divergences[0].value("replica", -1), victim);
  EXPECT_EQ(divergences[0].value("reason", ""), "diverged");
  if (!inj.syscall.empty()) {
    EXPECT_EQ(divergences[0].value("syscall", ""), inj.syscall);
  }
  EXPECT_EQ(report["injected"].size(), 1u) << report["injected"].dump(2);
  // The last view holds every replica but the victim.
  ASSERT_FALSE(report["views"].empty());
  std::vector<int> expected;
  for (int r = 0; r < replicas; r++) {
    if (r != victim) expected.push_back(r);
  }
  EXPECT_EQ(report["views"].back()["members"].get<std::vector<int>>(), expected) << report["views"].dump();
}

INSTANTIATE_TEST_SUITE_P(Faults, Inject, ::testing::Combine(::testing::ValuesIn(Injections()), ::testing::Values(3, 5)),
                         [](const auto& info) {
                           return std::get<0>(info.param).name + "_n" + std::to_string(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace nmr::test
