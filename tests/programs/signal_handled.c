// signal_handled MODE: a SIGUSR1 handler (with SA_RESTART when MODE is "restart", without
// when it is "interrupt") that says "handler" on stdout; prints "ready", then reads stdin to
// its end, reporting each read. The signal tests send SIGUSR1 while this blocks in read(0):
// natively the read is restarted, or fails with EINTR, and nmr-run must do the same.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t handled;

static void OnUsr1(int sig) {
  (void)sig;
  handled++;
  static const char kLine[] = "handler\n";
  write(1, kLine, sizeof kLine - 1);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: signal_handled restart|interrupt\n");
    return 2;
  }
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = OnUsr1;
  action.sa_flags = strcmp(argv[1], "restart") == 0 ? SA_RESTART : 0;
  sigaction(SIGUSR1, &action, NULL);
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("ready\n");
  char buf[256];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0) {
      printf("read: %s (handler ran %d)\n", strerror(errno), (int)handled);
      if (errno != EINTR) return 1;
      continue;
    }
    if (n == 0) {
      printf("end of input (handler ran %d)\n", (int)handled);
      return 0;
    }
    printf("read %zd bytes (handler ran %d)\n", n, (int)handled);
  }
}
