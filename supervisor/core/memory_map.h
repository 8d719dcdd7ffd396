// A process's memory map (/proc/PID/maps) as data, and the choices made over it: which
// regions hold a replica's state (what scrubbing and donor checks digest), and where a
// bitflip-memory fault lands. Pure: the text comes in, nothing is read here.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/core/policy.h"

namespace nmr {

struct MemoryRegion {
  uint64_t start = 0;
  uint64_t end = 0;  // exclusive
  bool readable = false;
  bool writable = false;
  bool shared = false;
  uint64_t inode = 0;
  std::string path;  // "" for anonymous memory, "[heap]", "[stack]", a file, "/memfd:..."

  uint64_t size() const { return end - start; }
  bool Contains(uint64_t address) const { return address >= start && address < end; }
};

// Parses /proc/PID/maps; lines it cannot read are skipped (the kernel's format is fixed).
std::vector<MemoryRegion> ParseMaps(std::string_view text);

// The channel's memfd, as the spawner names it: never part of a replica's state. The
// supervisor knows each channel's inode and passes it (`channel_inode`), so that a program's
// own memfd that happens to bear this name is not taken for it; 0 falls back to the name.
inline constexpr std::string_view kChannelMemfdName = "/memfd:nmr-channel";

// What region=heap|stack|data means: [heap] and anonymous private memory (malloc's mmap'd
// chunks and arenas) for heap; [stack]; a file's writable private mapping and the anonymous
// .bss that directly follows it for data; any writable private region for any. Never the
// channel or other shared memory.
bool InRegion(const std::vector<MemoryRegion>& map, size_t index, FaultRegion region,
              uint64_t channel_inode = 0);

// A byte range of replica state to digest.
struct StateRange {
  uint64_t start = 0;
  uint64_t end = 0;
};

// The ranges that hold a replica's state at a vote boundary: every writable mapping but the
// channel, with the stack cut at the stack pointer (below it lies only what calls left
// behind, and the shim's own calls differ between replicas: one polled, another slept). When
// the stack pointer is on an alternate signal stack (the shim's handler runs SA_ONSTACK),
// the kAltStackSlack bytes below it are left out instead. Identical replicas stopped at the
// same step give identical bytes over these ranges; docs/design.md lists each exclusion and
// the case that needed it.
inline constexpr uint64_t kAltStackSlack = 64 * 1024;
std::vector<StateRange> StateRanges(const std::vector<MemoryRegion>& map, uint64_t stack_pointer,
                                    uint64_t channel_inode = 0);

// Where a memory flip lands: an address drawn uniformly over the bytes of the regions in
// `region` (for the stack, only the live part, at and above `stack_pointer`), or nullopt if
// there is no such memory.
std::optional<uint64_t> PickFlipAddress(const std::vector<MemoryRegion>& map, FaultRegion region,
                                        uint64_t stack_pointer, std::mt19937_64& random,
                                        uint64_t channel_inode = 0);

}  // namespace nmr
