// A classic-BPF interpreter for seccomp programs, so filters are tested in user space
// against fake seccomp_data (as Chromium's bpf_dsl does) without installing them. Pure.
#pragma once

#include <linux/seccomp.h>

#include <cstdint>

#include "supervisor/core/filter.h"
#include "supervisor/core/result.h"

namespace nmr {

// Runs `program` on `data` and returns the seccomp action value (SECCOMP_RET_*, with data),
// or an error for a malformed program (bad jump, unsupported instruction, no return).
Result<uint32_t> EvaluateBpf(const BpfProgram& program, const seccomp_data& data);

}  // namespace nmr
