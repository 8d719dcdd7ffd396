// The one table over every x86-64 syscall: its class (who does it, voted or not) and the
// kind of each argument. Marshalling, comparison and fan-out in the supervisor are generic
// over this table; irregular syscalls (ioctl, fcntl, mmap, clone, kill family, prctl) have
// their own case in supervisor/marshal.cc, and their entries here say kSpecial.
//
// Pure data, constexpr, no runtime: safe to include anywhere, including the shim.
#pragma once

#include <array>
#include <cstdint>

namespace nmr {

inline constexpr int kMaxSyscall = 463;  // one past the highest x86-64 number we know (mseal 462)

enum class SyscallClass : uint8_t {
  kUnknown,        // not in the table: the replica gets -ENOSYS (glibc fallbacks expect it)
  kLocal,          // each replica does it itself, unvoted (the shim's filter lets it pass)
  kShimEmulated,   // the shim keeps the program's view, no vote (signal masks and actions)
  kExecuteOnce,    // voted; the executor runs it once; results fanned out to every replica
  kVirtual,        // voted; answered from supervisor state, identical for all (pids, time)
  kVoteThenLocal,  // voted; then each replica does it on itself (exit_group, raise)
  kDenied,         // voted, never executed; the replica gets -deny_errno
  kSpecial,        // voted; irregular: handled by its own case next to the table
};

// How an interrupted call continues (used when signals are delivered at vote boundaries).
enum class RestartClass : uint8_t { kRestartable, kNever, kNanosleepLike };

enum class ArgKind : uint8_t {
  kNone,       // the syscall has no such argument
  kScalar,     // compared by value; passed through unchanged (flags, modes, counts, offsets)
  kFd,         // a program fd: the executor's fd of the same number (no translation)
  kPid,        // a process id: virtual in the replica, translated by the supervisor
  kSignal,     // a signal number
  kPath,       // NUL-terminated string the kernel reads (at most PATH_MAX bytes)
  kInBuf,      // bytes the kernel reads: length from len_arg (times size, plus header) or size
  kOutBuf,     // bytes the kernel writes: capacity as kInBuf's; see out_len
  kInOutBuf,   // read, then written back (poll's pollfd array, struct flock)
  kIovecIn,    // struct iovec[len_arg]; the kernel reads the buffers (writev)
  kIovecOut,   // struct iovec[len_arg]; the kernel writes the buffers (readv)
  kOpaquePtr,  // an address the kernel does not dereference for us (compared, passed as is)
};

// How many bytes of an out buffer are valid after the call.
enum class OutLen : uint8_t {
  kCapacity,     // the whole capacity (fixed-size structs), when the call succeeded
  kReturnValue,  // the return value counts valid elements of `size` bytes (bytes for read,
                 // getdents64, readlink; gid_t for getgroups), after the header; never more
                 // than the capacity, since a zero-capacity query (getxattr(.., NULL, 0))
                 // returns the full size
};

struct ArgSpec {
  ArgKind kind = ArgKind::kNone;
  int8_t len_arg = -1;    // index of the argument that holds the length or count, or -1
  uint16_t size = 0;      // fixed size in bytes, or element size when len_arg >= 0
  bool nullable = false;  // a null pointer is allowed and passed as null
  OutLen out_len = OutLen::kCapacity;
  // With len_arg: bytes before the counted elements, which the count leaves out (msgsnd and
  // msgrcv's struct msgbuf: a long mtype, then msgsz bytes of text).
  uint8_t header = 0;
};

struct SyscallSpec {
  const char* name = nullptr;  // nullptr: no syscall with this number
  SyscallClass cls = SyscallClass::kUnknown;
  RestartClass restart = RestartClass::kRestartable;
  uint8_t arg_count = 0;
  uint8_t deny_errno = 0;  // for kDenied (and for kUnknown: ENOSYS)
  std::array<ArgSpec, 6> args{};
};

// The table, indexed by syscall number. Defined in syscall_table.cc.
const SyscallSpec& SyscallInfo(long nr);
// Name for logs and reports; "unknown" for numbers without one (no formatting: no allocation).
const char* SyscallName(long nr);
// Number for a name, or -1 (used by the policy's syscalls.deny list).
long SyscallNumber(const char* name);
// The argument of a local call that names a process (kPid), or -1.
int LocalPidArg(const SyscallSpec& spec);

}  // namespace nmr
