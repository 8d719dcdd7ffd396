// Freestanding helpers for the shim: it links no libc (-nostdlib, --no-undefined), so a call
// to printf, malloc or syscall(2) fails to link instead of misbehaving inside a signal
// handler. The compiler may still emit memcpy/memset for struct copies: those are here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nmr::shim {

size_t StrLen(const char* s);
bool StrEq(const char* a, const char* b);
bool StartsWith(const char* s, const char* prefix);
void CopyBytes(void* dst, const void* src, size_t n);
// Writes the decimal form of `value` at `out`; returns the position after the last digit.
char* AppendDecimal(char* out, long value);
char* AppendString(char* out, const char* s);

}  // namespace nmr::shim
