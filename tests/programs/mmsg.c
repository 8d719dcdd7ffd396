// sendmmsg and recvmmsg between two processes over an AF_UNIX datagram socketpair. The child
// sends three messages with one sendmmsg: the first over two iovec entries, the second with
// an fd (SCM_RIGHTS), the third with its own credentials (SCM_CREDENTIALS, its pid from
// getpid(): under nmr a virtual pid, which the kernel would refuse; nmr gives it the real
// one). The parent, whose socket has SO_PASSCRED, waits for the child and then receives them
// with one recvmmsg of four elements: the data scattered over two entries, a name, a message
// cut short (MSG_TRUNC), the fd read, the credentials' uid and gid checked, msg_len of the
// unused fourth element left alone, and the timeout's time left written back. No pid is
// printed: they differ from run to run (and under nmr, received credentials name the root
// process).
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char* const kTexts[3] = {"first, in two parts", "second, with an fd",
                                      "third, with credentials"};

// Without CAP_SYS_ADMIN the kernel wants the credentials' pid to be the sender's own (with
// it, any pid that exists will do): a child of root gives its privileges up first.
static const uid_t kUnprivileged = 65534;

static int Child(int sock) {
  int fd = open("mmsg.txt", O_RDONLY);
  if (geteuid() == 0) {
    setuid(kUnprivileged);
  }
  struct iovec iov[4] = {
      {(void*)kTexts[0], 6},
      {(void*)(kTexts[0] + 6), strlen(kTexts[0]) - 6},
      {(void*)kTexts[1], strlen(kTexts[1])},
      {(void*)kTexts[2], strlen(kTexts[2])},
  };
  union {
    char bytes[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } rights;
  union {
    char bytes[CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } creds;
  memset(&rights, 0, sizeof rights);
  memset(&creds, 0, sizeof creds);
  struct mmsghdr msgs[3];
  memset(msgs, 0, sizeof msgs);
  msgs[0].msg_hdr.msg_iov = &iov[0];
  msgs[0].msg_hdr.msg_iovlen = 2;
  msgs[1].msg_hdr.msg_iov = &iov[2];
  msgs[1].msg_hdr.msg_iovlen = 1;
  msgs[1].msg_hdr.msg_control = rights.bytes;
  msgs[1].msg_hdr.msg_controllen = sizeof rights.bytes;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msgs[1].msg_hdr);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  msgs[2].msg_hdr.msg_iov = &iov[3];
  msgs[2].msg_hdr.msg_iovlen = 1;
  msgs[2].msg_hdr.msg_control = creds.bytes;
  msgs[2].msg_hdr.msg_controllen = sizeof creds.bytes;
  c = CMSG_FIRSTHDR(&msgs[2].msg_hdr);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_CREDENTIALS;
  c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
  struct ucred mine = {getpid(), getuid(), getgid()};
  memcpy(CMSG_DATA(c), &mine, sizeof mine);
  int sent = sendmmsg(sock, msgs, 3, 0);
  printf("child: sendmmsg returned %d", sent);
  for (int i = 0; i < 3; ++i) {
    printf(", msg_len[%d] %u", i, msgs[i].msg_len);
  }
  printf("\n");
  return sent == 3 ? 7 : 1;
}

static void PrintControl(struct msghdr* h) {
  printf("  controllen %zu:", (size_t)h->msg_controllen);
  for (struct cmsghdr* c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      memcpy(&fd, CMSG_DATA(c), sizeof fd);
      char text[64] = {0};
      ssize_t n = pread(fd, text, sizeof text - 1, 0);
      printf(" an fd (%d, read %zd bytes: %.*s)", fd, n, (int)strcspn(text, "\n"), text);
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
      struct ucred theirs;
      memcpy(&theirs, CMSG_DATA(c), sizeof theirs);
      uid_t uid = getuid() == 0 ? kUnprivileged : getuid();  // the child's (see Child)
      printf(" credentials (uid %s, gid %s)", theirs.uid == uid ? "matches" : "differs",
             theirs.gid == getgid() ? "matches" : "differs");
    } else {
      printf(" level %d type %d", c->cmsg_level, c->cmsg_type);
    }
  }
  printf("\n");
}

int main(void) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM, 0, pair) != 0) return 1;
  int on = 1;
  if (setsockopt(pair[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) return 2;
  int out = open("mmsg.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  write(out, "the passed file\n", 16);
  close(out);
  pid_t child = fork();
  if (child == 0) {
    close(pair[0]);
    int code = Child(pair[1]);
    fflush(stdout);
    _exit(code);
  }
  close(pair[1]);
  // Nothing is printed before the child is done: the output's order is fixed.
  int status;
  waitpid(child, &status, 0);
  printf("child exited with %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

  char head[4], rest[60], second[64], third[10], fourth[64];
  struct iovec iov[5] = {{head, sizeof head},
                         {rest, sizeof rest},
                         {second, sizeof second},
                         {third, sizeof third},
                         {fourth, sizeof fourth}};
  enum { kControl = CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred)) };
  union {
    char bytes[kControl];
    struct cmsghdr align;
  } control[4];
  struct sockaddr_un name;
  struct mmsghdr msgs[4];
  memset(msgs, 0, sizeof msgs);
  memset(&name, 0, sizeof name);
  for (int i = 0; i < 4; ++i) {
    msgs[i].msg_hdr.msg_iov = &iov[i == 0 ? 0 : i + 1];
    msgs[i].msg_hdr.msg_iovlen = i == 0 ? 2 : 1;
    msgs[i].msg_hdr.msg_control = control[i].bytes;
    msgs[i].msg_hdr.msg_controllen = sizeof control[i].bytes;
    msgs[i].msg_len = 12345;
  }
  msgs[0].msg_hdr.msg_name = &name;
  msgs[0].msg_hdr.msg_namelen = sizeof name;
  struct timespec timeout = {5, 0};
  int got = recvmmsg(pair[0], msgs, 4, MSG_DONTWAIT, &timeout);
  printf("recvmmsg returned %d\n", got);
  for (int i = 0; i < got; ++i) {
    struct msghdr* h = &msgs[i].msg_hdr;
    char text[128] = {0};
    if (i == 0) {
      memcpy(text, head, sizeof head);
      memcpy(text + sizeof head, rest, msgs[i].msg_len - sizeof head);
    } else {
      memcpy(text, h->msg_iov[0].iov_base, msgs[i].msg_len);
    }
    printf("message %d: msg_len %u \"%s\", flags %#x", i, msgs[i].msg_len, text, h->msg_flags);
    if (i == 0) {
      printf(", namelen %u, family %d", h->msg_namelen, name.sun_family);
    }
    printf("\n");
    PrintControl(h);
  }
  printf("msg_len of the unused element: %u\n", msgs[3].msg_len);
  printf("timeout's time left written back: %s\n",
         timeout.tv_sec < 5 && timeout.tv_sec >= 0 ? "yes" : "no");
  return 0;
}
