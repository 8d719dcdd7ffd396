#include "supervisor/os/perform.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "supervisor/core/msghdr.h"
#include "supervisor/core/paths.h"

namespace nmr {
namespace {

bool IsWriteLike(long nr) {
  switch (nr) {
    case SYS_write:
    case SYS_writev:
    case SYS_pwrite64:
    case SYS_pwritev:
    case SYS_pwritev2:
    case SYS_sendfile:
    case SYS_splice:
    case SYS_copy_file_range:
      return true;
    default:
      return false;
  }
}

}  // namespace

long SemaphoreCount(int semid) {
  semid_ds set{};
  if (semctl(semid, 0, IPC_STAT, &set) != 0) {
    return -errno;
  }
  return static_cast<long>(set.sem_nsems);
}

// Records a call nmr refused or could not do as asked, and logs it the first time: at warn
// when it changes what the program does (threads, child processes), at info when programs
// commonly probe and cope (an unknown ioctl, a syscall nmr does not know).
void Performer::Refuse(long nr, const std::string& what, bool probe) {
  std::string key = std::string(SyscallName(nr)) + ": " + what;
  if (refused_[key]++ == 0) {
    if (probe) {
      spdlog::info("{}", key);
    } else {
      spdlog::warn("{}", key);
    }
  }
}

bool Performer::Answer(int64_t value) {
  outcome_.value = value;
  return true;
}

bool Performer::IsSelf(int64_t pid) const { return pid == 0 || pid == virtual_pid_; }

bool Performer::Start(const Call& call, pid_t replica_pid) {
  outcome_ = Outcome{};
  call_ = &call;
  if (call.unreadable_arg >= 0) {
    return Answer(-EFAULT);
  }
  if (!call.supported) {
    Refuse(call.nr,
           call.nr == SYS_ioctl ? "request not supported yet (ENOTTY)"
                                : "command not supported yet (EINVAL)",
           /*probe=*/true);
    return Answer(call.nr == SYS_ioctl ? -ENOTTY : -EINVAL);
  }
  if (call.nr == SYS_execve) {
    return AnswerSpecial(call);
  }
  switch (call.spec.cls) {
    case SyscallClass::kLocal:
      if (LocalPidArg(call.spec) >= 0) {
        // The shim passes "myself" on; another process of the tree is a replica group of N
        // processes, whose scheduling nmr does not set for it.
        Refuse(call.nr, "on another process: not supported (EPERM)", false);
        return Answer(-EPERM);
      }
      [[fallthrough]];  // never reaches us unless a filter is wrong
    case SyscallClass::kUnknown:
    case SyscallClass::kShimEmulated:
      Refuse(call.nr, "not supported yet (ENOSYS)", /*probe=*/true);
      return Answer(-ENOSYS);
    case SyscallClass::kDenied:
      Refuse(call.nr,
             "denied under nmr (" + std::string(strerrorname_np(call.spec.deny_errno)) + ")",
             /*probe=*/true);
      return Answer(-static_cast<int64_t>(call.spec.deny_errno));
    case SyscallClass::kVoteThenLocal:
      outcome_.action = ReplyAction::kExecuteLocally;
      return true;
    case SyscallClass::kVirtual:
      if (AnswerVirtual(call)) {
        return true;
      }
      break;
    case SyscallClass::kSpecial:
      if (AnswerSpecial(call)) {
        return true;
      }
      break;
    case SyscallClass::kExecuteOnce:
      break;
  }
  return Execute(call, replica_pid);
}

bool Performer::AnswerVirtual(const Call& call) {
  const uint64_t* a = call.args;
  switch (call.nr) {
    case SYS_getpid:
    case SYS_gettid:
      return Answer(virtual_pid_);
    case SYS_getcpu: {
      std::vector<uint8_t> zero(4, 0);
      for (int i = 0; i < 2; ++i) {
        if (a[i] != 0) {
          outcome_.writes.emplace_back(a[i], zero);
        }
      }
      return Answer(0);
    }
    case SYS_sched_getaffinity:
      if (!IsSelf(static_cast<int64_t>(a[0]))) {
        return Answer(-ESRCH);
      }
      return false;  // nmr-run's own mask, executed with pid 0 below
    default:
      return false;  // time, randomness, uname, sysinfo: read once, on the executor
  }
}

bool Performer::AnswerSpecial(const Call& call) {
  const uint64_t* a = call.args;
  switch (call.nr) {
    case SYS_mmap:
      // Only file mappings get here (the shim's filter passes anonymous ones). A writable
      // shared mapping would write outside any vote.
      if ((a[3] & MAP_SHARED) != 0 && (a[2] & PROT_WRITE) != 0) {
        Refuse(call.nr, "writable shared file mappings are not supported (ENODEV)", false);
        return Answer(-ENODEV);
      }
      outcome_.action = ReplyAction::kMapFile;
      return true;
    case SYS_sendmsg:
    case SYS_recvmsg:  // core/msghdr.h; executed on the executor (PrepareMsgs)
    case SYS_sendmmsg:
    case SYS_recvmmsg:
    case SYS_ioctl:
    case SYS_fcntl:
    case SYS_accept:
    case SYS_accept4:
    case SYS_recvfrom:
    case SYS_getsockname:
    case SYS_getpeername:
    case SYS_getsockopt:
    case SYS_msgctl:
      return false;  // refined by Marshal; executed generically
    case SYS_semctl:
      // GETALL and SETALL: Marshal sized the array by the set's semaphore count, which never
      // changes; a set we cannot examine now (gone, or not readable to nmr-run) gets that
      // error, and an array Marshal could not size is never handed to the kernel.
      if (static_cast<int>(a[2]) == GETALL || static_cast<int>(a[2]) == SETALL) {
        long count = SemaphoreCount(static_cast<int>(a[0]));
        if (count < 0) {
          return Answer(count);
        }
        if (static_cast<uint64_t>(count) * sizeof(uint16_t) != call.capacity[3]) {
          return Answer(-EINVAL);
        }
      }
      return false;
    case SYS_clone:
      if ((a[0] & CLONE_THREAD) != 0) {
        Refuse(call.nr, "threads are not supported yet (EAGAIN)", false);
        return Answer(-EAGAIN);
      }
      Refuse(call.nr, "child processes are not supported yet (ENOSYS)", false);
      return Answer(-ENOSYS);
    case SYS_clone3:
      // The tree answers every clone3 but a thread's (supervisor/tree.cc).
      if ((DecodeClone3(call).flags & CLONE_THREAD) != 0) {
        Refuse(call.nr, "threads are not supported yet (EAGAIN)", false);
        return Answer(-EAGAIN);
      }
      return Answer(-ENOSYS);
    case SYS_execve: {
      // The kernel's own checks on the executor (its cwd resolves relative paths); if they
      // pass, the supervisor replaces the replicas (Complete() sets replace_program).
      uint64_t args[6] = {static_cast<uint64_t>(AT_FDCWD), 0, X_OK, 0, 0, 0};
      paths_[0] = std::string(call.in[0].begin(), call.in[0].end());
      args[1] = reinterpret_cast<uint64_t>(paths_[0].c_str());
      if (!inline_ok_) {
        executor_.Submit(SYS_faccessat, args);
        return false;
      }
      long r = syscall(SYS_faccessat, args[0], args[1], args[2], 0);
      Finish(r == -1 ? -errno : r);
      return true;
    }
    case SYS_execveat:
      Refuse(call.nr, "not supported yet (ENOSYS)", false);
      return Answer(-ENOSYS);
    case kPseudoSyscallMapDone:
      return Answer(0);
    case kPseudoSyscallRdtsc:
      return Answer(static_cast<int64_t>(__rdtsc()));  // one reading for every replica
    default:
      Refuse(call.nr, "not supported yet (ENOSYS)", false);
      return Answer(-ENOSYS);
  }
  return false;
}

namespace {

// The device of anon_inodefs, which holds eventfds and timerfds (to fstat they look like
// regular files), learnt from an eventfd of our own when nmr-run starts: on its main thread,
// before the program has an fd table whose numbers a probe could disturb.
const dev_t kAnonInodeDevice = [] {
  struct stat st = {};
  int probe = eventfd(0, EFD_CLOEXEC);
  if (probe >= 0) {
    fstat(probe, &st);
    close(probe);
  }
  return st.st_dev;
}();

// Whether `fd` is something reads and writes never wait on: a regular file, a directory, a
// block device, or one of the memory devices (/dev/null, zero, full, random, urandom).
bool NeverWaits(uint64_t fd) {
  struct stat st;
  if (fstat(static_cast<int>(fd), &st) != 0) {
    return true;  // the call fails at once (EBADF)
  }
  if (S_ISREG(st.st_mode) && st.st_dev == kAnonInodeDevice) {
    return false;  // an eventfd or a timerfd: its reads wait (inline, they would stall the loop)
  }
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode)) {
    return true;
  }
  unsigned minor_number = minor(st.st_rdev);
  return S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor_number != 11;  // 1:11 is kmsg
}

