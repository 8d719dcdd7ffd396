// posix_spawn (glibc: clone(CLONE_VM | CLONE_VFORK)): a program that runs, one that does not
// exist (natively posix_spawn fails with ENOENT, which the child wrote into its parent's
// memory before exiting 127), and system() (which spawns /bin/sh the same way).
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char** environ;

int main(void) {
  pid_t pid;
  int status = 0;
  char* args[] = {"true", NULL};
  int rc = posix_spawnp(&pid, "true", NULL, NULL, args, environ);
  if (rc == 0) {
    waitpid(pid, &status, 0);
  }
  printf("true: posix_spawnp %d, exit %d\n", rc, WEXITSTATUS(status));
  char* missing[] = {"nosuch", NULL};
  rc = posix_spawn(&pid, "/no/such/program", NULL, NULL, missing, environ);
  printf("missing: posix_spawn %d (%s)\n", rc, rc != 0 ? strerror(rc) : "started");
  if (rc == 0) {
    waitpid(pid, &status, 0);
    printf("missing: exit %d\n", WEXITSTATUS(status));
  }
  printf("system: exit %d\n", WEXITSTATUS(system("exit 3")));
  return 0;
}
