#include "supervisor/core/marshal.h"
#include "supervisor/core/msghdr.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace nmr {

ssize_t ProcessMemory::Read(uint64_t address, void* out, size_t length) {
  iovec local{out, length};
  iovec remote{reinterpret_cast<void*>(address), length};
  ssize_t n = process_vm_readv(pid_, &local, 1, &remote, 1, 0);
  return n < 0 ? -errno : n;
}

ssize_t ProcessMemory::Write(uint64_t address, const void* data, size_t length) {
  iovec local{const_cast<void*>(data), length};
  iovec remote{reinterpret_cast<void*>(address), length};
  ssize_t n = process_vm_writev(pid_, &local, 1, &remote, 1, 0);
  return n < 0 ? -errno : n;
}

namespace {

constexpr ArgSpec kScalarArg{ArgKind::kScalar};
constexpr ArgSpec Struct(ArgKind kind, uint16_t size) { return ArgSpec{kind, -1, size}; }

// ioctl requests we know the third argument of (the kernel's struct termios is 36 bytes).
// Anything else gets ENOTTY: executing an unknown request with a replica's pointer could
// make the kernel write into the supervisor.
bool RefineIoctl(uint64_t request, ArgSpec& arg) {
  switch (request) {
    case TCGETS:
      arg = Struct(ArgKind::kOutBuf, 36);
      return true;
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
      arg = Struct(ArgKind::kInBuf, 36);
      return true;
    case TIOCGWINSZ:
      arg = Struct(ArgKind::kOutBuf, 8);
      return true;
    case TIOCSWINSZ:
      arg = Struct(ArgKind::kInBuf, 8);
      return true;
    case FIONREAD:
    case TIOCOUTQ:
    case TIOCGPGRP:  // the terminal's foreground group (virtual: supervisor/tree.cc)
    case TIOCGSID:
      arg = Struct(ArgKind::kOutBuf, 4);
      return true;
    case TIOCSPGRP:
      arg = Struct(ArgKind::kInBuf, 4);
      return true;
    case FIONBIO:
    case FIOASYNC:
      arg = Struct(ArgKind::kInBuf, 4);
      return true;
    case FIOCLEX:
    case FIONCLEX:
    case 0x40049409:  // FICLONE: the argument is a source fd (cp --reflink)
      arg = kScalarArg;
      return true;
    default:
      return false;
  }
}

bool RefineFcntl(uint64_t command, ArgSpec& arg) {
  switch (command) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
    case F_GETFD:
    case F_SETFD:
    case F_GETFL:
    case F_SETFL:
    case F_GETPIPE_SZ:
    case F_SETPIPE_SZ:
    case F_ADD_SEALS:
    case F_GET_SEALS:
    case F_SETLEASE:
    case F_GETLEASE:
      arg = kScalarArg;
      return true;
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
      arg = Struct(ArgKind::kInOutBuf, 32);  // struct flock
      return true;
    default:
      return false;
  }
}

// SysV IPC (x86-64 kernel ABI; glibc passes the commands without IPC_64, which x86-64's
// semctl and msgctl do not take).
constexpr uint16_t kSemidDs = 104;  // struct semid64_ds
constexpr uint16_t kSeminfo = 40;   // struct seminfo
constexpr uint16_t kMsqidDs = 120;  // struct msqid64_ds
constexpr uint16_t kMsginfo = 32;   // struct msginfo

bool IsSemaphoreArrayCommand(uint64_t command) {
  int cmd = static_cast<int>(command);  // the kernel takes an int
  return cmd == GETALL || cmd == SETALL;
}

// semctl's fourth argument: a value, a struct semid_ds, a struct seminfo, or an array of one
// unsigned short per semaphore (GETALL, SETALL: sized by Marshal, see marshal.h). The kernel
// answers any other command EINVAL, and so do we.
bool RefineSemctl(uint64_t command, ArgSpec& arg) {
  switch (static_cast<int>(command)) {
    case IPC_RMID:
    case GETVAL:
    case GETPID:
    case GETNCNT:
    case GETZCNT:
    case SETVAL:
      arg = kScalarArg;
      return true;
    case IPC_STAT:
    case SEM_STAT:
    case SEM_STAT_ANY:
      arg = Struct(ArgKind::kOutBuf, kSemidDs);
      return true;
    case IPC_SET:
      arg = Struct(ArgKind::kInBuf, kSemidDs);
      return true;
    case IPC_INFO:
    case SEM_INFO:
      arg = Struct(ArgKind::kOutBuf, kSeminfo);
      return true;
    case GETALL:
      arg = Struct(ArgKind::kOutBuf, 0);
      return true;
    case SETALL:
      arg = Struct(ArgKind::kInBuf, 0);
      return true;
    default:
      return false;
  }
}

