#include <cstdio>
#include <cstdlib>

#include "supervisor/core/result.h"

namespace nmr {

void CheckFailed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "nmr-run: internal error: check failed: %s at %s:%d\n", what, file, line);
  std::abort();
}

}  // namespace nmr
