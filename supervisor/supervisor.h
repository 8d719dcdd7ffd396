// The control loop: spawns the replicas, turns their requests into votes, acts on the vote
// engine's decisions (execute once, reply, kill), reaps, and ends the way the program ended.
// Runs on nmr-run's main thread (PDEATHSIG is tied to the forking thread).
#pragma once

#include <string>
#include <vector>

#include "supervisor/executor.h"
#include "supervisor/policy.h"

namespace nmr {

struct RunConfig {
  Policy policy;
  std::vector<std::string> argv;  // PROGRAM ARGS...
  std::string shim_path;
  bool fast_path = true;  // --no-fast-path: every syscall takes the SIGSYS path (for tests)
};

// Runs the program under nmr and returns nmr-run's exit code. When the program died by a
// signal, nmr-run raises that signal on itself before returning (and so never returns).
int RunUnderNmr(const RunConfig& config, Executor& executor);

// Installs nmr-run's own signal handling; call before anything else can fork.
void InstallSupervisorSignals();

}  // namespace nmr