// msgctl's third argument, by command (IPC_RMID ignores it).
bool RefineMsgctl(uint64_t command, ArgSpec& arg) {
  switch (static_cast<int>(command)) {
    case IPC_RMID:
      arg = kScalarArg;
      return true;
    case IPC_STAT:
    case MSG_STAT:
    case MSG_STAT_ANY:
      arg = Struct(ArgKind::kOutBuf, kMsqidDs);
      return true;
    case IPC_SET:
      arg = Struct(ArgKind::kInBuf, kMsqidDs);
      return true;
    case IPC_INFO:
    case MSG_INFO:
      arg = Struct(ArgKind::kOutBuf, kMsginfo);
      return true;
    default:
      return false;
  }
}

// `header` bytes, then `count` elements; cut to kMaxTransfer in all.
uint64_t Length(const ArgSpec& a, const uint64_t args[6]) {
  if (a.len_arg < 0) {
    return a.size;
  }
  uint64_t count = args[a.len_arg];
  uint64_t element = std::max<uint64_t>(a.size, 1);
  uint64_t room = kMaxTransfer - a.header;
  if (count > room / element) {
    return kMaxTransfer;
  }
  return a.header + count * element;
}

// Reads a NUL-terminated string page by page (process_vm_readv stops at the first unmapped
// page, and a string may end just before one).
bool ReadString(ReplicaMemory& memory, uint64_t address, std::vector<uint8_t>& out) {
  out.clear();
  while (out.size() < kMaxPath) {
    size_t to_page_end = 4096 - (address % 4096);
    size_t chunk = std::min(to_page_end, kMaxPath - out.size());
    uint8_t buffer[4096];
    ssize_t n = memory.Read(address, buffer, chunk);
    if (n <= 0) {
      return false;
    }
    auto* end = static_cast<uint8_t*>(std::memchr(buffer, 0, static_cast<size_t>(n)));
    if (end != nullptr) {
      out.insert(out.end(), buffer, end);
      return true;
    }
    out.insert(out.end(), buffer, buffer + n);
    address += static_cast<uint64_t>(n);
  }
  return false;  // longer than PATH_MAX: the kernel would say ENAMETOOLONG; we say EFAULT
}

bool ReadBytes(ReplicaMemory& memory, uint64_t address, uint64_t length,
               std::vector<uint8_t>& out) {
  out.resize(length);
  if (length == 0) {
    return true;
  }
  return memory.Read(address, out.data(), length) == static_cast<ssize_t>(length);
}

bool ReadIovec(ReplicaMemory& memory, Call& call, int i, bool gather) {
  const ArgSpec& a = call.spec.args[i];
  uint64_t count = call.args[a.len_arg];
  if (count > 1024) {
    return false;  // IOV_MAX
  }
  std::vector<uint8_t> raw;
  if (!ReadBytes(memory, call.args[i], count * sizeof(iovec), raw)) {
    return false;
  }
  call.iov_arg = i;
  call.iov.clear();
  uint64_t total = 0;
  for (uint64_t k = 0; k < count; ++k) {
    iovec v;
    std::memcpy(&v, raw.data() + k * sizeof(iovec), sizeof v);
    uint64_t length = std::min<uint64_t>(v.iov_len, kMaxTransfer - total);
    call.iov.emplace_back(reinterpret_cast<uint64_t>(v.iov_base), length);
    total += length;
  }
  call.capacity[i] = total;
  if (!gather) {
    return true;
  }
  // The digest covers the iovec entries too (their addresses and lengths), via `raw`.
  call.in[i] = raw;
  for (const auto& [address, length] : call.iov) {
    std::vector<uint8_t> bytes;
    if (!ReadBytes(memory, address, length, bytes)) {
      return false;
    }
    call.in[i].insert(call.in[i].end(), bytes.begin(), bytes.end());
  }
  return true;
}

