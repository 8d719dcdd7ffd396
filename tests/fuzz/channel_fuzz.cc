// libFuzzer target over the code that reads replica-controlled data: Marshal (with
// DescribeCall, DescribeDifference, Redigest, FlipOneBit, RefineSpec) over a fake replica
// memory, and ParseMaps/StateRanges/PickFlipAddress over maps text. The input's first byte
// picks which (channel_properties.h); every property that fails aborts, with the scenario.
// Built only with clang (-DNMR_FUZZ=ON); `make fuzz` builds and runs it (README.md here).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/fuzz/channel_properties.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> failures = nmr::fuzz::CheckFuzzInput(data, size);
  if (!failures.empty()) {
    for (const std::string& failure : failures) {
      std::fprintf(stderr, "channel_fuzz: %s\n", failure.c_str());
    }
    std::abort();
  }
  return 0;
}
