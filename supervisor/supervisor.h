// The control loop: spawns the replicas, turns their requests into votes, acts on the vote
// engine's decisions (execute once, reply, kill), reaps, and ends the way the program ended.
// Replicas are forked by the main thread (PDEATHSIG is tied to the forking thread); the
// control loop runs on the program thread (program_thread.h).
#pragma once

#include <string>
#include <vector>

#include "supervisor/core/policy.h"
#include "supervisor/os/program_thread.h"

namespace nmr {

struct RunConfig {
  Policy policy;
  std::vector<std::string> argv;  // PROGRAM ARGS...
  std::string shim_path;
  bool fast_path = true;  // --no-fast-path: every syscall takes the SIGSYS path (for tests)
};

// Runs the program under nmr and returns nmr-run's exit code (on the main thread; the
// control loop runs on `program_thread`). When the program died by a signal, nmr-run raises
// that signal on itself before returning (and so never returns).
int RunUnderNmr(const RunConfig& config, ProgramThread& program_thread);

// Installs nmr-run's own signal handling; call before anything else can fork.
void InstallSupervisorSignals();

}  // namespace nmr
