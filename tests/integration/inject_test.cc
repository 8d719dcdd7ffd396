// A corrupted vote (--inject kind=corrupt-vote) in one replica is outvoted: the output, exit
// status and files are still the native run's, the report names exactly that one divergence,
// and nothing is left behind. With --on-divergence kill the replica is gone from the last
// view; with restart a clone of a verified donor takes its slot and the last view is full.
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

class Inject : public ::testing::TestWithParam<std::tuple<Injection, int, std::string>> {};

TEST_P(Inject, OutvotedWithOneDivergence) {
  const auto& [inj, replicas, on_divergence] = GetParam();
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
  const RunResult nmr = RunProgram(
      UnderNmr(replicas, report_path, inj.argv, {"--inject", spec, "--on-divergence", on_divergence}),
      {.dir = nmr_dir});

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
  ASSERT_FALSE(report["views"].empty());
  std::vector<int> all, all_but_victim;
  for (int r = 0; r < replicas; r++) {
    all.push_back(r);
    if (r != victim) all_but_victim.push_back(r);
  }
  const nlohmann::json& views = report["views"];
  if (on_divergence == "kill") {
    EXPECT_EQ(views.back()["members"].get<std::vector<int>>(), all_but_victim) << views.dump();
    EXPECT_TRUE(report["recoveries"].empty()) << report["recoveries"].dump();
    return;
  }
  // restart: full, then without the victim, then full again with its clone (a new view).
  ASSERT_EQ(views.size(), 3u) << views.dump();
  EXPECT_EQ(views[1]["members"].get<std::vector<int>>(), all_but_victim) << views.dump();
  EXPECT_EQ(views[2]["members"].get<std::vector<int>>(), all) << views.dump();
  EXPECT_GT(views[2]["view"].get<int>(), views[1]["view"].get<int>());
  ASSERT_EQ(report["recoveries"].size(), 1u) << report.dump(2);
  const nlohmann::json& recovery = report["recoveries"][0];
  EXPECT_EQ(recovery["slot"], victim);
  EXPECT_NE(recovery["donor"], victim);
  EXPECT_NE(recovery["verified_with"], victim);
  EXPECT_NE(recovery["verified_with"], recovery["donor"]);
  EXPECT_EQ(recovery["reason"], "diverged");
  EXPECT_TRUE(recovery["completed"].get<bool>()) << recovery.dump();
  EXPECT_EQ(recovery["view_after"], views[2]["view"]);
  EXPECT_EQ(report["restarts"], 1);
}

INSTANTIATE_TEST_SUITE_P(Faults, Inject,
                         ::testing::Combine(::testing::ValuesIn(Injections()), ::testing::Values(3, 5),
                                            ::testing::Values("kill", "restart")),
                         [](const auto& info) {
                           return std::get<0>(info.param).name + "_n" + std::to_string(std::get<1>(info.param)) +
                                  "_" + std::get<2>(info.param);
                         });

}  // namespace
}  // namespace nmr::test
