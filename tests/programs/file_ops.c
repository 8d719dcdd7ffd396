// file_ops: works on files in its current directory (pwrite with a hole, fsync, ftruncate,
// O_APPEND, rename, link, symlink, unlink, mkdir/rmdir, chmod/umask, fcntl and flock
// locks, a sorted directory listing through readdir) and prints every result.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int Cmp(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }

static void List(const char* path) {
  DIR* d = opendir(path);
  if (!d) {
    printf("opendir %s: errno %d\n", path, errno);
    return;
  }
  char* names[256];
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL && n < 256) {
    char type = e->d_type == DT_DIR ? 'd' : e->d_type == DT_LNK ? 'l' : e->d_type == DT_REG ? 'f' : '?';
    if (asprintf(&names[n], "%s %c", e->d_name, type) > 0) n++;
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], Cmp);
  printf("listing of %s (%d entries):\n", path, n);
  for (int i = 0; i < n; i++) {
    printf("  %s\n", names[i]);
    free(names[i]);
  }
}

int main(void) {
  umask(022);
  int fd = open("data.bin", O_CREAT | O_RDWR | O_TRUNC, 0666);
  printf("pwrite at 0: %zd\n", pwrite(fd, "head", 4, 0));
  printf("pwrite at 100: %zd\n", pwrite(fd, "tail", 4, 100));
  printf("fsync: %d\n", fsync(fd));
  printf("fdatasync: %d\n", fdatasync(fd));
  struct stat st;
  fstat(fd, &st);
  printf("size after pwrite: %lld, mode %o\n", (long long)st.st_size, st.st_mode & 0777);
  char buf[8] = {0};
  ssize_t got = pread(fd, buf, 4, 50);
  printf("pread in the hole: %zd bytes, zero: %s\n", got, buf[0] == 0 ? "yes" : "no");
  printf("ftruncate to 200: %d\n", ftruncate(fd, 200));
  printf("lseek end: %lld\n", (long long)lseek(fd, 0, SEEK_END));
  close(fd);

  fd = open("log.txt", O_CREAT | O_WRONLY | O_APPEND, 0600);
  dprintf(fd, "first\n");
  lseek(fd, 0, SEEK_SET);
  dprintf(fd, "second (appended despite lseek)\n");
  close(fd);

  printf("rename: %d\n", rename("data.bin", "renamed.bin"));
  int r = rename("missing", "x");
  printf("rename missing: %d errno %d\n", r, errno);
  printf("link: %d\n", link("renamed.bin", "hardlink.bin"));
  printf("symlink: %d\n", symlink("renamed.bin", "symlink.bin"));
  char target[64] = {0};
  got = readlink("symlink.bin", target, sizeof target - 1);
  printf("readlink: %zd %s\n", got, target);
  close(open("temporary", O_CREAT | O_WRONLY, 0644));
  printf("unlink: %d\n", unlink("temporary"));
  r = unlink("temporary");
  printf("unlink again: %d errno %d\n", r, errno);
  printf("mkdir sub: %d\n", mkdir("sub", 0755));
  printf("mkdir empty: %d\n", mkdir("empty", 0755));
  close(open("sub/a", O_CREAT | O_WRONLY, 0644));
  close(open("sub/b", O_CREAT | O_WRONLY, 0644));
  printf("rmdir empty: %d\n", rmdir("empty"));
  r = rmdir("sub");
  printf("rmdir non-empty sub: %d errno %d\n", r, errno);
  printf("chmod: %d\n", chmod("log.txt", 0640));
  stat("log.txt", &st);
  printf("log.txt mode: %o\n", st.st_mode & 0777);
  printf("access W_OK on sub/a: %d\n", access("sub/a", W_OK));

  int a = open("lockfile", O_CREAT | O_RDWR, 0644);
  int b = open("lockfile", O_RDWR);
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
  printf("F_SETLK write lock: %d\n", fcntl(a, F_SETLK, &fl));
  struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
  fcntl(b, F_GETLK, &q);
  printf("F_GETLK (same process): %s\n", q.l_type == F_UNLCK ? "unlocked" : "locked");
  struct flock ofd = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
  r = fcntl(b, F_OFD_SETLK, &ofd);
  printf("F_OFD_SETLK over it: %d errno %s\n", r, r < 0 && (errno == EAGAIN || errno == EACCES) ? "conflict" : "none");
  printf("flock a: %d\n", flock(a, LOCK_EX | LOCK_NB));
  r = flock(b, LOCK_EX | LOCK_NB);
  printf("flock b: %d errno %s\n", r, r < 0 && errno == EWOULDBLOCK ? "EWOULDBLOCK" : "none");
  close(b);
  close(a);

  char cwd[4096];
  printf("getcwd ok: %s\n", getcwd(cwd, sizeof cwd) ? "yes" : "no");
  List(".");
  List("sub");
  List("no-such-dir");
  return 0;
}
