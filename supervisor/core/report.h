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

struct DivergenceRecord {
  uint64_t seq = 0;
  uint32_t view = 0;
  int replica = -1;
  std::string syscall;  // what the replica asked for (or "death" when it died)
  std::string reason;   // diverged | crashed | hung
  std::string detail;   // e.g. "killed by SIGSEGV", "write differs from the majority"
};

struct ViewRecord {
  uint32_t view = 0;
  std::vector<int> members;
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
  int execs = 0;  // execve calls that replaced the program
  std::vector<std::string> injected;
  std::map<std::string, uint64_t> refused;  // "syscall: what" -> count (ENOSYS, ENOTTY, ...)
  double wall_s = 0;
  std::vector<double> cpu_s;  // per replica, user + system
};

nlohmann::json ToJson(const Report& report);

}  // namespace nmr
