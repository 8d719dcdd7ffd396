// The seccomp filters installed for real (supervisor/filter.h), each in a forked child: the
// shim filter with a SIGSYS handler, and the base filter with a USER_NOTIF listener that the
// parent takes over with pidfd_getfd, as the spawner does.
//
// After its filter is in, a child makes only the calls the filter is meant to let through,
// plus the probes: it reports through a pipe and exits through its own gate page (the same
// `syscall; ret` at kGateAddress the shim maps), so that exit_group itself is not trapped.
// Every wait is bounded, and every child is killed and reaped whatever the test's outcome.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "interface/channel.h"
#include "shim/gate.h"  // GateSyscall (this target is built with -mno-red-zone, as the shim)
#include "supervisor/core/filter.h"

namespace nmr {
namespace {

constexpr int kWaitMs = 10'000;
constexpr int kSysSeccomp = 1;  // si_code of a SIGSYS from SECCOMP_RET_TRAP
// An address whose low 32 bits are the gate's, on a page of its own: not the gate.
constexpr uint64_t kDecoyAddress = (uint64_t{1} << 32) | kGateAddress;

// Child exit codes for failures before the filter is in (after it, failures are reported).
enum ChildExit : int {
  kChildOk = 0,
  kNoGatePage = 10,
  kNoSigaction = 11,
  kNoNewPrivs = 12,
  kNoSeccomp = 13,
  kExitTrapped = 14,  // exit_group reached the SIGSYS handler: the gate did not pass it
  kReportFailed = 15,
};

// ---- Child-side helpers (async-signal-safe, no allocation) --------------------------------

// Maps a page at `address` holding `syscall; ret`. Before any filter.
bool MapSyscallPage(uint64_t address) {
  void* page = mmap(reinterpret_cast<void*>(address), 4096, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (page != reinterpret_cast<void*>(address)) {
    return false;
  }
  static const unsigned char kCode[] = {0x0f, 0x05, 0xc3};  // syscall; ret
  std::memcpy(page, kCode, sizeof kCode);
  return mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0;
}

// A syscall made by calling `syscall; ret` at `page` (GateSyscall with another address).
long SyscallThroughPage(uint64_t page, long nr, long a0 = 0) {
  long ret;
  __asm__ volatile("call *%[page]"
                   : "=a"(ret)
                   : "a"(nr), "D"(a0), [page] "r"(page)
                   : "rcx", "r11", "memory", "cc");
  return ret;
}

[[noreturn]] void ExitThroughGate(int code) {
  shim::GateSyscall(SYS_exit_group, code);
  for (;;) {
  }
}

void NoCoreDumps() {
  rlimit none{0, 0};
  setrlimit(RLIMIT_CORE, &none);
}

// ---- Waiting for children -----------------------------------------------------------------

// Owns a forked child: kills and reaps it unless it was reaped already.
class ChildProcess {
 public:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ~ChildProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Waits up to `ms` for the child to end; then kills it. Returns its wait status, and
  // whether it ended on its own in time.
  bool Wait(int ms, int* status) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
      pid_t got = waitpid(pid_, status, WNOHANG);
      if (got == pid_) {
        pid_ = -1;
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, status, 0);
    pid_ = -1;
    return false;
  }

  // Whether the child has ended (reaping it if so).
  bool Exited() {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }

 private:
  pid_t pid_;
};

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) {
    return "exited with " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return std::string("killed by ") + strsignal(WTERMSIG(status));
  }
  return "status " + std::to_string(status);
}

// Reads exactly `length` bytes within `ms`, or fewer if the writer went away or time ran out.
size_t ReadWithin(int fd, void* out, size_t length, int ms) {
  size_t done = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (done < length) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    until - std::chrono::steady_clock::now())
                                    .count());
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, left) <= 0) {
      break;
    }
    ssize_t n = read(fd, static_cast<char*>(out) + done, length - done);
    if (n <= 0) {
      break;
    }
    done += static_cast<size_t>(n);
  }
  return done;
}

