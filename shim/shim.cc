// libnmr_shim.so: the replica's side of nmr. Its constructor (run first of all, -z initfirst)
// maps the channel, maps the gate, patches the vDSO and installs the shim's seccomp filter;
// from then on every syscall that is not local traps to HandleSigsys, which sends it to the
// supervisor as a vote and acts on the reply.
//
// Rules (DESIGN.md "The shim is a different world"): runs inside someone else's program, often
// in a signal handler, on the program's stack. No libc, no allocation, no locks, no
// exceptions; raw syscalls through the gate only; errors are -errno integers.
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>

#include "interface/channel.h"
#include "interface/syscall_table.h"
#include "shim/freestanding.h"
#include "shim/gate.h"
#include "shim/vdso.h"
#include "shim/vote.h"

namespace nmr::shim {
namespace {

// The kernel's struct sigaction for rt_sigaction (not glibc's, whose mask is 128 bytes).
struct KernelSigaction {
  void* handler;
  unsigned long flags;
  void* restorer;
  unsigned long mask;
};

constexpr unsigned long kSigsysBit = 1UL << (SIGSYS - 1);
constexpr int kSaRestorer = 0x04000000;

// The shim's own mutable state lives in one section, whose bounds it publishes in the
// channel (Channel::shim_state): it differs between a vfork child and its parent (the
// child's own channel and request numbers), so the child's writes copied back into its
// parent (supervisor/tree.cc, CopyVforkWrites) must leave it alone.
#define NMR_STATE __attribute__((section("nmr_state")))
extern "C" char __start_nmr_state[];
extern "C" char __stop_nmr_state[];

NMR_STATE Channel* g_channel = nullptr;
NMR_STATE uint32_t g_seq = 0;
// The program's view of SIGSYS: the action it asked for, never installed (SIGSYS is ours).
NMR_STATE KernelSigaction g_program_sigsys = {};
// The program's view of SIGSEGV: while rdtsc traps, the shim's handler is installed and the
// program's action is kept here (HandleSigsegv runs it).
NMR_STATE KernelSigaction g_program_sigsegv = {};

void PublishShimState() {
  g_channel->shim_state[0] = reinterpret_cast<uint64_t>(__start_nmr_state);
  g_channel->shim_state[1] = reinterpret_cast<uint64_t>(__stop_nmr_state);
}

[[noreturn]] void Die(int line, long code) {
  if (g_channel != nullptr) {
    g_channel->fatal.line = line;
    g_channel->fatal.code = static_cast<int32_t>(code);
  }
  GateSyscall(SYS_exit_group, 128 + SIGSYS);
  __builtin_unreachable();
}

#define SHIM_CHECK(cond, code) \
  do {                         \
    if (!(cond)) {             \
      Die(__LINE__, (code));   \
    }                          \
  } while (0)

extern "C" void nmr_sigreturn_trampoline();
__asm__(
    ".text\n"
    ".hidden nmr_sigreturn_trampoline\n"
    "nmr_sigreturn_trampoline:\n"
    "  mov $15, %eax\n"  // rt_sigreturn: passes every filter from anywhere
    "  syscall\n");

// ---- the vote round trip -------------------------------------------------------------

long QueueSignalOnSelf(int sig) {
  long pid = GateSyscall(SYS_getpid);
  long tid = GateSyscall(SYS_gettid);
  return GateSyscall(SYS_tgkill, pid, tid, sig);
}

// A signal a reply carries, queued with the siginfo the supervisor wrote for it (virtual
// pids: a handler that reads si_pid sees the same in every replica).
long QueueReplySignal(int sig) {
  const SignalInfo& from = g_channel->signal_info[sig - 1];
  struct {
    int32_t signo, error, code, pad;
    int32_t pid, uid;
    int64_t value;
    int64_t rest[12];
  } info = {};
  static_assert(sizeof info == 128);
  info.signo = sig;
  info.code = from.code;
  info.pid = from.pid;
  info.uid = from.uid;
  info.value = from.value;
  long pid = GateSyscall(SYS_getpid);
  long tid = GateSyscall(SYS_gettid);
  return GateSyscall(SYS_rt_tgsigqueueinfo, pid, tid, sig, reinterpret_cast<long>(&info));
}

Reply RoundTrip(long nr, const long* args, unsigned long ip) {
  Channel* ch = g_channel;
  uint32_t seq = ++g_seq;
  ch->request.seq = seq;
  ch->request.nr = static_cast<int32_t>(nr);
  for (int i = 0; i < 6; ++i) {
    ch->request.args[i] = static_cast<uint64_t>(args[i]);
  }
  ch->request.ip = ip;
  ch->request_seq.store(seq, std::memory_order_seq_cst);
  if (ch->supervisor_sleeping.load(std::memory_order_seq_cst) != 0) {
    GateSyscall(SYS_futex, reinterpret_cast<long>(&ch->request_seq), FUTEX_WAKE, 1);
  }
  // Poll a while when there is a core for each side (setup.spin_iterations), then sleep.
  for (uint32_t i = 0; i < ch->setup.spin_iterations; ++i) {
    if (ch->reply_seq.load(std::memory_order_acquire) == seq) {
      break;
    }
    __builtin_ia32_pause();
  }
  for (;;) {
    uint32_t seen = ch->reply_seq.load(std::memory_order_acquire);
    if (seen == seq) {
      break;
    }
    ch->replica_sleeping.store(1, std::memory_order_seq_cst);
    if (ch->reply_seq.load(std::memory_order_seq_cst) != seen) {
      ch->replica_sleeping.store(0, std::memory_order_relaxed);
      continue;
    }
    // If the supervisor dies, PDEATHSIG kills us: no timeout needed here.
    GateSyscall(SYS_futex, reinterpret_cast<long>(&ch->reply_seq), FUTEX_WAIT, seen, 0);
    ch->replica_sleeping.store(0, std::memory_order_relaxed);
  }
  SHIM_CHECK(ch->reply.seq == seq, -EPROTO);
  return ch->reply;  // a copy: after a fork the child's channel is another one
}

// ---- recovery by cloning -----------------------------------------------------------------

struct KernelItimer {
  long interval_sec, interval_usec, value_sec, value_usec;
};

// In a child of a kReplyFork or a kFork reply: maps the channel nmr-run prepared for it over
// the inherited one (at the same address, so that the shim's own state stays byte-identical
// to its parent's or donor's). It must never write into the inherited channel: on any
// failure it exits without a word, and nmr-run sees a child that never reported.
void TakeOverChannel(int supervisor_fd) {
  int32_t supervisor = g_channel->setup.supervisor_pid;
  // PDEATHSIG is not inherited; re-arm it, then make sure nmr-run did not die meanwhile.
  GateSyscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
  if (GateSyscall(SYS_getppid) != supervisor) {
    GateSyscall(SYS_exit_group, 128 + SIGKILL);
  }
  char path[64];
  char* p = AppendString(path, "/proc/");
  p = AppendDecimal(p, supervisor);
  p = AppendString(p, "/fd/");
  AppendDecimal(p, supervisor_fd);
  long fd = GateSyscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    GateSyscall(SYS_exit_group, 128 + SIGSYS);
  }
  long addr = GateSyscall(SYS_mmap, reinterpret_cast<long>(g_channel),
                          static_cast<long>(kChannelSize), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_FIXED, fd, 0);
  GateSyscall(SYS_close, fd);
  if (addr != reinterpret_cast<long>(g_channel)) {
    GateSyscall(SYS_exit_group, 128 + SIGSYS);
  }
  // From here on g_channel is the child's own channel. Its filter is the parent's (inherited),
  // so it is as ready as the parent was: without this the libc wrappers would take the trap
  // path, and the clone's stack would no longer match its donor's at a vote.
  SHIM_CHECK(g_channel->setup.magic == kChannelMagic, -EPROTO);
  SHIM_CHECK(g_channel->setup.version == kProtocolVersion, -EPROTO);
  PublishShimState();
  g_channel->shim_ready.store(1, std::memory_order_release);
}

// The child of a kReplyFork: it takes over the channel the supervisor prepared for its slot
// and reports its pid, as its donor's replacement.
__attribute__((noinline)) void BecomeClone(int supervisor_fd) {
  TakeOverChannel(supervisor_fd);
  g_channel->clone_pid.store(static_cast<int32_t>(GateSyscall(SYS_getpid)),
                             std::memory_order_seq_cst);
  GateSyscall(SYS_futex, reinterpret_cast<long>(&g_channel->clone_pid), FUTEX_WAKE, 1);
}

// Not inlined (nor is BecomeClone): their locals (the child's pid, the /proc path, the
// saved timers) must lie below Exchange's stack pointer, where every member zeroes them
// after a fork reply; inlined into Exchange they stayed in its frame, and the donor, its
// clone and the others differed there at every later vote (two restarts in a row failed).
// fork(2) drops what a replica's clone must keep: pending signals, interval timers and the
// robust-futex list. They are read before the fork and put back in the child.
__attribute__((noinline)) void ForkClone(int supervisor_fd) {
  unsigned long pending = 0;
  GateSyscall(SYS_rt_sigpending, reinterpret_cast<long>(&pending), 8);
  KernelItimer timers[3] = {};
  for (int which = 0; which < 3; ++which) {
    GateSyscall(SYS_getitimer, which, reinterpret_cast<long>(&timers[which]));
  }
  long robust_head = 0;
  long robust_length = 0;
  GateSyscall(SYS_get_robust_list, 0, reinterpret_cast<long>(&robust_head),
              reinterpret_cast<long>(&robust_length));
  // CLONE_PARENT: the clone is nmr-run's child, as every replica is, so nmr-run reaps it.
  long pid = GateSyscall(SYS_clone, CLONE_PARENT, 0, 0, 0, 0);
  if (pid != 0) {
    return;  // the donor (or a failed fork: nmr-run's deadline for the clone expires)
  }
  BecomeClone(supervisor_fd);
  if (robust_head != 0) {
    GateSyscall(SYS_set_robust_list, robust_head, robust_length);
  }
  for (int which = 0; which < 3; ++which) {
    if (timers[which].value_sec != 0 || timers[which].value_usec != 0) {
      GateSyscall(SYS_setitimer, which, reinterpret_cast<long>(&timers[which]), 0);
    }
  }
  for (int sig = 1; sig <= 64; ++sig) {
    if ((pending & (1UL << (sig - 1))) != 0) {
      QueueSignalOnSelf(sig);
    }
  }
}

// Zeroes kForkStackWipe bytes below the stack pointer: after a fork, what the fork's frames
// left there (pids, fd numbers, copy-on-write timing) differs between members, and the next
// votes' frames are built over it. Inline: no call, no frame of its own; -mno-red-zone keeps
// nothing live below rsp.
#define NMR_WIPE_BELOW_STACK()                   \
  do {                                           \
    long count = static_cast<long>(kForkStackWipe); \
    long destination;                            \
    __asm__ volatile(                            \
        "mov %%rsp, %0\n"                        \
        "sub %1, %0\n"                           \
        "rep stosb\n"                            \
        : "=&D"(destination), "+c"(count)        \
        : "a"(0)                                 \
        : "memory", "cc");                       \
  } while (0)

// One vote's round trip, and the fork a reply may ask for (both sides go on from here with
// the same reply).
Reply Exchange(long nr, const long* args, unsigned long ip) {
  Reply reply = RoundTrip(nr, args, ip);
  if ((reply.flags & kReplyFork) != 0) {
    if ((reply.flags >> kReplyForkDonorShift) == g_channel->setup.replica) {
      ForkClone(reply.fork_channel_fd);
    }
    // Below the stack pointer lie ForkClone's frames in the donor and its clone, and older
    // bytes in the others: zeroed in every member.
    NMR_WIPE_BELOW_STACK();
  }
  return reply;
}

// Queues the signals a reply carries on this replica; returns the lowest, or 0. Delivered
// when the program's mask is back (at sigreturn, or when a wrapper unblocks): after the
// call, as the kernel delivers a signal at a syscall's return.
int QueueReplySignals(const Reply& reply) {
  int first_signal = 0;
  for (int sig = 1; sig <= 64; ++sig) {
    if ((reply.signals & (1ULL << (sig - 1))) != 0) {
      QueueReplySignal(sig);
      first_signal = first_signal == 0 ? sig : first_signal;
    }
  }
  return first_signal;
}

// ---- the program's own fork, vfork, clone and clone3 ---------------------------------------

// What a fork-like call asks for: clone's flags and where the child's and the parent's copies
// of the child's pid go (clone: args 0, 3 and 2; clone3: its struct, which the supervisor
// read and checked before agreeing), and the stack the child starts on (0: the parent's).
struct ForkRequest {
  unsigned long flags = 0;
  long child_tid = 0;
  long parent_tid = 0;
  long stack = 0;
};

ForkRequest ReadForkRequest(long nr, const long* args) {
  ForkRequest out;
  if (nr == SYS_clone) {
    out.flags = static_cast<unsigned long>(args[0]);
    out.child_tid = args[3];
    out.parent_tid = args[2];
    out.stack = args[1];
  } else if (nr == SYS_clone3) {
    const auto* clone_args = reinterpret_cast<const CloneArgs*>(args[0]);
    out.flags = clone_args->flags | clone_args->exit_signal;
    out.child_tid = static_cast<long>(clone_args->child_tid);
    out.parent_tid = static_cast<long>(clone_args->parent_tid);
    // The stack pointer is the top, as clone's: the kernel adds the size for clone3.
    if (clone_args->stack != 0) {
      out.stack = static_cast<long>(clone_args->stack + clone_args->stack_size);
    }
  }
  return out;
}

// A kFork reply: the program's fork was agreed, and every replica of the group forks here,
// each into the same slot of the new group. What fork(2) means for the child (no pending
// signals, no timers) is what a plain fork gives; a child asked for with a new stack
// (posix_spawn's clone(CLONE_VM | CLONE_VFORK, stack), or clone3's stack + stack_size) gets
// its own copy of the memory and starts on that stack (HandleSigsys), so nmr runs it as a
// vfork that copies. The parent
// then votes kPseudoSyscallForkDone and returns its answer: the child's virtual pid.
__attribute__((noinline)) long ForkChild(long nr, const long* args, int supervisor_fd) {
  ForkRequest request = ReadForkRequest(nr, args);
  // CLONE_PARENT: the child is nmr-run's child, as every replica is, so nmr-run reaps it.
  long pid = GateSyscall(SYS_clone, CLONE_PARENT, 0, 0, 0, 0);
  if (pid == 0) {
    TakeOverChannel(supervisor_fd);
    g_seq = 0;  // a new channel: its requests are numbered from 1
    int32_t vpid = g_channel->setup.virtual_pid;
    // glibc's fork asks the kernel to store the child's tid in the thread block.
    if ((request.flags & CLONE_CHILD_SETTID) != 0 && request.child_tid != 0) {
      *reinterpret_cast<int32_t*>(request.child_tid) = vpid;
    }
    g_channel->clone_pid.store(static_cast<int32_t>(GateSyscall(SYS_getpid)),
                               std::memory_order_seq_cst);
    GateSyscall(SYS_futex, reinterpret_cast<long>(&g_channel->clone_pid), FUTEX_WAKE, 1);
    return 0;
  }
  long done[6] = {pid < 0 ? pid : 0, 0, 0, 0, 0, 0};
  Reply reply = Exchange(kPseudoSyscallForkDone, done, 0);
  QueueReplySignals(reply);
  if (reply.value > 0 && (request.flags & CLONE_PARENT_SETTID) != 0 && request.parent_tid != 0) {
    *reinterpret_cast<int32_t*>(request.parent_tid) = static_cast<int32_t>(reply.value);
  }
  return reply.value;
}

// Opens the executor's fd through /proc and maps it here: the replica gets its own read-only
// description of the same file, the program's fd stays where it is.
long MapFile(const long* args) {
  char path[96];
  char* p = AppendString(path, "/proc/");
  p = AppendDecimal(p, g_channel->setup.supervisor_pid);
  p = AppendString(p, "/task/");
  p = AppendDecimal(p, g_channel->setup.executor_tid);
  p = AppendString(p, "/fd/");
  AppendDecimal(p, static_cast<int>(args[4]));
  long fd = GateSyscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path), O_RDONLY | O_CLOEXEC);
  long addr;
  if (fd < 0) {
    addr = fd == -ENOENT ? -EBADF : fd;
  } else {
    addr = GateSyscall(SYS_mmap, args[0], args[1], args[2], args[3], fd, args[5]);
    GateSyscall(SYS_close, fd);
  }
  // Voted even when it failed: every replica must report the same outcome (and the next
  // step waits for the slowest replica's vote, so the fd stays open until all have mapped).
  long done[6] = {addr, 0, 0, 0, 0, 0};
  QueueReplySignals(Exchange(kPseudoSyscallMapDone, done, 0));
  return addr;
}