// argv/envp of an execve: a null-terminated array of string pointers, kept as the strings
// joined with NULs (what the vote compares and what the new replicas get).
bool ReadStringArray(ReplicaMemory& memory, uint64_t address, std::vector<uint8_t>& out) {
  constexpr size_t kMaxEntries = 65536;
  constexpr size_t kMaxBytes = 2 << 20;
  out.clear();
  for (size_t k = 0; k < kMaxEntries; ++k) {
    uint64_t pointer;
    if (memory.Read(address + k * 8, &pointer, 8) != 8) {
      return false;
    }
    if (pointer == 0) {
      return true;
    }
    std::vector<uint8_t> text;
    if (!ReadString(memory, pointer, text) || out.size() + text.size() > kMaxBytes) {
      return false;
    }
    out.insert(out.end(), text.begin(), text.end());
    out.push_back(0);
  }
  return false;
}

bool MarshalArg(ReplicaMemory& memory, Call& call, int i) {
  if (call.nr == SYS_execve && (i == 1 || i == 2)) {
    return call.args[i] == 0 || ReadStringArray(memory, call.args[i], call.in[i]);
  }
  const ArgSpec& a = call.spec.args[i];
  uint64_t address = call.args[i];
  bool null_allowed = address == 0 && a.nullable;
  switch (a.kind) {
    case ArgKind::kPath:
      return null_allowed || ReadString(memory, address, call.in[i]);
    case ArgKind::kInBuf:
    case ArgKind::kInOutBuf: {
      uint64_t length = Length(a, call.args);
      call.capacity[i] = length;
      return null_allowed || length == 0 || ReadBytes(memory, address, length, call.in[i]);
    }
    case ArgKind::kOutBuf:
      call.capacity[i] = Length(a, call.args);
      return true;
    case ArgKind::kIovecIn:
      return ReadIovec(memory, call, i, /*gather=*/true);
    case ArgKind::kIovecOut:
      return ReadIovec(memory, call, i, /*gather=*/false);
    default:
      return true;
  }
}

// accept, recvfrom, getsockname, getpeername, getsockopt: the buffer's capacity is in the
// socklen_t the last argument points to. Returns {buffer arg, length-pointer arg} or {-1,-1}.
std::pair<int, int> SocketLengthArgs(long nr) {
  switch (nr) {
    case SYS_accept:
    case SYS_accept4:
    case SYS_getsockname:
    case SYS_getpeername:
      return {1, 2};
    case SYS_recvfrom:
      return {4, 5};
    case SYS_getsockopt:
      return {3, 4};
    default:
      return {-1, -1};
  }
}

// Makes the socklen_t an in/out word and the buffer an out buffer of the size it says.
bool RefineSocketLength(ReplicaMemory& memory, Call& call) {
  auto [buffer, length] = SocketLengthArgs(call.nr);
  if (buffer < 0) {
    return true;
  }
  ArgSpec& length_spec = call.spec.args[length];
  length_spec = Struct(ArgKind::kInOutBuf, 4);
  length_spec.nullable = true;
  if (call.args[length] == 0) {
    call.spec.args[buffer] = ArgSpec{ArgKind::kOpaquePtr};  // no length: no buffer either
    return true;
  }
  uint32_t capacity = 0;
  if (memory.Read(call.args[length], &capacity, 4) != 4) {
    return false;
  }
  call.spec.args[buffer] =
      Struct(ArgKind::kOutBuf, static_cast<uint16_t>(std::min(capacity, 4096u)));
  call.spec.args[buffer].nullable = true;
  return true;
}

