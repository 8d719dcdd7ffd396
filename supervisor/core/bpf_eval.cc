#include "supervisor/core/bpf_eval.h"

#include <cstring>
#include <string>

namespace nmr {

Result<uint32_t> EvaluateBpf(const BpfProgram& program, const seccomp_data& data) {
  uint32_t acc = 0;
  size_t pc = 0;
  while (pc < program.size()) {
    const sock_filter& insn = program[pc];
    switch (insn.code) {
      case BPF_LD | BPF_W | BPF_ABS: {
        if (insn.k % 4 != 0 || uint64_t{insn.k} + 4 > sizeof(seccomp_data)) {
          return MakeError("load out of seccomp_data at " + std::to_string(pc));
        }
        std::memcpy(&acc, reinterpret_cast<const char*>(&data) + insn.k, 4);
        ++pc;
        break;
      }
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += 1 + (acc == insn.k ? insn.jt : insn.jf);
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        pc += 1 + (acc >= insn.k ? insn.jt : insn.jf);
        break;
      case BPF_JMP | BPF_JGT | BPF_K:
        pc += 1 + (acc > insn.k ? insn.jt : insn.jf);
        break;
      case BPF_JMP | BPF_JSET | BPF_K:
        pc += 1 + ((acc & insn.k) != 0 ? insn.jt : insn.jf);
        break;
      case BPF_JMP | BPF_JA:
        pc += 1 + insn.k;
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        acc &= insn.k;
        ++pc;
        break;
      case BPF_RET | BPF_K:
        return insn.k;
      default:
        return MakeError("unsupported instruction " + std::to_string(insn.code) + " at " +
                         std::to_string(pc));
    }
  }
  return MakeError("program ends without returning");
}

}  // namespace nmr