// Whether a call that `sig` interrupted restarts, as the kernel decides it: an ignored
// signal (explicitly, or by default) never interrupts; a handler with SA_RESTART restarts a
// restartable call; anything else returns -EINTR (or the signal kills the replica).
bool ShouldRestart(int sig, uint32_t flags, unsigned long program_mask) {
  if ((program_mask & (1UL << (sig - 1))) != 0) {
    return true;  // blocked: it stays pending and interrupts nothing
  }
  KernelSigaction action = {};
  if (GateSyscall(SYS_rt_sigaction, sig, 0, reinterpret_cast<long>(&action), 8) != 0) {
    return false;
  }
  if (action.handler == SIG_IGN) {
    return true;
  }
  if (action.handler == SIG_DFL) {
    switch (sig) {
      case SIGCHLD:
      case SIGCONT:
      case SIGURG:
      case SIGWINCH:
      case SIGSTOP:
      case SIGTSTP:
      case SIGTTIN:
      case SIGTTOU:
        return true;
      default:
        return false;  // the signal ends the replica on its way out of the handler
    }
  }
  return (action.flags & SA_RESTART) != 0 && (flags & kReplyRestartable) != 0;
}

// Whether `sig`, pending, would run a handler or end the process under `mask` (a signal
// that is ignored, explicitly or by default, would not wake a sigsuspend).
bool Deliverable(int sig, unsigned long mask) {
  if ((mask & (1UL << (sig - 1))) != 0) {
    return false;
  }
  KernelSigaction action = {};
  GateSyscall(SYS_rt_sigaction, sig, 0, reinterpret_cast<long>(&action), 8);
  if (action.handler == SIG_IGN) {
    return false;
  }
  if (action.handler == SIG_DFL) {
    // Ignored by default, or a stop: the process stops (or goes on) but the wait does not end.
    return sig != SIGCHLD && sig != SIGCONT && sig != SIGURG && sig != SIGWINCH &&
           sig != SIGSTOP && sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU;
  }
  return true;
}

