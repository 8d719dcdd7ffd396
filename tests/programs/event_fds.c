// timerfd and eventfd, which under nmr are real fds of the process's table on its executor
// thread: a timerfd counts expirations; an eventfd adds up, also between a parent and its
// child. Their reads wait, so they run on the executor, never inline on the control loop's
// thread (anon-inode fds look like regular files to fstat).
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  ssize_t n;
  pid_t child;
  // timerfd: a periodic timer, read after it has fired.
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  struct itimerspec every = {{0, 10 * 1000 * 1000}, {0, 10 * 1000 * 1000}};
  timerfd_settime(tfd, 0, &every, NULL);
  uint64_t expirations = 0;
  n = read(tfd, &expirations, sizeof expirations);
  printf("timerfd: read %zd, expirations >= 1: %s\n", n, expirations >= 1 ? "yes" : "no");

  // eventfd: counts add up; in semaphore mode one at a time; a child writes to its parent.
  int efd = eventfd(0, EFD_CLOEXEC);
  uint64_t add = 3;
  write(efd, &add, sizeof add);
  add = 4;
  write(efd, &add, sizeof add);
  uint64_t total = 0;
  read(efd, &total, sizeof total);
  printf("eventfd: %llu\n", (unsigned long long)total);
  int sem = eventfd(2, EFD_SEMAPHORE);
  uint64_t one = 0;
  read(sem, &one, sizeof one);
  printf("semaphore: %llu\n", (unsigned long long)one);
  child = fork();
  if (child == 0) {
    uint64_t five = 5;
    write(efd, &five, sizeof five);
    _exit(0);
  }
  read(efd, &total, sizeof total);
  printf("from the child: %llu\n", (unsigned long long)total);
  waitpid(child, NULL, 0);
  return 0;
}
