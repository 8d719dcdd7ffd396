/* matmul: a compute kernel that runs long enough for a fault to land in the middle of it.
 *
 *   matmul [N] [REPS]        (defaults: N=300, REPS=30)
 *
 * Fills two N x N matrices of doubles from a fixed-seed LCG, then REPS times computes
 * C = A * B and sets A = C / max|C| (so the values stay bounded and every repetition depends
 * on the one before). After each repetition it prints `rep i/REPS trace=<trace of C>` and
 * flushes, so the progress lines are votes spread over the run; at the end it prints
 * `checksum=<weighted sum of A>`. Single-threaded, no FMA contraction: bit-for-bit
 * deterministic. Each row is its own malloc, so the matrices live in the [heap] mapping
 * (one malloc per matrix would be above glibc's mmap threshold).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t lcg_state = 20240601u;

/* Knuth's MMIX LCG; the top 53 bits give a double in [-1, 1). */
static double lcg_next(void) {
  lcg_state = lcg_state * 6364136223846793005u + 1442695040888963407u;
  return (double)(lcg_state >> 11) / 4503599627370496.0 - 1.0;
}

static void *xmalloc(size_t size) {
  void *p = malloc(size);
  if (p == NULL) {
    perror("matmul: malloc");
    exit(1);
  }
  return p;
}

static double **alloc_matrix(int n) {
  double **m = xmalloc((size_t)n * sizeof *m);
  for (int i = 0; i < n; i++) {
    m[i] = xmalloc((size_t)n * sizeof **m);
  }
  return m;
}

static void free_matrix(double **m, int n) {
  for (int i = 0; i < n; i++) {
    free(m[i]);
  }
  free(m);
}

static int parse_positive(const char *s, int max, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < 1 || v > max) {
    return -1;
  }
  *out = (int)v;
  return 0;
}

int main(int argc, char **argv) {
  int n = 300, reps = 30;
  if (argc > 3 || (argc > 1 && parse_positive(argv[1], 4000, &n) != 0) ||
      (argc > 2 && parse_positive(argv[2], 1000000, &reps) != 0)) {
    fprintf(stderr, "usage: matmul [N (1-4000)] [REPS (>= 1)]\n");
    return 2;
  }
  double **a = alloc_matrix(n), **b = alloc_matrix(n), **c = alloc_matrix(n);
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < n; j++) {
      a[i][j] = lcg_next();
    }
  }
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < n; j++) {
      b[i][j] = lcg_next();
    }
  }

  for (int r = 1; r <= reps; r++) {
    for (int i = 0; i < n; i++) {
      double *ci = c[i];
      for (int j = 0; j < n; j++) {
        ci[j] = 0.0;
      }
      for (int k = 0; k < n; k++) {
        const double aik = a[i][k];
        const double *bk = b[k];
        for (int j = 0; j < n; j++) {
          ci[j] += aik * bk[j];
        }
      }
    }
    double trace = 0.0, max = 0.0;
    for (int i = 0; i < n; i++) {
      trace += c[i][i];
      for (int j = 0; j < n; j++) {
        max = fmax(max, fabs(c[i][j]));
      }
    }
    const double scale = max > 0.0 ? 1.0 / max : 1.0;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        a[i][j] = c[i][j] * scale;
      }
    }
    printf("rep %d/%d trace=%.6f\n", r, reps, trace);
    fflush(stdout);
  }

  double checksum = 0.0;
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < n; j++) {
      checksum += a[i][j] * (double)((i * 31 + j * 17) % 97 + 1);
    }
  }
  printf("checksum=%.10e\n", checksum);
  free_matrix(a, n);
  free_matrix(b, n);
  free_matrix(c, n);
  return fflush(stdout) == 0 ? 0 : 1;
}