// Reads the program's memory without faulting on a bad pointer (the call gets EFAULT from the
// supervisor then, as natively).
bool ReadOwnMemory(long address, void* out, unsigned long size) {
  struct {
    void* base;
    unsigned long length;
  } local = {out, size}, remote = {reinterpret_cast<void*>(address), size};
  long pid = GateSyscall(SYS_getpid);
  return GateSyscall(SYS_process_vm_readv, pid, reinterpret_cast<long>(&local), 1,
                     reinterpret_cast<long>(&remote), 1, 0) == static_cast<long>(size);
}

// The signal mask a call installs while it waits (pselect6, ppoll, epoll_pwait): false if it
// has none.
bool CallWaitMask(long nr, const long* args, unsigned long* mask) {
  long set = 0;
  switch (nr) {
    case SYS_pselect6:
      if (args[5] == 0 || !ReadOwnMemory(args[5], &set, sizeof set)) {
        return false;
      }
      break;
    case SYS_ppoll:
      set = args[3];
      break;
    case SYS_epoll_pwait:
    case SYS_epoll_pwait2:
      set = args[4];
      break;
    default:
      return false;
  }
  if (set == 0 || !ReadOwnMemory(set, mask, sizeof *mask)) {
    return false;
  }
  *mask &= ~kSigsysBit;
  return true;
}

