#include "shim/vdso.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>

#include "shim/freestanding.h"
#include "shim/gate.h"

namespace nmr::shim {
namespace {

struct VdsoEntry {
  const char* name;
  long nr;
};

// Both the __vdso_ names and the plain aliases the kernel exports; aliases share addresses.
constexpr VdsoEntry kEntries[] = {
    {"__vdso_clock_gettime", SYS_clock_gettime},
    {"clock_gettime", SYS_clock_gettime},
    {"__vdso_gettimeofday", SYS_gettimeofday},
    {"gettimeofday", SYS_gettimeofday},
    {"__vdso_time", SYS_time},
    {"time", SYS_time},
    {"__vdso_clock_getres", SYS_clock_getres},
    {"clock_getres", SYS_clock_getres},
    {"__vdso_getcpu", SYS_getcpu},
    {"getcpu", SYS_getcpu},
    {"__vdso_getrandom", SYS_getrandom},
    {"getrandom", SYS_getrandom},
};

long SyscallFor(const char* name) {
  for (const VdsoEntry& e : kEntries) {
    if (StrEq(name, e.name)) {
      return e.nr;
    }
  }
  return -1;
}

}  // namespace

long PatchVdso(unsigned long vdso_base) {
  if (vdso_base == 0) {
    return 0;  // no vDSO (vdso=0 on the kernel command line): nothing bypasses the filter
  }
  const auto* ehdr = reinterpret_cast<const Elf64_Ehdr*>(vdso_base);
  const auto* shdrs = reinterpret_cast<const Elf64_Shdr*>(vdso_base + ehdr->e_shoff);
  const Elf64_Shdr* dynsym = nullptr;
  for (int i = 0; i < ehdr->e_shnum; ++i) {
    if (shdrs[i].sh_type == SHT_DYNSYM) {
      dynsym = &shdrs[i];
    }
  }
  if (dynsym == nullptr) {
    return -ENOEXEC;
  }
  const auto* syms = reinterpret_cast<const Elf64_Sym*>(vdso_base + dynsym->sh_offset);
  const char* strtab = reinterpret_cast<const char*>(vdso_base + shdrs[dynsym->sh_link].sh_offset);
  size_t count = dynsym->sh_size / sizeof(Elf64_Sym);

  // /proc/self/mem writes through read-only mappings (the kernel copies the vDSO page on
  // write, as for a debugger's breakpoint), so the vDSO never has to be made writable.
  long mem = GateSyscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/proc/self/mem"),
                         O_RDWR | O_CLOEXEC);
  if (mem < 0) {
    return mem;
  }
  long patched = 0;
  for (size_t i = 0; i < count; ++i) {
    const Elf64_Sym& sym = syms[i];
    if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF) {
      continue;
    }
    long nr = SyscallFor(strtab + sym.st_name);
    if (nr < 0) {
      continue;
    }
    // mov eax, nr ; syscall ; ret  -- the arguments are already where the syscall wants
    // them (at most three, in rdi, rsi, rdx).
    unsigned char stub[8] = {0xb8,
                             static_cast<unsigned char>(nr & 0xff),
                             static_cast<unsigned char>(nr >> 8),
                             0,
                             0,
                             0x0f,
                             0x05,
                             0xc3};
    if (sym.st_size != 0 && sym.st_size < sizeof(stub)) {
      GateSyscall(SYS_close, mem);
      return -ENOSPC;
    }
    long wrote = GateSyscall(SYS_pwrite64, mem, reinterpret_cast<long>(stub), sizeof(stub),
                             static_cast<long>(vdso_base + sym.st_value));
    if (wrote != sizeof(stub)) {
      GateSyscall(SYS_close, mem);
      return wrote < 0 ? wrote : -EIO;
    }
    ++patched;
  }
  GateSyscall(SYS_close, mem);
  return patched;
}

}  // namespace nmr::shim
