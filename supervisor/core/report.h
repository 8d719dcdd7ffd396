// The run report (--report FILE.json): what was voted, who diverged, how the views changed,
// how the run ended. Pure data plus its JSON form; the supervisor fills it and writes it.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace nmr {

// Records of one process of the tree say which (`process`: its virtual pid; the program
// nmr-run started has nmr-run's pid).
struct DivergenceRecord {
  int process = 0;
  uint64_t seq = 0;
  uint32_t view = 0;
  int replica = -1;
  std::string syscall;  // what the replica asked for (or "death" when it died)
  std::string reason;   // diverged | crashed | hung
  std::string detail;   // e.g. "killed by SIGSEGV", "write differs from the majority"
};

// One restart by cloning: slot `slot` got a clone of `donor` at step `seq`.
struct RecoveryRecord {
  int process = 0;
  uint64_t seq = 0;
  uint32_t view_before = 0;  // the view that dropped the faulty replica
  uint32_t view_after = 0;   // the view the clone joined
  int slot = -1;
  int donor = -1;
  std::string reason;       // why the slot was emptied: diverged | crashed | hung | scrub | ...
  int verified_with = -1;   // the member whose memory digest matched the donor's
  uint64_t bytes_compared = 0;
  double digest_ms = 0;     // digesting the members' memory
  double ms = -1;           // from detection to full strength (the clone reported); -1: never
  bool completed = false;
};

// One scrub: the members' memory compared at step `seq` of view `view`.
struct ScrubRecord {
  uint64_t seq = 0;
  uint32_t view = 0;
  std::vector<int> members;    // whose memory was digested
  std::vector<int> differing;  // members outside the largest agreeing group
  uint64_t bytes = 0;          // digested, over all members
  double ms = 0;
};

struct ViewRecord {
  int process = 0;
  uint32_t view = 0;
  std::vector<int> members;
};

// One process of the program's tree: a replica group.
struct ProcessRecord {
  int pid = 0;     // virtual
  int parent = 0;  // virtual; 0 for the program nmr-run started
  std::vector<std::string> argv;  // of its last program (after any execve)
  std::optional<int> exit_code;
  std::optional<int> exit_signal;
  uint64_t votes = 0;
  int execs = 0;
};

struct Report {
  int replicas = 0;
  std::vector<std::string> program;  // argv
  // How the run ended: "exit" (the program exited), "signal" (it died by a signal),
  // "no-majority", "divergence-abort", "interrupted" (nmr-run got a signal), "error".
  std::string outcome;
  std::optional<int> exit_code;
  std::optional<int> exit_signal;
  uint64_t votes_total = 0;
  std::map<std::string, uint64_t> votes_by_syscall;
  std::vector<DivergenceRecord> divergences;
  std::vector<ViewRecord> views;
  int restarts = 0;
  std::vector<RecoveryRecord> recoveries;
  std::vector<ScrubRecord> scrubs;
  std::optional<std::string> degraded;  // why the run stopped recovering, if it did
  std::vector<std::string> forensics;   // quarantine's bundle directories
  int execs = 0;  // execve calls that replaced the program
  std::vector<std::string> injected;  // "replica R, vote K (or T ms): what was done"
  std::map<std::string, uint64_t> refused;  // "syscall: what" -> count (ENOSYS, ENOTTY, ...)
  std::vector<ProcessRecord> processes;  // the tree, in the order the processes started
  double wall_s = 0;
  std::vector<double> cpu_s;  // per replica, user + system
};

nlohmann::json ToJson(const Report& report);

}  // namespace nmr