// A signal already pending in this replica (delivered with an earlier reply while the
// program's mask blocked it) that the call's wait mask lets through: natively the call
// returns EINTR at once, after its handler ran under that mask. Returns that result, or 0.
long TakePendingUnderWaitMask(unsigned long program_mask, unsigned long wait_mask) {
  unsigned long pending = 0;
  GateSyscall(SYS_rt_sigpending, reinterpret_cast<long>(&pending), 8);
  for (int sig = 1; sig <= 64; ++sig) {
    unsigned long bit = 1UL << (sig - 1);
    if ((pending & bit) != 0 && (program_mask & bit) != 0 && Deliverable(sig, wait_mask)) {
      return GateSyscall(SYS_rt_sigsuspend, reinterpret_cast<long>(&wait_mask), 8);
    }
  }
  return 0;
}

}  // namespace

long Vote(long nr, const long* args, unsigned long ip, unsigned long program_mask) {
  unsigned long wait_mask;
  bool has_wait_mask = CallWaitMask(nr, args, &wait_mask);
  if (has_wait_mask) {
    if (long interrupted = TakePendingUnderWaitMask(program_mask, wait_mask)) {
      return interrupted;
    }
  }
  g_channel->call_mask = has_wait_mask ? wait_mask : program_mask;
  Reply reply = Exchange(nr, args, ip);
  if (reply.action == ReplyAction::kFork) {
    int channel_fd = reply.fork_channel_fd;
    reply.fork_channel_fd = 0;  // differs between replicas: not left on the stack
    long result = ForkChild(nr, args, channel_fd);
    NMR_WIPE_BELOW_STACK();
    return result;
  }
  int first_signal = QueueReplySignals(reply);
  if ((reply.flags & kReplyInterrupted) != 0 && first_signal != 0) {
    if (has_wait_mask) {
      // The call's own mask was in force while it waited (make's pselect6 lets SIGCHLD in
      // only there): a signal it lets through but the program's mask blocks runs its handler
      // now, under that mask, as the kernel does before the call returns EINTR.
      if (long interrupted = TakePendingUnderWaitMask(program_mask, wait_mask)) {
        return interrupted;
      }
      if (ShouldRestart(first_signal, reply.flags, wait_mask)) {
        return kRestartCall;
      }
    } else if (ShouldRestart(first_signal, reply.flags, program_mask)) {
      return kRestartCall;
    }
  }
  switch (reply.action) {
    case ReplyAction::kReturn:
      return reply.value;
    case ReplyAction::kExecuteLocally:
      return GateSyscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
    case ReplyAction::kMapFile:
      return MapFile(args);
    case ReplyAction::kFork:
      break;
  }
  Die(__LINE__, -EPROTO);
}

