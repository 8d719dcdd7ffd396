// Counts SIGALRMs of an interval timer until 20 have come: natively and under nmr the count
// and the output are the same (a timer per replica would make the replicas disagree).
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;
static void OnAlarm(int sig) { (void)sig; ticks++; }

int main(void) {
  signal(SIGALRM, OnAlarm);
  struct itimerval every = {{0, 5000}, {0, 5000}};
  setitimer(ITIMER_REAL, &every, NULL);
  int seen = 0;
  while (ticks < 20) {
    struct timespec nap = {0, 1000000};
    nanosleep(&nap, NULL);
    if (ticks != seen) {
      seen = ticks;
      printf("tick\n");
    }
  }
  struct itimerval off = {{0, 0}, {0, 0}}, left;
  setitimer(ITIMER_REAL, &off, &left);
  printf("interval %ld us; alarm(5) then alarm(0) leaves %u s\n", (long)left.it_interval.tv_usec,
         (alarm(5), alarm(0)));
  return 0;
}