// semctl GETALL/SETALL's array: one unsigned short per semaphore of the set (see marshal.h).
// An unknown count leaves it empty: the performer then answers the kernel's error.
bool MarshalSemaphoreArray(ReplicaMemory& memory, Call& call, SemaphoreCounter semaphores) {
  long count = semaphores != nullptr ? semaphores(static_cast<int>(call.args[0])) : -1;
  if (count < 0 || static_cast<uint64_t>(count) > kMaxTransfer / sizeof(uint16_t)) {
    return true;
  }
  uint64_t length = static_cast<uint64_t>(count) * sizeof(uint16_t);
  call.capacity[3] = length;
  return call.spec.args[3].kind != ArgKind::kInBuf ||
         ReadBytes(memory, call.args[3], length, call.in[3]);
}

}  // namespace

EffectiveSpec RefineSpec(long nr, const uint64_t args[6]) {
  EffectiveSpec out{SyscallInfo(nr), true};
  if (nr == kPseudoSyscallMapDone) {
    out.spec.name = "nmr_map_done";
    out.spec.cls = SyscallClass::kSpecial;
    out.spec.arg_count = 1;
    out.spec.args[0] = kScalarArg;
  }
  if (nr == kPseudoSyscallForkDone || nr == kPseudoSyscallSuspend || nr == kPseudoSyscallRdtsc ||
      nr == kPseudoSyscallSigwait) {
    out.spec.name = nr == kPseudoSyscallForkDone  ? "nmr_fork_done"
                    : nr == kPseudoSyscallSuspend ? "nmr_sigsuspend"
                    : nr == kPseudoSyscallRdtsc   ? "nmr_rdtsc"
                                                  : "nmr_sigwait";
    out.spec.cls = SyscallClass::kSpecial;
    out.spec.arg_count = nr == kPseudoSyscallSigwait ? 2 : 1;
    for (int i = 0; i < out.spec.arg_count; ++i) {
      out.spec.args[i] = kScalarArg;
    }
  }
  if (nr == SYS_ioctl) {
    out.supported = RefineIoctl(args[1], out.spec.args[2]);
  } else if (nr == SYS_fcntl) {
    out.supported = RefineFcntl(args[1], out.spec.args[2]);
  } else if (nr == SYS_semctl) {
    out.supported = RefineSemctl(args[2], out.spec.args[3]);
  } else if (nr == SYS_msgctl) {
    out.supported = RefineMsgctl(args[1], out.spec.args[2]);
  } else if (nr == SYS_clone3 && (args[1] < kCloneArgsSizeVer0 || args[1] > kCloneArgsMaxSize)) {
    out.spec.args[0] = ArgSpec{ArgKind::kOpaquePtr};  // refused unread (DecodeClone3)
  }
  return out;
}

// The kernel's copy_clone_args_from_user and clone3_args_valid, then what nmr refuses.
Clone3Request DecodeClone3(const Call& call) {
  Clone3Request out;
  uint64_t size = call.args[1];
  if (size > kCloneArgsMaxSize) {
    out.error = -E2BIG;
    return out;
  }
  if (size < kCloneArgsSizeVer0) {
    out.error = -EINVAL;
    return out;
  }
  const std::vector<uint8_t>& bytes = call.in[0];
  if (call.unreadable_arg == 0 || bytes.size() != size) {
    out.error = -EFAULT;
    return out;
  }
  std::memcpy(&out.args, bytes.data(), std::min(bytes.size(), sizeof out.args));
  // A larger struct than the kernel knows: the rest must be zero.
  if (std::any_of(bytes.begin() + static_cast<long>(std::min(bytes.size(), sizeof out.args)),
                  bytes.end(), [](uint8_t b) { return b != 0; })) {
    out.error = -E2BIG;
    return out;
  }
  const CloneArgs& a = out.args;
  constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;
  constexpr uint64_t kCloneClearSighand = 0x100000000ULL;
  constexpr uint64_t kCloneDetached = 0x00400000ULL;
  constexpr uint64_t kCloneNewtime = 0x00000080ULL;
  bool invalid =
      a.set_tid_size > 32 /* MAX_PID_NS_LEVEL */ || (a.set_tid == 0) != (a.set_tid_size == 0) ||
      (a.exit_signal & ~static_cast<uint64_t>(CSIGNAL)) != 0 || a.exit_signal > 64 ||
      ((a.flags & kCloneIntoCgroup) != 0 && (a.cgroup > INT32_MAX || size < 88)) ||
      (a.flags & ~(0xffffffffULL | kCloneClearSighand | kCloneIntoCgroup)) != 0 ||
      (a.flags & (kCloneDetached | (CSIGNAL & ~kCloneNewtime))) != 0 ||
      (a.flags & (CLONE_SIGHAND | kCloneClearSighand)) == (CLONE_SIGHAND | kCloneClearSighand) ||
      ((a.flags & (CLONE_THREAD | CLONE_PARENT)) != 0 && a.exit_signal != 0) ||
      (a.stack == 0) != (a.stack_size == 0);
  if (invalid) {
    out.error = -EINVAL;
    return out;
  }
  // What only clone3 can ask for: ENOSYS, so that glibc falls back to clone (newer glibc's
  // posix_spawn asks for CLONE_CLEAR_SIGHAND; its fallback resets the handlers itself).
  if (a.set_tid != 0 || (a.flags & (kCloneClearSighand | kCloneIntoCgroup)) != 0) {
    out.error = -ENOSYS;
    out.unsupported = true;
    return out;
  }
  out.flags = a.flags | a.exit_signal;
  return out;
}

