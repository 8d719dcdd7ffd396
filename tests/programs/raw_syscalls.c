// raw_syscalls FILE: talks to the kernel through syscall(2) and a bare `syscall`
// instruction only (no libc wrapper), and prints what it saw deterministically.
// Under nmr-run every one of these calls must still be voted (a bypass shows up as a
// divergence, a wrong result or output printed N times).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

// A `syscall` instruction of our own, outside libc.
static long raw3(long nr, long a, long b, long c) {
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c)
                   : "rcx", "r11", "memory");
  return ret;
}

static void out(const char* s) { syscall(SYS_write, 1, s, strlen(s)); }

static void outf(const char* fmt, long v) {
  char line[128];
  snprintf(line, sizeof line, fmt, v);
  out(line);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    syscall(SYS_write, 2, "usage: raw_syscalls FILE\n", 25);
    return 2;
  }
  out("syscall(SYS_write) ok\n");
  raw3(SYS_write, 1, (long)"asm syscall write ok\n", 21);
  syscall(SYS_write, 2, "to stderr via syscall\n", 22);

  long pid = syscall(SYS_getpid);
  out(pid == getpid() ? "pid matches getpid: yes\n" : "pid matches getpid: no\n");
  out(raw3(SYS_getpid, 0, 0, 0) == pid ? "asm getpid matches: yes\n" : "asm getpid matches: no\n");
  out(syscall(SYS_gettid) == pid ? "tid is pid: yes\n" : "tid is pid: no\n");
  out(syscall(SYS_getppid) == getppid() ? "ppid matches: yes\n" : "ppid matches: no\n");

  int fd = (int)syscall(SYS_openat, AT_FDCWD, argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    outf("openat failed: errno %ld\n", errno);
    return 1;
  }
  char buf[7];
  long total = 0, chunks = 0;
  unsigned long hash = 1469598103934665603UL;  // FNV-1a over the file
  for (;;) {
    long n = syscall(SYS_read, fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long i = 0; i < n; i++) hash = (hash ^ (unsigned char)buf[i]) * 1099511628211UL;
    total += n;
    chunks++;
  }
  outf("read bytes: %ld\n", total);
  outf("read chunks: %ld\n", chunks);
  outf("fnv1a: %lx\n", (long)hash);

  struct stat st;
  syscall(SYS_fstat, fd, &st);
  out(st.st_size == total ? "fstat size matches: yes\n" : "fstat size matches: no\n");
  outf("lseek to 3: %ld\n", syscall(SYS_lseek, fd, 3, SEEK_SET));
  long n = syscall(SYS_read, fd, buf, 4);
  if (n > 0) {
    out("after lseek: ");
    syscall(SYS_write, 1, buf, n);
    out("\n");
  }
  n = syscall(SYS_pread64, fd, buf, 2, 1);
  if (n > 0) {
    out("pread at 1: ");
    raw3(SYS_write, 1, (long)buf, n);
    out("\n");
  }
  outf("close: %ld\n", syscall(SYS_close, fd));
  outf("close again: %ld\n", raw3(SYS_close, fd, 0, 0));
  outf("openat missing: %ld\n", raw3(SYS_openat, AT_FDCWD, (long)"no-such-file", O_RDONLY));

  int w = (int)syscall(SYS_openat, AT_FDCWD, "written-raw.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  struct iovec iov[2] = {{"written with ", 13}, {"writev\n", 7}};
  outf("writev: %ld\n", syscall(SYS_writev, w, iov, 2));
  outf("asm write to file: %ld\n", raw3(SYS_write, w, (long)"and asm\n", 8));
  syscall(SYS_close, w);
  return 0;
}
