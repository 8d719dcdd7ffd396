#include "interface/syscall_table.h"

#include <gtest/gtest.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <utime.h>

#include <cerrno>
#include <climits>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

namespace nmr {
namespace {

constexpr const char* kUnistdHeader = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";

// Calls newer than the build host's header, named in the table from the kernel's
// syscall_64.tbl so that logs say "fchmodat2" rather than "unknown".
const std::map<long, std::string> kNewerThanHeader = {
    {451, "cachestat"},         {452, "fchmodat2"},        {453, "map_shadow_stack"},
    {454, "futex_wake"},        {455, "futex_wait"},       {456, "futex_requeue"},
    {457, "statmount"},         {458, "listmount"},        {459, "lsm_get_self_attr"},
    {460, "lsm_set_self_attr"}, {461, "lsm_list_modules"}, {462, "mseal"},
};

// number -> name, from the system header, parsed at test time so that the table is checked
// against an independent source.
std::map<long, std::string> ParseUnistd() {
  std::map<long, std::string> syscalls;
  std::ifstream in(kUnistdHeader);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string define, macro;
    long nr = -1;
    if (words >> define >> macro >> nr && define == "#define" && macro.rfind("__NR_", 0) == 0) {
      syscalls[nr] = macro.substr(5);
    }
  }
  return syscalls;
}

const SyscallSpec& Spec(const char* name) {
  long nr = SyscallNumber(name);
  EXPECT_GE(nr, 0) << name;
  return SyscallInfo(nr);
}

bool IsBuffer(ArgKind kind) {
  return kind == ArgKind::kInBuf || kind == ArgKind::kOutBuf || kind == ArgKind::kInOutBuf;
}
bool IsIovec(ArgKind kind) { return kind == ArgKind::kIovecIn || kind == ArgKind::kIovecOut; }

// One argument as text: "fd", "out144", "in[a2]", "inout[a1]x8", "out[a2]->ret", "path?",
// "in8+[a2]" (a header of 8 bytes before the counted ones).
std::string Describe(const ArgSpec& arg) {
  static const std::map<ArgKind, std::string> kNames = {
      {ArgKind::kNone, "none"},      {ArgKind::kScalar, "scalar"},    {ArgKind::kFd, "fd"},
      {ArgKind::kPid, "pid"},        {ArgKind::kSignal, "sig"},       {ArgKind::kPath, "path"},
      {ArgKind::kInBuf, "in"},       {ArgKind::kOutBuf, "out"},       {ArgKind::kInOutBuf, "inout"},
      {ArgKind::kIovecIn, "iov_in"}, {ArgKind::kIovecOut, "iov_out"}, {ArgKind::kOpaquePtr, "ptr"},
  };
  std::string text = kNames.at(arg.kind);
  if (arg.header != 0) {
    text += std::to_string(arg.header) + "+";
  }
  if (arg.len_arg >= 0) {
    text += "[a" + std::to_string(arg.len_arg) + "]";
    if (arg.size != 1) {
      text += "x" + std::to_string(arg.size);
    }
  } else if (arg.size != 0) {
    text += std::to_string(arg.size);
  }
  if (arg.out_len == OutLen::kReturnValue) {
    text += "->ret";
  }
  if (arg.nullable) {
    text += "?";
  }
  return text;
}

// A whole entry's arguments, "fd, out[a2]->ret, scalar".
std::string Signature(const char* name) {
  const SyscallSpec& spec = Spec(name);
  std::string text;
  for (int i = 0; i < spec.arg_count; ++i) {
    text += (i == 0 ? "" : ", ") + Describe(spec.args[i]);
  }
  return text;
}

std::set<std::string> NamesOfClass(SyscallClass cls) {
  std::set<std::string> names;
  for (long nr = 0; nr < kMaxSyscall; ++nr) {
    const SyscallSpec& spec = SyscallInfo(nr);
    if (spec.name != nullptr && spec.cls == cls) {
      names.insert(spec.name);
    }
  }
  return names;
}

TEST(SyscallTableTest, EveryHeaderSyscallHasItsName) {
  std::map<long, std::string> header = ParseUnistd();
  ASSERT_GT(header.size(), 300u) << "could not parse " << kUnistdHeader;
  for (const auto& [nr, name] : header) {
    ASSERT_LT(nr, kMaxSyscall) << name << ": kMaxSyscall is too small";
    EXPECT_STREQ(SyscallName(nr), name.c_str()) << nr;
    EXPECT_EQ(SyscallNumber(name.c_str()), nr) << name;
  }
}

TEST(SyscallTableTest, EveryTableNameIsInTheHeaderOrNewer) {
  std::map<long, std::string> header = ParseUnistd();
  ASSERT_FALSE(header.empty());
  long header_max = header.rbegin()->first;
  for (long nr = 0; nr < kMaxSyscall; ++nr) {
    const char* name = SyscallInfo(nr).name;
    if (name == nullptr) {
      EXPECT_EQ(header.count(nr), 0u) << nr;
      continue;
    }
    auto it = header.find(nr);
    if (it != header.end()) {
      EXPECT_EQ(it->second, name) << nr;
    } else {
      EXPECT_GT(nr, header_max) << name << " is not in " << kUnistdHeader;
      auto newer = kNewerThanHeader.find(nr);
      ASSERT_NE(newer, kNewerThanHeader.end()) << nr << " " << name;
      EXPECT_EQ(newer->second, name);
    }
  }
  // The newest name fixes kMaxSyscall.
  EXPECT_NE(SyscallInfo(kMaxSyscall - 1).name, nullptr);
}

TEST(SyscallTableTest, OutOfRangeNumbersAreUnknown) {
  for (long nr :
       {-1L, -4096L, static_cast<long>(kMaxSyscall), 512L, 0x40000000L, LONG_MAX, LONG_MIN}) {
    const SyscallSpec& spec = SyscallInfo(nr);
    EXPECT_EQ(spec.name, nullptr) << nr;
    EXPECT_EQ(spec.cls, SyscallClass::kUnknown) << nr;
    EXPECT_EQ(spec.deny_errno, ENOSYS) << nr;
    EXPECT_EQ(spec.arg_count, 0) << nr;
    EXPECT_STREQ(SyscallName(nr), "unknown") << nr;
  }
  // A hole inside the table (335..423 are unused on x86-64).
  EXPECT_EQ(SyscallInfo(400).name, nullptr);
  EXPECT_STREQ(SyscallName(400), "unknown");
}

TEST(SyscallTableTest, NumberLookupMatchesWholeNamesOnly) {
  EXPECT_EQ(SyscallNumber("read"), 0);
  EXPECT_EQ(SyscallNumber("mseal"), 462);
  EXPECT_EQ(SyscallNumber("rea"), -1);
  EXPECT_EQ(SyscallNumber("readx"), -1);
  EXPECT_EQ(SyscallNumber("READ"), -1);
  EXPECT_EQ(SyscallNumber(""), -1);
  EXPECT_EQ(SyscallNumber("unknown"), -1);
  EXPECT_EQ(SyscallNumber(nullptr), -1);
}

TEST(SyscallTableTest, NamesRoundTrip) {
  int named = 0;
  for (long nr = 0; nr < kMaxSyscall; ++nr) {
    if (SyscallInfo(nr).name == nullptr) {
      continue;
    }
    ++named;
    EXPECT_EQ(SyscallNumber(SyscallName(nr)), nr) << SyscallName(nr);
  }
  EXPECT_GT(named, 370);
}

TEST(SyscallTableTest, NamesAreUniqueIdentifiers) {
  std::set<std::string> seen;
  for (long nr = 0; nr < kMaxSyscall; ++nr) {
    const char* name = SyscallInfo(nr).name;
    if (name == nullptr) {
      continue;
    }
    EXPECT_TRUE(seen.insert(name).second) << "duplicate " << name;
    EXPECT_NE(name[0], '\0') << nr;
    for (const char* c = name; *c != '\0'; ++c) {
      EXPECT_TRUE((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_') << name;
    }
  }
}

TEST(SyscallTableTest, ArgCountIsOnePastTheLastArgument) {
  for (long nr = 0; nr < kMaxSyscall; ++nr) {
    const SyscallSpec& spec = SyscallInfo(nr);
    ASSERT_LE(spec.arg_count, 6) << SyscallName(nr);
    for (int i = 0; i < 6; ++i) {
      const ArgSpec& arg = spec.args[i];
      if (i < spec.arg_count) {
        EXPECT_NE(arg.kind, ArgKind::kNone) << SyscallName(nr) << " arg " << i;
      } else {
        EXPECT_EQ(arg.kind, ArgKind::kNone) << SyscallName(nr) << " arg " << i;
        EXPECT_EQ(arg.len_arg, -1) << SyscallName(nr) << " arg " << i;
        EXPECT_EQ(arg.size, 0) << SyscallName(nr) << " arg " << i;
      }
    }
  }
}

// The supervisor reads the length from args[len_arg]: it must be a plain value of the same
// call (not a pointer, not the buffer itself). No exceptions so far: calls whose length
// travels through a pointer (accept, getsockopt, recvfrom) are kUnknown.
TEST(SyscallTableTest, LenArgPointsAtAScalarArgument) {
  for (long nr = 0; nr < kMaxSyscall; ++nr) {
    const SyscallSpec& spec = SyscallInfo(nr);
    for (int i = 0; i < spec.arg_count; ++i) {
      int len_arg = spec.args[i].len_arg;
      if (len_arg < 0) {
        continue;
      }
      EXPECT_NE(len_arg, i) << SyscallName(nr) << " arg " << i;
      ASSERT_LT(len_arg, spec.arg_count) << SyscallName(nr) << " arg " << i;
      EXPECT_EQ(spec.args[len_arg].kind, ArgKind::kScalar) << SyscallName(nr) << " arg " << i;
    }
  }
}

TEST(SyscallTableTest, EveryBufferHasASize) {
  for (long nr = 0; nr < kMaxSyscall; ++nr) {
    const SyscallSpec& spec = SyscallInfo(nr);
    for (int i = 0; i < spec.arg_count; ++i) {
      const ArgSpec& arg = spec.args[i];
      std::string where = std::string(SyscallName(nr)) + " arg " + std::to_string(i);
      if (arg.header != 0) {
        EXPECT_TRUE(IsBuffer(arg.kind) && arg.len_arg >= 0) << where << ": a header of what?";
      }
      if (IsBuffer(arg.kind)) {
        EXPECT_GT(arg.size, 0) << where;
      } else if (IsIovec(arg.kind)) {
        EXPECT_EQ(arg.size, sizeof(struct iovec)) << where;
        EXPECT_GE(arg.len_arg, 0) << where;
      } else {
        // Values, paths and opaque pointers carry no length.
        EXPECT_EQ(arg.len_arg, -1) << where;
        EXPECT_EQ(arg.size, 0) << where;
      }
      if (arg.out_len == OutLen::kReturnValue) {
        EXPECT_EQ(arg.kind, ArgKind::kOutBuf) << where;
        EXPECT_GE(arg.len_arg, 0) << where;
      }
      if (arg.nullable) {
        EXPECT_TRUE(IsBuffer(arg.kind) || IsIovec(arg.kind) || arg.kind == ArgKind::kPath ||
                    arg.kind == ArgKind::kOpaquePtr)
            << where;
      }
    }
  }
}

TEST(SyscallTableTest, ErrnoMatchesClass) {
  for (long nr = 0; nr < kMaxSyscall; ++nr) {
    const SyscallSpec& spec = SyscallInfo(nr);
    if (spec.cls == SyscallClass::kDenied) {
      EXPECT_NE(spec.deny_errno, 0) << SyscallName(nr);
    } else if (spec.cls == SyscallClass::kUnknown) {
      EXPECT_EQ(spec.deny_errno, ENOSYS) << SyscallName(nr);
    } else {
      EXPECT_EQ(spec.deny_errno, 0) << SyscallName(nr);
    }
  }
}

TEST(SyscallTableTest, StructSizesMatchTheAbi) {
  EXPECT_EQ(Spec("fstat").args[1].size, sizeof(struct stat));
  EXPECT_EQ(Spec("stat").args[1].size, sizeof(struct stat));
  EXPECT_EQ(Spec("lstat").args[1].size, sizeof(struct stat));
  EXPECT_EQ(Spec("newfstatat").args[2].size, sizeof(struct stat));
  EXPECT_EQ(Spec("statx").args[4].size, sizeof(struct statx));
  EXPECT_EQ(Spec("statfs").args[1].size, sizeof(struct statfs));
  EXPECT_EQ(Spec("fstatfs").args[1].size, sizeof(struct statfs));
  EXPECT_EQ(Spec("getrlimit").args[1].size, sizeof(struct rlimit));
  EXPECT_EQ(Spec("setrlimit").args[1].size, sizeof(struct rlimit));
  EXPECT_EQ(Spec("prlimit64").args[2].size, sizeof(struct rlimit));
  EXPECT_EQ(Spec("prlimit64").args[3].size, sizeof(struct rlimit));
  EXPECT_EQ(Spec("clock_gettime").args[1].size, sizeof(struct timespec));
  EXPECT_EQ(Spec("clock_getres").args[1].size, sizeof(struct timespec));
  EXPECT_EQ(Spec("nanosleep").args[0].size, sizeof(struct timespec));
  EXPECT_EQ(Spec("gettimeofday").args[0].size, sizeof(struct timeval));
  EXPECT_EQ(Spec("gettimeofday").args[1].size, sizeof(struct timezone));
  EXPECT_EQ(Spec("time").args[0].size, sizeof(time_t));
  EXPECT_EQ(Spec("getrusage").args[1].size, sizeof(struct rusage));
  EXPECT_EQ(Spec("sysinfo").args[0].size, sizeof(struct sysinfo));
  EXPECT_EQ(Spec("uname").args[0].size, sizeof(struct utsname));
  EXPECT_EQ(Spec("times").args[0].size, sizeof(struct tms));
  EXPECT_EQ(Spec("poll").args[0].size, sizeof(struct pollfd));
  EXPECT_EQ(Spec("ppoll").args[0].size, sizeof(struct pollfd));
  EXPECT_EQ(Spec("readv").args[1].size, sizeof(struct iovec));
  EXPECT_EQ(Spec("epoll_wait").args[1].size, sizeof(struct epoll_event));
  EXPECT_EQ(Spec("epoll_ctl").args[3].size, sizeof(struct epoll_event));
  EXPECT_EQ(Spec("select").args[1].size, sizeof(fd_set));
  EXPECT_EQ(Spec("select").args[4].size, sizeof(struct timeval));
  EXPECT_EQ(Spec("pselect6").args[4].size, sizeof(struct timespec));
  EXPECT_EQ(Spec("utime").args[1].size, sizeof(struct utimbuf));
  EXPECT_EQ(Spec("utimes").args[1].size, 2 * sizeof(struct timeval));
  EXPECT_EQ(Spec("futimesat").args[2].size, 2 * sizeof(struct timeval));
  EXPECT_EQ(Spec("utimensat").args[2].size, 2 * sizeof(struct timespec));
  EXPECT_EQ(Spec("pipe").args[0].size, 2 * sizeof(int));
  EXPECT_EQ(Spec("socketpair").args[3].size, 2 * sizeof(int));
  EXPECT_EQ(Spec("getitimer").args[1].size, sizeof(struct itimerval));
  EXPECT_EQ(Spec("timerfd_settime").args[2].size, sizeof(struct itimerspec));
  EXPECT_EQ(Spec("timerfd_gettime").args[1].size, sizeof(struct itimerspec));
  EXPECT_EQ(Spec("sigaltstack").args[0].size, sizeof(stack_t));
  EXPECT_EQ(Spec("rt_sigtimedwait").args[1].size, sizeof(siginfo_t));
  EXPECT_EQ(Spec("rt_sigprocmask").args[1].size, _NSIG / 8);
  EXPECT_EQ(Spec("sched_getparam").args[1].size, sizeof(struct sched_param));
  EXPECT_EQ(Spec("getgroups").args[1].size, sizeof(gid_t));
  EXPECT_EQ(Spec("getresuid").args[0].size, sizeof(uid_t));
  EXPECT_EQ(Spec("sendfile").args[2].size, sizeof(off_t));
  EXPECT_EQ(Spec("semop").args[1].size, sizeof(struct sembuf));
  EXPECT_EQ(Spec("semtimedop").args[1].size, sizeof(struct sembuf));
  EXPECT_EQ(Spec("semtimedop").args[3].size, sizeof(struct timespec));
  // struct msgbuf: long mtype, then the text msgsz counts.
  EXPECT_EQ(Spec("msgsnd").args[1].header, sizeof(long));
  EXPECT_EQ(Spec("msgrcv").args[1].header, sizeof(long));
  // Fixed numbers too, so that a libc whose structs differ from the kernel's shows up here.
  EXPECT_EQ(Spec("fstat").args[1].size, 144);
  EXPECT_EQ(Spec("statx").args[4].size, 256);
  EXPECT_EQ(Spec("fstatfs").args[1].size, 120);
  EXPECT_EQ(Spec("getrusage").args[1].size, 144);
  EXPECT_EQ(Spec("sysinfo").args[0].size, 112);
  EXPECT_EQ(Spec("uname").args[0].size, 390);
  EXPECT_EQ(Spec("times").args[0].size, 32);
  EXPECT_EQ(Spec("epoll_wait").args[1].size, 12);
  EXPECT_EQ(sizeof(struct open_how), 24u);  // openat2 takes its size from arg 3
}

// The exact shape of the calls the executor runs: the supervisor copies memory by these.
TEST(SyscallTableTest, ExecuteOnceSignatures) {
  const std::map<std::string, std::string> expected = {
      {"read", "fd, out[a2]->ret, scalar"},
      {"write", "fd, in[a2], scalar"},
      {"pread64", "fd, out[a2]->ret, scalar, scalar"},
      {"pwrite64", "fd, in[a2], scalar, scalar"},
      {"readv", "fd, iov_out[a2]x16, scalar"},
      {"writev", "fd, iov_in[a2]x16, scalar"},
      {"preadv", "fd, iov_out[a2]x16, scalar, scalar, scalar"},
      {"pwritev", "fd, iov_in[a2]x16, scalar, scalar, scalar"},
      {"preadv2", "fd, iov_out[a2]x16, scalar, scalar, scalar, scalar"},
      {"pwritev2", "fd, iov_in[a2]x16, scalar, scalar, scalar, scalar"},
      {"open", "path, scalar, scalar"},
      {"openat", "fd, path, scalar, scalar"},
      {"openat2", "fd, path, in[a3], scalar"},
      {"creat", "path, scalar"},
      {"close", "fd"},
      {"close_range", "scalar, scalar, scalar"},
      {"lseek", "fd, scalar, scalar"},
      {"dup", "fd"},
      {"dup2", "fd, fd"},
      {"dup3", "fd, fd, scalar"},
      {"pipe", "out8"},
      {"pipe2", "out8, scalar"},
      {"stat", "path, out144"},
      {"fstat", "fd, out144"},
      {"lstat", "path, out144"},
      {"newfstatat", "fd, path?, out144, scalar"},
      {"statx", "fd, path?, scalar, scalar, out256"},
      {"statfs", "path, out120"},
      {"fstatfs", "fd, out120"},
      {"getdents", "fd, out[a2]->ret, scalar"},
      {"getdents64", "fd, out[a2]->ret, scalar"},
      {"access", "path, scalar"},
      {"faccessat", "fd, path, scalar"},
      {"faccessat2", "fd, path, scalar, scalar"},
      {"readlink", "path, out[a2]->ret, scalar"},
      {"readlinkat", "fd, path, out[a3]->ret, scalar"},
      {"getcwd", "out[a1]->ret, scalar"},
      {"chdir", "path"},
      {"fchdir", "fd"},
      {"umask", "scalar"},
      {"rename", "path, path"},
      {"renameat", "fd, path, fd, path"},
      {"renameat2", "fd, path, fd, path, scalar"},
      {"mkdir", "path, scalar"},
      {"mkdirat", "fd, path, scalar"},
      {"rmdir", "path"},
      {"unlink", "path"},
      {"unlinkat", "fd, path, scalar"},
      {"link", "path, path"},
      {"linkat", "fd, path, fd, path, scalar"},
      {"symlink", "path, path"},
      {"symlinkat", "path, fd, path"},
      {"chmod", "path, scalar"},
      {"fchmod", "fd, scalar"},
      {"fchmodat", "fd, path, scalar"},
      {"chown", "path, scalar, scalar"},
      {"fchown", "fd, scalar, scalar"},
      {"lchown", "path, scalar, scalar"},
      {"fchownat", "fd, path, scalar, scalar, scalar"},
      {"utime", "path, in16?"},
      {"utimes", "path, in32?"},
      {"futimesat", "fd, path?, in32?"},
      {"utimensat", "fd, path?, in32?, scalar"},
      {"truncate", "path, scalar"},
      {"ftruncate", "fd, scalar"},
      {"fsync", "fd"},
      {"fdatasync", "fd"},
      {"sync", ""},
      {"syncfs", "fd"},
      {"fallocate", "fd, scalar, scalar, scalar"},
      {"fadvise64", "fd, scalar, scalar, scalar"},
      {"flock", "fd, scalar"},
      {"copy_file_range", "fd, inout8?, fd, inout8?, scalar, scalar"},
      {"sendfile", "fd, fd, inout8?, scalar"},
      {"splice", "fd, inout8?, fd, inout8?, scalar, scalar"},
      {"tee", "fd, fd, scalar, scalar"},
      {"poll", "inout[a1]x8, scalar, scalar"},
      {"ppoll", "inout[a1]x8, scalar, inout16?, in[a4]?, scalar"},
      {"select", "scalar, inout128?, inout128?, inout128?, inout16?"},
      {"pselect6", "scalar, inout128?, inout128?, inout128?, inout16?, in16?"},
      {"epoll_create", "scalar"},
      {"epoll_create1", "scalar"},
      {"epoll_ctl", "fd, scalar, fd, in12?"},
      {"epoll_wait", "fd, out[a2]x12->ret, scalar, scalar"},
      {"epoll_pwait", "fd, out[a2]x12->ret, scalar, scalar, in[a5]?, scalar"},
      {"epoll_pwait2", "fd, out[a2]x12->ret, scalar, in16?, in[a5]?, scalar"},
      {"getuid", ""},
      {"geteuid", ""},
      {"getgid", ""},
      {"getegid", ""},
      {"getgroups", "scalar, out[a0]x4->ret?"},
      {"setgroups", "scalar, in[a0]x4?"},
      {"setuid", "scalar"},
      {"setresuid", "scalar, scalar, scalar"},
      {"getresuid", "out4, out4, out4"},
      {"getresgid", "out4, out4, out4"},
      {"prlimit64", "pid, scalar, in16?, out16?"},
      {"getrlimit", "scalar, out16"},
      {"setrlimit", "scalar, in16"},
      {"getpriority", "scalar, scalar"},
      {"setpriority", "scalar, scalar, scalar"},
      {"socket", "scalar, scalar, scalar"},
      {"socketpair", "scalar, scalar, scalar, out8"},
      {"connect", "fd, in[a2], scalar"},
      {"bind", "fd, in[a2], scalar"},
      {"listen", "fd, scalar"},
      {"shutdown", "fd, scalar"},
      {"sendto", "fd, in[a2], scalar, scalar, in[a5]?, scalar"},
      {"setsockopt", "fd, scalar, scalar, in[a4], scalar"},
      {"memfd_create", "path, scalar"},
      {"eventfd", "scalar"},
      {"eventfd2", "scalar, scalar"},
      {"timerfd_create", "scalar, scalar"},
      {"timerfd_settime", "fd, scalar, in32, out32?"},
      {"timerfd_gettime", "fd, out32"},
      {"inotify_init1", "scalar"},
      {"inotify_add_watch", "fd, path, scalar"},
      {"mknod", "path, scalar, scalar"},
      {"mknodat", "fd, path, scalar, scalar"},
      {"sethostname", "in[a1], scalar"},
      {"getxattr", "path, path, out[a3]->ret?, scalar"},
      {"lgetxattr", "path, path, out[a3]->ret?, scalar"},
      {"fgetxattr", "fd, path, out[a3]->ret?, scalar"},
      {"listxattr", "path, out[a2]->ret?, scalar"},
      {"llistxattr", "path, out[a2]->ret?, scalar"},
      {"flistxattr", "fd, out[a2]->ret?, scalar"},
      {"setxattr", "path, path, in[a3]?, scalar, scalar"},
      {"lsetxattr", "path, path, in[a3]?, scalar, scalar"},
      {"fsetxattr", "fd, path, in[a3]?, scalar, scalar"},
      {"removexattr", "path, path"},
      {"lremovexattr", "path, path"},
      {"fremovexattr", "fd, path"},
      {"semget", "scalar, scalar, scalar"},
      {"semop", "scalar, in[a2]x6, scalar"},
      {"semtimedop", "scalar, in[a2]x6, scalar, in16?"},
      {"msgget", "scalar, scalar"},
      {"msgsnd", "scalar, in8+[a2], scalar, scalar"},
      {"msgrcv", "scalar, out8+[a2]->ret, scalar, scalar, scalar"},
  };
  for (const auto& [name, signature] : expected) {
    EXPECT_EQ(Spec(name.c_str()).cls, SyscallClass::kExecuteOnce) << name;
    EXPECT_EQ(Signature(name.c_str()), signature) << name;
  }
}

TEST(SyscallTableTest, VirtualSignatures) {
  const std::map<std::string, std::string> expected = {
      {"getpid", ""},
      {"getppid", ""},
      {"gettid", ""},
      {"getpgrp", ""},
      {"getpgid", "pid"},
      {"getsid", "pid"},
      {"setpgid", "pid, pid"},
      {"setsid", ""},
      {"getrandom", "out[a1]->ret, scalar, scalar"},
      {"clock_gettime", "scalar, out16"},
      {"clock_getres", "scalar, out16?"},
      {"gettimeofday", "out16?, out8?"},
      {"time", "out8?"},
      {"getcpu", "out4?, out4?, ptr"},
      {"sysinfo", "out112"},
      {"uname", "out390"},
      {"sched_getaffinity", "pid, scalar, out[a1]->ret"},
      {"getrusage", "scalar, out144"},
      {"times", "out32?"},
  };
  EXPECT_EQ(NamesOfClass(SyscallClass::kVirtual).size(), expected.size());
  for (const auto& [name, signature] : expected) {
    EXPECT_EQ(Spec(name.c_str()).cls, SyscallClass::kVirtual) << name;
    EXPECT_EQ(Signature(name.c_str()), signature) << name;
  }
}

TEST(SyscallTableTest, SpecialSignatures) {
  const std::map<std::string, std::string> expected = {
      {"mmap", "ptr, scalar, scalar, scalar, fd, scalar"},
      {"ioctl", "fd, scalar, ptr"},
      {"fcntl", "fd, scalar, scalar"},
      {"clone", "scalar, ptr, ptr, ptr, ptr"},
      {"clone3", "in[a1], scalar"},
      {"fork", ""},
      {"vfork", ""},
      {"execve", "path, ptr, ptr"},
      {"execveat", "fd, path, ptr, ptr, scalar"},
      {"kill", "pid, sig"},
      {"tkill", "pid, sig"},
      {"tgkill", "pid, pid, sig"},
      {"rt_sigqueueinfo", "pid, sig, in128"},
      {"rt_tgsigqueueinfo", "pid, pid, sig, in128"},
      {"wait4", "pid, ptr, scalar, ptr"},
      {"waitid", "scalar, scalar, ptr, scalar, ptr"},
      {"accept", "fd, ptr, ptr"},
      {"accept4", "fd, ptr, ptr, scalar"},
      {"getsockname", "fd, ptr, ptr"},
      {"getpeername", "fd, ptr, ptr"},
      {"getsockopt", "fd, scalar, scalar, ptr, ptr"},
      {"recvfrom", "fd, out[a2]->ret, scalar, scalar, ptr, ptr"},
      {"alarm", "scalar"},
      {"sendmsg", "fd, ptr, scalar"},
      {"recvmsg", "fd, ptr, scalar"},
      {"sendmmsg", "fd, ptr, scalar, scalar"},
      {"recvmmsg", "fd, ptr, scalar, scalar, inout16?"},
      {"getitimer", "scalar, out32"},
      {"setitimer", "scalar, in32, out32?"},
      {"timer_create", "scalar, in64?, out4"},
      {"signalfd", "fd, in[a2], scalar"},
      {"signalfd4", "fd, in[a2], scalar, scalar"},
      {"timer_settime", "scalar, scalar, in32, out32?"},
      {"timer_gettime", "scalar, out32"},
      {"timer_getoverrun", "scalar"},
      {"timer_delete", "scalar"},
      {"semctl", "scalar, scalar, scalar, ptr"},
      {"msgctl", "scalar, scalar, ptr"},
  };
  EXPECT_EQ(NamesOfClass(SyscallClass::kSpecial).size(), expected.size());
  for (const auto& [name, signature] : expected) {
    EXPECT_EQ(Spec(name.c_str()).cls, SyscallClass::kSpecial) << name;
    EXPECT_EQ(Signature(name.c_str()), signature) << name;
  }
}

// The shim's seccomp filter is built from these two lists: a call added here by mistake
// would bypass the vote.
TEST(SyscallTableTest, LocalAndShimListsAreExact) {
  // clang-format off
  const std::set<std::string> local = {
      // The replica's own memory (mmap is voted: only anonymous mmap passes the filter).
      "brk", "munmap", "mprotect", "mremap", "madvise", "mincore", "pkey_mprotect", "pkey_alloc",
      "pkey_free", "mlock", "mlock2", "munlock", "mlockall", "munlockall", "membarrier",
      // Threads, sleeps and the replica's own signal return.
      "futex", "futex_waitv", "sched_yield", "set_robust_list", "get_robust_list",
      "set_tid_address", "rt_sigreturn", "restart_syscall",
      "arch_prctl", "sigaltstack", "rt_sigpending",
      "futex_wait", "futex_wake", "futex_requeue", "msync", "mseal",
      // Scheduling, memory policy and I/O priority of the replica itself: the shim filter
      // passes a pid of 0 only (LocalPidArg).
      "sched_getparam", "sched_getscheduler", "sched_setparam", "sched_setscheduler",
      "sched_getattr", "sched_setattr", "sched_rr_get_interval",
      "sched_get_priority_max", "sched_get_priority_min",
      "mbind", "set_mempolicy", "get_mempolicy", "set_mempolicy_home_node",
      "ioprio_get", "ioprio_set"};
  // clang-format on
  EXPECT_EQ(NamesOfClass(SyscallClass::kLocal), local);
  EXPECT_EQ(NamesOfClass(SyscallClass::kShimEmulated),
            (std::set<std::string>{"rt_sigaction", "rt_sigprocmask", "rt_sigsuspend", "pause",
                                   "rt_sigtimedwait", "prctl"}));
  EXPECT_EQ(NamesOfClass(SyscallClass::kVoteThenLocal),
            (std::set<std::string>{"exit", "exit_group"}));
  EXPECT_EQ(Signature("exit_group"), "scalar");
  // Only anonymous mmap may pass the filter: mmap itself is voted.
  EXPECT_EQ(Spec("mmap").cls, SyscallClass::kSpecial);
}

TEST(SyscallTableTest, DeniedListAndErrnos) {
  const std::map<std::string, int> expected = {
      {"ptrace", EPERM},
      {"process_vm_readv", EPERM},
      {"process_vm_writev", EPERM},
      {"kexec_load", EPERM},
      {"kexec_file_load", EPERM},
      {"seccomp", EINVAL},
      {"io_uring_setup", ENOSYS},
      {"io_uring_enter", ENOSYS},
      {"io_uring_register", ENOSYS},
      {"rseq", ENOSYS},
      {"pidfd_getfd", EPERM},
      {"userfaultfd", EPERM},
      {"perf_event_open", EACCES},
      {"bpf", EPERM},
      {"unshare", EPERM},
      {"setns", EPERM},
      {"mount", EPERM},
      {"umount2", EPERM},
      {"pivot_root", EPERM},
      {"chroot", EPERM},
      {"swapon", EPERM},
      {"swapoff", EPERM},
      {"reboot", EPERM},
      {"init_module", EPERM},
      {"finit_module", EPERM},
      {"delete_module", EPERM},
      {"personality", EPERM},
      {"sched_setaffinity", EPERM},
  };
  std::map<std::string, int> actual;
  for (const std::string& name : NamesOfClass(SyscallClass::kDenied)) {
    actual[name] = Spec(name.c_str()).deny_errno;
  }
  EXPECT_EQ(actual, expected);
}

TEST(SyscallTableTest, IrregularCallsStayUnknown) {
  for (const char* name : {"name_to_handle_at", "open_by_handle_at", "shmget", "shmat", "shmdt",
                           "shmctl", "mq_notify", "pidfd_open", "io_setup"}) {
    EXPECT_EQ(Spec(name).cls, SyscallClass::kUnknown) << name;
    EXPECT_EQ(Spec(name).arg_count, 0) << name;
  }
}

// Calls whose buffer length travels through a pointer are special: marshal.cc reads it.
TEST(SyscallTableTest, SocketLengthPointerCallsAreSpecial) {
  for (const char* name :
       {"accept", "accept4", "recvfrom", "getsockopt", "getsockname", "getpeername"}) {
    EXPECT_EQ(Spec(name).cls, SyscallClass::kSpecial) << name;
  }
}

TEST(SyscallTableTest, RestartClassesFollowSignal7) {
  const std::set<std::string> never = {
      "poll",        "ppoll",        "select", "pselect6",      "epoll_wait",
      "epoll_pwait", "epoll_pwait2", "pause",  "rt_sigsuspend", "rt_sigtimedwait",
      "semop",       "semtimedop",   "msgsnd", "msgrcv"};
  std::set<std::string> actual_never;
  std::set<std::string> actual_sleep;
  for (long nr = 0; nr < kMaxSyscall; ++nr) {
    const SyscallSpec& spec = SyscallInfo(nr);
    if (spec.restart == RestartClass::kNever) {
      actual_never.insert(spec.name);
    } else if (spec.restart == RestartClass::kNanosleepLike) {
      actual_sleep.insert(spec.name);
    }
  }
  EXPECT_EQ(actual_never, never);
  EXPECT_EQ(actual_sleep, (std::set<std::string>{"nanosleep", "clock_nanosleep"}));
  // recvmmsg with a timeout too: signal(7) says never, but Linux restarts it (measured, 6.18).
  for (const char* name :
       {"read", "write", "readv", "open", "wait4", "waitid", "flock", "futex", "connect", "sendto",
        "getrandom", "ioctl", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg"}) {
    EXPECT_EQ(Spec(name).restart, RestartClass::kRestartable) << name;
  }
}

}  // namespace
}  // namespace nmr

namespace nmr {
namespace {

// A call the supervisor executes (or answers) runs in nmr-run's address space: a pointer
// argument the table calls opaque would reach the kernel as a replica address, which means
// EFAULT at best and another object of nmr-run's at worst. Every pointer such a call hands
// the kernel must be marshalled (a path, a buffer, an iovec); irregular calls are kSpecial
// and have their own case. (pselect6's signal mask was such a pointer: readline took the
// EFAULT for the end of its input.)
TEST(SyscallTableTest, NoExecutedCallPassesAReplicaPointerAsIs) {
  for (long nr = 0; nr < kMaxSyscall; ++nr) {
    const SyscallSpec& spec = SyscallInfo(nr);
    if (spec.name == nullptr ||
        (spec.cls != SyscallClass::kExecuteOnce && spec.cls != SyscallClass::kVirtual)) {
      continue;
    }
    for (int i = 0; i < spec.arg_count; ++i) {
      if (nr == 309 && i == 2) {
        continue;  // getcpu's tcache: unused by the kernel since 2.6.24, and answered virtually
      }
      EXPECT_NE(spec.args[i].kind, ArgKind::kOpaquePtr)
          << spec.name << " argument " << i << " would reach the kernel unmarshalled";
    }
  }
}

}  // namespace
}  // namespace nmr