// pselect6's signal mask, behind the pointer in its sixth argument's struct (see marshal.h).
bool MarshalPselectSigset(ReplicaMemory& memory, Call& call) {
  std::vector<uint8_t>& pack = call.in[5];
  if (pack.size() != kPselectArgPack) {
    return true;  // no struct (a null sixth argument)
  }
  uint64_t set = 0;
  uint64_t length = 0;
  std::memcpy(&set, pack.data(), sizeof set);
  std::memcpy(&length, pack.data() + 8, sizeof length);
  if (set == 0 || length != sizeof(uint64_t)) {
    return true;  // no mask, or one the kernel refuses (EINVAL) before reading it
  }
  uint8_t bytes[sizeof(uint64_t)];
  if (memory.Read(set, bytes, sizeof bytes) != static_cast<ssize_t>(sizeof bytes)) {
    return false;
  }
  pack.insert(pack.end(), bytes, bytes + sizeof bytes);
  return true;
}

Call Marshal(const Request& request, ReplicaMemory& memory, SemaphoreCounter semaphores) {
  Call call;
  call.nr = request.nr;
  std::copy(std::begin(request.args), std::end(request.args), call.args);
  EffectiveSpec refined = RefineSpec(call.nr, call.args);
  call.spec = refined.spec;
  call.supported = refined.supported;
  if (!RefineSocketLength(memory, call)) {
    call.unreadable_arg = SocketLengthArgs(call.nr).second;
    Redigest(call);
    return call;
  }
  for (int i = 0; i < 6 && call.supported; ++i) {
    if (!MarshalArg(memory, call, i)) {
      call.unreadable_arg = i;
      break;
    }
  }
  if (call.nr == SYS_pselect6 && call.unreadable_arg < 0 && !MarshalPselectSigset(memory, call)) {
    call.unreadable_arg = 5;
  }
  if (IsMsgCall(call.nr) && call.unreadable_arg < 0 && !MarshalMsghdr(memory, call)) {
    call.unreadable_arg = 1;
  }
  if (call.nr == SYS_semctl && call.supported && IsSemaphoreArrayCommand(call.args[2]) &&
      call.unreadable_arg < 0 && !MarshalSemaphoreArray(memory, call, semaphores)) {
    call.unreadable_arg = 3;
  }
  Redigest(call);
  return call;
}

void Redigest(Call& call) {
  XXH3_state_t state;
  XXH3_128bits_reset(&state);
  XXH3_128bits_update(&state, &call.nr, sizeof call.nr);
  // Only the arguments the syscall has: the other registers hold whatever the caller left.
  XXH3_128bits_update(&state, call.args,
                      sizeof(uint64_t) * std::min<size_t>(call.spec.arg_count, 6));
  for (const std::vector<uint8_t>& bytes : call.in) {
    uint64_t size = bytes.size();
    XXH3_128bits_update(&state, &size, sizeof size);
    XXH3_128bits_update(&state, bytes.data(), bytes.size());
  }
  XXH3_128bits_update(&state, &call.unreadable_arg, sizeof call.unreadable_arg);
  // The iovec entries: for readv they are in no input buffer, yet say where and how much the
  // result is written (the leader's entries are used for every member).
  XXH3_128bits_update(&state, &call.iov_arg, sizeof call.iov_arg);
  for (const auto& [address, length] : call.iov) {
    uint64_t entry[2] = {address, length};
    XXH3_128bits_update(&state, entry, sizeof entry);
  }
  XXH128_hash_t h = XXH3_128bits_digest(&state);
  call.digest = VoteValue{h.low64, h.high64};
}

