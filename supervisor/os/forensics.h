// Forensic evidence of a fault (on_divergence: quarantine): core files written by gdb's
// gcore (an optional run-time dependency: a well-kept core writer, rather than an ELF writer
// of our own), and the registers of a stopped replica. Runs gcore as a child process; call
// it on the main thread (nmr-run's own fds).
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <optional>
#include <string>

#include "supervisor/core/result.h"

namespace nmr {

// The gcore program on PATH, or nullopt.
std::optional<std::string> FindGcore();

// Writes a core file of `pid` (stopped, or waiting) to `path`; gcore's own output goes to
// `path`.log. The process is left as it was.
Result<Ok> WriteCore(const std::string& gcore, pid_t pid, const std::string& path);

// The registers of `pid`, seized and let go again (ptrace), or nullopt.
std::optional<user_regs_struct> ReadRegisters(pid_t pid);

}  // namespace nmr
