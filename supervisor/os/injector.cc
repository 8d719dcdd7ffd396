#include "supervisor/os/injector.h"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <random>
#include <sstream>

#include "supervisor/core/memory_map.h"
#include "supervisor/os/proc.h"

namespace nmr {
namespace {

// user_regs_struct's field for each of kFaultRegisters, in the same order.
unsigned long long* RegisterField(user_regs_struct& regs, int index) {
  unsigned long long* fields[kFaultRegisterCount] = {
      &regs.rax, &regs.rbx, &regs.rcx, &regs.rdx, &regs.rsi, &regs.rdi,
      &regs.rbp, &regs.rsp, &regs.r8,  &regs.r9,  &regs.r10, &regs.r11,
      &regs.r12, &regs.r13, &regs.r14, &regs.r15, &regs.rip, &regs.eflags};
  return fields[index];
}

// Holds a replica stopped under ptrace for as long as it lives; detaching lets it go on.
class Seized {
 public:
  explicit Seized(pid_t pid) : pid_(pid) {}
  ~Seized() {
    if (attached_) {
      ptrace(PTRACE_DETACH, pid_, nullptr, nullptr);
    }
  }
  // Stops the replica where it is. False (and `why`) if it cannot be; `death` if it died.
  bool Stop(std::string* why, std::optional<int>* death) {
    if (ptrace(PTRACE_SEIZE, pid_, nullptr, nullptr) != 0) {
      *why = std::string("ptrace seize: ") + std::strerror(errno);
      return false;
    }
    attached_ = true;
    if (ptrace(PTRACE_INTERRUPT, pid_, nullptr, nullptr) != 0) {
      *why = std::string("ptrace interrupt: ") + std::strerror(errno);
      return false;
    }
    for (;;) {
      int status = 0;
      if (waitpid(pid_, &status, __WALL) != pid_) {
        *why = std::string("waitpid: ") + std::strerror(errno);
        return false;
      }
      if (WIFEXITED(status) || WIFSIGNALED(status)) {
        attached_ = false;
        *death = status;
        *why = "the replica died before the fault";
        return false;
      }
      if (WIFSTOPPED(status) && (status >> 16) == PTRACE_EVENT_STOP) {
        return true;  // the interrupt's stop
      }
      // A signal arrived first: let it through and wait for the interrupt's stop.
      int sig = WIFSTOPPED(status) ? WSTOPSIG(status) : 0;
      ptrace(PTRACE_CONT, pid_, nullptr, reinterpret_cast<void*>(static_cast<long>(sig)));
      ptrace(PTRACE_INTERRUPT, pid_, nullptr, nullptr);
    }
  }

 private:
  pid_t pid_;
  bool attached_ = false;
};

// Stops the seized replica and reads its registers; false (with `out` saying why) if not.
bool StopAndReadRegisters(Seized& seized, pid_t pid, user_regs_struct* regs,
                          InjectionOutcome* out) {
  if (!seized.Stop(&out->what, &out->death_status)) {
    return false;
  }
  if (ptrace(PTRACE_GETREGS, pid, nullptr, regs) != 0) {
    out->what = std::string("ptrace getregs: ") + std::strerror(errno);
    return false;
  }
  return true;
}

InjectionOutcome FlipRegister(pid_t pid, const FaultSpec& fault, std::mt19937_64& random) {
  InjectionOutcome out;
  Seized seized(pid);
  user_regs_struct regs;
  if (!StopAndReadRegisters(seized, pid, &regs, &out)) {
    return out;
  }
  int index = fault.register_index >= 0
                  ? fault.register_index
                  : std::uniform_int_distribution<int>(0, kFaultRegisterCount - 1)(random);
  int bit = fault.bit >= 0 ? fault.bit : std::uniform_int_distribution<int>(0, 63)(random);
  unsigned long long rip = regs.rip;
  unsigned long long* field = RegisterField(regs, index);
  unsigned long long before = *field;
  *field ^= 1ULL << bit;
  if (ptrace(PTRACE_SETREGS, pid, nullptr, &regs) != 0) {
    out.what = std::string("ptrace setregs: ") + std::strerror(errno);
    return out;
  }
  out.injected = true;
  out.what = fmt::format("bitflip-register: {} bit {} ({:#x} -> {:#x}) at rip {:#x}",
                         kFaultRegisters[index], bit, before, *field, rip);
  return out;
}

InjectionOutcome FlipMemory(pid_t pid, const FaultSpec& fault, std::mt19937_64& random,
                            uint64_t channel_inode) {
  InjectionOutcome out;
  Seized seized(pid);
  user_regs_struct regs;
  if (!StopAndReadRegisters(seized, pid, &regs, &out)) {
    return out;
  }
  std::vector<MemoryRegion> map = ParseMaps(ReadProcFile(pid, "maps"));
  std::optional<uint64_t> address =
      PickFlipAddress(map, fault.region, regs.rsp, random, channel_inode);
  if (!address) {
    out.what = std::string("no ") + FaultRegionName(fault.region) + " memory to flip";
    return out;
  }
  int bit = fault.bit >= 0 ? fault.bit : std::uniform_int_distribution<int>(0, 7)(random);
  uint8_t byte = 0;
  iovec local{&byte, 1};
  iovec remote{reinterpret_cast<void*>(*address), 1};
  if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != 1) {
    out.what = fmt::format("cannot read {:#x}: {}", *address, std::strerror(errno));
    return out;
  }
  uint8_t before = byte;
  byte ^= static_cast<uint8_t>(1u << bit);
  if (process_vm_writev(pid, &local, 1, &remote, 1, 0) != 1) {
    out.what = fmt::format("cannot write {:#x}: {}", *address, std::strerror(errno));
    return out;
  }
  std::string where;
  for (const MemoryRegion& r : map) {
    if (r.Contains(*address)) {
      where = r.path.empty() ? "anonymous" : r.path;
    }
  }
  out.injected = true;
  out.what = fmt::format("bitflip-memory: {:#x} ({}) bit {} ({:#04x} -> {:#04x}) at rip {:#x}",
                         *address, where, bit, before, byte, regs.rip);
  return out;
}

}  // namespace

InjectionOutcome InjectFault(pid_t pid, const FaultSpec& fault, uint64_t seed,
                             uint64_t channel_inode) {
  std::mt19937_64 random(seed);
  InjectionOutcome out;
  switch (fault.kind) {
    case FaultSpec::Kind::kKill:
      out.injected = kill(pid, SIGKILL) == 0;
      out.what = out.injected ? "kill: SIGKILL" : std::string("kill: ") + std::strerror(errno);
      return out;
    case FaultSpec::Kind::kStop:
      out.injected = kill(pid, SIGSTOP) == 0;
      out.what = out.injected ? "stop: SIGSTOP (a hang)" : std::string("stop: ") + std::strerror(errno);
      return out;
    case FaultSpec::Kind::kBitflipRegister:
      return FlipRegister(pid, fault, random);
    case FaultSpec::Kind::kBitflipMemory:
      return FlipMemory(pid, fault, random, channel_inode);
    case FaultSpec::Kind::kCorruptVote:
      break;
  }
  out.what = "corrupt-vote is applied to a vote, not to a process";
  return out;
}

}  // namespace nmr