bool InstallFilter(const BpfProgram& program, unsigned flags, long* result) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return false;
  }
  sock_fprog prog{static_cast<unsigned short>(program.size()),
                  const_cast<sock_filter*>(program.data())};
  *result = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  return *result >= 0;
}

// ---- The shim filter ----------------------------------------------------------------------

struct TrapRecord {
  int32_t nr;
  int32_t code;
  uint32_t arch;
  uint64_t call_addr;
};

// What the child saw, sent to the parent in one write through the gate.
struct ShimProbe {
  int64_t pid = 0;  // getpid() before the filter
  int64_t getpid_libc = 0;
  int32_t getpid_libc_errno = 0;
  int64_t getpid_gate = 0;
  int32_t decoy_mapped = 0;
  int64_t getpid_decoy = 0;
  int64_t sched_yield = -1;
  int64_t anon_mmap = 0;
  int64_t munmap = -1;
  int64_t file_mmap = 0;
  int32_t file_mmap_errno = 0;
  int64_t write = 0;
  int32_t write_errno = 0;
  int64_t openat = 0;
  int32_t openat_errno = 0;
  int32_t trap_count = 0;
  TrapRecord traps[16] = {};
};

// Written by the SIGSYS handler of the child only.
TrapRecord g_traps[16];
volatile int g_trap_count = 0;

void RecordingSigsysHandler(int, siginfo_t* info, void* context) {
  if (info->si_syscall == SYS_exit_group || info->si_syscall == SYS_exit) {
    shim::GateSyscall(SYS_exit_group, kExitTrapped);
  }
  int k = g_trap_count;
  if (k < 16) {
    g_traps[k] = {info->si_syscall, info->si_code, info->si_arch,
                  reinterpret_cast<uint64_t>(info->si_call_addr)};
    g_trap_count = k + 1;
  }
  auto* uc = static_cast<ucontext_t*>(context);
  uc->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
}

[[noreturn]] void RunShimChild(int report_fd) {
  NoCoreDumps();
  ShimProbe probe;
  probe.pid = getpid();
  if (!MapSyscallPage(kGateAddress)) {
    _exit(kNoGatePage);
  }
  probe.decoy_mapped = MapSyscallPage(kDecoyAddress) ? 1 : 0;
  struct sigaction action {};
  action.sa_sigaction = RecordingSigsysHandler;
  action.sa_flags = SA_SIGINFO;
  if (sigaction(SIGSYS, &action, nullptr) != 0) {
    _exit(kNoSigaction);
  }
  const BpfProgram filter = BuildShimFilter();  // built before: allocation may call brk/mmap
  long installed;
  if (!InstallFilter(filter, 0, &installed)) {
    _exit(installed < 0 ? kNoSeccomp : kNoNewPrivs);
  }

  // From here: the gate, the local class, anonymous mmap and rt_sigreturn pass; the rest traps.
  errno = 0;
  probe.getpid_libc = syscall(SYS_getpid);
  probe.getpid_libc_errno = errno;
  probe.getpid_gate = shim::GateSyscall(SYS_getpid);
  if (probe.decoy_mapped) {
    probe.getpid_decoy = SyscallThroughPage(kDecoyAddress, SYS_getpid);
  }
  probe.sched_yield = syscall(SYS_sched_yield);
  probe.anon_mmap =
      syscall(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  probe.munmap = syscall(SYS_munmap, probe.anon_mmap, 4096);
  errno = 0;
  probe.file_mmap = syscall(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE, report_fd, 0);
  probe.file_mmap_errno = errno;
  errno = 0;
  probe.write = write(report_fd, "x", 1);
  probe.write_errno = errno;
  errno = 0;
  probe.openat = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY, 0);
  probe.openat_errno = errno;

  probe.trap_count = g_trap_count;
  std::memcpy(probe.traps, g_traps, sizeof probe.traps);
  long sent = shim::GateSyscall(SYS_write, report_fd, reinterpret_cast<long>(&probe), sizeof probe);
  ExitThroughGate(sent == static_cast<long>(sizeof probe) ? kChildOk : kReportFailed);
}

