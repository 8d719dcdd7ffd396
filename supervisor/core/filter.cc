#include "supervisor/core/filter.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstddef>
#include <set>

#include "interface/channel.h"
#include "interface/syscall_table.h"
#include "supervisor/core/result.h"

namespace nmr {
namespace {

constexpr uint32_t kX32SyscallBit = 0x40000000;
constexpr uint32_t kNrOffset = offsetof(seccomp_data, nr);
constexpr uint32_t kArchOffset = offsetof(seccomp_data, arch);
constexpr uint32_t kIpLowOffset = offsetof(seccomp_data, instruction_pointer);
constexpr uint32_t kIpHighOffset = kIpLowOffset + 4;

uint32_t ArgLowOffset(int arg) { return offsetof(seccomp_data, args) + 8 * arg; }
uint32_t ArgHighOffset(int arg) { return ArgLowOffset(arg) + 4; }

sock_filter Load(uint32_t offset) { return BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset); }
sock_filter Ret(uint32_t action) { return BPF_STMT(BPF_RET | BPF_K, action); }
sock_filter JumpIfEqual(uint32_t k, uint8_t jt, uint8_t jf) {
  return BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, jt, jf);
}

// A program is a prologue, then one block per syscall with a rule, then the default action.
// Each block is "if nr != N skip the body; body ending in a return", so blocks are
// independent and jump distances stay small.
class FilterBuilder {
 public:
  explicit FilterBuilder(uint32_t default_action) : default_(default_action) {
    Emit(Load(kArchOffset));
    Emit(JumpIfEqual(AUDIT_ARCH_X86_64, 1, 0));  // int $0x80 arrives as AUDIT_ARCH_I386
    Emit(Ret(SECCOMP_RET_KILL_PROCESS));
    // The gate: the instruction pointer after its `syscall`, compared as two 32-bit halves.
    Emit(Load(kIpHighOffset));
    Emit(JumpIfEqual(static_cast<uint32_t>(kGateSyscallReturnIp >> 32), 0, 3));
    Emit(Load(kIpLowOffset));
    Emit(JumpIfEqual(static_cast<uint32_t>(kGateSyscallReturnIp), 0, 1));
    Emit(Ret(SECCOMP_RET_ALLOW));
    // x32 numbers (0x40000000-0x7fffffff) are another ABI: kill. Larger ones (syscall(-1))
    // are merely unknown and reach the default action (-> ENOSYS from the supervisor).
    Emit(Load(kNrOffset));
    Emit(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x80000000u, 2, 0));
    Emit(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, kX32SyscallBit, 0, 1));
    Emit(Ret(SECCOMP_RET_KILL_PROCESS));
  }

  void Allow(long nr) { Block(nr, {Ret(SECCOMP_RET_ALLOW)}); }
  void Errno(long nr, int error) {
    Block(nr, {Ret(SECCOMP_RET_ERRNO | (static_cast<uint32_t>(error) & SECCOMP_RET_DATA))});
  }
  // Passes when none of `mask`'s bits are set in the low half of argument `arg`.
  void AllowIfBitsClear(long nr, int arg, uint32_t mask) {
    Block(nr, {Load(ArgLowOffset(arg)), BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, mask, 1, 0),
               Ret(SECCOMP_RET_ALLOW), Ret(default_)});
  }
  // Passes when any of `mask`'s bits is set in the low half of argument `arg`.
  void AllowIfAnyBitSet(long nr, int arg, uint32_t mask) {
    Block(nr, {Load(ArgLowOffset(arg)), BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, mask, 0, 1),
               Ret(SECCOMP_RET_ALLOW), Ret(default_)});
  }
  // Passes when the whole 64-bit argument equals `value`.
  void AllowIfArgEquals(long nr, int arg, uint64_t value) {
    Block(nr, {Load(ArgLowOffset(arg)), JumpIfEqual(static_cast<uint32_t>(value), 0, 3),
               Load(ArgHighOffset(arg)), JumpIfEqual(static_cast<uint32_t>(value >> 32), 0, 1),
               Ret(SECCOMP_RET_ALLOW), Ret(default_)});
  }

  BpfProgram Finish() {
    Emit(Ret(default_));
    NMR_CHECK(program_.size() <= kMaxFilterInstructions);
    return std::move(program_);
  }

 private:
  void Block(long nr, std::initializer_list<sock_filter> body) {
    // One rule per syscall: the first one added is the one that applies.
    if (!ruled_.insert(nr).second) {
      return;
    }
    // The accumulator holds nr at the start of every block: bodies that load an argument end
    // in returns, so the next block is only reached by the skip.
    NMR_CHECK(body.size() < 256);
    Emit(JumpIfEqual(static_cast<uint32_t>(nr), 0, static_cast<uint8_t>(body.size())));
    for (const sock_filter& insn : body) {
      Emit(insn);
    }
  }
  void Emit(sock_filter insn) { program_.push_back(insn); }

  uint32_t default_;
  BpfProgram program_;
  std::set<long> ruled_;
};

// openat/open flags that write, create or truncate: the loader never uses them.
constexpr uint32_t kWritingOpenFlags = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | 020000000;

}  // namespace

BpfProgram BuildBaseFilter(uint64_t execve_filename) {
  FilterBuilder b(SECCOMP_RET_USER_NOTIF);
  b.Allow(SYS_rt_sigreturn);
  b.AllowIfArgEquals(SYS_execve, 0, execve_filename);
  for (long nr : {SYS_read, SYS_pread64, SYS_newfstatat, SYS_fstat, SYS_mmap, SYS_mprotect,
                  SYS_munmap, SYS_close, SYS_brk, SYS_access, SYS_arch_prctl, SYS_set_tid_address,
                  SYS_set_robust_list, SYS_futex /* the spawner's hand-over before execve */}) {
    b.Allow(nr);
  }
  // Replica-local calls have no outside effect: once the shim is in they pass its filter,
  // and they must pass this one too, or each would cost a round trip to the listener.
  for (long nr = 0; nr < kMaxSyscall; ++nr) {
    if (SyscallInfo(nr).cls == SyscallClass::kLocal) {
      b.Allow(nr);  // those allowed above already keep their rule
    }
  }
  b.AllowIfBitsClear(SYS_openat, 2, kWritingOpenFlags);
  b.AllowIfBitsClear(SYS_open, 1, kWritingOpenFlags);
  b.AllowIfArgEquals(SYS_prlimit64, 2, 0);  // reading a limit, not setting one
  b.Errno(SYS_rseq, ENOSYS);                // the kernel would keep writing the current CPU into it
  return b.Finish();
}

BpfProgram BuildShimFilter() {
  FilterBuilder b(SECCOMP_RET_TRAP);
  for (long nr = 0; nr < kMaxSyscall; ++nr) {
    const SyscallSpec& spec = SyscallInfo(nr);
    if (spec.cls != SyscallClass::kLocal) {
      continue;
    }
    // A local call that names a process (sched_setscheduler) passes only for "myself" (0):
    // any other pid is virtual, and the shim decides what it means (LocalCallOnPid).
    int pid_arg = LocalPidArg(spec);
    if (pid_arg >= 0) {
      b.AllowIfArgEquals(nr, pid_arg, 0);
    } else {
      b.Allow(nr);
    }
  }
  b.AllowIfAnyBitSet(SYS_mmap, 3, MAP_ANONYMOUS);  // file mappings are votes
  return b.Finish();
}

}  // namespace nmr
