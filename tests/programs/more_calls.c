// Calls that were once answered ENOSYS under nmr: the clock's setters and adjtimex, POSIX
// message queues, scheduling and I/O priority on oneself (by 0 and by one's own pid), msync,
// fchmodat2. Each prints what it returned and what errno said, so nmr must answer as the
// kernel does natively.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

static void Show(const char* what, long rc) {
  printf("%s: %ld%s%s\n", what, rc, rc < 0 ? " " : "", rc < 0 ? strerrorname_np(errno) : "");
  errno = 0;
}

int main(int argc, char** argv) {
  const char* dir = argc > 1 ? argv[1] : ".";

  // The monotonic clock cannot be set; a bad time is refused before any privilege check.
  struct timespec ts = {0, 0};
  Show("clock_settime(CLOCK_MONOTONIC)", clock_settime(CLOCK_MONOTONIC, &ts));
  struct timeval bad_tv = {0, 2000000};
  Show("settimeofday(bad usec)", settimeofday(&bad_tv, NULL));
  struct timex tx;
  memset(&tx, 0, sizeof tx);
  int state = adjtimex(&tx);  // modes 0: only reads
  printf("adjtimex(read): %s\n", state >= 0 ? "a clock state" : strerrorname_np(errno));

  // A message queue: send two, read them back by priority, its attributes, unlink.
  char name[64];
  snprintf(name, sizeof name, "/nmr-test-%d", (int)getpid());
  struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 32};
  mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
  if (q == (mqd_t)-1) {
    printf("mq_open: %s\n", strerrorname_np(errno));
  } else {
    Show("mq_send low", mq_send(q, "low", 3, 1));
    Show("mq_send high", mq_send(q, "high", 4, 9));
    struct mq_attr now;
    mq_getattr(q, &now);
    printf("mq_getattr: %ld messages of at most %ld bytes\n", now.mq_curmsgs, now.mq_msgsize);
    for (int i = 0; i < 2; ++i) {
      char buffer[32] = {0};
      unsigned priority = 0;
      ssize_t n = mq_receive(q, buffer, sizeof buffer, &priority);
      printf("mq_receive: %zd '%s' priority %u\n", n, buffer, priority);
    }
    struct timespec past = {1, 0};
    char buffer[32];
    Show("mq_timedreceive on empty", mq_timedreceive(q, buffer, sizeof buffer, NULL, &past));
    mq_close(q);
    Show("mq_unlink", mq_unlink(name));
    Show("mq_unlink again", mq_unlink(name));
  }

  // Scheduling of oneself, by 0 and by its own pid; another pid fails.
  Show("sched_getscheduler(0)", sched_getscheduler(0));
  Show("sched_getscheduler(getpid())", sched_getscheduler(getpid()));
  struct sched_param param = {.sched_priority = 0};
  Show("sched_setscheduler(getpid(), SCHED_BATCH)", sched_setscheduler(getpid(), SCHED_BATCH, &param));
  Show("sched_getscheduler(0) after", sched_getscheduler(0));
  Show("sched_setparam(0)", sched_setparam(0, &param));
  struct timespec quantum;
  Show("sched_rr_get_interval(0)", sched_rr_get_interval(0, &quantum));
  Show("ioprio_get(self)", syscall(SYS_ioprio_get, 1, 0) >= 0 ? 0 : -1);

  // msync on its own mapping, fchmodat2 on a file.
  void* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  Show("msync", msync(page, 4096, MS_SYNC));
  char path[4096];
  snprintf(path, sizeof path, "%s/mode-file", dir);
  int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
  close(fd);
  Show("fchmodat2", syscall(452, AT_FDCWD, path, 0640, 0));
  struct stat st;
  stat(path, &st);
  printf("mode: %o\n", st.st_mode & 0777);
  unlink(path);
  return 0;
}
