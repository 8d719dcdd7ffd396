// misbehave: one replica misbehaves in a way no fault kind of the injector produces, to test
// the supervisor's detection of it. Under nmr-run the program finds its own channel (the
// mapping named /memfd:nmr-channel) and reads its slot from it; natively there is none and
// it just prints its lines. Usage: misbehave MODE REPLICA LINES
//   protocol  replica REPLICA writes nonsense into its channel: a request stamped two ahead
//             of the last one (a wild write), wakes the supervisor, and waits to be killed
//   exit      replica REPLICA exits with status 3 halfway, while the others go on
//   sleep     replica REPLICA waits halfway on a futex nobody wakes (a deadlock: no CPU,
//             no vote), while the others go on
// Offsets are interface/channel.h's (pinned there by static_assert): setup.replica 8,
// request_seq 4160, supervisor_sleeping 4164, request.seq 4288.
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned char* FindChannel(void) {
  FILE* maps = fopen("/proc/self/maps", "r");
  char line[512];
  unsigned long start = 0;
  while (maps != NULL && fgets(line, sizeof line, maps) != NULL) {
    if (strstr(line, "/memfd:nmr-channel") != NULL) {
      start = strtoul(line, NULL, 16);
      break;
    }
  }
  if (maps != NULL) {
    fclose(maps);
  }
  return (unsigned char*)start;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: misbehave protocol|exit|sleep REPLICA LINES\n");
    return 2;
  }
  const char* mode = argv[1];
  uint32_t target = (uint32_t)atoi(argv[2]);
  int lines = atoi(argv[3]);
  unsigned char* channel = FindChannel();
  int me = channel != NULL && *(uint32_t*)(channel + 8) == target;
  for (int i = 1; i <= lines; i++) {
    printf("line %d\n", i);
    fflush(stdout);
    if (me && i == lines / 2) {
      if (strcmp(mode, "exit") == 0) {
        _exit(3);
      }
      if (strcmp(mode, "sleep") == 0) {
        static uint32_t never;  // a futex wait is replica-local: it is not a vote
        for (;;) {
          syscall(SYS_futex, &never, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
        }
      }
      volatile uint32_t* request_seq = (uint32_t*)(channel + 4160);
      uint32_t next = *request_seq + 2;
      *(volatile uint32_t*)(channel + 4288) = next;
      __atomic_store_n(request_seq, next, __ATOMIC_SEQ_CST);
      syscall(SYS_futex, request_seq, FUTEX_WAKE, 1, NULL, NULL, 0);
      // No syscall now: the next vote would overwrite the nonsense before the supervisor
      // reads it. The supervisor kills this replica here (or, if it missed the nonsense,
      // finds it hung: it burns CPU without voting).
      for (;;) {
        __asm__ volatile("pause");
      }
    }
  }
  return 0;
}
