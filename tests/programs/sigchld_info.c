// A child's end as its parent sees it: SIGCHLD's siginfo (si_code, si_status, si_pid the
// child's pid as fork returned it), wait4's status, waitid, and WNOHANG before the end.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t handled, code, status, pid_matches;
static volatile pid_t child;

static void OnChild(int sig, siginfo_t* info, void* context) {
  (void)sig;
  (void)context;
  handled++;
  code = info->si_code;
  status = info->si_status;
  pid_matches = info->si_pid == child;
}

int main(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = OnChild;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGCHLD, &action, NULL);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, &old);
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return 1;
  child = fork();
  if (child == 0) {
    char c;
    read(pipe_fds[0], &c, 1);  // until the parent has looked
    _exit(42);
  }
  int st = 0;
  printf("before the end, WNOHANG: %d\n", (int)waitpid(child, &st, WNOHANG));
  write(pipe_fds[1], "x", 1);
  sigsuspend(&old);  // returns once SIGCHLD was handled
  printf("handled %d, si_code %s, si_status %d, si_pid is the child: %d\n", (int)handled,
         code == CLD_EXITED ? "CLD_EXITED" : "other", (int)status, (int)pid_matches);
  siginfo_t info;
  memset(&info, 0, sizeof info);
  waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT);
  printf("waitid: si_status %d, same pid %d\n", info.si_status, info.si_pid == child);
  printf("wait4: %d, exit %d\n", waitpid(child, &st, 0) == child, WEXITSTATUS(st));
  printf("again: %d\n", (int)waitpid(-1, &st, 0));
  pid_t killed = fork();
  if (killed == 0) {
    pause();
    _exit(0);
  }
  kill(killed, SIGUSR1);
  waitpid(killed, &st, 0);
  printf("killed child: signalled %d by %d\n", WIFSIGNALED(st), WTERMSIG(st));
  return 0;
}
