// Google Benchmark: the supervisor's pure work per vote (marshal + digest, the vote engine,
// the seccomp filter), without any syscall. It says how much of a vote's cost is ours and
// how much is the kernel's (context switches, process_vm_*): see docs/design.md.
#include <benchmark/benchmark.h>
#include <sys/syscall.h>

#include <cstring>
#include <vector>

#include "interface/channel.h"
#include "supervisor/core/bpf_eval.h"
#include "supervisor/core/filter.h"
#include "supervisor/core/marshal.h"
#include "supervisor/core/vote_engine.h"

namespace nmr {
namespace {

// Replica memory: one flat buffer at a fixed address.
class FlatMemory : public ReplicaMemory {
 public:
  static constexpr uint64_t kBase = 0x10000;
  explicit FlatMemory(size_t size) : bytes_(size, 'x') {}
  ssize_t Read(uint64_t address, void* out, size_t length) override {
    if (address < kBase || address + length > kBase + bytes_.size()) {
      return -14;
    }
    std::memcpy(out, bytes_.data() + (address - kBase), length);
    return static_cast<ssize_t>(length);
  }
  ssize_t Write(uint64_t, const void*, size_t length) override {
    return static_cast<ssize_t>(length);
  }

 private:
  std::vector<uint8_t> bytes_;
};

void BM_MarshalWrite(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  FlatMemory memory(size);
  Request request{};
  request.nr = SYS_write;
  request.args[0] = 1;
  request.args[1] = FlatMemory::kBase;
  request.args[2] = size;
  for (auto _ : state) {
    Call call = Marshal(request, memory);
    benchmark::DoNotOptimize(call.digest);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}
BENCHMARK(BM_MarshalWrite)->Arg(64)->Arg(4096)->Arg(65536);

void BM_VoteEngineStep(benchmark::State& state) {
  int replicas = static_cast<int>(state.range(0));
  VoteEngine engine(replicas, 2000);
  VoteValue value{1, 2};
  int64_t now = 0;
  for (auto _ : state) {
    for (int r = 0; r < replicas; ++r) {
      benchmark::DoNotOptimize(engine.OnVote(r, value, false, now));
    }
    benchmark::DoNotOptimize(engine.OnExecuted(++now));
  }
}
BENCHMARK(BM_VoteEngineStep)->Arg(1)->Arg(3)->Arg(5);

void BM_ShimFilterWorstCase(benchmark::State& state) {
  BpfProgram filter = BuildShimFilter();
  seccomp_data data{};
  data.arch = 0xc000003e;  // AUDIT_ARCH_X86_64
  data.nr = SYS_write;     // not local: walks every rule to the default
  for (auto _ : state) {
    benchmark::DoNotOptimize(EvaluateBpf(filter, data));
  }
  state.counters["instructions"] = static_cast<double>(filter.size());
}
BENCHMARK(BM_ShimFilterWorstCase);

}  // namespace
}  // namespace nmr

BENCHMARK_MAIN();
