// What a path means when the executor, not the replica, opens it (DESIGN.md "Supervisor"):
// /proc/self/fd/N, /dev/fd/N and /dev/std{in,out,err} mean the program's fd table, and
// /proc/self/cwd its working directory: both are the executor thread's (/proc/thread-self/).
// Any other /proc/self path means the program's process, i.e. a replica (/proc/<pid>/...).
// /proc/<virtual pid> means the same as /proc/self. Pure.
#pragma once

#include <sys/types.h>

#include <string>

namespace nmr {

// Returns the path the executor must use, or `path` itself when it needs no change.
std::string RewriteProgramPath(const std::string& path, pid_t replica_pid, pid_t virtual_pid = 0);

}  // namespace nmr
