// The channel: one shared-memory segment per replica, between its shim and the supervisor.
//
// Layout rules (DESIGN.md "The channel"): plain old data, offsets never pointers, a protocol
// version, every offset pinned with static_assert, every atomic lock-free; no mutexes.
// The supervisor treats everything a replica wrote here as untrusted: it copies a request
// once into private memory, then validates and uses that copy.
//
// Protocol (synchronous, one outstanding request per replica):
//   replica:    fill `request`, request_seq.store(s); FUTEX_WAKE(request_seq) only if
//               supervisor_sleeping; poll reply_seq for setup.spin_iterations, then
//               replica_sleeping = 1, re-check, FUTEX_WAIT(reply_seq); act on `reply`.
//   supervisor: poll (if spinning), then supervisor_sleeping = 1 in every channel, re-check,
//               futex_waitv over every replica's request_seq; copy the request; vote;
//               fill `reply`, reply_seq.store(s); FUTEX_WAKE(reply_seq) only if
//               replica_sleeping.
// The sleeping flags and the sequence words are seq_cst on both sides (Dekker): a side that
// is about to sleep either sees the other's new sequence number, or is seen sleeping and
// woken. A wake is a syscall; skipping it when nobody sleeps is most of the point.
// Records are stamped with the sequence number. A ring of records (for asynchronous writes)
// can replace the single slot later without changing the handshake words.
#pragma once

#include <linux/filter.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace nmr {

inline constexpr uint32_t kChannelMagic = 0x316d6e72;  // "rnm1"
inline constexpr uint32_t kProtocolVersion = 6;
// The fd number at which a replica inherits its channel (a sealed memfd) across execve. The
// shim maps it and closes it in its constructor, before the program runs.
inline constexpr int kChannelFd = 100;
// The shim's gate: a page at a fixed address with `syscall; ret`. Syscalls whose instruction
// pointer is kGateAddress + 2 (the address after `syscall`) pass every filter.
inline constexpr uint64_t kGateAddress = 0x70000000;
inline constexpr uint64_t kGateSyscallReturnIp = kGateAddress + 2;
inline constexpr uint32_t kMaxFilterInstructions = 512;

// Pseudo-syscalls: votes the shim casts for its own protocol, numbered above every real one.
// kMapDone follows a kMapFile reply once the replica has mapped the file (args[0]: the address
// or -errno). Because the next step is decided only after every member voted on this one, the
// program's fd stays open until every replica has mapped it, and replicas whose mappings
// landed at different addresses are outvoted.
inline constexpr int kPseudoSyscallMapDone = 1000;
// kForkDone follows a kFork reply in the parent once it has forked (args[0]: 0, or -errno if
// clone failed). Its reply is fork's result (the child's virtual pid), sent once every child
// replica has reported in (and, for vfork and posix_spawn, once the child has exec'd or ended).
inline constexpr int kPseudoSyscallForkDone = 1001;
// sigsuspend and pause (args[0]: the signal mask while waiting): answered once a signal that
// mask lets through is pending for the group, with the pending signals in the reply.
inline constexpr int kPseudoSyscallSuspend = 1002;
// rdtsc (args[0] 0) or rdtscp (1) trapped (PR_SET_TSC): the reply's value is the counter.
inline constexpr int kPseudoSyscallRdtsc = 1003;
// sigtimedwait/sigwaitinfo/sigwait (args[0]: the set, args[1]: the timeout in ns, -1: none):
// answered once a signal of the set is pending for the group (it comes with the reply), or
// with -EAGAIN when the timeout has passed.
inline constexpr int kPseudoSyscallSigwait = 1004;
// Not a syscall: what Vote() returns when the interrupted call must be restarted (the
// kernel's own ERESTARTSYS, never seen by a program).
inline constexpr long kRestartCall = -512;

// clone3's struct clone_args (linux/sched.h), as far as CLONE_ARGS_SIZE_VER2 (88 bytes).
// The supervisor reads it from the replica (Marshal: argument 0, of the size in argument 1)
// and votes clone3 as a clone of flags | exit_signal; the shim reads the child_tid,
// parent_tid and stack fields from its own memory once the fork was agreed.
struct CloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
  uint64_t cgroup;
};
static_assert(sizeof(CloneArgs) == 88);
inline constexpr uint64_t kCloneArgsSizeVer0 = 64;  // CLONE_ARGS_SIZE_VER0: the least clone3 takes
inline constexpr uint64_t kCloneArgsMaxSize = 4096;  // PAGE_SIZE: larger is E2BIG

