// Prints "ready", waits (polling every 20 ms) until the file named by its argument exists,
// then prints "went". One process without children: a job that Ctrl-Z stops and `fg`
// continues, for the terminal tests (tty_test.cc).
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: wait_for_file FILE\n");
    return 2;
  }
  printf("ready%d\n", 1 + 1);
  fflush(stdout);
  struct timespec tick = {0, 20 * 1000 * 1000};
  while (access(argv[1], F_OK) != 0) {
    nanosleep(&tick, NULL);
  }
  printf("went%d\n", 2 + 3);
  return 0;
}
