// pselect_mask: waits for stdin with pselect and a signal mask (as readline does), then
// reads and echoes each line, until EOF. Under nmr-run the mask is behind a pointer inside
// pselect6's sixth argument: it must reach the kernel marshalled, or pselect fails with
// EFAULT, which readline takes for the end of its input.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

int main(void) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGWINCH);
  char buffer[256];
  for (;;) {
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(0, &readable);
    int ready = pselect(1, &readable, NULL, NULL, NULL, &mask);
    if (ready < 0) {
      printf("pselect failed: %s\n", strerror(errno));
      return 1;
    }
    ssize_t n = read(0, buffer, sizeof buffer);
    if (n <= 0) {
      printf("end of input\n");
      return 0;
    }
    printf("got %zd bytes: %.*s", n, (int)n, buffer);
    fflush(stdout);
  }
}
