// The two seccomp filters (DESIGN.md "Interception"), built as classic BPF in user space.
// Pure: builds instruction vectors; installing them is the spawner's and the shim's job.
//
// Base filter (installed by the spawner before execve, with a USER_NOTIF listener): the
// gate and the dynamic loader's own syscalls pass, rseq gets ENOSYS, everything else goes to
// the supervisor's listener. Shim filter (installed by the shim's constructor, stacked on
// the base): the gate and the local class pass, anonymous mmap passes, everything else traps
// (SIGSYS) and becomes a vote. TRAP outranks USER_NOTIF, so once the shim is in, the listener
// never hears from that replica again.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <vector>

namespace nmr {

using BpfProgram = std::vector<sock_filter>;

// `execve_filename` is the address of the path string the spawner passes to execve: that one
// execve passes; any other gets to the listener.
BpfProgram BuildBaseFilter(uint64_t execve_filename);
BpfProgram BuildShimFilter();

}  // namespace nmr
