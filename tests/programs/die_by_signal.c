// die_by_signal HOW: prints a line, then dies (or survives) as HOW says:
//   abort           abort()                      -> SIGABRT
//   raise-term      raise(SIGTERM)               -> SIGTERM
//   kill-self-usr1  kill(getpid(), SIGUSR1)      -> SIGUSR1
//   segv            store through a null pointer -> SIGSEGV
//   sigpipe         write to a pipe without reader -> SIGPIPE
//   usr1-handled    a SIGUSR1 handler runs, then exit 0
//   segv-handled    a SIGSEGV handler runs, then _exit(7)
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void say(const char* s) { (void)!write(1, s, strlen(s)); }

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { got_usr1 = sig; }
static void on_segv(int sig) {
  (void)sig;
  say("caught SIGSEGV\n");
  _exit(7);
}

int main(int argc, char** argv) {
  const char* how = argc > 1 ? argv[1] : "";
  printf("about to: %s\n", how);
  fflush(stdout);
  if (strcmp(how, "abort") == 0) {
    abort();
  } else if (strcmp(how, "raise-term") == 0) {
    raise(SIGTERM);
  } else if (strcmp(how, "kill-self-usr1") == 0) {
    kill(getpid(), SIGUSR1);
  } else if (strcmp(how, "segv") == 0) {
    *(volatile int*)0 = 1;
  } else if (strcmp(how, "sigpipe") == 0) {
    int p[2];
    if (pipe(p) != 0) return 3;
    close(p[0]);
    (void)!write(p[1], "x", 1);
  } else if (strcmp(how, "usr1-handled") == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    printf("handler ran: %s\n", got_usr1 == SIGUSR1 ? "yes" : "no");
    return 0;
  } else if (strcmp(how, "segv-handled") == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_segv;
    sigaction(SIGSEGV, &sa, NULL);
    *(volatile int*)0 = 1;
  } else {
    fprintf(stderr, "unknown HOW: %s\n", how);
    return 2;
  }
  say("still alive\n");
  return 1;
}