// Calls that can wait for someone else (a terminal, a pipe's other end, a lock holder, a
// timeout) go to the executor thread; everything else runs inline on the program thread.
bool MayBlock(const Call& call) {
  const uint64_t* a = call.args;
  switch (call.nr) {
    case SYS_read:
    case SYS_readv:
    case SYS_pread64:
    case SYS_preadv:
    case SYS_preadv2:
    case SYS_write:
    case SYS_writev:
    case SYS_pwrite64:
    case SYS_pwritev:
    case SYS_pwritev2:
    case SYS_getdents64:
      return !NeverWaits(a[0]);
    case SYS_open:
    case SYS_openat: {
      // Opening a FIFO waits for its other end.
      const std::vector<uint8_t>& path = call.in[call.nr == SYS_open ? 0 : 1];
      std::string text(path.begin(), path.end());
      struct stat st;
      int dirfd = call.nr == SYS_open ? AT_FDCWD : static_cast<int>(a[0]);
      return fstatat(dirfd, text.c_str(), &st, 0) == 0 && S_ISFIFO(st.st_mode);
    }
    case SYS_fcntl:
      return a[1] == F_SETLKW || a[1] == F_OFD_SETLKW;
    case SYS_sendmsg:  // a socket waits for its peer (room to send, a message to receive)
    case SYS_recvmsg:
    case SYS_sendmmsg:
    case SYS_recvmmsg:
      return true;
    case SYS_flock:
      return (a[1] & LOCK_NB) == 0;
    case SYS_lseek:
    case SYS_close:
    case SYS_fstat:
    case SYS_newfstatat:
    case SYS_statx:
    case SYS_stat:
    case SYS_lstat:
    case SYS_access:
    case SYS_faccessat:
    case SYS_faccessat2:
    case SYS_readlink:
    case SYS_readlinkat:
    case SYS_getcwd:
    case SYS_chdir:
    case SYS_fchdir:
    case SYS_umask:
    case SYS_unlink:
    case SYS_unlinkat:
    case SYS_rename:
    case SYS_renameat:
    case SYS_renameat2:
    case SYS_mkdir:
    case SYS_mkdirat:
    case SYS_rmdir:
    case SYS_dup:
    case SYS_dup2:
    case SYS_dup3:
    case SYS_ioctl:
    case SYS_pipe:
    case SYS_pipe2:
    case SYS_uname:
    case SYS_sysinfo:
    case SYS_clock_gettime:
    case SYS_clock_getres:
    case SYS_gettimeofday:
    case SYS_time:
    case SYS_getrandom:
    case SYS_prlimit64:
    case SYS_getrlimit:
    case SYS_getuid:
    case SYS_geteuid:
    case SYS_getgid:
    case SYS_getegid:
    case SYS_getgroups:
    case SYS_getresuid:
    case SYS_getresgid:
    case SYS_sched_getaffinity:
    case SYS_getrusage:
    case SYS_times:
    case SYS_chmod:
    case SYS_fchmod:
    case SYS_fchmodat:
    case SYS_chown:
    case SYS_fchown:
    case SYS_lchown:
    case SYS_fchownat:
    case SYS_utimensat:
    case SYS_truncate:
    case SYS_ftruncate:
    case SYS_fallocate:
    case SYS_fadvise64:
    case SYS_statfs:
    case SYS_fstatfs:
    case SYS_link:
    case SYS_linkat:
    case SYS_symlink:
    case SYS_symlinkat:
    case SYS_memfd_create:
    case SYS_close_range:
    case SYS_getsockname:
    case SYS_getpeername:
    case SYS_getsockopt:
    case SYS_getxattr:
    case SYS_lgetxattr:
    case SYS_fgetxattr:
    case SYS_listxattr:
    case SYS_llistxattr:
    case SYS_flistxattr:
    case SYS_semget:
    case SYS_semctl:
    case SYS_msgget:
    case SYS_msgctl:
      return false;
    default:
      return true;  // when in doubt, never stall the control loop
  }
}

}  // namespace