TEST(ShimFilterInstalledTest, TrapsWhatItMustAndPassesTheRest) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    RunShimChild(fds[1]);
  }
  ChildProcess child(pid);
  close(fds[1]);
  ShimProbe probe;
  size_t got = ReadWithin(fds[0], &probe, sizeof probe, kWaitMs);
  close(fds[0]);
  int status = 0;
  ASSERT_TRUE(child.Wait(kWaitMs, &status)) << "the child did not end";
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == kChildOk) << DescribeStatus(status);
  ASSERT_EQ(got, sizeof probe) << "the report through the gate did not arrive";

  EXPECT_EQ(probe.pid, pid);
  // An unvoted call from libc traps; the handler's -ENOSYS is what the caller sees.
  EXPECT_EQ(probe.getpid_libc, -1);
  EXPECT_EQ(probe.getpid_libc_errno, ENOSYS);
  // The same call through the gate reaches the kernel.
  EXPECT_EQ(probe.getpid_gate, pid);
  // A page whose address matches the gate's low half only is not the gate.
  EXPECT_TRUE(probe.decoy_mapped) << "could not map a page at " << std::hex << kDecoyAddress;
  if (probe.decoy_mapped) {
    EXPECT_EQ(probe.getpid_decoy, -ENOSYS);
  }
  // The local class and anonymous mmap pass (rt_sigreturn too: every handler returned).
  EXPECT_EQ(probe.sched_yield, 0);
  EXPECT_GT(probe.anon_mmap, 0);
  EXPECT_EQ(probe.munmap, 0);
  // File mappings and execute-once calls trap.
  EXPECT_EQ(probe.file_mmap, -1);
  EXPECT_EQ(probe.file_mmap_errno, ENOSYS);
  EXPECT_EQ(probe.write, -1);
  EXPECT_EQ(probe.write_errno, ENOSYS);
  EXPECT_EQ(probe.openat, -1);
  EXPECT_EQ(probe.openat_errno, ENOSYS);

  std::vector<int> expected = {SYS_getpid};
  if (probe.decoy_mapped) {
    expected.push_back(SYS_getpid);
  }
  for (int nr : {SYS_mmap, SYS_write, SYS_openat}) {
    expected.push_back(nr);
  }
  ASSERT_EQ(probe.trap_count, static_cast<int>(expected.size()));
  for (int k = 0; k < probe.trap_count; ++k) {
    const TrapRecord& t = probe.traps[k];
    EXPECT_EQ(t.nr, expected[static_cast<size_t>(k)]) << "trap " << k;
    EXPECT_EQ(t.code, kSysSeccomp) << "trap " << k;
    EXPECT_EQ(t.arch, AUDIT_ARCH_X86_64) << "trap " << k;
    EXPECT_NE(t.call_addr, kGateSyscallReturnIp) << "trap " << k;
  }
  if (probe.decoy_mapped) {
    EXPECT_EQ(probe.traps[1].call_addr, kDecoyAddress + 2);
  }
}

// A child that installs the shim filter and then runs `body`; the parent expects it to be
// killed by SIGSYS (SECCOMP_RET_KILL_PROCESS).
template <typename Body>
void ExpectKilledUnderShimFilter(Body body) {
  const BpfProgram filter = BuildShimFilter();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    NoCoreDumps();
    if (!MapSyscallPage(kGateAddress)) {
      _exit(kNoGatePage);
    }
    long installed;
    if (!InstallFilter(filter, 0, &installed)) {
      _exit(kNoSeccomp);
    }
    body();
    // Survived: say so through the gate (a trapped exit_group would also die of SIGSYS).
    ExitThroughGate(kChildOk);
  }
  ChildProcess child(pid);
  int status = 0;
  ASSERT_TRUE(child.Wait(kWaitMs, &status));
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) << DescribeStatus(status);
}