std::string FlipOneBit(Call& call) {
  for (int i = 0; i < 6; ++i) {
    if (!call.in[i].empty()) {
      call.in[i][0] ^= 1;
      Redigest(call);
      return "bit 0 of byte 0 of argument " + std::to_string(i) + "'s input buffer";
    }
  }
  if (call.spec.arg_count == 0) {
    call.nr ^= 1;  // nothing else is compared: the replica asks for the neighbouring syscall
    Redigest(call);
    return "bit 0 of the syscall number";
  }
  call.args[0] ^= 1;
  Redigest(call);
  return "bit 0 of argument 0";
}

std::string DescribeCall(const Call& call) {
  std::string out = call.spec.name != nullptr ? call.spec.name : SyscallName(call.nr);
  out += "(";
  for (int i = 0; i < std::min<int>(call.spec.arg_count, 6); ++i) {
    char buffer[32];
    const ArgKind kind = call.spec.args[i].kind;
    bool decimal = kind == ArgKind::kFd || kind == ArgKind::kPid || kind == ArgKind::kSignal;
    std::snprintf(buffer, sizeof buffer, decimal ? "%s%lld" : "%s%#llx", i == 0 ? "" : ", ",
                  static_cast<long long>(call.args[i]));
    out += buffer;
    if (kind == ArgKind::kPath && !call.in[i].empty() && call.unreadable_arg != i) {
      // The replica's bytes: all but printable ASCII escaped, so that the text is one line
      // and valid UTF-8 (the JSON report's dump throws on anything else).
      out += " \"";
      for (uint8_t c : call.in[i]) {
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
          out += static_cast<char>(c);
        } else {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
          out += escaped;
        }
      }
      out += "\"";
    }
  }
  return out + ")";
}

std::string DescribeDifference(const Call& minority, const Call& majority) {
  std::string asked = DescribeCall(minority);
  std::string agreed = DescribeCall(majority);
  if (asked != agreed || minority.nr != majority.nr) {
    return "asked for " + asked + "; the majority for " + agreed;
  }
  for (int i = 0; i < 6; ++i) {
    const std::vector<uint8_t>& a = minority.in[i];
    const std::vector<uint8_t>& b = majority.in[i];
    if (a == b) {
      continue;
    }
    size_t at = 0;
    while (at < a.size() && at < b.size() && a[at] == b[at]) {
      ++at;
    }
    return asked + " with different bytes in argument " + std::to_string(i) + " (" +
           std::to_string(a.size()) + " vs " + std::to_string(b.size()) +
           " bytes, first difference at byte " + std::to_string(at) + ")";
  }
  if (minority.iov != majority.iov) {
    return asked + " with different iovec entries in argument " +
           std::to_string(std::max(minority.iov_arg, majority.iov_arg)) + " (" +
           std::to_string(minority.iov.size()) + " vs " + std::to_string(majority.iov.size()) +
           " entries)";
  }
  if (minority.unreadable_arg != majority.unreadable_arg) {
    return minority.unreadable_arg >= 0
               ? asked + " with argument " + std::to_string(minority.unreadable_arg) + " unreadable"
               : asked + " with argument " + std::to_string(majority.unreadable_arg) +
                     " readable, unreadable in the majority's";
  }
  return asked + ": differs from the majority's in a register the table does not describe";
}

VoteValue DeathDigest(int wait_status) {
  // Core-dump bits and the like do not make two deaths by the same signal different.
  int key[2] = {WIFSIGNALED(wait_status) ? 1 : 0,
                WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : WEXITSTATUS(wait_status)};
  XXH128_hash_t h = XXH3_128bits_withSeed(key, sizeof key, 0xdead);
  return VoteValue{h.low64, h.high64};
}

}  // namespace nmr
