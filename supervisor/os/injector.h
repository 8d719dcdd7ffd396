// Fault injection into a live replica (DESIGN.md "Policy": faults), for testing nmr and for
// campaigns: kill (a crash), stop (a hang: SIGSTOP), bitflip-register and bitflip-memory.
// A flip seizes the replica with ptrace wherever it is (in the middle of a computation, or
// waiting in its shim), stops it, flips one bit, and lets it go: a soft error, as the
// hardware would make it. corrupt-vote is not here: it changes a vote inside the supervisor.
//
// Runs on the control loop's thread, which is then the replica's tracer for a moment and
// waits for it with waitpid: a replica that dies meanwhile has its status handed back, since
// the control loop's own wait4 will never see it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "supervisor/core/policy.h"

namespace nmr {

struct InjectionOutcome {
  bool injected = false;
  std::string what;  // "bitflip-register: rbx bit 12 (0x... -> 0x...) at rip 0x..." or why not
  std::optional<int> death_status;  // the replica died while we held it (wait status)
};

// Injects `fault` (kill, stop, bitflip-register, bitflip-memory) into `pid`; `seed` makes
// every random choice (register, bit, address).
// `channel_inode`: the replica's channel, which a memory flip never hits.
InjectionOutcome InjectFault(pid_t pid, const FaultSpec& fault, uint64_t seed,
                             uint64_t channel_inode);

}  // namespace nmr