namespace {

// Every signal blocked but the executor's interrupt signal.
uint64_t ExecutorWaitMask() { return ~(1ULL << (Executor::InterruptSignal() - 1)); }

}  // namespace

bool Performer::Execute(const Call& call, pid_t replica_pid) {
  uint64_t args[6];
  std::copy(std::begin(call.args), std::end(call.args), args);
  for (int i = 0; i < 6; ++i) {
    const ArgSpec& spec = call.spec.args[i];
    bool null = call.args[i] == 0 && spec.nullable;
    switch (spec.kind) {
      case ArgKind::kPath:
        if (!null) {
          paths_[i] = RewriteProgramPath(std::string(call.in[i].begin(), call.in[i].end()),
                                         replica_pid, virtual_pid_);
          args[i] = reinterpret_cast<uint64_t>(paths_[i].c_str());
        }
        break;
      case ArgKind::kInBuf:
        if (!null) {
          args[i] = reinterpret_cast<uint64_t>(call.in[i].data());
        }
        break;
      case ArgKind::kInOutBuf:
        if (!null) {
          out_[i] = call.in[i];
          args[i] = reinterpret_cast<uint64_t>(out_[i].data());
        }
        break;
      case ArgKind::kOutBuf:
        if (!null) {
          out_[i].assign(call.capacity[i], 0);
          args[i] = reinterpret_cast<uint64_t>(out_[i].data());
        }
        break;
      default:
        break;
    }
    // Marshal cut a buffer to kMaxTransfer: the count the kernel sees must say so too (a
    // short read or write), or it would run past the end of our copy.
    bool counted_buffer = spec.kind == ArgKind::kInBuf || spec.kind == ArgKind::kOutBuf ||
                          spec.kind == ArgKind::kInOutBuf;
    if (counted_buffer && !null && spec.len_arg >= 0) {
      uint64_t fits = (call.capacity[i] - spec.header) / std::max<uint16_t>(spec.size, 1);
      args[spec.len_arg] = std::min(args[spec.len_arg], fits);
    }
    switch (spec.kind) {
      case ArgKind::kIovecIn: {
        // One buffer with everything: the same bytes, written in one call, as writev would.
        size_t header = call.iov.size() * sizeof(iovec);
        iov_[i] = {const_cast<uint8_t*>(call.in[i].data()) + header, call.in[i].size() - header};
        args[i] = reinterpret_cast<uint64_t>(&iov_[i]);
        args[spec.len_arg] = 1;
        break;
      }
      case ArgKind::kIovecOut:
        out_[i].assign(call.capacity[i], 0);
        iov_[i] = {out_[i].data(), out_[i].size()};
        args[i] = reinterpret_cast<uint64_t>(&iov_[i]);
        args[spec.len_arg] = 1;
        break;
      default:
        break;
    }
  }
  if (call.nr == SYS_sched_getaffinity) {
    args[0] = 0;
  }
  // A wait's own signal mask is the program's business (the shim applies it); on the
  // executor the kernel gets one that blocks everything but the signal that cuts the call
  // short. With the program's own, nmr-run's signals (SIGCHLD of every replica that ends)
  // landed on the executor thread and made the program's ppoll return EINTR for nothing.
  int mask_arg = call.nr == SYS_ppoll ? 3 : (call.nr == SYS_epoll_pwait || call.nr == SYS_epoll_pwait2) ? 4 : -1;
  if (mask_arg >= 0 && call.args[mask_arg] != 0 && call.in[mask_arg].size() >= sizeof(uint64_t)) {
    out_[mask_arg] = call.in[mask_arg];
    uint64_t mask = ExecutorWaitMask();
    std::memcpy(out_[mask_arg].data(), &mask, sizeof mask);
    args[mask_arg] = reinterpret_cast<uint64_t>(out_[mask_arg].data());
  }
  if (call.nr == SYS_pselect6 && call.in[5].size() == kPselectArgPack + sizeof pselect_mask_) {
    // The kernel follows the struct's pointer: it must point at our mask.
    pselect_mask_ = ExecutorWaitMask();
    pselect_pack_[0] = reinterpret_cast<uint64_t>(&pselect_mask_);
    pselect_pack_[1] = sizeof pselect_mask_;
    args[5] = reinterpret_cast<uint64_t>(pselect_pack_);
  }
  if (IsMsgCall(call.nr)) {
    if (!UnpackMsgs(call, packed_msgs_)) {
      Finish(-EFAULT);
      return true;
    }
    if (!packed_msgs_.empty()) {
      if (int error = MsgHeaderError(packed_msgs_[0].header, IsSendingMsgCall(call.nr))) {
        Finish(-error);
        return true;
      }
    }
    args[1] = reinterpret_cast<uint64_t>(PrepareMsgs(call));
    if (IsMmsgCall(call.nr)) {
      args[2] = packed_msgs_.size();  // those marshalled (fewer past a limit or a bad one)
    }
  }
  if (!inline_ok_ || MayBlock(call)) {
    executor_.Submit(call.nr, args);
    return false;
  }
  long r = syscall(call.nr, args[0], args[1], args[2], args[3], args[4], args[5]);
  Finish(r == -1 ? -errno : r);
  return true;
}