// What the shim does with a reply.
enum class ReplyAction : uint32_t {
  kReturn = 0,          // put `value` in rax and return to the program
  kExecuteLocally = 1,  // run the original syscall itself, through the gate (exit_group)
  kMapFile = 2,         // open /proc/<supervisor>/task/<executor>/fd/<fd> read-only, mmap it
  // The program's fork, vfork or clone was agreed: fork inside the shim (CLONE_PARENT, so
  // nmr-run is the child's parent). The child opens /proc/<supervisor_pid>/fd/<fork_channel_fd>
  // (each replica's reply names its own child's channel), maps it over the inherited one,
  // writes its pid into `clone_pid`, and returns 0; the parent votes kPseudoSyscallForkDone.
  kFork = 3,
};

// Reply::flags.
inline constexpr uint32_t kReplyInterrupted = 1;  // a signal interrupted the call (-EINTR)
inline constexpr uint32_t kReplyRestartable = 2;  // ... and SA_RESTART may restart it
// Recovery by cloning (DESIGN.md "recovery by cloning"): every member gets this flag with
// the same reply bytes, and the donor's slot in bits kReplyForkDonorShift and up; the donor
// forks inside its shim (CLONE_PARENT: nmr-run is the child's parent). The child opens
// /proc/<supervisor_pid>/fd/<fork_channel_fd>, maps that channel over its donor's (same
// address: the clone's memory stays byte-identical to the donor's), writes its pid into
// `clone_pid` and continues with the same result as its donor. Every member then zeroes
// kForkStackWipe bytes below its stack pointer, so that what the fork left there does not
// make the members' stacks differ at later votes (scrubbing and donor checks compare them).
inline constexpr uint32_t kReplyFork = 4;
inline constexpr uint32_t kReplyForkDonorShift = 8;
inline constexpr uint64_t kForkStackWipe = 16384;

// How a signal in a reply's `signals` is queued (its siginfo): who sent it and why, in
// virtual ids, as the program would see it natively. Zero: SI_USER from pid 0. The fields sit
// where the kernel's siginfo_t has them (offsets 8, 16, 20 and 24).
struct SignalInfo {
  int32_t code;   // si_code: SI_USER, SI_TKILL, SI_QUEUE, SI_TIMER, SI_KERNEL, CLD_EXITED, ...
  int32_t pid;    // si_pid (virtual); si_timerid for SI_TIMER
  int32_t uid;    // si_uid; si_overrun for SI_TIMER
  int32_t unused;
  int64_t value;  // si_status (SIGCHLD), or si_value (SI_QUEUE, SI_TIMER)
};

// The signals whose default action stops a process (bit sig - 1; SIGSTOP 19, SIGTSTP 20,
// SIGTTIN 21, SIGTTOU 22 on x86-64): job control, in the shim and in the supervisor.
inline constexpr uint64_t kStopSignalBits = (1ULL << 18) | (1ULL << 19) | (1ULL << 20) | (1ULL << 21);

struct Request {
  uint32_t seq;
  int32_t nr;
  uint64_t args[6];
  uint64_t ip;  // where the syscall came from (for logs)
};

struct Reply {
  uint32_t seq;
  ReplyAction action;
  int64_t value;     // result for kReturn: >= 0, or -errno
  uint64_t signals;  // bit (sig - 1): queue sig on itself before returning (a signal the
                     // program sent itself, SIGPIPE after EPIPE, a signal sent to nmr-run)
  uint32_t flags;  // kReplyInterrupted | kReplyRestartable | kReplyFork | donor << shift
  int32_t fork_channel_fd;  // kReplyFork: the clone's channel's fd number in nmr-run
};