bool Intercepting() {
  return g_channel != nullptr && g_channel->shim_ready.load(std::memory_order_relaxed) != 0;
}
bool FastPathEnabled() { return Intercepting() && g_channel->setup.fast_path != 0; }

namespace {

// ---- the program's signal state ----------------------------------------------------------

// SIGSYS must never be blocked when a syscall traps (the kernel would kill the process), so
// every mask the program hands the kernel loses its SIGSYS bit.
long EmulateSigaction(const long* args) {
  int sig = static_cast<int>(args[0]);
  auto* act = reinterpret_cast<const KernelSigaction*>(args[1]);
  auto* old = reinterpret_cast<KernelSigaction*>(args[2]);
  if (sig == SIGSYS || sig == SIGSEGV) {
    KernelSigaction& kept = sig == SIGSYS ? g_program_sigsys : g_program_sigsegv;
    if (old != nullptr) {
      *old = kept;
    }
    if (act != nullptr) {
      kept = *act;
    }
    return 0;
  }
  if (act == nullptr) {
    return GateSyscall(SYS_rt_sigaction, sig, 0, args[2], args[3]);
  }
  KernelSigaction copy = *act;
  copy.mask &= ~kSigsysBit;
  return GateSyscall(SYS_rt_sigaction, sig, reinterpret_cast<long>(&copy), args[2], args[3]);
}

// The program's mask is the one saved in the SIGSYS frame (the live one is the handler's,
// everything blocked): read it there, and change it there, so that rt_sigreturn installs it.
long EmulateSigprocmask(const long* args, unsigned long* program_mask) {
  if (args[3] != 8) {
    return -EINVAL;
  }
  unsigned long old = *program_mask;
  if (args[1] != 0) {
    unsigned long set = *reinterpret_cast<const unsigned long*>(args[1]);
    unsigned long mask;
    switch (args[0]) {
      case SIG_BLOCK:
        mask = old | set;
        break;
      case SIG_UNBLOCK:
        mask = old & ~set;
        break;
      case SIG_SETMASK:
        mask = set;
        break;
      default:
        return -EINVAL;
    }
    *program_mask = mask & ~kSigsysBit & ~(1UL << (SIGKILL - 1)) & ~(1UL << (SIGSTOP - 1));
  }
  if (args[2] != 0) {
    *reinterpret_cast<unsigned long*>(args[2]) = old;
  }
  return 0;
}

// sigsuspend and pause wait for a signal, and signals reach a replica only with a reply
// (DESIGN.md "Signals"): the wait is a vote the supervisor answers once a signal the mask lets
// through is pending for the group. The reply's signals are queued here; the real
// sigsuspend then runs the handler with the right mask and returns -EINTR at once.
// A stop signal in a reply that waits loop on (sigsuspend, sigwait): queued, it would stay
// pending while the SIGSYS handler runs with everything blocked, and the replica would vote
// again instead of stopping. Unblocked here for a moment, it stops the replica now (the kernel
// takes it on the way out of rt_sigprocmask), and the wait goes on once it is continued.
void TakeStops(const Reply& reply, unsigned long wait_mask) {
  if ((reply.signals & kStopSignalBits) == 0) {
    return;  // the usual case: no syscall at all
  }
  unsigned long stops = 0;
  for (int sig : {SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU}) {
    unsigned long bit = 1UL << (sig - 1);
    KernelSigaction action = {};
    GateSyscall(SYS_rt_sigaction, sig, 0, reinterpret_cast<long>(&action), 8);
    if ((reply.signals & bit) != 0 && (wait_mask & bit) == 0 && action.handler == SIG_DFL) {
      stops |= bit;
    }
  }
  if (stops != 0) {
    GateSyscall(SYS_rt_sigprocmask, SIG_UNBLOCK, reinterpret_cast<long>(&stops), 0, 8);
    GateSyscall(SYS_rt_sigprocmask, SIG_BLOCK, reinterpret_cast<long>(&stops), 0, 8);
  }
}

long SuspendUntilSignal(unsigned long set) {
  set &= ~kSigsysBit;
  for (;;) {
    long wait[6] = {static_cast<long>(set), 0, 0, 0, 0, 0};
    Reply reply = Exchange(kPseudoSyscallSuspend, wait, 0);
    QueueReplySignals(reply);
    TakeStops(reply, set);
    for (int sig = 1; sig <= 64; ++sig) {
      if ((reply.signals & (1ULL << (sig - 1))) != 0 && Deliverable(sig, set)) {
        return GateSyscall(SYS_rt_sigsuspend, reinterpret_cast<long>(&set), 8);
      }
    }
  }
}

// sigtimedwait, sigwaitinfo and sigwait take a pending signal of the set (the program blocks
// them). Signals reach a replica only with replies, so the wait is a vote: once a signal of
// the set is pending for the group, the reply brings it, and the real call takes it at once.
long EmulateSigtimedwait(const long* args, unsigned long program_mask) {
  if (args[3] != 8) {
    return -EINVAL;
  }
  unsigned long set = *reinterpret_cast<const unsigned long*>(args[0]) & ~kSigsysBit;
  long timeout_ns = -1;
  if (args[2] != 0) {
    const auto* ts = reinterpret_cast<const long*>(args[2]);
    if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000) {
      return -EINVAL;
    }
    timeout_ns = ts[0] > 1000000000L ? 1000000000L * 1000000000L : ts[0] * 1000000000L + ts[1];
  }
  long none[2] = {0, 0};
  for (;;) {
    // One already pending (queued with an earlier reply) is taken without a vote.
    long taken = GateSyscall(SYS_rt_sigtimedwait, reinterpret_cast<long>(&set), args[1],
                             reinterpret_cast<long>(none), 8);
    if (taken != -EAGAIN) {
      return taken;
    }
    long wait[6] = {static_cast<long>(set), timeout_ns, 0, 0, 0, 0};
    Reply reply = Exchange(kPseudoSyscallSigwait, wait, 0);
    QueueReplySignals(reply);
    TakeStops(reply, program_mask);
    if (reply.value < 0) {
      return reply.value;  // -EAGAIN: the timeout passed
    }
  }
}

