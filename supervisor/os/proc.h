// What /proc says about a replica (or any process of ours): the few files nmr-run reads, in
// one place. Each returns an empty or zero value once the process is gone.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <optional>
#include <string>

namespace nmr {

// /proc/PID/NAME, whole ("" if it cannot be read).
std::string ReadProcFile(pid_t pid, const char* name);

// The fields of /proc/PID/stat that nmr-run uses.
struct ProcStat {
  char state = '?';  // R running or runnable, S/D asleep, T/t stopped, Z zombie
  pid_t ppid = -1;
};
ProcStat ReadProcStat(pid_t pid);

// "Threads:" of /proc/PID/status (0 if it is gone).
int ThreadCount(pid_t pid);

// A live process's resource usage, as getrusage(RUSAGE_SELF) would tell it (core/usage.h);
// nullopt once it is gone.
std::optional<rusage> ReadUsage(pid_t pid);

}  // namespace nmr
