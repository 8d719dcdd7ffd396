// An fd passed between two processes over a Unix socket (SCM_RIGHTS), both ways, with data
// scattered over two iovec entries and the sender's name left out: the receiver reads the
// file through the fd it got, and its fd number is the lowest free one, as natively.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static int SendFd(int sock, int fd, const char* text) {
  char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof control);
  struct iovec iov[2] = {{(void*)text, 3}, {(void*)(text + 3), strlen(text) - 3}};
  struct msghdr msg = {0};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return (int)sendmsg(sock, &msg, 0);
}

static int ReceiveFd(int sock, char* text, size_t size) {
  char control[CMSG_SPACE(sizeof(int))];
  char head[4];
  struct iovec iov[2] = {{head, 4}, {text + 4, size - 5}};
  struct msghdr msg = {0};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) return -1;
  memcpy(text, head, 4);
  text[n] = '\0';
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == NULL || c->cmsg_type != SCM_RIGHTS) return -2;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  printf("received %zd bytes \"%s\", controllen %zu, flags %d, fd %d, cloexec %d\n", n, text,
         (size_t)msg.msg_controllen, msg.msg_flags, fd, (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  return fd;
}

int main(void) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) return 1;
  int out = open("passed.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  write(out, "written by the parent\n", 22);
  close(out);
  pid_t child = fork();
  if (child == 0) {
    close(pair[0]);
    char text[64];
    int fd = ReceiveFd(pair[1], text, sizeof text);
    char buffer[64] = {0};
    pread(fd, buffer, sizeof buffer - 1, 0);
    printf("child read: %s", buffer);
    fflush(stdout);
    int reply = open("passed.txt", O_WRONLY | O_APPEND);
    SendFd(pair[1], reply, "back to you");
    _exit(0);
  }
  close(pair[1]);
  int fd = open("passed.txt", O_RDONLY);
  int sent = SendFd(pair[0], fd, "here is a file");
  char text[64];
  // The child prints before it replies: the output's order is fixed.
  int back = ReceiveFd(pair[0], text, sizeof text);
  printf("sent %d\n", sent);
  write(back, "appended through the returned fd\n", 33);
  int status;
  waitpid(child, &status, 0);
  char buffer[128] = {0};
  pread(fd, buffer, sizeof buffer - 1, 0);
  printf("file now:\n%s", buffer);
  return WEXITSTATUS(status);
}
