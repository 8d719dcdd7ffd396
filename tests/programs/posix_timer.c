// POSIX timers and sigqueue. Under nmr the timers are the supervisor's (one expiry for every
// replica, at an agreed step) and a queued signal's value travels with it: what the program
// sees (si_code, si_value, si_timerid, overruns, ids, errors) must be what it sees natively.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled_value = 0;

static void OnUsr2(int sig, siginfo_t* info, void* context) {
  (void)sig;
  (void)context;
  handled_value = info->si_code == SI_TIMER ? info->si_value.sival_int : -1;
}

static const char* Code(int code) {
  switch (code) {
    case SI_TIMER:
      return "SI_TIMER";
    case SI_QUEUE:
      return "SI_QUEUE";
    case SI_USER:
      return "SI_USER";
    default:
      return "other";
  }
}

int main(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGRTMIN);
  sigaddset(&set, SIGALRM);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);

  // A periodic timer with its own signal and value, taken five times.
  struct sigevent event;
  memset(&event, 0, sizeof event);
  event.sigev_notify = SIGEV_SIGNAL;
  event.sigev_signo = SIGRTMIN;
  event.sigev_value.sival_int = 42;
  timer_t periodic;
  int rc = timer_create(CLOCK_MONOTONIC, &event, &periodic);
  printf("timer_create: %d, id %ld\n", rc, (long)(intptr_t)periodic);
  struct itimerspec every = {{0, 5 * 1000 * 1000}, {0, 5 * 1000 * 1000}};
  timer_settime(periodic, 0, &every, NULL);
  sigset_t rt;
  sigemptyset(&rt);
  sigaddset(&rt, SIGRTMIN);
  for (int i = 0; i < 5; ++i) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int sig = sigwaitinfo(&rt, &info);
    printf("expiry %d: %s, %s, value %d, timer id matches: %s\n", i,
           sig == SIGRTMIN ? "SIGRTMIN" : "other", Code(info.si_code), info.si_value.sival_int,
           info.si_timerid == (int)(intptr_t)periodic ? "yes" : "no");
  }
  struct itimerspec left;
  timer_gettime(periodic, &left);
  printf("gettime: interval %ld ns, armed: %s\n", left.it_interval.tv_nsec,
         left.it_value.tv_sec != 0 || left.it_value.tv_nsec != 0 ? "yes" : "no");

  // Expiries while the signal is pending merge into overruns.
  struct timespec nap = {0, 60 * 1000 * 1000};
  nanosleep(&nap, NULL);
  siginfo_t info;
  memset(&info, 0, sizeof info);
  sigwaitinfo(&rt, &info);
  printf("after a nap: overrun > 0: %s, getoverrun agrees: %s\n", info.si_overrun > 0 ? "yes" : "no",
         timer_getoverrun(periodic) == info.si_overrun ? "yes" : "no");
  nanosleep(&nap, NULL);  // more expiries pending: deleting the timer drops its signal
  rc = timer_delete(periodic);
  printf("timer_delete: %d\n", rc);
  sigset_t pending;
  sigpending(&pending);
  printf("SIGRTMIN pending after the delete: %s\n", sigismember(&pending, SIGRTMIN) ? "yes" : "no");
  rc = timer_delete(periodic);
  printf("timer_delete again: %d (%s)\n", rc, strerror(errno));

  // No sigevent: SIGALRM with the timer's id as its value; an absolute time already passed.
  timer_t plain;
  timer_create(CLOCK_REALTIME, NULL, &plain);
  struct itimerspec past = {{0, 0}, {1, 0}};
  rc = timer_settime(plain, TIMER_ABSTIME, &past, NULL);
  sigset_t alarm;
  sigemptyset(&alarm);
  sigaddset(&alarm, SIGALRM);
  memset(&info, 0, sizeof info);
  sigwaitinfo(&alarm, &info);
  printf("plain timer: id %ld, settime %d, %s, value %ld\n", (long)(intptr_t)plain, rc,
         Code(info.si_code), (long)info.si_value.sival_ptr);

  // SIGEV_NONE: it counts down, and nothing arrives.
  event.sigev_notify = SIGEV_NONE;
  timer_t silent;
  timer_create(CLOCK_MONOTONIC, &event, &silent);
  struct itimerspec second = {{0, 0}, {10, 0}};
  timer_settime(silent, 0, &second, NULL);
  timer_gettime(silent, &left);
  printf("SIGEV_NONE: armed with %s left\n", left.it_value.tv_sec >= 9 ? "about 10 s" : "less");

  // A handler that reads si_value.
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = OnUsr2;
  action.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR2, &action, NULL);
  event.sigev_notify = SIGEV_SIGNAL;
  event.sigev_signo = SIGUSR2;
  event.sigev_value.sival_int = 7;
  timer_t handled;
  timer_create(CLOCK_MONOTONIC, &event, &handled);
  struct itimerspec soon = {{0, 0}, {0, 10 * 1000 * 1000}};
  timer_settime(handled, 0, &soon, NULL);
  while (handled_value == 0) {
    pause();
  }
  printf("handler: value %d\n", (int)handled_value);

  // Errors as natively.
  timer_t bad;
  errno = 0;
  rc = timer_create(CLOCK_MONOTONIC, &(struct sigevent){.sigev_notify = SIGEV_SIGNAL, .sigev_signo = 99}, &bad);
  printf("bad signal: %d (%s)\n", rc, strerror(errno));
  struct itimerspec invalid = {{0, 0}, {0, 2000000000}};
  rc = timer_settime(handled, 0, &invalid, NULL);
  printf("bad time: %d (%s)\n", rc, strerror(errno));

  // sigqueue: to itself, and to a child that prints what it got.
  union sigval value = {.sival_int = 1234};
  sigqueue(getpid(), SIGUSR1, value);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  memset(&info, 0, sizeof info);
  sigwaitinfo(&usr1, &info);
  printf("sigqueue to itself: %s, value %d, from itself: %s\n", Code(info.si_code),
         info.si_value.sival_int, info.si_pid == getpid() ? "yes" : "no");
  fflush(stdout);
  pid_t parent = getpid();
  pid_t child = fork();
  if (child == 0) {
    memset(&info, 0, sizeof info);
    sigwaitinfo(&usr1, &info);
    printf("child: %s, value %d, from its parent: %s\n", Code(info.si_code),
           info.si_value.sival_int, info.si_pid == parent ? "yes" : "no");
    return 0;
  }
  value.sival_int = 5678;
  rc = sigqueue(child, SIGUSR1, value);
  int status = 0;
  pid_t waited = waitpid(child, &status, 0);  // a blocked signal pending must not cut it short
  printf("sigqueue to the child: %d, waitpid: %s, child exited %d\n", rc,
         waited == child ? "the child" : strerror(errno), WEXITSTATUS(status));
  return 0;
}
