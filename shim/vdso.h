// Turns every vDSO entry point into a real `syscall` that the seccomp filter traps, so time,
// getcpu and getrandom become votes. Interposing libc's symbols would not be enough: glibc
// binds time() and gettimeofday() to the vDSO by IFUNC and calls clock_gettime's vDSO entry
// through a pointer (DESIGN.md "Interception" 4). Called from the constructor only.
#pragma once

namespace nmr::shim {

// `vdso_base` is AT_SYSINFO_EHDR. Returns the number of entries patched, or -errno.
long PatchVdso(unsigned long vdso_base);

}  // namespace nmr::shim
