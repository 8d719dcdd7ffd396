// Marshalling: turns a replica's raw request (number and six registers) into a Call, the
// supervisor's private copy of everything the kernel would read (DESIGN.md "The channel":
// untrusted; copied once, then validated, hashed and executed from that copy), and its digest.
// Generic over interface/syscall_table.h; ioctl, fcntl, semctl and msgctl get their argument
// kinds from their request/command here.
//
// Replica memory is read through ReplicaMemory, so the logic is tested with fake memory.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "interface/channel.h"
#include "interface/syscall_table.h"
#include "supervisor/core/vote_engine.h"

namespace nmr {

// Reads and writes a replica's memory. Returns bytes transferred or -errno.
class ReplicaMemory {
 public:
  virtual ~ReplicaMemory() = default;
  virtual ssize_t Read(uint64_t address, void* out, size_t length) = 0;
  virtual ssize_t Write(uint64_t address, const void* data, size_t length) = 0;
};

// process_vm_readv/process_vm_writev on a live replica.
class ProcessMemory : public ReplicaMemory {
 public:
  explicit ProcessMemory(pid_t pid) : pid_(pid) {}
  ssize_t Read(uint64_t address, void* out, size_t length) override;
  ssize_t Write(uint64_t address, const void* data, size_t length) override;

 private:
  pid_t pid_;
};

// The most bytes moved for one buffer argument. Larger reads and writes are cut to this
// length (a short read or write, which the program must handle anyway).
inline constexpr size_t kMaxTransfer = 16 << 20;
inline constexpr size_t kMaxPath = 4096;

struct Call {
  long nr = -1;
  uint64_t args[6] = {};
  SyscallSpec spec;                                // after ioctl/fcntl refinement
  std::array<std::vector<uint8_t>, 6> in;          // bytes of kPath/kInBuf/kInOutBuf/kIovecIn args
  std::array<uint64_t, 6> capacity = {};           // out-buffer capacity per arg (iovec: total)
  int unreadable_arg = -1;                         // an input buffer could not be read (-> EFAULT)
  bool supported = true;                           // false: an ioctl request or a command we
                                                   // cannot marshal (-> ENOTTY / EINVAL)
  int iov_arg = -1;                                // which argument is an iovec array, if any
  std::vector<std::pair<uint64_t, uint64_t>> iov;  // its (address, length) entries
  VoteValue digest;
};

// pselect6's sixth argument is a struct {const sigset_t* ss; size_t ss_len} (16 bytes); when
// `ss` is set and ss_len is 8, Marshal appends the 8 bytes of the set to that argument's copy
// (24 bytes in all), and the performer points a private struct at the copied set.
inline constexpr size_t kPselectArgPack = 16;

// The effective spec of a call: the table's entry, with ioctl's and fcntl's third argument,
// semctl's fourth and msgctl's third made concrete from the request/command (unknown ones are
// reported via `supported`).
struct EffectiveSpec {
  SyscallSpec spec;
  bool supported = true;
};
EffectiveSpec RefineSpec(long nr, const uint64_t args[6]);

// clone3(args, size) as nmr runs it: the clone flags it stands for (its flags | exit_signal),
// and its struct (zero past the bytes the program gave). `error` is the kernel's answer to a
// call it refuses before cloning (-EINVAL, -E2BIG, -EFAULT); `unsupported` marks what only
// clone3 offers and nmr does not do yet (set_tid, CLONE_CLEAR_SIGHAND, CLONE_INTO_CGROUP:
// -ENOSYS, which glibc answers by falling back to clone). The flags themselves are judged as clone's are.
struct Clone3Request {
  int64_t error = 0;
  bool unsupported = false;
  uint64_t flags = 0;
  CloneArgs args{};
};
Clone3Request DecodeClone3(const Call& call);

// The one fact Marshal takes from the kernel rather than from a replica: how many semaphores
// SysV set `semid` has (semctl IPC_STAT's sem_nsems), or -errno. semctl GETALL and SETALL move
// one unsigned short per semaphore, a count no argument holds (rr asks the kernel the same
// way). A set's count never changes, so every replica's copy has the same length; the
// performer checks it again before executing (the set may be gone by then).
using SemaphoreCounter = long (*)(int semid);

// Builds the private copy of a request and its digest. Never fails: unreadable memory is
// recorded (and becomes part of the digest, so a replica with a wild pointer is outvoted).
// Without `semaphores`, semctl GETALL/SETALL get an empty array (and fail when performed).
Call Marshal(const Request& request, ReplicaMemory& memory, SemaphoreCounter semaphores = nullptr);
// Recomputes `call.digest` from its contents (after fault injection changed them).
void Redigest(Call& call);
// Flips one bit of the call (test-only fault injection): in its first non-empty input
// buffer if it has one, else in its first argument, else (no arguments) in the syscall
// number. Returns what was flipped, for the log.
std::string FlipOneBit(Call& call);

// "write(1, 0x5555..., 0xc)" for logs, with path arguments' strings.
std::string DescribeCall(const Call& call);

// What differs between a minority's call and the majority's, for people: "asked for X; the
// majority for Y", or, when only buffer contents differ, which argument and which byte.
std::string DescribeDifference(const Call& minority, const Call& majority);

// The digest of a death: exit code or signal, as a vote value.
VoteValue DeathDigest(int wait_status);

}  // namespace nmr
