// Signals taken with sigwait, sigtimedwait and sigwaitinfo (the program blocks them): its own
// interval timer's SIGALRM, a timeout with nothing pending, and a child's SIGCHLD with its
// siginfo. Under nmr the timer is the supervisor's and the child's end comes from its own
// vote: the waits must see them as natively.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGALRM);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, NULL);

  struct itimerval once = {{0, 0}, {0, 50000}};
  setitimer(ITIMER_REAL, &once, NULL);
  sigset_t alarm_only;
  sigemptyset(&alarm_only);
  sigaddset(&alarm_only, SIGALRM);
  int sig = 0;
  int rc = sigwait(&alarm_only, &sig);
  printf("sigwait: %d, %s\n", rc, sig == SIGALRM ? "SIGALRM" : "other");

  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  struct timespec shortly = {0, 100 * 1000 * 1000};
  rc = sigtimedwait(&usr1, NULL, &shortly);
  printf("sigtimedwait with nothing sent: %d (%s)\n", rc, rc < 0 ? strerror(errno) : "a signal");

  pid_t child = fork();
  if (child == 0) {
    _exit(5);
  }
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  siginfo_t info;
  memset(&info, 0, sizeof info);
  rc = sigwaitinfo(&chld, &info);
  printf("sigwaitinfo: %s, code %s, status %d, from the child %d\n",
         rc == SIGCHLD ? "SIGCHLD" : "other", info.si_code == CLD_EXITED ? "CLD_EXITED" : "other",
         info.si_status, info.si_pid == child);
  int status;
  waitpid(child, &status, 0);
  printf("exit %d\n", WEXITSTATUS(status));
  return 0;
}
