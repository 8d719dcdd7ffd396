// A latent fault's target: fills a large buffer with a known pattern, then makes many votes
// (one line written per step) without reading the buffer, and only at the end prints a
// checksum of it. A bit flipped in the buffer stays hidden until that last line: scrubbing
// must find it first. Usage: latent [STEPS] [MIB]
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char** argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 40;
  size_t bytes = (size_t)(argc > 2 ? atoi(argv[2]) : 64) << 20;
  uint8_t* buffer = malloc(bytes);
  if (buffer == NULL) {
    return 1;
  }
  for (size_t i = 0; i < bytes; i++) {
    buffer[i] = (uint8_t)(i * 2654435761u >> 13);
  }
  for (int s = 1; s <= steps; s++) {
    printf("step %d\n", s);
    fflush(stdout);
    struct timespec pause = {0, 10 * 1000 * 1000};  // 10 ms between steps: time for scrubs
    nanosleep(&pause, NULL);
  }
  uint64_t sum = 1469598103934665603ull;
  for (size_t i = 0; i < bytes; i++) {
    sum = (sum ^ buffer[i]) * 1099511628211ull;
  }
  printf("checksum %016llx\n", (unsigned long long)sum);
  free(buffer);
  return 0;
}
