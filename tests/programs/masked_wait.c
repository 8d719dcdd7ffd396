// make -j's wait: SIGCHLD blocked, except inside pselect6/ppoll, whose own mask lets it in.
// The child's end must cut the wait short (EINTR, the handler run) whether SIGCHLD came
// before the wait began (it is pending) or while it waits. Natively both return at once;
// under nmr the signal reaches the replicas with a reply, and the wait's own mask decides.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static void OnChild(int sig) { (void)sig; handled++; }

static int Wait(int use_ppoll, int fd, const sigset_t* mask) {
  if (use_ppoll) {
    struct pollfd p = {fd, POLLIN, 0};
    return ppoll(&p, 1, NULL, mask);
  }
  fd_set set;
  FD_ZERO(&set);
  FD_SET(fd, &set);
  return pselect(fd + 1, &set, NULL, NULL, NULL, mask);
}

int main(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = OnChild;
  sigaction(SIGCHLD, &action, NULL);
  sigset_t block, wait_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, &wait_mask);  // wait_mask: the old mask, SIGCHLD open
  int never[2];
  if (pipe(never) != 0) return 1;
  for (int round = 0; round < 4; ++round) {
    int use_ppoll = round % 2;
    int before = round < 2;  // the child ends before the wait begins, or while it waits
    pid_t child = fork();
    if (child == 0) {
      if (!before) {
        struct timespec nap = {0, 100 * 1000 * 1000};
        nanosleep(&nap, NULL);
      }
      _exit(round);
    }
    if (before) {
      int status;
      struct timespec nap = {0, 100 * 1000 * 1000};
      nanosleep(&nap, NULL);  // the child has ended: SIGCHLD is pending, blocked
      (void)status;
    }
    handled = 0;
    int rc = Wait(use_ppoll, never[0], &wait_mask);
    int saved = errno;
    int status = 0;
    waitpid(child, &status, 0);
    printf("%s, child ended %s the wait: rc %d (%s), handler ran %d, child exit %d\n",
           use_ppoll ? "ppoll" : "pselect", before ? "before" : "during", rc,
           rc < 0 ? strerror(saved) : "ok", (int)handled, WEXITSTATUS(status));
  }
  return 0;
}
