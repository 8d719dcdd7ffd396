// signal_mask: blocks SIGUSR1, reads the mask back, raises SIGUSR1 while it is blocked (it
// must stay pending), then unblocks it with a handler installed (it must run then), and
// reports each step. Under nmr-run the mask lives in the SIGSYS frame while the call is
// emulated: a change made there must survive the handler's return.
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t handled;
static void OnUsr1(int sig) { (void)sig; handled++; }

int main(void) {
  sigset_t usr1, old, now;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_SETMASK, NULL, &old);
  printf("initially blocked: INT %d USR1 %d\n", sigismember(&old, SIGINT), sigismember(&old, SIGUSR1));
  sigprocmask(SIG_BLOCK, &usr1, NULL);
  sigprocmask(SIG_SETMASK, NULL, &now);
  printf("after SIG_BLOCK: USR1 %d\n", sigismember(&now, SIGUSR1));
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = OnUsr1;
  sigaction(SIGUSR1, &action, NULL);
  raise(SIGUSR1);
  sigset_t pending;
  sigpending(&pending);
  printf("raised while blocked: handled %d, pending %d\n", (int)handled, sigismember(&pending, SIGUSR1));
  sigprocmask(SIG_UNBLOCK, &usr1, NULL);
  printf("after SIG_UNBLOCK: handled %d\n", (int)handled);
  return 0;
}
