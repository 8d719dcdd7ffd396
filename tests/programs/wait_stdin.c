// wait_stdin: prints "ready", then reads stdin to its end and prints how many bytes it got.
// The cleanup tests signal nmr-run while this blocks in read(0).
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("ready\n");
  fflush(stdout);
  char buf[4096];
  long total = 0;
  ssize_t n;
  while ((n = read(0, buf, sizeof buf)) > 0) total += n;
  printf("read %ld bytes\n", total);
  return n < 0 ? 1 : 0;
}
