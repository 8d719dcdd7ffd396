#include "supervisor/os/proc.h"

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "supervisor/core/usage.h"

namespace nmr {

std::string ReadProcFile(pid_t pid, const char* name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

ProcStat ReadProcStat(pid_t pid) {
  // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so parse after the
  // last ')'.
  std::string text = ReadProcFile(pid, "stat");
  ProcStat out;
  size_t paren = text.rfind(')');
  if (paren != std::string::npos) {
    int ppid = -1;
    if (std::sscanf(text.c_str() + paren + 1, " %c %d", &out.state, &ppid) == 2) {
      out.ppid = ppid;
    }
  }
  return out;
}

int ThreadCount(pid_t pid) {
  std::istringstream status(ReadProcFile(pid, "status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Threads:", 0) == 0) {
      return std::atoi(line.c_str() + 8);
    }
  }
  return 0;
}

std::optional<rusage> ReadUsage(pid_t pid) {
  // The process's CPU clock (clock_getcpuclockid's encoding: ~pid << 3 | CPUCLOCK_SCHED).
  clockid_t clock = static_cast<clockid_t>((~static_cast<unsigned>(pid) << 3) | 2);
  timespec cpu;
  if (clock_gettime(clock, &cpu) != 0) {
    return std::nullopt;
  }
  return ParseProcUsage(ReadProcFile(pid, "stat"), ReadProcFile(pid, "status"),
                        cpu.tv_sec * 1'000'000'000LL + cpu.tv_nsec);
}

}  // namespace nmr