TEST(ShimFilterInstalledTest, AnX32NumberKillsTheProcess) {
  // Even sched_yield, which passes as a 64-bit call.
  ExpectKilledUnderShimFilter([] { syscall(0x40000000 | SYS_sched_yield); });
}

long Int80(long nr) {
  long ret;
  // The kernel clears r8-r11 on the compat entry.
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr) : "r8", "r9", "r10", "r11", "memory", "cc");
  return ret;
}

TEST(ShimFilterInstalledTest, AnInt80CallKillsTheProcess) {
  // Without a filter, int $0x80 getpid (20 on i386) works only if the kernel has IA32
  // emulation; otherwise there is nothing to test.
  pid_t probe = fork();
  ASSERT_GE(probe, 0);
  if (probe == 0) {
    NoCoreDumps();
    _exit(Int80(20) == getpid() ? 0 : 1);
  }
  ChildProcess prober(probe);
  int status = 0;
  ASSERT_TRUE(prober.Wait(kWaitMs, &status));
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    GTEST_SKIP() << "no IA32 emulation here (" << DescribeStatus(status) << ")";
  }
  ExpectKilledUnderShimFilter([] { Int80(20); });
}

// ---- The base filter and its listener -----------------------------------------------------

// Shared between the parent and the child (MAP_SHARED), as the channel is in the spawner.
struct BaseShared {
  std::atomic<int32_t> listener_fd{-1};
  std::atomic<uint32_t> go{0};
  int64_t rseq = 0;
  int32_t rseq_errno = 0;
  int64_t open_readonly = -1;
  int64_t write = 0;
  int32_t write_errno = 0;
  int64_t getppid = 0;
  std::atomic<uint32_t> done{0};
};

long Futex(void* word, int op, uint32_t value, const timespec* timeout = nullptr) {
  return syscall(SYS_futex, word, op, value, timeout, nullptr, 0);
}

const char kExecvePath[] = "/nonexistent/only-this-pointer-passes";

[[noreturn]] void RunBaseChild(BaseShared* shared, int pipe_w) {
  NoCoreDumps();
  if (!MapSyscallPage(kGateAddress)) {
    _exit(kNoGatePage);
  }
  const BpfProgram filter = BuildBaseFilter(reinterpret_cast<uint64_t>(kExecvePath));
  long listener;
  if (!InstallFilter(filter, SECCOMP_FILTER_FLAG_NEW_LISTENER, &listener)) {
    _exit(kNoSeccomp);
  }
  // From here: the loader's set (futex, openat read-only, close, ...) passes; rseq gets
  // ENOSYS; everything else waits for the listener.
  shared->listener_fd.store(static_cast<int32_t>(listener));
  Futex(&shared->listener_fd, FUTEX_WAKE, 1);
  while (shared->go.load() == 0) {
    Futex(&shared->go, FUTEX_WAIT, 0);
  }
  errno = 0;
  shared->rseq = syscall(SYS_rseq, nullptr, 0, 0, 0);
  shared->rseq_errno = errno;
  shared->open_readonly = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY | O_CLOEXEC, 0);
  if (shared->open_readonly >= 0) {
    syscall(SYS_close, shared->open_readonly);
  }
  errno = 0;
  shared->write = syscall(SYS_write, pipe_w, "hello", 5);  // to the listener
  shared->write_errno = errno;
  shared->getppid = syscall(SYS_getppid);  // to the listener, which lets it continue
  shared->done.store(1);
  ExitThroughGate(kChildOk);
}

// Receives one notification within `ms`.
bool Receive(int listener, seccomp_notif* out, int ms) {
  pollfd p{listener, POLLIN, 0};
  if (poll(&p, 1, ms) != 1) {
    return false;
  }
  std::memset(out, 0, sizeof *out);  // the kernel insists
  return ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, out) == 0;
}

