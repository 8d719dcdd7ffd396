#include "cases.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace nmr::test {

namespace {

std::string Prog(const std::string& name) { return TestProgram(name).string(); }
std::string Script(const std::string& name) { return ReadFile(TestData("scripts/" + name)); }

const std::string kPython = "/usr/bin/python3";

const std::string kSql = R"(CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER);
INSERT INTO items(name, qty) VALUES ('apple', 3), ('pear', 5), ('fig', 7);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000)
  INSERT INTO items(name, qty) SELECT 'item' || x, x % 17 FROM c;
CREATE INDEX items_qty ON items(qty);
SELECT name, qty FROM items WHERE qty > 4 ORDER BY id LIMIT 5;
UPDATE items SET qty = qty + 1 WHERE name = 'fig';
DELETE FROM items WHERE qty = 0;
SELECT count(*), sum(qty), max(name) FROM items;
.tables
)";

// The exit status and report checks are generic; these add what a case is about.
void ExpectLines(const RunResult& nmr, size_t lines) {
  EXPECT_EQ(static_cast<size_t>(std::count(nmr.out.begin(), nmr.out.end(), '\n')), lines);
}

// `syscall` was voted at least `times` times: interception, even where N=1 cannot diverge.
auto Voted(const std::string& syscall, int times) {
  return [=](const RunResult&, const RunResult&, const nlohmann::json& report) {
    if (!report.is_object()) return;
    auto by = report["votes"]["by_syscall"];
    EXPECT_GE(by.value(syscall, 0), times) << syscall << " votes; by_syscall: " << by.dump();
  };
}

