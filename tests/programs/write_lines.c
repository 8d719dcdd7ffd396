// write_lines COUNT: one write(2) per line ("line I\n"), so vote K of `write` is line K.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int count = argc > 1 ? atoi(argv[1]) : 10;
  for (int i = 1; i <= count; i++) {
    char line[64];
    int len = snprintf(line, sizeof line, "line %d\n", i);
    if (write(1, line, (size_t)len) != len) return 1;
  }
  return 0;
}
