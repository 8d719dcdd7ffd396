#include "supervisor/os/proc.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

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

}  // namespace nmr