std::vector<Case> MakeCases() {
  const std::string text = Lines(5000, 1), big = Lines(20000, 2), bin = Binary(300000, 3);
  const auto in = std::make_pair(std::string("in.txt"), text);
  const auto big_in = std::make_pair(std::string("big.txt"), big);
  const auto bin_in = std::make_pair(std::string("bin.dat"), bin);
  std::vector<Case> cases = {
      // coreutils and friends, on files, stdin files and stdin pipes
      {.name = "cat", .argv = {"cat", "in.txt"}, .files = {in}},
      {.name = "cat_stdin_file", .argv = {"cat"}, .files = {in}, .stdin_file = "in.txt"},
      {.name = "cat_stdin_pipe", .argv = {"cat"}, .stdin_pipe = big},
      {.name = "cat_to_regular_file", .argv = {"cat", "in.txt", "bin.dat"}, .files = {in, bin_in},
       .stdout_is_file = true},
      {.name = "cat_missing_file", .argv = {"cat", "in.txt", "missing.txt"}, .files = {in}},
      {.name = "sort", .argv = {"sort", "in.txt"}, .files = {in}},
      {.name = "sort_r_20000", .argv = {"sort", "-r", "big.txt"}, .files = {big_in}},
      {.name = "sort_n_stdin", .argv = {"sort", "-n", "-k2"}, .files = {in}, .stdin_file = "in.txt"},
      {.name = "sort_o_file", .argv = {"sort", "-u", "-o", "sorted.txt", "big.txt"}, .files = {big_in}},
      {.name = "wc", .argv = {"wc", "in.txt", "bin.dat"}, .files = {in, bin_in}},
      {.name = "wc_l_pipe", .argv = {"wc", "-l"}, .stdin_pipe = text},
      {.name = "sha256sum", .argv = {"sha256sum", "in.txt", "bin.dat"}, .files = {in, bin_in}},
      {.name = "md5sum_stdin", .argv = {"md5sum"}, .files = {bin_in}, .stdin_file = "bin.dat"},
      {.name = "head_n5", .argv = {"head", "-n", "5", "in.txt"}, .files = {in}},
      {.name = "tail_n5", .argv = {"tail", "-n", "5", "in.txt"}, .files = {in}},
      {.name = "tail_n5_pipe", .argv = {"tail", "-n", "5"}, .stdin_pipe = big},
      {.name = "cp", .argv = {"cp", "in.txt", "copy.txt"}, .files = {in}},
      {.name = "gzip_k", .argv = {"gzip", "-k", "in.txt"}, .files = {in}},
      {.name = "gzip_c", .argv = {"gzip", "-c", "bin.dat"}, .files = {bin_in}},
      {.name = "gzip_dc", .argv = {"gzip", "-dc", "in.txt.gz"}, .files = {in}, .setup = {{"gzip", "in.txt"}}},
      // /usr/bin/gunzip is a /bin/sh script that execs gzip: needs execve.
      {.name = "gunzip_c", .argv = {"gunzip", "-c", "in.txt.gz"}, .files = {in}, .setup = {{"gzip", "in.txt"}}},
      {.name = "xz_k", .argv = {"xz", "-k", "in.txt"}, .files = {in}},
      {.name = "bzip2_k", .argv = {"bzip2", "-k", "bin.dat"}, .files = {bin_in}},
      {.name = "tar_cf", .argv = {"tar", "-cf", "out.tar", "in.txt", "bin.dat"}, .files = {in, bin_in}},
      {.name = "sed_i", .argv = {"sed", "-i", "s/apple/APPLE/g", "in.txt"}, .files = {in}},
      {.name = "grep_c", .argv = {"grep", "-c", "quorum", "in.txt"}, .files = {in}},
      {.name = "grep_no_match", .argv = {"grep", "no such words", "in.txt"}, .files = {in}},
      {.name = "awk_sum", .argv = {"awk", "{ s += $2 } END { print s, NR }", "in.txt"}, .files = {in}},
      {.name = "diff_differs", .argv = {"diff", "in.txt", "big.txt"}, .files = {in, big_in}},
      {.name = "ls_1a", .argv = {"ls", "-1a"}, .files = {in, bin_in}},
      {.name = "ls_l", .argv = {"ls", "-l", "--time-style=long-iso"}, .files = {in, bin_in}},
      {.name = "base64", .argv = {"base64", "bin.dat"}, .files = {bin_in}},
      {.name = "date_fixed", .argv = {"date", "-u", "-d", "@1700000000"}},
      {.name = "env", .argv = {"env"}},  // the program sees the environment it was given, only
      {.name = "pwd", .argv = {"pwd", "-P"}},
      {.name = "id", .argv = {"id"}},
      {.name = "uname_a", .argv = {"uname", "-a"}},
      {.name = "nproc", .argv = {"nproc"}},
      {.name = "sleep_short", .argv = {"sleep", "0.1"}},
      {.name = "seq_10000", .argv = {"seq", "1", "10000"},
       .extra = [](const RunResult&, const RunResult& nmr, const nlohmann::json&) { ExpectLines(nmr, 10000); }},
      {.name = "seq_10000_to_file", .argv = {"seq", "1", "10000"}, .stdout_is_file = true,
       .extra = [](const RunResult&, const RunResult& nmr, const nlohmann::json&) { ExpectLines(nmr, 10000); }},
      // sqlite3: the database file is compared too
      {.name = "sqlite3_stdin_file", .argv = {"sqlite3", "db.sqlite"}, .files = {{"script.sql", kSql}},
       .stdin_file = "script.sql"},
      {.name = "sqlite3_args", .argv = {"sqlite3", "pre.sqlite", "UPDATE t SET v = v * 2; SELECT * FROM t;"},
       .setup = {{"sqlite3", "pre.sqlite", "CREATE TABLE t(k TEXT, v INT); INSERT INTO t VALUES ('a', 1), ('b', 2);"}}},
      {.name = "sqlite3_memory_pipe", .argv = {"sqlite3", ":memory:"}, .stdin_pipe = kSql},
      {.name = "sqlite3_wal", .argv = {"sqlite3", "wal.sqlite"}, .stdin_pipe = "PRAGMA journal_mode=WAL;\n" + kSql,
       // KNOWN-FAILING: WAL mode maps wal.sqlite-shm MAP_SHARED|PROT_WRITE; nmr-run answers
       // ENODEV (a limit in README.md: writable shared file mappings), sqlite3 reports "disk
       // I/O error (10)", exits 1 and leaves wal.sqlite-shm/-wal behind (native: exit 0).
       .known_failing = "writable MAP_SHARED of the -shm file -> ENODEV: sqlite3 'disk I/O error', exit 1"},
      // Python: files, directories, extension modules, errors, stdin
      {.name = "python_files", .argv = {kPython, "files.py"}, .files = {{"files.py", Script("files.py")}, {"input.txt", text}}},
      {.name = "python_modules", .argv = {kPython, "modules.py"}, .files = {{"modules.py", Script("modules.py")}}},
      {.name = "python_traceback", .argv = {kPython, "fail.py"}, .files = {{"fail.py", Script("fail.py")}}},
      {.name = "python_exit3", .argv = {kPython, "exit3.py"}, .files = {{"exit3.py", Script("exit3.py")}}},
      {.name = "python_big_io", .argv = {kPython, "big_io.py"}, .files = {{"big_io.py", Script("big_io.py")}}},
      {.name = "python_sockets", .argv = {kPython, "sockets.py"}, .files = {{"sockets.py", Script("sockets.py")}}},
      {.name = "python_stdin_pipe", .argv = {kPython, "stdin_sort.py"},
       .files = {{"stdin_sort.py", Script("stdin_sort.py")}}, .stdin_pipe = big},
      {.name = "python_environ", .argv = {kPython, "-c", "import os, sys; print(sorted(os.environ.items()), sys.argv, os.getcwd())"}},
      {.name = "python_c", .argv = {kPython, "-c", "import sys; print(sum(range(10**6))); sys.stdout.flush()"}},
      // our programs
      {.name = "raw_syscalls", .argv = {Prog("raw_syscalls"), "in.txt"}, .files = {in}},
      {.name = "file_ops", .argv = {Prog("file_ops")}},
      {.name = "write_lines", .argv = {Prog("write_lines"), "2000"}},
      {.name = "nondeterminism_all", .argv = {Prog("nondeterminism"), "all"}},
      {.name = "nondeterminism_clocks", .argv = {Prog("nondeterminism"), "clocks"}, .extra = Voted("clock_gettime", 5)},
      {.name = "nondeterminism_random", .argv = {Prog("nondeterminism"), "random"}, .extra = Voted("getrandom", 2)},
      {.name = "nondeterminism_ids", .argv = {Prog("nondeterminism"), "ids"}, .extra = Voted("getpid", 1)},
      {.name = "nondeterminism_tsc", .argv = {Prog("nondeterminism"), "tsc"}, .extra = Voted("nmr_rdtsc", 2)},
  };
  for (int code : {0, 1, 3, 42, 255}) {
    cases.push_back({.name = "exit_" + std::to_string(code), .argv = {Prog("exit_code"), std::to_string(code)}});
  }
  for (const auto& [how, name] : {std::pair{"exit", "exit_7_via_exit"}, {"_exit", "exit_7_via_underscore_exit"},
                                   {"exit_group", "exit_7_via_raw_exit_group"}}) {
    cases.push_back({.name = name, .argv = {Prog("exit_code"), "7", how}});
  }
  for (const char* how : {"abort", "raise-term", "kill-self-usr1", "segv", "sigpipe", "usr1-handled", "segv-handled"}) {
    std::string name = std::string("signal_") + how;
    std::replace(name.begin(), name.end(), '-', '_');
    cases.push_back({.name = name, .argv = {Prog("die_by_signal"), how}});
  }
  cases.push_back({.name = "signal_mask_block_pending_unblock", .argv = {Prog("signal_mask")}});
  // readline's wait: pselect6 with a signal mask (issue: interactive programs saw EOF).
  cases.push_back({.name = "pselect_with_sigmask_pipe", .argv = {Prog("pselect_mask")},
                   .stdin_pipe = std::string("one\ntwo\n")});
  for (Case& c : TreeCases(in, bin_in)) {
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = MakeCases();
  return cases;
}

}  // namespace nmr::test