TEST(BaseFilterInstalledTest, TheListenerHearsWhatTheLoaderDoesNotDo) {
  void* page =
      mmap(nullptr, sizeof(BaseShared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  auto* shared = new (page) BaseShared;
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);

  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    RunBaseChild(shared, fds[1]);
  }
  ChildProcess child(pid);
  close(fds[1]);

  // The child publishes its listener's fd number; the parent takes the listener.
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kWaitMs);
  while (shared->listener_fd.load() < 0 && std::chrono::steady_clock::now() < until &&
         !child.Exited()) {
    timespec tick{0, 10'000'000};
    Futex(&shared->listener_fd, FUTEX_WAIT, static_cast<uint32_t>(-1), &tick);
  }
  ASSERT_GE(shared->listener_fd.load(), 0) << "the child did not install the base filter";
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  ASSERT_GE(pidfd, 0) << strerror(errno);
  int listener = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, shared->listener_fd.load(), 0));
  int getfd_errno = errno;
  close(pidfd);
  if (listener < 0 && (getfd_errno == EPERM || getfd_errno == ENOSYS)) {
    GTEST_SKIP() << "pidfd_getfd: " << strerror(getfd_errno);
  }
  ASSERT_GE(listener, 0) << strerror(getfd_errno);
  shared->go.store(1);
  Futex(&shared->go, FUTEX_WAKE, 1);

  // First notification: the write. rseq and the read-only openat came before it and did not
  // reach the listener.
  seccomp_notif note;
  ASSERT_TRUE(Receive(listener, &note, kWaitMs)) << "no notification";
  EXPECT_EQ(note.pid, static_cast<uint32_t>(pid));
  EXPECT_EQ(note.data.nr, SYS_write);
  EXPECT_EQ(note.data.arch, AUDIT_ARCH_X86_64);
  EXPECT_EQ(note.data.args[0], static_cast<uint64_t>(fds[1]));
  EXPECT_EQ(note.data.args[2], 5u);
  EXPECT_NE(note.data.instruction_pointer, kGateSyscallReturnIp);
  char bytes[5] = {};
  iovec local{bytes, sizeof bytes};
  iovec remote{reinterpret_cast<void*>(note.data.args[1]), sizeof bytes};
  EXPECT_EQ(process_vm_readv(pid, &local, 1, &remote, 1, 0), 5);
  EXPECT_EQ(std::string(bytes, 5), "hello");
  // Answer it without executing it.
  seccomp_notif_resp resp{};
  resp.id = note.id;
  resp.val = 4242;
  ASSERT_EQ(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0) << strerror(errno);

  // Second: getppid; let the kernel run it.
  ASSERT_TRUE(Receive(listener, &note, kWaitMs)) << "no second notification";
  EXPECT_EQ(note.data.nr, SYS_getppid);
  resp = {};
  resp.id = note.id;
  resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  ASSERT_EQ(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0) << strerror(errno);

  int status = 0;
  bool ended = child.Wait(kWaitMs, &status);
  close(listener);
  ASSERT_TRUE(ended) << "the child did not end";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == kChildOk) << DescribeStatus(status);
  EXPECT_EQ(shared->done.load(), 1u);
  EXPECT_EQ(shared->rseq, -1);
  EXPECT_EQ(shared->rseq_errno, ENOSYS);
  EXPECT_GE(shared->open_readonly, 0);
  EXPECT_EQ(shared->write, 4242) << "the listener's answer";
  EXPECT_EQ(shared->getppid, getpid());
  char c;
  EXPECT_EQ(read(fds[0], &c, 1), 0) << "the write was answered, never executed: EOF, no byte";
  close(fds[0]);
  shared->~BaseShared();
  munmap(page, sizeof(BaseShared));
}

}  // namespace
}  // namespace nmr