// Our own msghdrs over private buffers: the sending calls' from the marshalled copy, the
// receiving calls' sized as the program's (one iovec with room for all of a message's
// entries). sendmsg/recvmsg take the first's msg_hdr.
mmsghdr* Performer::PrepareMsgs(const Call& call) {
  const std::vector<uint8_t>& pack = call.in[1];
  const bool send = IsSendingMsgCall(call.nr);
  // The kernel wants the sender's real tgid in SCM_CREDENTIALS: nmr-run's (core/msghdr.h).
  const pid_t real_pid = getpid();
  msgs_.assign(std::max<size_t>(packed_msgs_.size(), 1), mmsghdr{});
  msg_buffers_.resize(packed_msgs_.size());
  for (size_t k = 0; k < packed_msgs_.size(); ++k) {
    const PackedMsg& m = packed_msgs_[k];
    MsgBuffers& b = msg_buffers_[k];
    if (send) {
      auto part = [&](size_t at, size_t length, std::vector<uint8_t>& to) {
        to.assign(pack.begin() + static_cast<long>(at),
                  pack.begin() + static_cast<long>(at + length));
      };
      part(m.name_at, m.name_len, b.name);
      part(m.data_at, m.data_len, b.data);
      part(m.control_at, m.control_len, b.control);
      if (virtual_pid_ != real_pid) {
        RewriteCredentialsPid(b.control, virtual_pid_, real_pid);
      }
    } else {
      // A name pointer with a length of 0 still gets the sender's name length written back.
      b.name.assign(m.header.name != 0 ? std::max<size_t>(m.name_len, 1) : 0, 0);
      b.data.assign(m.data_len, 0);
      b.control.assign(m.control_len, 0);
    }
    b.iov = {b.data.data(), b.data.size()};
    msghdr& h = msgs_[k].msg_hdr;
    h.msg_name = b.name.empty() ? nullptr : b.name.data();
    h.msg_namelen = static_cast<socklen_t>(m.name_len);
    h.msg_iov = &b.iov;
    h.msg_iovlen = 1;
    h.msg_control = m.control_len != 0 ? b.control.data() : nullptr;
    h.msg_controllen = m.control_len;
  }
  return msgs_.data();
}

