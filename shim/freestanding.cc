#include "shim/freestanding.h"

// The compiler emits calls to these for struct copies and zeroing; hidden so they never
// interpose the program's own.
extern "C" __attribute__((visibility("hidden"))) void* memcpy(void* dst, const void* src,
                                                              size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  while (n--) {
    *d++ = *s++;
  }
  return dst;
}

extern "C" __attribute__((visibility("hidden"))) void* memset(void* dst, int c, size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  while (n--) {
    *d++ = static_cast<unsigned char>(c);
  }
  return dst;
}

namespace nmr::shim {

size_t StrLen(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') {
    ++n;
  }
  return n;
}

bool StrEq(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

bool StartsWith(const char* s, const char* prefix) {
  while (*prefix != '\0') {
    if (*s++ != *prefix++) {
      return false;
    }
  }
  return true;
}

void CopyBytes(void* dst, const void* src, size_t n) { memcpy(dst, src, n); }

char* AppendDecimal(char* out, long value) {
  if (value < 0) {
    *out++ = '-';
    value = -value;
  }
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) {
    *out++ = digits[--n];
  }
  *out = '\0';
  return out;
}

char* AppendString(char* out, const char* s) {
  while (*s != '\0') {
    *out++ = *s++;
  }
  *out = '\0';
  return out;
}

}  // namespace nmr::shim
