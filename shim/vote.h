// The shim's vote, shared by the SIGSYS handler (shim.cc) and the libc wrappers
// (wrappers.cc). Async-signal-safe; callers keep asynchronous signals blocked around it.
#pragma once

namespace nmr::shim {

// Sends the syscall to the supervisor as a vote and acts on the reply. Returns the result
// the program sees (>= 0, or -errno), or kRestartCall. `program_mask` is the program's own
// signal mask (a blocked signal interrupts nothing).
long Vote(long nr, const long* args, unsigned long ip, unsigned long program_mask);
// True once the shim's filter is installed (we run under nmr-run).
bool Intercepting();
// True when the wrappers may vote directly (the channel's setup.fast_path).
bool FastPathEnabled();

}  // namespace nmr::shim
