// exit_code CODE [return|exit|_exit|exit_group]: prints a line, then ends with CODE.
// `_exit` and `exit_group` skip stdio's flush, so a pending partial line must be lost in
// both runs (native and under nmr-run) alike.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: exit_code CODE [return|exit|_exit|exit_group]\n");
    return 2;
  }
  int code = atoi(argv[1]);
  const char* how = argc > 2 ? argv[2] : "return";
  printf("exiting with %d via %s\n", code, how);
  fflush(stdout);
  printf("this unterminated line is flushed only by exit()");
  fprintf(stderr, "stderr before exit\n");
  if (strcmp(how, "exit") == 0) exit(code);
  if (strcmp(how, "_exit") == 0) _exit(code);
  if (strcmp(how, "exit_group") == 0) syscall(SYS_exit_group, code);
  return code;
}