long EmulateSigsuspend(const long* args) {
  if (args[1] != 8) {
    return -EINVAL;
  }
  return SuspendUntilSignal(*reinterpret_cast<const unsigned long*>(args[0]));
}

// The program's own prctl: the ones that would undo what nmr set up are answered here.
long EmulatePrctl(const long* args) {
  switch (args[0]) {
    case PR_SET_SECCOMP:
      return -EINVAL;
    case PR_SET_NO_NEW_PRIVS:  // already set
    case PR_SET_PDEATHSIG:     // ours: the replica dies with the supervisor
    case PR_SET_TSC:
    case PR_SET_DUMPABLE:  // the supervisor reads replicas' memory
      return 0;
    default:
      return GateSyscall(SYS_prctl, args[0], args[1], args[2], args[3], args[4]);
  }
}

// A replica-local call that names a process other than "myself" (0) reached the shim (its
// filter passes only 0): its own virtual pid means itself, anything else is another
// process's, which the vote answers.
long LocalCallOnPid(long nr, const long* args, unsigned long ip, unsigned long program_mask) {
  int pid_arg = LocalPidArg(SyscallInfo(nr));
  if (pid_arg >= 0 && args[pid_arg] == g_channel->setup.virtual_pid) {
    long own[6];
    for (int i = 0; i < 6; ++i) {
      own[i] = i == pid_arg ? 0 : args[i];
    }
    return GateSyscall(nr, own[0], own[1], own[2], own[3], own[4], own[5]);
  }
  return Vote(nr, args, ip, program_mask);
}

long Dispatch(long nr, const long* args, unsigned long ip, unsigned long* program_mask) {
  if (SyscallInfo(nr).cls == SyscallClass::kLocal) {
    return LocalCallOnPid(nr, args, ip, *program_mask);
  }
  switch (nr) {
    case SYS_rt_sigaction:
      return EmulateSigaction(args);
    case SYS_rt_sigprocmask:
      return EmulateSigprocmask(args, program_mask);
    case SYS_rt_sigsuspend:
      return EmulateSigsuspend(args);
    case SYS_pause:
      return SuspendUntilSignal(*program_mask);
    case SYS_rt_sigtimedwait:
      return EmulateSigtimedwait(args, *program_mask);
    case SYS_prctl:
      return EmulatePrctl(args);
    default:
      return Vote(nr, args, ip, *program_mask);
  }
}

// A vote from a signal handler: the kernel's frame must hold the same bytes in every replica
// waiting at the vote (scrubbing and donor checks compare stacks), and its end is published.
void PrepareVoteFrame(ucontext_t* uc) {
  greg_t* regs = uc->uc_mcontext.gregs;
  // The kernel fills these from the thread's last fault (a page fault's address and error
  // code), which differs between a replica whose peers forked (copy-on-write faults) and
  // one that did not; sigreturn ignores them.
  regs[REG_TRAPNO] = 0;
  regs[REG_ERR] = 0;
  regs[REG_CR2] = 0;
  // The xsave area ends the kernel's frame; its size is in the software-reserved bytes
  // (struct _fpx_sw_bytes: magic1, extended_size, ...) at offset 464 of the fxsave part.
  auto* fpstate = reinterpret_cast<const unsigned char*>(uc->uc_mcontext.fpregs);
  uint32_t extended_size = 0;
  if (fpstate != nullptr) {
    extended_size = *reinterpret_cast<const uint32_t*>(fpstate + 464 + 4);
  }
  g_channel->sigframe_end = reinterpret_cast<uint64_t>(fpstate) + extended_size;
}

