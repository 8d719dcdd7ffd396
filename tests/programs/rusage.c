// Resource usage across processes: wait4's rusage of a child, getrusage(RUSAGE_CHILDREN) and
// times() before and after collecting it (a grandchild collected by the child counts too),
// and the process's own CPU clock. The figures differ from run to run, so the program prints
// what must hold: under nmr they are each one agreed figure (the replicas' median), and they
// must add up as the kernel adds them.
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double Seconds(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

static double Cpu(const struct rusage* usage) {
  return Seconds(usage->ru_utime) + Seconds(usage->ru_stime);
}

// Works until its own CPU clock says `seconds`.
static void Burn(double seconds) {
  volatile unsigned long sink = 0;
  for (;;) {
    struct timespec now;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    if ((double)now.tv_sec + (double)now.tv_nsec / 1e9 >= seconds) {
      return;
    }
    for (int i = 0; i < 100000; ++i) {
      sink += (unsigned long)i;
    }
  }
}

int main(void) {
  struct rusage children;
  getrusage(RUSAGE_CHILDREN, &children);
  printf("children before any: %.3f s\n", Cpu(&children));

  pid_t child = fork();
  if (child == 0) {
    pid_t grandchild = fork();
    if (grandchild == 0) {
      Burn(0.1);
      _exit(0);
    }
    waitpid(grandchild, NULL, 0);
    Burn(0.2);
    _exit(3);
  }
  int status = 0;
  struct rusage of_child;
  pid_t got = wait4(child, &status, 0, &of_child);
  printf("wait4: the child: %s, exited %d\n", got == child ? "yes" : "no", WEXITSTATUS(status));
  printf("its rusage: CPU >= 0.25 s (itself and its child): %s, peak RSS > 0: %s\n",
         Cpu(&of_child) >= 0.25 ? "yes" : "no", of_child.ru_maxrss > 0 ? "yes" : "no");

  getrusage(RUSAGE_CHILDREN, &children);
  printf("children after: CPU >= 0.25 s: %s, the same as wait4's: %s\n",
         Cpu(&children) >= 0.25 ? "yes" : "no",
         children.ru_utime.tv_sec == of_child.ru_utime.tv_sec &&
                 children.ru_utime.tv_usec == of_child.ru_utime.tv_usec
             ? "yes"
             : "no");
  struct tms ticks;
  times(&ticks);
  long per_second = sysconf(_SC_CLK_TCK);
  printf("times: children's ticks >= 0.2 s: %s\n",
         (double)(ticks.tms_cutime + ticks.tms_cstime) / (double)per_second >= 0.2 ? "yes" : "no");

  struct rusage self;
  getrusage(RUSAGE_SELF, &self);
  printf("self: less CPU than its children: %s, peak RSS > 0: %s\n",
         Cpu(&self) < Cpu(&children) ? "yes" : "no", self.ru_maxrss > 0 ? "yes" : "no");
  Burn(0.05);
  struct timespec cpu;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
  getrusage(RUSAGE_SELF, &self);
  printf("own CPU clock >= 0.05 s: %s, getrusage agrees within 10 ms: %s\n",
         (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9 >= 0.05 ? "yes" : "no",
         Cpu(&self) - ((double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9) < 0.01 &&
                 Cpu(&self) >= (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9 - 0.01
             ? "yes"
             : "no");
  return 0;
}
