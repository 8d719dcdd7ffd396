// SysV semaphores and message queues: a set of three semaphores and a queue, both private,
// used by this process and by a child it forks, then removed. Prints only what is the same in
// every run (values, counts, texts, errno names; never ids, pids or times), so nmr must answer
// as the kernel does natively.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

union semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

struct message {
  long mtype;
  char mtext[32];
};

static void Show(const char* what, long rc) {
  printf("%s: %ld%s%s\n", what, rc, rc < 0 ? " " : "", rc < 0 ? strerrorname_np(errno) : "");
  errno = 0;
}

static void Semaphores(void) {
  int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
  if (id < 0) {
    printf("semget: %s\n", strerrorname_np(errno));
    return;
  }
  unsigned short values[3] = {1, 2, 3};
  Show("SETALL", semctl(id, 0, SETALL, (union semun){.array = values}));
  unsigned short read_back[3] = {0, 0, 0};
  Show("GETALL", semctl(id, 0, GETALL, (union semun){.array = read_back}));
  printf("values: %u %u %u\n", read_back[0], read_back[1], read_back[2]);
  Show("SETVAL 1 to 5", semctl(id, 1, SETVAL, (union semun){.val = 5}));
  Show("GETVAL 1", semctl(id, 1, GETVAL));

  struct semid_ds ds;
  memset(&ds, 0, sizeof ds);
  Show("IPC_STAT", semctl(id, 0, IPC_STAT, (union semun){.buf = &ds}));
  printf("nsems: %lu, mode: %o\n", (unsigned long)ds.sem_nsems, ds.sem_perm.mode & 0777);
  ds.sem_perm.mode = 0640;
  Show("IPC_SET mode 0640", semctl(id, 0, IPC_SET, (union semun){.buf = &ds}));
  memset(&ds, 0, sizeof ds);
  semctl(id, 0, IPC_STAT, (union semun){.buf = &ds});
  printf("mode now: %o\n", ds.sem_perm.mode & 0777);

  // Take semaphore 0 and give 2 to semaphore 2, in one operation.
  struct sembuf ops[2] = {{.sem_num = 0, .sem_op = -1}, {.sem_num = 2, .sem_op = 2}};
  Show("semop", semop(id, ops, 2));
  Show("GETVAL 0", semctl(id, 0, GETVAL));
  Show("GETVAL 2", semctl(id, 2, GETVAL));
  Show("GETNCNT 0", semctl(id, 0, GETNCNT));
  Show("GETZCNT 0", semctl(id, 0, GETZCNT));
  // The process that did the last operation (nmr-run's under nmr, so only its sign).
  printf("GETPID: %s\n", semctl(id, 0, GETPID) > 0 ? "a pid" : strerrorname_np(errno));
  struct sembuf take = {.sem_num = 0, .sem_op = -1, .sem_flg = IPC_NOWAIT};
  Show("semop IPC_NOWAIT on 0", semop(id, &take, 1));
  take.sem_flg = 0;
  struct timespec brief = {0, 50 * 1000 * 1000};
  Show("semtimedop 50 ms on 0", semtimedop(id, &take, 1, &brief));

  // The parent waits on semaphore 0 until its child gives it.
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    struct sembuf give = {.sem_num = 0, .sem_op = 1};
    _exit(semop(id, &give, 1) == 0 ? 0 : 1);
  }
  Show("semop waiting for the child", semop(id, &take, 1));
  int status = 0;
  waitpid(child, &status, 0);
  printf("child: exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  Show("GETVAL 0 after", semctl(id, 0, GETVAL));

  struct seminfo info;
  printf(
      "SEM_INFO: %s\n",
      semctl(id, 0, SEM_INFO, (union semun){.buf = (struct semid_ds*)&info}) >= 0 && info.semmsl > 0
          ? "limits"
          : strerrorname_np(errno));
  // (glibc's semctl refuses an unknown command itself: ask the kernel.)
  Show("semctl bad command", syscall(SYS_semctl, id, 0, 9999, 0));
  Show("semctl bad id", semctl(-1, 0, GETVAL));
  Show("IPC_RMID", semctl(id, 0, IPC_RMID));
  Show("GETVAL after IPC_RMID", semctl(id, 0, GETVAL));
  Show("semop after IPC_RMID", semop(id, ops, 1));
}

static void Queue(void) {
  int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  if (id < 0) {
    printf("msgget: %s\n", strerrorname_np(errno));
    return;
  }
  struct message one = {.mtype = 1, .mtext = "one"};
  struct message two = {.mtype = 2, .mtext = "second"};
  Show("msgsnd type 1", msgsnd(id, &one, strlen(one.mtext), 0));
  Show("msgsnd type 2", msgsnd(id, &two, strlen(two.mtext), 0));
  struct msqid_ds ds;
  memset(&ds, 0, sizeof ds);
  Show("IPC_STAT", msgctl(id, IPC_STAT, &ds));
  printf("qnum: %lu, cbytes: %lu\n", (unsigned long)ds.msg_qnum, (unsigned long)ds.msg_cbytes);

  struct message in;
  memset(&in, 'x', sizeof in);
  ssize_t n = msgrcv(id, &in, sizeof in.mtext, 2, 0);
  printf("msgrcv type 2: %zd, type %ld, '%.*s'\n", n, in.mtype, n > 0 ? (int)n : 0, in.mtext);
  // Only the text received is written: the byte after it is untouched.
  printf("after the text: '%c'\n", in.mtext[n > 0 ? n : 0]);
  memset(&in, 0, sizeof in);
  n = msgrcv(id, &in, sizeof in.mtext, 0, 0);
  printf("msgrcv any: %zd, type %ld, '%s'\n", n, in.mtype, in.mtext);
  Show("msgrcv IPC_NOWAIT on empty", msgrcv(id, &in, sizeof in.mtext, 0, IPC_NOWAIT));

  // Too long for the buffer: E2BIG, or cut with MSG_NOERROR.
  struct message long_one = {.mtype = 3, .mtext = "longer than four"};
  msgsnd(id, &long_one, strlen(long_one.mtext), 0);
  Show("msgrcv 4 bytes", msgrcv(id, &in, 4, 3, IPC_NOWAIT));
  memset(&in, 'x', sizeof in);
  n = msgrcv(id, &in, 4, 3, IPC_NOWAIT | MSG_NOERROR);
  printf("msgrcv 4 bytes MSG_NOERROR: %zd, '%.6s'\n", n, in.mtext);

  // The child sends; the parent waits for it.
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    struct message hello = {.mtype = 5, .mtext = "from the child"};
    _exit(msgsnd(id, &hello, strlen(hello.mtext) + 1, 0) == 0 ? 0 : 1);
  }
  memset(&in, 0, sizeof in);
  n = msgrcv(id, &in, sizeof in.mtext, 5, 0);
  printf("msgrcv from the child: %zd, '%s'\n", n, in.mtext);
  int status = 0;
  waitpid(child, &status, 0);
  printf("child: exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

  struct msginfo info;
  printf("MSG_INFO: %s\n", msgctl(id, MSG_INFO, (struct msqid_ds*)&info) >= 0 && info.msgmax > 0
                               ? "limits"
                               : strerrorname_np(errno));
  Show("msgctl bad command", msgctl(id, 9999, &ds));
  Show("IPC_RMID", msgctl(id, IPC_RMID, NULL));
  Show("msgsnd after IPC_RMID", msgsnd(id, &one, 3, IPC_NOWAIT));
}

int main(void) {
  Semaphores();
  Queue();
  return 0;
}