// rdtsc and rdtscp fault (PR_SET_TSC, PR_TSC_SIGSEGV) and land here: the time stamp counter
// is one reading, agreed (kPseudoSyscallRdtsc), in every replica. Any other SIGSEGV is the
// program's: its own handler runs (the shim keeps its action), or it dies by it.
void HandleSigsegv(int sig, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  greg_t* regs = uc->uc_mcontext.gregs;
  unsigned char code[3] = {};
  if (info->si_code == SI_KERNEL && ReadOwnMemory(regs[REG_RIP], code, 2)) {
    bool rdtsc = code[0] == 0x0f && code[1] == 0x31;
    bool rdtscp = code[0] == 0x0f && code[1] == 0x01 && ReadOwnMemory(regs[REG_RIP] + 2, code + 2, 1) &&
                  code[2] == 0xf9;
    if (rdtsc || rdtscp) {
      PrepareVoteFrame(uc);
      long args[6] = {rdtscp ? 1 : 0, 0, 0, 0, 0, 0};
      Reply reply = Exchange(kPseudoSyscallRdtsc, args, static_cast<unsigned long>(regs[REG_RIP]));
      g_channel->sigframe_end = 0;
      QueueReplySignals(reply);
      uint64_t tsc = static_cast<uint64_t>(reply.value);
      regs[REG_RAX] = static_cast<greg_t>(tsc & 0xffffffffU);
      regs[REG_RDX] = static_cast<greg_t>(tsc >> 32);
      if (rdtscp) {
        regs[REG_RCX] = 0;  // IA32_TSC_AUX: the same "processor" in every replica
      }
      regs[REG_RIP] += rdtscp ? 3 : 2;
      return;
    }
  }
  KernelSigaction action = g_program_sigsegv;
  if (action.handler == SIG_DFL || action.handler == SIG_IGN) {
    // Its default action: the fault repeats when this returns, now with the default in place
    // (a SIGSEGV sent by kill is sent again); the kernel ends the process as natively.
    KernelSigaction default_action = {};
    GateSyscall(SYS_rt_sigaction, SIGSEGV, reinterpret_cast<long>(&default_action), 0, 8);
    if (info->si_code <= 0) {
      QueueSignalOnSelf(SIGSEGV);
    }
    return;
  }
  if ((action.flags & SA_RESETHAND) != 0) {
    g_program_sigsegv.handler = nullptr;  // SIG_DFL
  }
  if ((action.flags & SA_SIGINFO) != 0) {
    reinterpret_cast<void (*)(int, siginfo_t*, void*)>(action.handler)(sig, info, context);
  } else {
    reinterpret_cast<void (*)(int)>(action.handler)(sig);
  }
}

void HandleSigsys(int, siginfo_t* info, void* context) {
  if (info->si_code != 1 /* SYS_SECCOMP */) {
    return;  // a SIGSYS someone sent: the program's view says what to do; ignored for now
  }
  auto* uc = static_cast<ucontext_t*>(context);
  greg_t* regs = uc->uc_mcontext.gregs;
  PrepareVoteFrame(uc);
  long args[6] = {regs[REG_RDI], regs[REG_RSI], regs[REG_RDX],
                  regs[REG_R10], regs[REG_R8],  regs[REG_R9]};
  long nr = info->si_syscall;
  // The kernel's signal frame holds the 64-bit mask in the first word of uc_sigmask.
  auto* program_mask = reinterpret_cast<unsigned long*>(&uc->uc_sigmask);
  long result =
      Dispatch(nr, args, reinterpret_cast<unsigned long>(info->si_call_addr), program_mask);
  g_channel->sigframe_end = 0;  // the next vote may come through a wrapper (no frame)
  if ((nr == SYS_clone || nr == SYS_clone3) && result == 0) {
    // The child of a clone with a stack of its own starts there (only a fork's child gets 0:
    // a refused clone returns an error).
    if (long stack = ReadForkRequest(nr, args).stack; stack != 0) {
      regs[REG_RSP] = stack;
    }
  }
  if (result == kRestartCall) {
    // Back to the `syscall` instruction: the program's handler runs at sigreturn, then the
    // call is made again (and voted again), as the kernel restarts it.
    regs[REG_RIP] -= 2;
    regs[REG_RAX] = nr;
    return;
  }
  regs[REG_RAX] = result;
}

// ---- start-up ---------------------------------------------------------------------------

