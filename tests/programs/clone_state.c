// clone_state: the process state a clone must carry over from its donor. It installs a
// SIGUSR1 handler that runs on an alternate signal stack, blocks SIGUSR1 and raises it (so it
// is pending), then writes STEPS lines (one vote each) and only then unblocks SIGUSR1: the
// handler must run exactly once, on the alternate stack, in every replica — a clone made in
// between included (fork drops pending signals; the shim must put them back).
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char altstack[64 * 1024];
static volatile sig_atomic_t handled;
static volatile sig_atomic_t on_altstack;

static void OnUsr1(int sig) {
  (void)sig;
  char here;
  handled++;
  on_altstack = &here >= altstack && &here < altstack + sizeof altstack;
}

int main(int argc, char** argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 20;
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = OnUsr1;
  action.sa_flags = SA_ONSTACK | SA_RESTART;
  sigaction(SIGUSR1, &action, NULL);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, NULL);
  raise(SIGUSR1);
  for (int s = 1; s <= steps; s++) {
    char line[64];
    int n = snprintf(line, sizeof line, "step %d, handled %d\n", s, (int)handled);
    if (write(1, line, (size_t)n) != n) {
      return 1;
    }
  }
  sigset_t pending;
  sigpending(&pending);
  printf("pending before unblock: %d\n", sigismember(&pending, SIGUSR1));
  sigprocmask(SIG_UNBLOCK, &usr1, NULL);
  printf("handled %d, on the alternate stack %d\n", (int)handled, (int)on_altstack);
  return 0;
}
