// Stopping and continuing a child (job control without a terminal): SIGSTOP and SIGTSTP stop
// it, its parent sees each stop and continuation with waitpid (WUNTRACED, WCONTINUED), waitid
// (WSTOPPED) and SIGCHLD's siginfo (CLD_STOPPED, CLD_CONTINUED); a child with its own SIGTSTP
// handler stops itself the way less and vim do, and its SIGCONT handler runs once continued;
// a stopped child still dies of SIGKILL. Under nmr every replica of the child stops and goes
// on together, and none of it looks like a hang.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char* Code(int code) {
  switch (code) {
    case CLD_STOPPED:
      return "CLD_STOPPED";
    case CLD_CONTINUED:
      return "CLD_CONTINUED";
    case CLD_EXITED:
      return "CLD_EXITED";
    case CLD_KILLED:
      return "CLD_KILLED";
    default:
      return "other";
  }
}

static sigset_t chld;

// The next SIGCHLD's siginfo (SIGCHLD is blocked).
static void ExpectChld(pid_t child) {
  siginfo_t info;
  memset(&info, 0, sizeof info);
  sigwaitinfo(&chld, &info);
  printf("  SIGCHLD: %s, status %s, from the child: %s\n", Code(info.si_code),
         info.si_status > 0 && info.si_status < 65 ? sigabbrev_np(info.si_status) : "-",
         info.si_pid == child ? "yes" : "no");
}

static void Describe(const char* what, pid_t child, pid_t got, const int* status_at) {
  int status = *status_at;
  printf("%s: %s, ", what, got == child ? "the child" : "other");
  if (WIFSTOPPED(status)) {
    printf("stopped by SIG%s\n", sigabbrev_np(WSTOPSIG(status)));
  } else if (WIFCONTINUED(status)) {
    printf("continued\n");
  } else if (WIFEXITED(status)) {
    printf("exited %d\n", WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    printf("killed by SIG%s\n", sigabbrev_np(WTERMSIG(status)));
  }
}

static volatile sig_atomic_t continued = 0;
static void OnTstp(int sig) {
  (void)sig;
  write(1, "  child: cleaning up for the stop\n", 34);
  signal(SIGTSTP, SIG_DFL);
  sigset_t tstp;  // blocked while its handler runs: the stop comes once it is unblocked
  sigemptyset(&tstp);
  sigaddset(&tstp, SIGTSTP);
  sigprocmask(SIG_UNBLOCK, &tstp, NULL);
  raise(SIGTSTP);
  signal(SIGTSTP, OnTstp);
}
static void OnCont(int sig) {
  (void)sig;
  continued = 1;
}

int main(void) {
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  setvbuf(stdout, NULL, _IONBF, 0);

  // A child that waits; stopped with SIGSTOP, then SIGTSTP, continued each time.
  pid_t child = fork();
  if (child == 0) {
    for (;;) {
      pause();
    }
  }
  int status = 0;
  kill(child, SIGSTOP);
  { pid_t got = waitpid(child, &status, WUNTRACED); Describe("waitpid WUNTRACED", child, got, &status); }
  ExpectChld(child);
  printf("waitpid WNOHANG|WUNTRACED again: %d (reported once)\n",
         (int)waitpid(child, &status, WNOHANG | WUNTRACED));
  kill(child, SIGCONT);
  { pid_t got = waitpid(child, &status, WCONTINUED); Describe("waitpid WCONTINUED", child, got, &status); }
  ExpectChld(child);
  kill(child, SIGTSTP);
  siginfo_t info;
  memset(&info, 0, sizeof info);
  waitid(P_PID, (id_t)child, &info, WSTOPPED);
  printf("waitid WSTOPPED: %s, status SIG%s\n", Code(info.si_code), sigabbrev_np(info.si_status));
  ExpectChld(child);
  kill(child, SIGCONT);
  ExpectChld(child);
  kill(child, SIGTERM);
  { pid_t got = waitpid(child, &status, 0); Describe("waitpid", child, got, &status); }
  ExpectChld(child);

  // A child with a SIGTSTP handler that stops itself, and a SIGCONT handler.
  int ready[2];
  pipe(ready);
  child = fork();
  if (child == 0) {
    signal(SIGTSTP, OnTstp);
    signal(SIGCONT, OnCont);
    write(ready[1], "r", 1);
    while (!continued) {
      pause();
    }
    printf("  child: continued, its handler ran\n");
    return 7;
  }
  char byte;
  read(ready[0], &byte, 1);  // its handlers are in place
  kill(child, SIGTSTP);
  { pid_t got = waitpid(child, &status, WUNTRACED); Describe("waitpid WUNTRACED", child, got, &status); }
  ExpectChld(child);
  kill(child, SIGCONT);
  { pid_t got = waitpid(child, &status, 0); Describe("waitpid", child, got, &status); }

  // A stopped child dies of SIGKILL.
  child = fork();
  if (child == 0) {
    for (;;) {
      pause();
    }
  }
  kill(child, SIGSTOP);
  { pid_t got = waitpid(child, &status, WUNTRACED); Describe("waitpid WUNTRACED", child, got, &status); }
  kill(child, SIGKILL);
  { pid_t got = waitpid(child, &status, 0); Describe("waitpid", child, got, &status); }
  return 0;
}
