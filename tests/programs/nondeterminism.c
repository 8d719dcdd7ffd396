// nondeterminism: reads every source of nondeterminism a replica could see differently
// (clocks, including through the vDSO; getrandom; /dev/urandom; ids), prints only facts that
// are the same in every run, and then feeds each value into the arguments of a syscall
// (lseek on /dev/null), so that replicas which were handed different values vote differently
// and show up as divergences in nmr-run's report.
// Usage: nondeterminism [all|clocks|random|ids|tsc] (default all).
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

static int sink = -1;
// Make `value` part of a voted syscall: lseek(/dev/null, value mod 2^40, SEEK_SET).
static void Use(unsigned long value) { lseek(sink, (off_t)(value & 0xffffffffffUL), SEEK_SET); }

static unsigned long Bytes(const unsigned char* b, size_t n) {
  unsigned long v = 0;
  for (size_t i = 0; i < n; i++) v = v * 131 + b[i];
  return v;
}

static void Clocks(void) {
  struct timespec rt, m1, m2, cpu;
  clock_gettime(CLOCK_REALTIME, &rt);
  clock_gettime(CLOCK_MONOTONIC, &m1);
  clock_gettime(CLOCK_MONOTONIC, &m2);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
  struct timeval tv;
  gettimeofday(&tv, NULL);
  time_t now = time(NULL);
  Use((unsigned long)rt.tv_nsec);
  Use((unsigned long)m1.tv_nsec);
  Use((unsigned long)m2.tv_nsec);
  Use((unsigned long)cpu.tv_nsec);
  Use((unsigned long)tv.tv_usec);
  Use((unsigned long)now);
  printf("realtime plausible: %s\n", rt.tv_sec > 1600000000 ? "yes" : "no");
  int mono_ok = m2.tv_sec > m1.tv_sec || (m2.tv_sec == m1.tv_sec && m2.tv_nsec >= m1.tv_nsec);
  printf("monotonic %s\n", mono_ok ? "ok" : "went backwards");
  printf("gettimeofday agrees: %s\n", tv.tv_sec >= rt.tv_sec - 5 && tv.tv_sec <= rt.tv_sec + 5 ? "yes" : "no");
  printf("time agrees: %s\n", now >= rt.tv_sec - 5 && now <= rt.tv_sec + 5 ? "yes" : "no");
  printf("cpu time non-negative: %s\n", cpu.tv_sec >= 0 && cpu.tv_nsec >= 0 ? "yes" : "no");
}

static void Random(void) {
  unsigned char r1[16], r2[16], u[16];
  long g1 = getrandom(r1, sizeof r1, 0);
  long g2 = getrandom(r2, sizeof r2, 0);
  printf("random bytes: %ld\n", g1);
  printf("random draws differ: %s\n", g2 == 16 && memcmp(r1, r2, 16) != 0 ? "yes" : "no");
  Use(Bytes(r1, 16));
  Use(Bytes(r2, 16));
  int fd = open("/dev/urandom", O_RDONLY);
  long got = read(fd, u, sizeof u);
  close(fd);
  printf("urandom bytes: %ld\n", got);
  Use(Bytes(u, 16));
}

// The time stamp counter, read by the instruction itself (no syscall): rdtsc and rdtscp.
static void Tsc(void) {
  unsigned long a = __rdtsc();
  unsigned aux;
  unsigned long b = __rdtscp(&aux);
  printf("tsc: monotone %d\n", b >= a);
  Use(a);
  Use(b);
  Use(aux);
}

static void Ids(void) {
  pid_t pid = getpid();
  printf("pid matches: %s\n", pid == (pid_t)syscall(SYS_getpid) ? "yes" : "no");
  printf("tid is pid: %s\n", (pid_t)gettid() == pid ? "yes" : "no");
  printf("ppid positive: %s\n", getppid() > 0 ? "yes" : "no");
  Use((unsigned long)pid);
  Use((unsigned long)getppid());
  Use((unsigned long)gettid());
}

int main(int argc, char** argv) {
  const char* what = argc > 1 ? argv[1] : "all";
  int all = strcmp(what, "all") == 0;
  sink = open("/dev/null", O_RDONLY);
  if (all || strcmp(what, "clocks") == 0) Clocks();
  if (all || strcmp(what, "random") == 0) Random();
  if (all || strcmp(what, "ids") == 0) Ids();
  if (all || strcmp(what, "tsc") == 0) Tsc();
  if (all || strcmp(what, "clocks") == 0) {  // time goes on between the groups
    struct timespec m;
    clock_gettime(CLOCK_MONOTONIC, &m);
    printf("monotonic after the rest: %s\n", m.tv_sec > 0 || m.tv_nsec > 0 ? "ok" : "zero");
    Use((unsigned long)m.tv_nsec);
  }
  return 0;
}