// What the kernel wrote for received message k, into the replica: `received` bytes of data
// scattered over its iovec entries, the sender's name, the control messages (fds received
// are program fds: the executor's), and the msghdr's lengths and flags as the kernel updates
// them.
void Performer::FinishReceivedMsg(const Call& call, size_t k, size_t received) {
  const PackedMsg& m = packed_msgs_[k];
  const MsgBuffers& b = msg_buffers_[k];
  const msghdr& h = msgs_[k].msg_hdr;
  size_t left = std::min(received, b.data.size());
  size_t offset = 0;
  for (size_t i = m.iov_first; i < m.iov_first + m.header.iovlen && left > 0; ++i) {
    const auto& [address, length] = call.iov[i];
    size_t n = std::min<size_t>(left, length);
    outcome_.writes.emplace_back(
        address, std::vector<uint8_t>(b.data.begin() + offset, b.data.begin() + offset + n));
    offset += n;
    left -= n;
  }
  auto put = [&](uint64_t address, const void* data, size_t size) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    outcome_.writes.emplace_back(address, std::vector<uint8_t>(bytes, bytes + size));
  };
  if (m.header.name != 0) {
    size_t n = std::min<size_t>(h.msg_namelen, m.name_len);
    if (n != 0) {
      put(m.header.name, b.name.data(), n);
    }
    uint32_t namelen = h.msg_namelen;
    put(m.address + kMsgNamelenOffset, &namelen, sizeof namelen);
  }
  if (m.control_len != 0) {
    put(m.header.control, b.control.data(), std::min<size_t>(h.msg_controllen, m.control_len));
  }
  uint64_t controllen = m.control_len != 0 ? h.msg_controllen : 0;
  put(m.address + kMsgControllenOffset, &controllen, sizeof controllen);
  int32_t flags = h.msg_flags;
  put(m.address + kMsgFlagsOffset, &flags, sizeof flags);
}

