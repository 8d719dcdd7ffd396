// A small library for the integration tests: run a program (natively or under nmr-run) in a
// directory with stdin from a file, an fd or a pipe, capture stdout and stderr, wait for it
// with a deadline, and check that nothing is left behind (no processes, no /dev/shm names).
//
// The test process makes itself a child subreaper and blocks SIGCHLD (InitProcess, called by
// Spawn), so every orphan of nmr-run becomes our child and every exit wakes sigtimedwait:
// waiting is event-driven and bounded by a deadline, never a sleep.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nmr::test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

inline Deadline In(std::chrono::milliseconds ms) { return Clock::now() + ms; }

// Where the things under test are (compile definitions, see CMakeLists.txt).
fs::path NmrRun();
fs::path TestProgram(const std::string& name);  // build/tests/programs/NAME
fs::path TestData(const std::string& name);     // tests/integration/NAME (scripts/...)

// How a process ended: exit code, or the signal that killed it.
struct ExitStatus {
  bool signaled = false;
  int value = -1;  // exit code or signal number
  bool operator==(const ExitStatus&) const = default;
  static ExitStatus FromWait(int wstatus);
};
std::ostream& operator<<(std::ostream& os, const ExitStatus& s);
inline ExitStatus Exited(int code) { return {false, code}; }
inline ExitStatus Killed(int signal) { return {true, signal}; }

enum class StdinKind { kDevNull, kFile, kFd, kPipe };

struct RunOptions {
  fs::path dir;                          // working directory (must exist)
  StdinKind stdin_kind = StdinKind::kDevNull;
  fs::path stdin_path;                   // kFile: opened read-only
  int stdin_fd = -1;                     // kFd: shared with the caller, left open
  std::string stdin_data;                // kPipe: written to a pipe, then closed
  bool stdout_is_file = false;           // stdout a regular file (memfd) instead of a pipe
  std::chrono::milliseconds timeout{90'000};
};

struct RunResult {
  std::string out, err;
  ExitStatus status;
  bool timed_out = false;  // the process group was SIGKILLed at the deadline
  double wall_s = 0;
};

// The program's environment: fixed, so that native and nmr runs see the same one.
std::vector<std::string> TestEnvironment(const fs::path& dir);

// Runs argv (argv[0] looked up in PATH unless it has a '/') to completion.
RunResult RunProgram(const std::vector<std::string>& argv, const RunOptions& options);

// `nmr-run -n N --log-level error --report REPORT [EXTRA...] -- PROGRAM...`
std::vector<std::string> UnderNmr(int replicas, const fs::path& report,
                                  const std::vector<std::string>& program,
                                  const std::vector<std::string>& extra = {});

// --- lower level, for the cleanup tests ---------------------------------------------------

void InitProcess();  // child subreaper + SIGCHLD blocked; idempotent

// fork + exec in its own process group; fds become the child's 0, 1, 2.
pid_t Spawn(const std::vector<std::string>& argv, const fs::path& dir, int in, int out, int err);

// Waits for `pid` (our child) to end; nullopt at the deadline.
std::optional<ExitStatus> WaitFor(pid_t pid, Deadline deadline);

// Reaps every child we have (orphans reparented to us included) until none is left or the
// deadline passes. `survivors` describes the processes still alive then (empty = clean);
// they are then SIGKILLed and reaped, so that a failing test leaves nothing behind either.
struct ReapResult {
  int reaped = 0;
  std::vector<std::string> survivors;  // "PID (comm) state S"
};
ReapResult ReapAll(Deadline deadline);

// Reads `fd` until `needle` has been read, EOF or the deadline; returns what was read.
std::string ReadUntil(int fd, const std::string& needle, Deadline deadline);

// /dev/shm entries whose name contains "nmr".
std::set<std::string> NmrShmEntries();
// Entries not in `before` that are still there at the deadline (names of concurrent runs go
// away on their own as soon as their replicas mapped them; ours must not be left at all).
std::set<std::string> LeftoverShm(const std::set<std::string>& before, Deadline deadline);

// Deterministic inputs: COUNT varied lines of words and numbers (some repeated); bytes.
std::string Lines(int count, unsigned seed);
std::string Binary(size_t bytes, unsigned seed);

// --- files -------------------------------------------------------------------------------

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string ReadFile(const fs::path& path);
void WriteFile(const fs::path& path, const std::string& content);
std::string ReadFd(int fd);  // from the current offset to EOF
nlohmann::json ReadJson(const fs::path& path);

// Copies `from` into a new directory `to` and gives every entry the same fixed mtime (gzip,
// for one, stores the input's mtime in its output).
void CopyTree(const fs::path& from, const fs::path& to);

// Every entry under `dir`: relative name -> "dir", "symlink -> T" or "file:" + contents.
std::map<std::string, std::string> Snapshot(const fs::path& dir);

// A short explanation of how two byte strings differ ("" if equal).
std::string Diff(const std::string& expected, const std::string& actual);
std::string Diff(const std::map<std::string, std::string>& expected,
                 const std::map<std::string, std::string>& actual);

}  // namespace nmr::test
