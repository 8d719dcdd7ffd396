// The fast path (DESIGN.md "Interception" 3): the shim exports the libc wrappers that
// programs call most, and votes without a SIGSYS round trip through the kernel. Everything
// here is an optimisation only: with the fast path off (nmr-run --no-fast-path) each wrapper
// makes the plain syscall, which traps, and the result is the same. libc's internal calls
// (stdio's write) never come here; they trap.
//
// The shim itself never calls these by name (it uses the gate), so a program that defines
// its own `write` cannot redirect the shim.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "shim/gate.h"
#include "shim/vote.h"

// libc's errno for this thread. Weak: resolved through the global scope at load time
// (-z now), without a DT_NEEDED on libc; a pure TLS address computation, signal-safe.
extern "C" int* __errno_location() __attribute__((weak));

namespace nmr::shim {
namespace {

long ReturnToLibc(long result) {
  if (result < 0 && result > -4096) {
    if (__errno_location != nullptr) {
      *__errno_location() = static_cast<int>(-result);
    }
    return -1;
  }
  return result;
}

long Call(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0) {
  if (!FastPathEnabled()) {
    // Not under nmr-run, or the fast path is off: the ordinary syscall (which traps).
    return ReturnToLibc(DirectSyscall(nr, a0, a1, a2, a3, a4, a5));
  }
  // No program signal handler may run inside a half-finished vote: block them all, as the
  // SIGSYS handler's mask does.
  long args[6] = {a0, a1, a2, a3, a4, a5};
  for (;;) {
    unsigned long all = ~0UL;
    unsigned long old = 0;
    GateSyscall(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&all),
                reinterpret_cast<long>(&old), 8);
    long result = Vote(nr, args, reinterpret_cast<unsigned long>(__builtin_return_address(0)), old);
    // Signals the reply queued are delivered here, to the program's handlers.
    GateSyscall(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&old), 0, 8);
    if (result != kRestartCall) {
      return ReturnToLibc(result);
    }
  }
}

long L(const void* p) { return reinterpret_cast<long>(p); }

}  // namespace
}  // namespace nmr::shim

using nmr::shim::Call;
using nmr::shim::L;

#define NMR_EXPORT extern "C" __attribute__((visibility("default")))

NMR_EXPORT ssize_t read(int fd, void* buf, size_t n) { return Call(SYS_read, fd, L(buf), n); }
NMR_EXPORT ssize_t write(int fd, const void* buf, size_t n) {
  return Call(SYS_write, fd, L(buf), n);
}
NMR_EXPORT ssize_t pread64(int fd, void* buf, size_t n, off_t off) {
  return Call(SYS_pread64, fd, L(buf), n, off);
}
NMR_EXPORT ssize_t pwrite64(int fd, const void* buf, size_t n, off_t off) {
  return Call(SYS_pwrite64, fd, L(buf), n, off);
}
NMR_EXPORT ssize_t pread(int fd, void* buf, size_t n, off_t off) {
  return Call(SYS_pread64, fd, L(buf), n, off);
}
NMR_EXPORT ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
  return Call(SYS_pwrite64, fd, L(buf), n, off);
}
NMR_EXPORT ssize_t readv(int fd, const iovec* iov, int count) {
  return Call(SYS_readv, fd, L(iov), count);
}
NMR_EXPORT ssize_t writev(int fd, const iovec* iov, int count) {
  return Call(SYS_writev, fd, L(iov), count);
}
NMR_EXPORT off_t lseek(int fd, off_t offset, int whence) {
  return Call(SYS_lseek, fd, offset, whence);
}
NMR_EXPORT off_t lseek64(int fd, off_t offset, int whence) {
  return Call(SYS_lseek, fd, offset, whence);
}
NMR_EXPORT int close(int fd) { return static_cast<int>(Call(SYS_close, fd)); }

// open and openat take a mode only with O_CREAT or O_TMPFILE; glibc's own open is openat.
#define NMR_MODE_ARG(flags, last)                 \
  mode_t mode = 0;                                \
  if (((flags) & (O_CREAT | __O_TMPFILE)) != 0) { \
    va_list ap;                                   \
    va_start(ap, last);                           \
    mode = va_arg(ap, mode_t);                    \
    va_end(ap);                                   \
  }

NMR_EXPORT int open(const char* path, int flags, ...) {
  NMR_MODE_ARG(flags, flags)
  return static_cast<int>(Call(SYS_openat, AT_FDCWD, L(path), flags, mode));
}
NMR_EXPORT int open64(const char* path, int flags, ...) {
  NMR_MODE_ARG(flags, flags)
  return static_cast<int>(Call(SYS_openat, AT_FDCWD, L(path), flags, mode));
}
NMR_EXPORT int openat(int dirfd, const char* path, int flags, ...) {
  NMR_MODE_ARG(flags, flags)
  return static_cast<int>(Call(SYS_openat, dirfd, L(path), flags, mode));
}
NMR_EXPORT int openat64(int dirfd, const char* path, int flags, ...) {
  NMR_MODE_ARG(flags, flags)
  return static_cast<int>(Call(SYS_openat, dirfd, L(path), flags, mode));
}