// After a message call succeeded: recvmsg's message; sendmmsg's and recvmmsg's msg_len of
// every message done (and recvmmsg's messages, and the time left in its timeout, which Linux
// writes back when it returns messages).
void Performer::FinishMsgs(const Call& call, int64_t result) {
  if (call.nr == SYS_recvmsg) {
    FinishReceivedMsg(call, 0, static_cast<size_t>(result));
    return;
  }
  if (!IsMmsgCall(call.nr)) {
    return;
  }
  size_t done = std::min<size_t>(static_cast<size_t>(result), packed_msgs_.size());
  for (size_t k = 0; k < done; ++k) {
    uint32_t length = msgs_[k].msg_len;
    if (call.nr == SYS_recvmmsg) {
      FinishReceivedMsg(call, k, length);
    }
    const auto* bytes = reinterpret_cast<const uint8_t*>(&length);
    outcome_.writes.emplace_back(packed_msgs_[k].address + kMmsgLenOffset,
                                 std::vector<uint8_t>(bytes, bytes + sizeof length));
  }
  if (call.nr == SYS_recvmmsg && done > 0 && call.args[4] != 0) {
    outcome_.writes.emplace_back(call.args[4], out_[4]);
  }
}

void Performer::Complete() { Finish(executor_.result()); }

void Performer::DeliverSignals(uint64_t signals, bool interrupted) {
  outcome_.signals |= signals;
  if (interrupted && signals != 0 && outcome_.value == -EINTR) {
    outcome_.flags |= kReplyInterrupted;
    if (call_ != nullptr && call_->spec.restart == RestartClass::kRestartable) {
      outcome_.flags |= kReplyRestartable;
    }
  }
}

void Performer::Finish(int64_t result) {
  const Call& call = *call_;
  outcome_.value = result;
  if (call.nr == SYS_execve) {
    outcome_.replace_program = result == 0;
    return;
  }
  if (result == -EPIPE && IsWriteLike(call.nr)) {
    outcome_.signals |= 1ULL << (SIGPIPE - 1);  // the kernel would have sent it to the writer
  }
  // An interrupted sleep reports the time left (programs sleep again for just that long).
  bool sleep_interrupted =
      result == -EINTR && (call.nr == SYS_nanosleep || call.nr == SYS_clock_nanosleep);
  if (result < 0 && !sleep_interrupted) {
    return;
  }
  if (IsMsgCall(call.nr)) {
    FinishMsgs(call, result);
    return;
  }
  for (int i = 0; i < 6; ++i) {
    const ArgSpec& spec = call.spec.args[i];
    if (call.args[i] == 0) {
      continue;
    }
    if (spec.kind == ArgKind::kOutBuf || spec.kind == ArgKind::kInOutBuf) {
      size_t n = call.capacity[i];
      if (spec.out_len == OutLen::kReturnValue) {
        n = std::min<size_t>(
            n, spec.header + static_cast<size_t>(result) * std::max<uint16_t>(spec.size, 1));
      }
      outcome_.writes.emplace_back(call.args[i],
                                   std::vector<uint8_t>(out_[i].begin(), out_[i].begin() + n));
    } else if (spec.kind == ArgKind::kIovecOut) {
      // Scatter what was read over the replica's own buffers, in order.
      size_t left = std::min<size_t>(static_cast<size_t>(result), out_[i].size());
      size_t offset = 0;
      for (const auto& [address, length] : call.iov) {
        size_t n = std::min<size_t>(left, length);
        if (n == 0) {
          break;
        }
        outcome_.writes.emplace_back(
            address, std::vector<uint8_t>(out_[i].begin() + offset, out_[i].begin() + offset + n));
        offset += n;
        left -= n;
      }
    }
  }
}

}  // namespace nmr
