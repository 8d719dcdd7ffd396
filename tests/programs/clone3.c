// clone3 as a fork: a plain child (exit_signal SIGCHLD, its pid written by the kernel in the
// child's memory and in the parent's), a CLONE_VM | CLONE_VFORK child on a stack of its own
// (the stack pointer starts at stack + stack_size), and the calls the kernel refuses before
// cloning (EINVAL, E2BIG). Only deterministic things are printed.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

// struct clone_args (linux/sched.h), CLONE_ARGS_SIZE_VER2.
struct Clone3Args {
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

static void Wait(pid_t pid) {
  int status = 0;
  pid_t got = waitpid(pid, &status, 0);
  printf("parent: waited for the child: %d, exited %d with %d\n", got == pid,
         WIFEXITED(status), WEXITSTATUS(status));
  fflush(stdout);
}

static const char* ErrorName(long r) {
  if (r != -1) {
    return "no error";
  }
  return errno == EINVAL ? "EINVAL" : errno == E2BIG ? "E2BIG" : errno == ENOSYS ? "ENOSYS" : "other";
}

// clone3 by hand: the child of a call with a stack of its own starts on that stack, where no
// C frame can return, so it ends at once with exit_group(6).
static long Clone3ThenExit6(struct Clone3Args* args, size_t size) {
  long r;
  __asm__ volatile(
      "syscall\n"
      "test %%rax, %%rax\n"
      "jnz 1f\n"
      "mov $231, %%eax\n"  // exit_group
      "mov $6, %%edi\n"
      "syscall\n"
      "1:\n"
      : "=a"(r)
      : "0"((long)SYS_clone3), "D"(args), "S"(size)
      : "rcx", "r11", "memory");
  return r;
}

static char child_stack[256 * 1024] __attribute__((aligned(16)));

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);

  // A plain child, as fork: exit_signal SIGCHLD, its pid in both memories.
  int32_t child_tid = 0;
  int32_t parent_tid = 0;
  struct Clone3Args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_CHILD_SETTID | CLONE_PARENT_SETTID;
  args.child_tid = (uint64_t)(uintptr_t)&child_tid;
  args.parent_tid = (uint64_t)(uintptr_t)&parent_tid;
  args.exit_signal = SIGCHLD;
  printf("fork-like clone3\n");
  fflush(stdout);
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) {
    printf("child: running, child_tid is its pid: %d\n", child_tid == getpid());
    fflush(stdout);
    _exit(5);
  }
  if (pid < 0) {
    printf("parent: clone3 failed: %s\n", ErrorName(pid));
    return 1;
  }
  Wait((pid_t)pid);
  printf("parent: parent_tid is the child's pid: %d, its own child_tid untouched: %d\n",
         parent_tid == pid, child_tid == 0);

  // posix_spawn's kind: CLONE_VM | CLONE_VFORK on a stack of its own.
  memset(&args, 0, sizeof args);
  args.flags = CLONE_VM | CLONE_VFORK;
  args.exit_signal = SIGCHLD;
  args.stack = (uint64_t)(uintptr_t)child_stack;
  args.stack_size = sizeof child_stack;
  printf("vfork-like clone3 on its own stack\n");
  fflush(stdout);
  pid = Clone3ThenExit6(&args, sizeof args);
  if (pid < 0) {
    errno = (int)-pid;
    printf("parent: clone3 failed: %s\n", ErrorName(-1));
    return 1;
  }
  Wait((pid_t)pid);

  // Refused before cloning, natively and under nmr.
  memset(&args, 0, sizeof args);
  args.flags = CLONE_SIGHAND;  // without CLONE_VM
  args.exit_signal = SIGCHLD;
  printf("CLONE_SIGHAND without CLONE_VM: %s\n", ErrorName(syscall(SYS_clone3, &args, sizeof args)));
  memset(&args, 0, sizeof args);
  args.flags = SIGCHLD;  // the signal belongs in exit_signal
  printf("a signal in flags: %s\n", ErrorName(syscall(SYS_clone3, &args, sizeof args)));
  memset(&args, 0, sizeof args);
  args.exit_signal = SIGCHLD;
  args.stack = (uint64_t)(uintptr_t)child_stack;  // without a size
  printf("a stack without a size: %s\n", ErrorName(syscall(SYS_clone3, &args, sizeof args)));
  printf("a struct of 32 bytes: %s\n", ErrorName(syscall(SYS_clone3, &args, (size_t)32)));
  unsigned char larger[128];
  memset(larger, 0, sizeof larger);
  memcpy(larger, &args, sizeof args);
  larger[100] = 1;
  printf("a larger struct with a byte set past the known fields: %s\n",
         ErrorName(syscall(SYS_clone3, larger, sizeof larger)));
  printf("a struct larger than a page: %s\n", ErrorName(syscall(SYS_clone3, &args, (size_t)8192)));
  return 0;
}
