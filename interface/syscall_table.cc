// The syscall table's data. Numbers and names come from the kernel's x86-64 list (generated
// once from <asm/unistd_64.h>, plus the few newer calls up to mseal); classes and argument
// kinds are written by hand. The supervisor copies `size`/`len_arg` bytes in and out of a
// replica according to these entries, so every size is the kernel's x86-64 ABI size.
//
// No libc and no dynamic initialisation: the shim may link this file.

#include "interface/syscall_table.h"

#include <cerrno>
#include <initializer_list>

namespace nmr {
namespace {

// Kernel x86-64 ABI sizes (checked against the libc and uapi structs by the unit test).
constexpr int kStat = 144;         // struct stat
constexpr int kStatx = 256;        // struct statx
constexpr int kStatfs = 120;       // struct statfs
constexpr int kTimespec = 16;      // struct __kernel_timespec
constexpr int kTimespecPair = 32;  // struct timespec[2] (utimensat)
constexpr int kTimeval = 16;       // struct timeval
constexpr int kTimevalPair = 32;   // struct timeval[2] (utimes, futimesat)
constexpr int kTimezone = 8;       // struct timezone
constexpr int kUtimbuf = 16;       // struct utimbuf
constexpr int kItimerval = 32;     // struct itimerval
constexpr int kItimerspec = 32;    // struct itimerspec
constexpr int kSigevent = 64;      // struct sigevent
constexpr int kTimerT = 4;         // the kernel's timer_t (an int)
constexpr int kTimex = 208;        // struct timex (adjtimex)
constexpr int kMqAttr = 64;        // struct mq_attr
constexpr int kRlimit = 16;        // struct rlimit
constexpr int kRusage = 144;       // struct rusage
constexpr int kSysinfo = 112;      // struct sysinfo
constexpr int kUtsname = 390;      // struct new_utsname: 6 fields of 65
constexpr int kTms = 32;           // struct tms
constexpr int kPollfd = 8;         // struct pollfd
constexpr int kEpollEvent = 12;    // struct epoll_event is packed on x86-64
constexpr int kFdSet = 128;        // fd_set: FD_SETSIZE 1024 bits
constexpr int kLoffT = 8;          // loff_t (sendfile, splice, copy_file_range offsets)
constexpr int kTimeT = 8;          // time_t
constexpr int kFdPair = 8;         // int[2] (pipe, socketpair)
constexpr int kSigset = 8;         // the kernel's sigset_t (sigsetsize must be 8)
constexpr int kSigaction = 32;     // the kernel's struct sigaction (with sa_restorer)
constexpr int kSiginfo = 128;      // siginfo_t
constexpr int kStackT = 24;        // stack_t
constexpr int kSchedParam = 4;     // struct sched_param
constexpr int kUid = 4;            // uid_t
constexpr int kGid = 4;            // gid_t
constexpr int kSembuf = 6;         // struct sembuf
constexpr int kMtype = 8;          // the long mtype before a SysV message's text

constexpr RestartClass kNever = RestartClass::kNever;
constexpr RestartClass kNanosleepLike = RestartClass::kNanosleepLike;

constexpr ArgSpec Arg(ArgKind kind, int len_arg = -1, int size = 0,
                      OutLen out_len = OutLen::kCapacity) {
  return {kind, static_cast<int8_t>(len_arg), static_cast<uint16_t>(size), false, out_len};
}

// Values.
constexpr ArgSpec Scalar() { return Arg(ArgKind::kScalar); }
constexpr ArgSpec Fd() { return Arg(ArgKind::kFd); }
constexpr ArgSpec Pid() { return Arg(ArgKind::kPid); }
constexpr ArgSpec Sig() { return Arg(ArgKind::kSignal); }
constexpr ArgSpec Path() { return Arg(ArgKind::kPath); }
constexpr ArgSpec Ptr() { return Arg(ArgKind::kOpaquePtr); }
// Fixed-size structs.
constexpr ArgSpec In(int size) { return Arg(ArgKind::kInBuf, -1, size); }
constexpr ArgSpec Out(int size) { return Arg(ArgKind::kOutBuf, -1, size); }
constexpr ArgSpec InOut(int size) { return Arg(ArgKind::kInOutBuf, -1, size); }
// Arrays of `elem`-byte elements whose count is argument `len_arg`.
constexpr ArgSpec InLen(int len_arg, int elem = 1) { return Arg(ArgKind::kInBuf, len_arg, elem); }
constexpr ArgSpec InOutLen(int len_arg, int elem) { return Arg(ArgKind::kInOutBuf, len_arg, elem); }
// An out array of which only the first (return value) elements are valid (read, getdents64).
constexpr ArgSpec OutRet(int len_arg, int elem = 1) {
  return Arg(ArgKind::kOutBuf, len_arg, elem, OutLen::kReturnValue);
}
constexpr ArgSpec IovIn(int len_arg) { return Arg(ArgKind::kIovecIn, len_arg, 16); }
constexpr ArgSpec IovOut(int len_arg) { return Arg(ArgKind::kIovecOut, len_arg, 16); }
// A null pointer is a legal value and is passed on as null.
constexpr ArgSpec Opt(ArgSpec arg) {
  arg.nullable = true;
  return arg;
}
// An array preceded by `bytes` the count leaves out (ArgSpec::header).
constexpr ArgSpec After(int bytes, ArgSpec arg) {
  arg.header = static_cast<uint8_t>(bytes);
  return arg;
}
// select's fd_set: read, and written back with the ready bits; optional.
constexpr ArgSpec FdSet() { return Opt(InOut(kFdSet)); }
// The optional signal mask of ppoll and epoll_pwait, whose size is argument `len_arg`.
constexpr ArgSpec Sigmask(int len_arg) { return Opt(InLen(len_arg)); }

constexpr SyscallSpec Make(const char* name, SyscallClass cls, std::initializer_list<ArgSpec> args,
                           RestartClass restart, int deny_errno) {
  SyscallSpec spec;
  spec.name = name;
  spec.cls = cls;
  spec.restart = restart;
  spec.deny_errno = static_cast<uint8_t>(deny_errno);
  // More than six arguments is an out-of-bounds write, which fails constant evaluation.
  for (const ArgSpec& arg : args) {
    spec.args[spec.arg_count++] = arg;
  }
  return spec;
}

using Args = std::initializer_list<ArgSpec>;
constexpr RestartClass kRestartable = RestartClass::kRestartable;

constexpr SyscallSpec Unknown(const char* name) {
  return Make(name, SyscallClass::kUnknown, {}, kRestartable, ENOSYS);
}
constexpr SyscallSpec Local(const char* name, Args args, RestartClass r = kRestartable) {
  return Make(name, SyscallClass::kLocal, args, r, 0);
}
constexpr SyscallSpec Shim(const char* name, Args args, RestartClass r = kRestartable) {
  return Make(name, SyscallClass::kShimEmulated, args, r, 0);
}
constexpr SyscallSpec Once(const char* name, Args args, RestartClass r = kRestartable) {
  return Make(name, SyscallClass::kExecuteOnce, args, r, 0);
}
constexpr SyscallSpec Virtual(const char* name, Args args) {
  return Make(name, SyscallClass::kVirtual, args, kRestartable, 0);
}
constexpr SyscallSpec VoteThenLocal(const char* name, Args args) {
  return Make(name, SyscallClass::kVoteThenLocal, args, kRestartable, 0);
}
constexpr SyscallSpec Special(const char* name, Args args, RestartClass r = kRestartable) {
  return Make(name, SyscallClass::kSpecial, args, r, 0);
}
// Denied calls are still voted, so their arguments are described; pointers they would
// dereference stay opaque (nothing is ever copied for a call that is never executed).
constexpr SyscallSpec Deny(const char* name, int err, Args args) {
  return Make(name, SyscallClass::kDenied, args, kRestartable, err);
}

// Restart classes follow signal(7), "Interruption of system calls and library functions by
// signal handlers": the fd multiplexers, the signal waits and SysV IPC's semop, semtimedop,
// msgsnd and msgrcv are never restarted (EINTR even with SA_RESTART; measured on 6.18); the
// sleeps return the time left. Calls that cannot block keep the default. (io_getevents is never
// restarted either; it is kUnknown, so it never blocks.)
//
// Irregular calls that stay kUnknown (ENOSYS, which glibc and most programs handle):
// SysV shared memory, mq_notify, AIO, NUMA, keys, the new mount API,
// pidfd_open/pidfd_send_signal, and everything obsolete. (The socket calls that take a length
// through a pointer, sendmsg/recvmsg and sendmmsg/recvmmsg are kSpecial: supervisor/core.)
constexpr std::array<SyscallSpec, kMaxSyscall> kTable = [] {
  std::array<SyscallSpec, kMaxSyscall> t;
  t.fill(Unknown(nullptr));
  t[0] = Once("read", {Fd(), OutRet(2), Scalar()});
  t[1] = Once("write", {Fd(), InLen(2), Scalar()});
  t[2] = Once("open", {Path(), Scalar(), Scalar()});
  t[3] = Once("close", {Fd()});
  t[4] = Once("stat", {Path(), Out(kStat)});
  t[5] = Once("fstat", {Fd(), Out(kStat)});
  t[6] = Once("lstat", {Path(), Out(kStat)});
  t[7] = Once("poll", {InOutLen(1, kPollfd), Scalar(), Scalar()}, kNever);
  t[8] = Once("lseek", {Fd(), Scalar(), Scalar()});
  t[9] = Special("mmap", {Ptr(), Scalar(), Scalar(), Scalar(), Fd(), Scalar()});
  t[10] = Local("mprotect", {Ptr(), Scalar(), Scalar()});
  t[11] = Local("munmap", {Ptr(), Scalar()});
  t[12] = Local("brk", {Ptr()});
  t[13] = Shim("rt_sigaction", {Sig(), Opt(In(kSigaction)), Opt(Out(kSigaction)), Scalar()});
  t[14] = Shim("rt_sigprocmask", {Scalar(), Opt(In(kSigset)), Opt(Out(kSigset)), Scalar()});
  t[15] = Local("rt_sigreturn", {});
  t[16] = Special("ioctl", {Fd(), Scalar(), Ptr()});
  t[17] = Once("pread64", {Fd(), OutRet(2), Scalar(), Scalar()});
  t[18] = Once("pwrite64", {Fd(), InLen(2), Scalar(), Scalar()});
  t[19] = Once("readv", {Fd(), IovOut(2), Scalar()});
  t[20] = Once("writev", {Fd(), IovIn(2), Scalar()});
  t[21] = Once("access", {Path(), Scalar()});
  t[22] = Once("pipe", {Out(kFdPair)});
  // Linux writes the time left back into the timeout.
  t[23] = Once("select", {Scalar(), FdSet(), FdSet(), FdSet(), Opt(InOut(kTimeval))}, kNever);
  t[24] = Local("sched_yield", {});
  t[25] = Local("mremap", {Ptr(), Scalar(), Scalar(), Scalar(), Ptr()});
  t[26] = Local("msync", {Ptr(), Scalar(), Scalar()});  // the replica's own mappings
  t[27] = Local("mincore", {Ptr(), Scalar(), Ptr()});
  t[28] = Local("madvise", {Ptr(), Scalar(), Scalar()});
  // SysV shared memory stays ENOSYS: a segment attached in several processes is memory they
  // write outside any vote (like writable shared file mappings, which get ENODEV).
  t[29] = Unknown("shmget");
  t[30] = Unknown("shmat");
  t[31] = Unknown("shmctl");
  t[32] = Once("dup", {Fd()});
  t[33] = Once("dup2", {Fd(), Fd()});
  t[34] = Shim("pause", {}, kNever);
  // Sleeps are voted and run on the executor, where a signal sent to nmr-run can cut them
  // short (a local sleep would never see it: signals arrive with a vote's result).
  t[35] = Once("nanosleep", {In(kTimespec), Opt(Out(kTimespec))}, kNanosleepLike);
  // The real-time timer is the supervisor's (supervisor/timers.cc): it fires once, outside
  // the replicas, and its SIGALRM reaches every replica with one agreed step.
  t[36] = Special("getitimer", {Scalar(), Out(kItimerval)});
  t[37] = Special("alarm", {Scalar()});
  t[38] = Special("setitimer", {Scalar(), In(kItimerval), Opt(Out(kItimerval))});
  t[39] = Virtual("getpid", {});
  t[40] = Once("sendfile", {Fd(), Fd(), Opt(InOut(kLoffT)), Scalar()});
  t[41] = Once("socket", {Scalar(), Scalar(), Scalar()});
  t[42] = Once("connect", {Fd(), InLen(2), Scalar()});
  // The address length goes through a pointer (socklen_t *): marshal.cc reads it and makes
  // the address an out buffer of that size.
  t[43] = Special("accept", {Fd(), Ptr(), Ptr()});
  t[44] = Once("sendto", {Fd(), InLen(2), Scalar(), Scalar(), Opt(InLen(5)), Scalar()});
  t[45] = Special("recvfrom", {Fd(), OutRet(2), Scalar(), Scalar(), Ptr(), Ptr()});
  t[46] = Special("sendmsg", {Fd(), Ptr(), Scalar()});  // struct msghdr: core/msghdr.h
  t[47] = Special("recvmsg", {Fd(), Ptr(), Scalar()});
  t[48] = Once("shutdown", {Fd(), Scalar()});
  t[49] = Once("bind", {Fd(), InLen(2), Scalar()});
  t[50] = Once("listen", {Fd(), Scalar()});
  t[51] = Special("getsockname", {Fd(), Ptr(), Ptr()});
  t[52] = Special("getpeername", {Fd(), Ptr(), Ptr()});
  t[53] = Once("socketpair", {Scalar(), Scalar(), Scalar(), Out(kFdPair)});
  t[54] = Once("setsockopt", {Fd(), Scalar(), Scalar(), InLen(4), Scalar()});
  t[55] = Special("getsockopt", {Fd(), Scalar(), Scalar(), Ptr(), Ptr()});
  // flags, stack, parent_tid, child_tid, tls (x86-64 order).
  t[56] = Special("clone", {Scalar(), Ptr(), Ptr(), Ptr(), Ptr()});
  t[57] = Special("fork", {});
  t[58] = Special("vfork", {});
  t[59] = Special("execve", {Path(), Ptr(), Ptr()});
  t[60] = VoteThenLocal("exit", {Scalar()});
  t[61] = Special("wait4", {Pid(), Ptr(), Scalar(), Ptr()});
  t[62] = Special("kill", {Pid(), Sig()});
  t[63] = Virtual("uname", {Out(kUtsname)});
  // SysV semaphores and message queues are kernel objects, like pipes: executed once. The
  // executor is a thread of nmr-run, so the pids the kernel records (GETPID, sempid,
  // msg_lspid, msg_lrpid) are nmr-run's, and SEM_UNDO adjustments are undone when nmr-run
  // exits. semctl's and msgctl's last argument depends on the command (core/marshal.cc).
  t[64] = Once("semget", {Scalar(), Scalar(), Scalar()});
  t[65] = Once("semop", {Scalar(), InLen(2, kSembuf), Scalar()}, kNever);
  t[66] = Special("semctl", {Scalar(), Scalar(), Scalar(), Ptr()});
  t[67] = Unknown("shmdt");
  t[68] = Once("msgget", {Scalar(), Scalar()});
  // struct msgbuf: msgsz counts the text after mtype; msgrcv returns the text's length.
  t[69] = Once("msgsnd", {Scalar(), After(kMtype, InLen(2)), Scalar(), Scalar()}, kNever);
  t[70] =
      Once("msgrcv", {Scalar(), After(kMtype, OutRet(2)), Scalar(), Scalar(), Scalar()}, kNever);
  t[71] = Special("msgctl", {Scalar(), Scalar(), Ptr()});
  // The third argument is an int or a pointer depending on the command.
  t[72] = Special("fcntl", {Fd(), Scalar(), Scalar()});
  t[73] = Once("flock", {Fd(), Scalar()});
  t[74] = Once("fsync", {Fd()});
  t[75] = Once("fdatasync", {Fd()});
  t[76] = Once("truncate", {Path(), Scalar()});
  t[77] = Once("ftruncate", {Fd(), Scalar()});
  t[78] = Once("getdents", {Fd(), OutRet(2), Scalar()});
  t[79] = Once("getcwd", {OutRet(1), Scalar()});
  t[80] = Once("chdir", {Path()});
  t[81] = Once("fchdir", {Fd()});
  t[82] = Once("rename", {Path(), Path()});
  t[83] = Once("mkdir", {Path(), Scalar()});
  t[84] = Once("rmdir", {Path()});
  t[85] = Once("creat", {Path(), Scalar()});
  t[86] = Once("link", {Path(), Path()});
  t[87] = Once("unlink", {Path()});
  t[88] = Once("symlink", {Path(), Path()});
  t[89] = Once("readlink", {Path(), OutRet(2), Scalar()});
  t[90] = Once("chmod", {Path(), Scalar()});
  t[91] = Once("fchmod", {Fd(), Scalar()});
  t[92] = Once("chown", {Path(), Scalar(), Scalar()});
  t[93] = Once("fchown", {Fd(), Scalar(), Scalar()});
  t[94] = Once("lchown", {Path(), Scalar(), Scalar()});
  t[95] = Once("umask", {Scalar()});
  t[96] = Virtual("gettimeofday", {Opt(Out(kTimeval)), Opt(Out(kTimezone))});
  t[97] = Once("getrlimit", {Scalar(), Out(kRlimit)});
  t[98] = Virtual("getrusage", {Scalar(), Out(kRusage)});
  t[99] = Virtual("sysinfo", {Out(kSysinfo)});
  t[100] = Virtual("times", {Opt(Out(kTms))});
  t[101] = Deny("ptrace", EPERM, {Scalar(), Pid(), Ptr(), Ptr()});
  t[102] = Once("getuid", {});
  t[103] = Unknown("syslog");
  t[104] = Once("getgid", {});
  t[105] = Once("setuid", {Scalar()});
  t[106] = Once("setgid", {Scalar()});
  t[107] = Once("geteuid", {});
  t[108] = Once("getegid", {});
  t[109] = Virtual("setpgid", {Pid(), Pid()});
  t[110] = Virtual("getppid", {});
  t[111] = Virtual("getpgrp", {});
  t[112] = Virtual("setsid", {});
  t[113] = Once("setreuid", {Scalar(), Scalar()});
  t[114] = Once("setregid", {Scalar(), Scalar()});
  // Counts gid_t, not bytes; getgroups(0, NULL) only asks for the count.
  t[115] = Once("getgroups", {Scalar(), Opt(OutRet(0, kGid))});
  t[116] = Once("setgroups", {Scalar(), Opt(InLen(0, kGid))});
  t[117] = Once("setresuid", {Scalar(), Scalar(), Scalar()});
  t[118] = Once("getresuid", {Out(kUid), Out(kUid), Out(kUid)});
  t[119] = Once("setresgid", {Scalar(), Scalar(), Scalar()});
  t[120] = Once("getresgid", {Out(kGid), Out(kGid), Out(kGid)});
  t[121] = Virtual("getpgid", {Pid()});
  t[122] = Once("setfsuid", {Scalar()});
  t[123] = Once("setfsgid", {Scalar()});
  t[124] = Virtual("getsid", {Pid()});
  t[125] = Unknown("capget");
  t[126] = Unknown("capset");
  t[127] = Local("rt_sigpending", {Out(kSigset), Scalar()});
  t[128] = Shim("rt_sigtimedwait", {In(kSigset), Opt(Out(kSiginfo)), Opt(In(kTimespec)), Scalar()},
                 kNever);
  t[129] = Special("rt_sigqueueinfo", {Pid(), Sig(), In(kSiginfo)});
  t[130] = Shim("rt_sigsuspend", {In(kSigset), Scalar()}, kNever);
  t[131] = Local("sigaltstack", {Opt(In(kStackT)), Opt(Out(kStackT))});
  t[132] = Once("utime", {Path(), Opt(In(kUtimbuf))});
  t[133] = Once("mknod", {Path(), Scalar(), Scalar()});
  t[134] = Unknown("uselib");
  // nmr sets ADDR_NO_RANDOMIZE before execve; a program must not undo it.
  t[135] = Deny("personality", EPERM, {Scalar()});
  t[136] = Unknown("ustat");
  t[137] = Once("statfs", {Path(), Out(kStatfs)});
  t[138] = Once("fstatfs", {Fd(), Out(kStatfs)});
  t[139] = Unknown("sysfs");
  // `who` is a pid, a pgid or a uid depending on `which`: not translated.
  t[140] = Once("getpriority", {Scalar(), Scalar()});
  t[141] = Once("setpriority", {Scalar(), Scalar(), Scalar()});
  t[142] = Local("sched_setparam", {Pid(), In(kSchedParam)});
  t[143] = Local("sched_getparam", {Pid(), Out(kSchedParam)});
  t[144] = Local("sched_setscheduler", {Pid(), Scalar(), In(kSchedParam)});
  t[145] = Local("sched_getscheduler", {Pid()});
  t[146] = Local("sched_get_priority_max", {Scalar()});
  t[147] = Local("sched_get_priority_min", {Scalar()});
  t[148] = Local("sched_rr_get_interval", {Pid(), Out(kTimespec)});
  t[149] = Local("mlock", {Ptr(), Scalar()});
  t[150] = Local("munlock", {Ptr(), Scalar()});
  t[151] = Local("mlockall", {Scalar()});
  t[152] = Local("munlockall", {});
  t[153] = Unknown("vhangup");
  t[154] = Unknown("modify_ldt");
  t[155] = Deny("pivot_root", EPERM, {Path(), Path()});
  t[156] = Unknown("_sysctl");
  t[157] = Shim("prctl", {Scalar(), Scalar(), Scalar(), Scalar(), Scalar()});
  t[158] = Local("arch_prctl", {Scalar(), Ptr()});
  // modes 0 only reads the clock's state; setting it needs CAP_SYS_TIME, as natively.
  t[159] = Once("adjtimex", {InOut(kTimex)});
  t[160] = Once("setrlimit", {Scalar(), In(kRlimit)});
  t[161] = Deny("chroot", EPERM, {Path()});
  t[162] = Once("sync", {});
  t[163] = Unknown("acct");
  t[164] = Once("settimeofday", {Opt(In(kTimeval)), Opt(In(kTimezone))});
  t[165] = Deny("mount", EPERM, {Ptr(), Path(), Ptr(), Scalar(), Ptr()});
  t[166] = Deny("umount2", EPERM, {Path(), Scalar()});
  t[167] = Deny("swapon", EPERM, {Path(), Scalar()});
  t[168] = Deny("swapoff", EPERM, {Path()});
  t[169] = Deny("reboot", EPERM, {Scalar(), Scalar(), Scalar(), Ptr()});
  t[170] = Once("sethostname", {InLen(1), Scalar()});
  t[171] = Once("setdomainname", {InLen(1), Scalar()});
  t[172] = Unknown("iopl");
  t[173] = Unknown("ioperm");
  t[174] = Unknown("create_module");
  t[175] = Deny("init_module", EPERM, {Ptr(), Scalar(), Ptr()});
  t[176] = Deny("delete_module", EPERM, {Path(), Scalar()});
  t[177] = Unknown("get_kernel_syms");
  t[178] = Unknown("query_module");
  t[179] = Unknown("quotactl");
  t[180] = Unknown("nfsservctl");
  t[181] = Unknown("getpmsg");
  t[182] = Unknown("putpmsg");
  t[183] = Unknown("afs_syscall");
  t[184] = Unknown("tuxcall");
  t[185] = Unknown("security");
  t[186] = Virtual("gettid", {});
  t[187] = Once("readahead", {Fd(), Scalar(), Scalar()});
  t[188] = Once("setxattr", {Path(), Path(), Opt(InLen(3)), Scalar(), Scalar()});
  t[189] = Once("lsetxattr", {Path(), Path(), Opt(InLen(3)), Scalar(), Scalar()});
  t[190] = Once("fsetxattr", {Fd(), Path(), Opt(InLen(3)), Scalar(), Scalar()});
  // A zero size (and null value) only asks for the size.
  t[191] = Once("getxattr", {Path(), Path(), Opt(OutRet(3)), Scalar()});
  t[192] = Once("lgetxattr", {Path(), Path(), Opt(OutRet(3)), Scalar()});
  t[193] = Once("fgetxattr", {Fd(), Path(), Opt(OutRet(3)), Scalar()});
  // A zero size (and null list) only asks for the size.
  t[194] = Once("listxattr", {Path(), Opt(OutRet(2)), Scalar()});
  t[195] = Once("llistxattr", {Path(), Opt(OutRet(2)), Scalar()});
  t[196] = Once("flistxattr", {Fd(), Opt(OutRet(2)), Scalar()});
  t[197] = Once("removexattr", {Path(), Path()});
  t[198] = Once("lremovexattr", {Path(), Path()});
  t[199] = Once("fremovexattr", {Fd(), Path()});
  t[200] = Special("tkill", {Pid(), Sig()});
  t[201] = Virtual("time", {Opt(Out(kTimeT))});
  t[202] = Local("futex", {Ptr(), Scalar(), Scalar(), Ptr(), Ptr(), Scalar()});
  t[203] = Deny("sched_setaffinity", EPERM, {Pid(), Scalar(), Ptr()});
  // The kernel returns how many bytes of the mask it wrote.
  t[204] = Virtual("sched_getaffinity", {Pid(), Scalar(), OutRet(1)});
  t[205] = Unknown("set_thread_area");
  t[206] = Unknown("io_setup");
  t[207] = Unknown("io_destroy");
  t[208] = Unknown("io_getevents");
  t[209] = Unknown("io_submit");
  t[210] = Unknown("io_cancel");
  t[211] = Unknown("get_thread_area");
  t[212] = Unknown("lookup_dcookie");
  t[213] = Once("epoll_create", {Scalar()});
  t[214] = Unknown("epoll_ctl_old");
  t[215] = Unknown("epoll_wait_old");
  t[216] = Unknown("remap_file_pages");
  t[217] = Once("getdents64", {Fd(), OutRet(2), Scalar()});
  t[218] = Local("set_tid_address", {Ptr()});
  t[219] = Local("restart_syscall", {});
  // The kernel does not write the time left back.
  t[220] = Once("semtimedop", {Scalar(), InLen(2, kSembuf), Scalar(), Opt(In(kTimespec))}, kNever);
  t[221] = Once("fadvise64", {Fd(), Scalar(), Scalar(), Scalar()});
  // POSIX timers are the supervisor's, like setitimer's (supervisor/timers.cc).
  t[222] = Special("timer_create", {Scalar(), Opt(In(kSigevent)), Out(kTimerT)});
  t[223] = Special("timer_settime", {Scalar(), Scalar(), In(kItimerspec), Opt(Out(kItimerspec))});
  t[224] = Special("timer_gettime", {Scalar(), Out(kItimerspec)});
  t[225] = Special("timer_getoverrun", {Scalar()});
  t[226] = Special("timer_delete", {Scalar()});
  t[227] = Once("clock_settime", {Scalar(), In(kTimespec)});
  t[228] = Virtual("clock_gettime", {Scalar(), Out(kTimespec)});
  t[229] = Virtual("clock_getres", {Scalar(), Opt(Out(kTimespec))});
  t[230] = Once("clock_nanosleep", {Scalar(), Scalar(), In(kTimespec), Opt(Out(kTimespec))},
                kNanosleepLike);
  t[231] = VoteThenLocal("exit_group", {Scalar()});
  // The valid events are the return value's count.
  t[232] = Once("epoll_wait", {Fd(), OutRet(2, kEpollEvent), Scalar(), Scalar()}, kNever);
  t[233] = Once("epoll_ctl", {Fd(), Scalar(), Fd(), Opt(In(kEpollEvent))});
  t[234] = Special("tgkill", {Pid(), Pid(), Sig()});
  t[235] = Once("utimes", {Path(), Opt(In(kTimevalPair))});
  t[236] = Unknown("vserver");
  // Memory policy: the replica's own memory.
  t[237] = Local("mbind", {Ptr(), Scalar(), Scalar(), Ptr(), Scalar(), Scalar()});
  t[238] = Local("set_mempolicy", {Scalar(), Ptr(), Scalar()});
  t[239] = Local("get_mempolicy", {Ptr(), Ptr(), Scalar(), Ptr(), Scalar()});
  // POSIX message queues are kernel objects, like pipes; mq_notify would signal nmr-run
  // rather than the process, and stays ENOSYS.
  t[240] = Once("mq_open", {Path(), Scalar(), Scalar(), Opt(In(kMqAttr))});
  t[241] = Once("mq_unlink", {Path()});
  t[242] = Once("mq_timedsend", {Fd(), InLen(2), Scalar(), Scalar(), Opt(In(kTimespec))});
  t[243] = Once("mq_timedreceive",
                {Fd(), OutRet(2), Scalar(), Opt(Out(4)), Opt(In(kTimespec))});
  t[244] = Unknown("mq_notify");
  t[245] = Once("mq_getsetattr", {Fd(), Opt(In(kMqAttr)), Opt(Out(kMqAttr))});
  t[246] = Deny("kexec_load", EPERM, {Scalar(), Scalar(), Ptr(), Scalar()});
  // The id is a pid, a pgid or a pidfd depending on idtype.
  t[247] = Special("waitid", {Scalar(), Scalar(), Ptr(), Scalar(), Ptr()});
  t[248] = Unknown("add_key");
  t[249] = Unknown("request_key");
  t[250] = Unknown("keyctl");
  // IOPRIO_WHO_PROCESS with who 0 is the replica itself (ionice COMMAND).
  t[251] = Local("ioprio_set", {Scalar(), Pid(), Scalar()});
  t[252] = Local("ioprio_get", {Scalar(), Pid()});
  t[253] = Once("inotify_init", {});
  t[254] = Once("inotify_add_watch", {Fd(), Path(), Scalar()});
  t[255] = Once("inotify_rm_watch", {Fd(), Scalar()});
  t[256] = Unknown("migrate_pages");
  t[257] = Once("openat", {Fd(), Path(), Scalar(), Scalar()});
  t[258] = Once("mkdirat", {Fd(), Path(), Scalar()});
  t[259] = Once("mknodat", {Fd(), Path(), Scalar(), Scalar()});
  t[260] = Once("fchownat", {Fd(), Path(), Scalar(), Scalar(), Scalar()});
  // A null path means dirfd itself (like futimens).
  t[261] = Once("futimesat", {Fd(), Opt(Path()), Opt(In(kTimevalPair))});
  // A null path with AT_EMPTY_PATH is accepted since Linux 6.11.
  t[262] = Once("newfstatat", {Fd(), Opt(Path()), Out(kStat), Scalar()});
  t[263] = Once("unlinkat", {Fd(), Path(), Scalar()});
  t[264] = Once("renameat", {Fd(), Path(), Fd(), Path()});
  t[265] = Once("linkat", {Fd(), Path(), Fd(), Path(), Scalar()});
  t[266] = Once("symlinkat", {Path(), Fd(), Path()});
  t[267] = Once("readlinkat", {Fd(), Path(), OutRet(3), Scalar()});
  t[268] = Once("fchmodat", {Fd(), Path(), Scalar()});
  t[269] = Once("faccessat", {Fd(), Path(), Scalar()});
  // Like select; the sixth argument points at {sigset pointer, size}.
  t[270] =
      // The sixth argument is {const sigset_t* ss; size_t ss_len}: the struct is read here,
      // the set it points to by marshal.cc (kPselectArgPack), which appends it to the copy.
      Once("pselect6", {Scalar(), FdSet(), FdSet(), FdSet(), Opt(InOut(kTimespec)), Opt(In(16))},
           kNever);
  // The timeout is written back with the time left, like select's.
  t[271] =
      Once("ppoll", {InOutLen(1, kPollfd), Scalar(), Opt(InOut(kTimespec)), Sigmask(4), Scalar()},
           kNever);
  t[272] = Deny("unshare", EPERM, {Scalar()});
  t[273] = Local("set_robust_list", {Ptr(), Scalar()});
  t[274] = Local("get_robust_list", {Pid(), Out(8), Out(8)});
  t[275] = Once("splice", {Fd(), Opt(InOut(kLoffT)), Fd(), Opt(InOut(kLoffT)), Scalar(), Scalar()});
  // Unlike splice, tee has no offsets.
  t[276] = Once("tee", {Fd(), Fd(), Scalar(), Scalar()});
  t[277] = Once("sync_file_range", {Fd(), Scalar(), Scalar(), Scalar()});
  t[278] = Unknown("vmsplice");
  t[279] = Unknown("move_pages");
  t[280] = Once("utimensat", {Fd(), Opt(Path()), Opt(In(kTimespecPair)), Scalar()});
  t[281] = Once("epoll_pwait",
                {Fd(), OutRet(2, kEpollEvent), Scalar(), Scalar(), Sigmask(5), Scalar()}, kNever);
  // Emulated with a pipe (supervisor/signalfd.cc); the mask's size is the third argument.
  t[282] = Special("signalfd", {Fd(), InLen(2), Scalar()});
  t[283] = Once("timerfd_create", {Scalar(), Scalar()});
  t[284] = Once("eventfd", {Scalar()});
  t[285] = Once("fallocate", {Fd(), Scalar(), Scalar(), Scalar()});
  t[286] = Once("timerfd_settime", {Fd(), Scalar(), In(kItimerspec), Opt(Out(kItimerspec))});
  t[287] = Once("timerfd_gettime", {Fd(), Out(kItimerspec)});
  t[288] = Special("accept4", {Fd(), Ptr(), Ptr(), Scalar()});
  t[289] = Special("signalfd4", {Fd(), InLen(2), Scalar(), Scalar()});
  t[290] = Once("eventfd2", {Scalar(), Scalar()});
  t[291] = Once("epoll_create1", {Scalar()});
  t[292] = Once("dup3", {Fd(), Fd(), Scalar()});
  t[293] = Once("pipe2", {Out(kFdPair), Scalar()});
  t[294] = Once("inotify_init1", {Scalar()});
  t[295] = Once("preadv", {Fd(), IovOut(2), Scalar(), Scalar(), Scalar()});
  t[296] = Once("pwritev", {Fd(), IovIn(2), Scalar(), Scalar(), Scalar()});
  t[297] = Special("rt_tgsigqueueinfo", {Pid(), Pid(), Sig(), In(kSiginfo)});
  t[298] = Deny("perf_event_open", EACCES, {Ptr(), Pid(), Scalar(), Fd(), Scalar()});
  // An array of struct mmsghdr (core/msghdr.h). Linux writes the time left back into the
  // timeout when it returns messages. Restarted after an SA_RESTART handler even with a
  // timeout (signal(7) says never; measured on 6.18, the kernel restarts it, as recvmsg).
  t[299] = Special("recvmmsg", {Fd(), Ptr(), Scalar(), Scalar(), Opt(InOut(kTimespec))});
  t[300] = Unknown("fanotify_init");
  t[301] = Unknown("fanotify_mark");
  t[302] = Once("prlimit64", {Pid(), Scalar(), Opt(In(kRlimit)), Opt(Out(kRlimit))});
  t[303] = Unknown("name_to_handle_at");  // struct file_handle
  t[304] = Unknown("open_by_handle_at");  // struct file_handle
  t[305] = Once("clock_adjtime", {Scalar(), InOut(kTimex)});
  t[306] = Once("syncfs", {Fd()});
  t[307] = Special("sendmmsg", {Fd(), Ptr(), Scalar(), Scalar()});  // core/msghdr.h
  t[308] = Deny("setns", EPERM, {Fd(), Scalar()});
  t[309] = Virtual("getcpu", {Opt(Out(4)), Opt(Out(4)), Ptr()});
  t[310] = Deny("process_vm_readv", EPERM, {Pid(), Ptr(), Scalar(), Ptr(), Scalar(), Scalar()});
  t[311] = Deny("process_vm_writev", EPERM, {Pid(), Ptr(), Scalar(), Ptr(), Scalar(), Scalar()});
  t[312] = Unknown("kcmp");
  t[313] = Deny("finit_module", EPERM, {Fd(), Ptr(), Scalar()});
  t[314] = Local("sched_setattr", {Pid(), Ptr(), Scalar()});
  t[315] = Local("sched_getattr", {Pid(), Ptr(), Scalar(), Scalar()});
  t[316] = Once("renameat2", {Fd(), Path(), Fd(), Path(), Scalar()});
  t[317] = Deny("seccomp", EINVAL, {Scalar(), Scalar(), Ptr()});
  // Reads before a blocking pool is ready are restartable (signal(7)).
  t[318] = Virtual("getrandom", {OutRet(1), Scalar(), Scalar()});
  // The name is a string the kernel reads, like a path.
  t[319] = Once("memfd_create", {Path(), Scalar()});
  t[320] = Deny("kexec_file_load", EPERM, {Fd(), Fd(), Scalar(), Ptr(), Scalar()});
  t[321] = Deny("bpf", EPERM, {Scalar(), Ptr(), Scalar()});
  t[322] = Special("execveat", {Fd(), Path(), Ptr(), Ptr(), Scalar()});
  t[323] = Deny("userfaultfd", EPERM, {Scalar()});
  t[324] = Local("membarrier", {Scalar(), Scalar(), Scalar()});
  t[325] = Local("mlock2", {Ptr(), Scalar(), Scalar()});
  t[326] = Once("copy_file_range",
                {Fd(), Opt(InOut(kLoffT)), Fd(), Opt(InOut(kLoffT)), Scalar(), Scalar()});
  t[327] = Once("preadv2", {Fd(), IovOut(2), Scalar(), Scalar(), Scalar(), Scalar()});
  t[328] = Once("pwritev2", {Fd(), IovIn(2), Scalar(), Scalar(), Scalar(), Scalar()});
  t[329] = Local("pkey_mprotect", {Ptr(), Scalar(), Scalar(), Scalar()});
  t[330] = Local("pkey_alloc", {Scalar(), Scalar()});
  t[331] = Local("pkey_free", {Scalar()});
  // A null path with AT_EMPTY_PATH is accepted since Linux 6.11.
  t[332] = Once("statx", {Fd(), Opt(Path()), Scalar(), Scalar(), Out(kStatx)});
  t[333] = Unknown("io_pgetevents");
  t[334] = Deny("rseq", ENOSYS, {Ptr(), Scalar(), Scalar(), Scalar()});
  t[424] = Unknown("pidfd_send_signal");
  t[425] = Deny("io_uring_setup", ENOSYS, {Scalar(), Ptr()});
  t[426] = Deny("io_uring_enter", ENOSYS, {Fd(), Scalar(), Scalar(), Scalar(), Ptr(), Scalar()});
  t[427] = Deny("io_uring_register", ENOSYS, {Fd(), Scalar(), Ptr(), Scalar()});
  t[428] = Unknown("open_tree");
  t[429] = Unknown("move_mount");
  t[430] = Unknown("fsopen");
  t[431] = Unknown("fsconfig");
  t[432] = Unknown("fsmount");
  t[433] = Unknown("fspick");
  t[434] = Unknown("pidfd_open");
  // struct clone_args, of the size in argument 1 (RefineSpec caps it at a page).
  t[435] = Special("clone3", {InLen(1), Scalar()});
  // Bounds of a range, not fds that must exist (the last is often ~0U).
  t[436] = Once("close_range", {Scalar(), Scalar(), Scalar()});
  // struct open_how is extensible: its size is the fourth argument.
  t[437] = Once("openat2", {Fd(), Path(), InLen(3), Scalar()});
  t[438] = Deny("pidfd_getfd", EPERM, {Fd(), Scalar(), Scalar()});
  t[439] = Once("faccessat2", {Fd(), Path(), Scalar(), Scalar()});
  t[440] = Unknown("process_madvise");
  t[441] = Once("epoll_pwait2",
                {Fd(), OutRet(2, kEpollEvent), Scalar(), Opt(In(kTimespec)), Sigmask(5), Scalar()},
                kNever);
  t[442] = Unknown("mount_setattr");
  t[443] = Unknown("quotactl_fd");
  t[444] = Unknown("landlock_create_ruleset");
  t[445] = Unknown("landlock_add_rule");
  t[446] = Unknown("landlock_restrict_self");
  t[447] = Unknown("memfd_secret");
  t[448] = Unknown("process_mrelease");
  t[449] = Local("futex_waitv", {Ptr(), Scalar(), Scalar(), Ptr(), Scalar()});
  t[450] = Local("set_mempolicy_home_node", {Ptr(), Scalar(), Scalar(), Scalar()});
  t[451] = Unknown("cachestat");
  t[452] = Once("fchmodat2", {Fd(), Path(), Scalar(), Scalar()});
  t[453] = Unknown("map_shadow_stack");
  t[454] = Local("futex_wake", {Ptr(), Scalar(), Scalar(), Scalar()});
  t[455] = Local("futex_wait", {Ptr(), Scalar(), Scalar(), Scalar(), Ptr(), Scalar()});
  t[456] = Local("futex_requeue", {Ptr(), Scalar(), Scalar(), Scalar()});
  t[457] = Unknown("statmount");
  t[458] = Unknown("listmount");
  t[459] = Unknown("lsm_get_self_attr");
  t[460] = Unknown("lsm_set_self_attr");
  t[461] = Unknown("lsm_list_modules");
  t[462] = Local("mseal", {Ptr(), Scalar(), Scalar()});
  return t;
}();

constexpr SyscallSpec kOutOfRange = Unknown(nullptr);

}  // namespace

const SyscallSpec& SyscallInfo(long nr) {
  if (nr < 0 || nr >= kMaxSyscall) {
    return kOutOfRange;
  }
  return kTable[nr];
}

int LocalPidArg(const SyscallSpec& spec) {
  if (spec.cls != SyscallClass::kLocal) {
    return -1;
  }
  for (int i = 0; i < spec.arg_count; ++i) {
    if (spec.args[i].kind == ArgKind::kPid) {
      return i;
    }
  }
  return -1;
}

const char* SyscallName(long nr) {
  const char* name = SyscallInfo(nr).name;
  return name != nullptr ? name : "unknown";
}

long SyscallNumber(const char* name) {
  if (name == nullptr) {
    return -1;
  }
  for (int nr = 0; nr < kMaxSyscall; ++nr) {
    const char* candidate = kTable[nr].name;
    if (candidate == nullptr) {
      continue;
    }
    // By hand, not strcmp: the shim links without libc.
    int i = 0;
    while (candidate[i] != '\0' && candidate[i] == name[i]) {
      ++i;
    }
    if (candidate[i] == name[i]) {
      return nr;
    }
  }
  return -1;
}

}  // namespace nmr