// Set by the supervisor before the replica starts; read-only for the shim.
struct ChannelSetup {
  uint32_t magic;
  uint32_t version;
  uint32_t replica;        // slot number
  int32_t virtual_pid;     // what getpid() says in every replica
  int32_t supervisor_pid;  // for the file-mapping path in /proc
  int32_t executor_tid;    // the thread that owns the program's fd table
  uint32_t filter_length;  // instructions in `filter`
  uint32_t fast_path;      // 1: the shim's libc wrappers vote without a signal (--no-fast-path: 0)
  uint32_t spin_iterations;  // how long a side polls before it sleeps (0: never polls)
  uint32_t reserved;
  sock_filter filter[kMaxFilterInstructions];  // the shim's own seccomp filter, prebuilt
};

// The replica's report of an impossible state, written before it dies.
struct ShimFatal {
  int32_t line;  // source line in shim/, 0 if none
  int32_t code;  // -errno or a ShimFatalCode
};

struct alignas(64) Channel {
  ChannelSetup setup;
  alignas(64) std::atomic<uint32_t> request_seq;
  std::atomic<uint32_t> supervisor_sleeping;
  alignas(64) std::atomic<uint32_t> reply_seq;
  std::atomic<uint32_t> replica_sleeping;
  alignas(64) Request request;
  Reply reply;
  ShimFatal fatal;
  std::atomic<uint32_t> shim_ready;  // 1 once the shim's filter is installed
  // Start-up handshake between the spawner's child and the supervisor (before execve): the
  // child publishes its seccomp listener's fd number, waits for `spawn_go`, then execs.
  std::atomic<int32_t> spawn_listener_fd;
  std::atomic<uint32_t> spawn_go;
  int32_t spawn_errno;  // why execve failed, if it did
  // A clone writes its real pid here once it has mapped this channel (then FUTEX_WAKE).
  std::atomic<int32_t> clone_pid;
  // Where the kernel's signal frame of the vote in progress ends (its xsave area's end), 0
  // for a vote through the libc wrappers (no frame). The frame holds what the kernel writes
  // per thread (the last fault's address, xsave bookkeeping), which differs between
  // replicas whose peers forked and the others; memory digests start the stack above it.
  // Untrusted: the supervisor uses it only within kMaxSigframe bytes of the stack pointer.
  uint64_t sigframe_end;
  // Per signal (sig - 1): the siginfo of a signal the reply carries; written before reply_seq.
  SignalInfo signal_info[64];
  // [begin, end) of the shim's own mutable state in the replica (untrusted: only ever used to
  // leave bytes alone).
  uint64_t shim_state[2];
  // The signals blocked while the current request's call waits (the program's mask, or the
  // call's own: ppoll, pselect6, epoll_pwait), written before request_seq. Untrusted: it only
  // decides whether a signal cuts the executed call short, as it would natively.
  uint64_t call_mask;
};
inline constexpr uint64_t kMaxSigframe = 32768;

static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(sizeof(sock_filter) == 8);
static_assert(offsetof(Channel, setup) == 0);
static_assert(offsetof(ChannelSetup, filter) == 40);

static_assert(offsetof(Channel, request_seq) == 4160);
static_assert(offsetof(Channel, supervisor_sleeping) == 4164);
static_assert(offsetof(Channel, reply_seq) == 4224);
static_assert(offsetof(Channel, replica_sleeping) == 4228);
static_assert(offsetof(Channel, request) == 4288);
static_assert(sizeof(Request) == 64);
static_assert(offsetof(Channel, reply) == 4352);

static_assert(sizeof(Reply) == 32);
static_assert(offsetof(Channel, fatal) == 4384);
static_assert(offsetof(Channel, shim_ready) == 4392);
static_assert(offsetof(Channel, spawn_listener_fd) == 4396);
static_assert(offsetof(Channel, spawn_go) == 4400);
static_assert(offsetof(Channel, clone_pid) == 4408);
static_assert(offsetof(Channel, sigframe_end) == 4416);
static_assert(offsetof(Reply, fork_channel_fd) == 28);
static_assert(offsetof(Channel, signal_info) == 4424);
static_assert(offsetof(Channel, shim_state) == 5960);
static_assert(offsetof(Channel, call_mask) == 5976);
static_assert(sizeof(SignalInfo) == 24);

static_assert(std::atomic<int32_t>::is_always_lock_free);

inline constexpr size_t kChannelSize = (sizeof(Channel) + 4095) & ~size_t{4095};

}  // namespace nmr
