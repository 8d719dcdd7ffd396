// signalfd (emulated under nmr: supervisor/signalfd.cc) reads the signals the process blocks
// (one it raised, a child's SIGCHLD with its status, its timer's SIGALRM, a sigqueue value,
// one a child sends while the parent waits in a blocking read) through read, poll and epoll.
// (timerfd and eventfd: event_fds.c.)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char* Code(int code) {
  switch (code) {
    case SI_USER:
      return "SI_USER";
    case SI_TKILL:
      return "SI_TKILL";
    case SI_QUEUE:
      return "SI_QUEUE";
    case SI_KERNEL:
      return "SI_KERNEL";
    case CLD_EXITED:
      return "CLD_EXITED";
    default:
      return "other";
  }
}

static void Take(int sfd, const char* how) {
  struct signalfd_siginfo info;
  ssize_t n = read(sfd, &info, sizeof info);
  if (n != (ssize_t)sizeof info) {
    printf("%s: read %zd (%s)\n", how, n, strerror(errno));
    return;
  }
  printf("%s: SIG%s, %s, from itself: %s, status/int %d\n", how, sigabbrev_np((int)info.ssi_signo),
         Code(info.ssi_code), info.ssi_pid == (uint32_t)getpid() ? "yes" : "no",
         info.ssi_code == CLD_EXITED ? info.ssi_status : info.ssi_int);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR1);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGALRM);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  printf("signalfd: %s\n", sfd >= 0 ? "an fd" : strerror(errno));

  struct signalfd_siginfo none;
  ssize_t n = read(sfd, &none, sizeof none);
  printf("nothing pending: %zd (%s)\n", n, strerror(errno));

  raise(SIGUSR1);
  Take(sfd, "raise");

  pid_t child = fork();
  if (child == 0) {
    _exit(4);
  }
  struct pollfd p = {sfd, POLLIN, 0};
  int ready = poll(&p, 1, 5000);
  printf("poll: %d, readable: %s\n", ready, (p.revents & POLLIN) != 0 ? "yes" : "no");
  struct signalfd_siginfo chld;
  read(sfd, &chld, sizeof chld);
  printf("child: SIG%s, %s, status %d, its pid: %s\n", sigabbrev_np((int)chld.ssi_signo),
         Code(chld.ssi_code), chld.ssi_status, chld.ssi_pid == (uint32_t)child ? "yes" : "no");
  waitpid(child, NULL, 0);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event event = {.events = EPOLLIN, .data.u32 = 7};
  epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &event);
  struct itimerval once = {{0, 0}, {0, 30000}};
  setitimer(ITIMER_REAL, &once, NULL);
  struct epoll_event got;
  ready = epoll_wait(ep, &got, 1, 5000);
  printf("epoll: %d, data %u\n", ready, got.data.u32);
  Take(sfd, "timer");

  union sigval value = {.sival_int = 77};
  sigqueue(getpid(), SIGUSR1, value);
  Take(sfd, "sigqueue");

  // A child's copy of the signalfd reads the child's signals, not its parent's.
  child = fork();
  if (child == 0) {
    raise(SIGUSR1);
    Take(sfd, "  the child's own");
    _exit(0);
  }
  waitpid(child, NULL, 0);
  Take(sfd, "the parent's, after the child");
  n = read(sfd, &none, sizeof none);
  printf("then nothing: %zd (%s)\n", n, strerror(errno));

  // A blocking signalfd: the read waits until a child sends SIGUSR2.
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  sigprocmask(SIG_BLOCK, &usr2, NULL);
  int blocking = signalfd(-1, &usr2, 0);
  pid_t parent = getpid();
  child = fork();
  if (child == 0) {
    kill(parent, SIGUSR2);
    _exit(0);
  }
  struct signalfd_siginfo sent;
  n = read(blocking, &sent, sizeof sent);
  printf("blocking read: %zd, SIG%s, %s, from the child: %s\n", n, sigabbrev_np((int)sent.ssi_signo),
         Code(sent.ssi_code), sent.ssi_pid == (uint32_t)child ? "yes" : "no");
  waitpid(child, NULL, 0);
  Take(sfd, "the child's SIGCHLD");
  close(blocking);

  return 0;
}