void MapGate() {
  long page = DirectSyscall(SYS_mmap, static_cast<long>(kGateAddress), 4096, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  SHIM_CHECK(page == static_cast<long>(kGateAddress), page);
  auto* code = reinterpret_cast<unsigned char*>(page);
  code[0] = 0x0f;  // syscall
  code[1] = 0x05;
  code[2] = 0xc3;  // ret
  long rc = DirectSyscall(SYS_mprotect, page, 4096, PROT_READ | PROT_EXEC);
  SHIM_CHECK(rc == 0, rc);
}

// nmr-run put LD_PRELOAD=<shim>[:<the user's>] in the environment; the program must see the
// environment it would have seen natively.
void RestoreEnvironment(char** envp, const char* own_path) {
  for (char** e = envp; *e != nullptr; ++e) {
    if (!StartsWith(*e, "LD_PRELOAD=")) {
      continue;
    }
    char* value = *e + 11;
    size_t own = StrLen(own_path);
    if (StrEq(value, own_path)) {
      for (char** f = e; *f != nullptr; ++f) {
        f[0] = f[1];
      }
    } else if (StartsWith(value, own_path) && value[own] == ':') {
      char* rest = value + own + 1;
      size_t n = StrLen(rest);
      for (size_t i = 0; i <= n; ++i) {
        value[i] = rest[i];
      }
    }
    return;
  }
}

unsigned long FindAuxv(char** envp, unsigned long type) {
  char** e = envp;
  while (*e != nullptr) {
    ++e;
  }
  for (auto* aux = reinterpret_cast<unsigned long*>(e + 1); aux[0] != AT_NULL; aux += 2) {
    if (aux[0] == type) {
      return aux[1];
    }
  }
  return 0;
}

// glibc cached the real tid in the thread control block (set_tid_address ran before us);
// replicas must hold the same bytes, so it becomes the virtual tid.
void VirtualizeCachedTid() {
  int* tid_address = nullptr;
  long rc = GateSyscall(SYS_prctl, PR_GET_TID_ADDRESS, reinterpret_cast<long>(&tid_address));
  if (rc == 0 && tid_address != nullptr) {
    *tid_address = g_channel->setup.virtual_pid;
  }
}

void InstallSigsysHandler() {
  KernelSigaction action = {};
  action.handler = reinterpret_cast<void*>(&HandleSigsys);
  action.flags = SA_SIGINFO | kSaRestorer | SA_ONSTACK;
  action.restorer = reinterpret_cast<void*>(&nmr_sigreturn_trampoline);
  action.mask = ~0UL;  // no program handler may run inside a half-finished vote
  long rc = GateSyscall(SYS_rt_sigaction, SIGSYS, reinterpret_cast<long>(&action), 0, 8);
  SHIM_CHECK(rc == 0, rc);
}

void InstallSigsegvHandler() {
  KernelSigaction action = {};
  action.handler = reinterpret_cast<void*>(&HandleSigsegv);
  action.flags = SA_SIGINFO | kSaRestorer | SA_ONSTACK;
  action.restorer = reinterpret_cast<void*>(&nmr_sigreturn_trampoline);
  action.mask = ~0UL & ~kSigsysBit;  // the program's handler, run from here, may make syscalls
  long rc = GateSyscall(SYS_rt_sigaction, SIGSEGV, reinterpret_cast<long>(&action), 0, 8);
  SHIM_CHECK(rc == 0, rc);
  rc = GateSyscall(SYS_prctl, PR_SET_TSC, PR_TSC_SIGSEGV);
  SHIM_CHECK(rc == 0, rc);
}

void InstallFilter() {
  sock_fprog prog = {static_cast<unsigned short>(g_channel->setup.filter_length),
                     g_channel->setup.filter};
  long rc = GateSyscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, reinterpret_cast<long>(&prog));
  SHIM_CHECK(rc == 0, rc);
}

const char* FindOwnPath(char** envp) {
  for (char** e = envp; *e != nullptr; ++e) {
    if (StartsWith(*e, "LD_PRELOAD=")) {
      return *e + 11;
    }
  }
  return nullptr;
}

}  // namespace

extern "C" __attribute__((constructor)) void nmr_shim_init(int, char**, char** envp) {
  // Not under nmr-run (no channel at the agreed fd): stay out of the way.
  long addr = DirectSyscall(SYS_mmap, 0, static_cast<long>(kChannelSize), PROT_READ | PROT_WRITE,
                            MAP_SHARED, kChannelFd, 0);
  if (addr < 0 && addr > -4096) {
    return;
  }
  g_channel = reinterpret_cast<Channel*>(addr);
  DirectSyscall(SYS_close, kChannelFd);
  SHIM_CHECK(g_channel->setup.magic == kChannelMagic, -EPROTO);
  SHIM_CHECK(g_channel->setup.version == kProtocolVersion, -EPROTO);
  MapGate();
  // Before the environment is edited: the auxiliary vector follows the environment's NULL.
  unsigned long vdso_base = FindAuxv(envp, AT_SYSINFO_EHDR);

  // The path in LD_PRELOAD is ours up to the first ':'; copy it before editing the env.
  char own_path[4096];
  const char* preload = FindOwnPath(envp);
  size_t n = 0;
  while (preload != nullptr && preload[n] != '\0' && preload[n] != ':' && n + 1 < sizeof own_path) {
    own_path[n] = preload[n];
    ++n;
  }
  own_path[n] = '\0';
  if (n > 0) {
    RestoreEnvironment(envp, own_path);
  }
  VirtualizeCachedTid();
  long patched = PatchVdso(vdso_base);
  SHIM_CHECK(patched >= 0, patched);
  InstallSigsysHandler();
  InstallSigsegvHandler();
  InstallFilter();
  PublishShimState();
  g_channel->shim_ready.store(1, std::memory_order_release);
}

}  // namespace nmr::shim
