/* checksum: the CRC-32 (IEEE 802.3, as zlib and `gzip -l` compute it) of all of stdin.
 *
 * The smallest useful program for nmr: it reads its input in 64 KiB chunks with read(2),
 * each of which is a vote, keeps its state in a table in the data segment and a buffer on
 * the heap, and prints one line:  bytes=<n> crc32=<8 hex digits>.  Deterministic.
 *
 *   ./checksum < file
 *   nmr-run -n 3 -p kill.yaml -- ./checksum < file
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { kChunk = 64 * 1024 };

static uint32_t crc_table[256];

static void make_table(void) {
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t c = n;
    for (int k = 0; k < 8; k++) {
      c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    crc_table[n] = c;
  }
}

static uint32_t crc_update(uint32_t crc, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    crc = crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  }
  return crc;
}

int main(void) {
  unsigned char *buf = malloc(kChunk);
  if (buf == NULL) {
    perror("checksum: malloc");
    return 1;
  }
  make_table();
  uint32_t crc = 0xFFFFFFFFu;
  uint64_t total = 0;
  for (;;) {
    ssize_t got = read(STDIN_FILENO, buf, kChunk);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      perror("checksum: read");
      return 1;
    }
    if (got == 0) {
      break;
    }
    crc = crc_update(crc, buf, (size_t)got);
    total += (uint64_t)got;
  }
  free(buf);
  printf("bytes=%" PRIu64 " crc32=%08" PRIx32 "\n", total, crc ^ 0xFFFFFFFFu);
  return fflush(stdout) == 0 ? 0 : 1;
}
