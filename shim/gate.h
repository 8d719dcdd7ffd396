// The shim's only ways to make a syscall (DESIGN.md "Interception").
//
// GateSyscall: through the gate page at kGateAddress, whose `syscall` instruction every
// seccomp filter lets pass. Everything the shim does after its constructor mapped the gate
// goes this way. DirectSyscall: a plain `syscall` instruction, used only in the constructor
// before the gate exists (the base filter lets the loader's syscalls pass from anywhere).
//
// The shim is built with -mno-red-zone: `call` pushes below the stack pointer.
// Both return -errno on failure, never touch errno, and are async-signal-safe.
#pragma once

#include "interface/channel.h"

namespace nmr::shim {

inline long GateSyscall(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0,
                        long a5 = 0) {
  register long r10 __asm__("r10") = a3;
  register long r8 __asm__("r8") = a4;
  register long r9 __asm__("r9") = a5;
  long ret;
  __asm__ volatile("call *%[gate]"
                   : "=a"(ret)
                   : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8),
                     "r"(r9), [gate] "r"(kGateAddress)
                   : "rcx", "r11", "memory", "cc");
  return ret;
}

inline long DirectSyscall(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0,
                          long a5 = 0) {
  register long r10 __asm__("r10") = a3;
  register long r8 __asm__("r8") = a4;
  register long r9 __asm__("r9") = a5;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory", "cc");
  return ret;
}

}  // namespace nmr::shim
