// The memory map (supervisor/core/memory_map.h): what counts as a replica's state and where
// a memory flip may land, on hand-written /proc/PID/maps text.
#include "supervisor/core/memory_map.h"

#include <gtest/gtest.h>

#include <random>

namespace nmr {
namespace {

constexpr char kMaps[] =
    "555555554000-555555555000 r--p 00000000 fe:00 100 /usr/bin/prog\n"
    "555555558000-555555559000 rw-p 00003000 fe:00 100 /usr/bin/prog\n"
    "555555559000-55555555a000 rw-p 00000000 00:00 0 \n"  // prog's .bss
    "55555555a000-55555557b000 rw-p 00000000 00:00 0 [heap]\n"
    "7ffff7f00000-7ffff7f02000 rw-s 00000000 00:01 4242 /memfd:nmr-channel (deleted)\n"
    "7ffff7f10000-7ffff7f11000 rw-s 00000000 00:01 777 /memfd:nmr-channel (deleted)\n"
    "7ffff7f20000-7ffff7f40000 rw-p 00000000 00:00 0 \n"
    "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n";

TEST(MemoryMapTest, ParsesEveryLine) {
  std::vector<MemoryRegion> map = ParseMaps(kMaps);
  ASSERT_EQ(map.size(), 8u);
  EXPECT_EQ(map[1].start, 0x555555558000u);
  EXPECT_TRUE(map[1].writable && !map[1].shared);
  EXPECT_EQ(map[3].path, "[heap]");
  EXPECT_TRUE(map[4].shared);
  EXPECT_EQ(map[4].inode, 4242u);
}

TEST(MemoryMapTest, StateIsWritableMemoryButTheChannelAndTheDeadStack) {
  std::vector<MemoryRegion> map = ParseMaps(kMaps);
  const uint64_t sp = 0x7fffffff0000;
  std::vector<StateRange> ranges = StateRanges(map, sp, /*channel_inode=*/4242);
  // The real channel (inode 4242) is left out; a program's own memfd that bears the same
  // name (inode 777) is the program's state, and is digested.
  bool has_channel = false;
  bool has_own_memfd = false;
  for (const StateRange& r : ranges) {
    has_channel = has_channel || r.start == 0x7ffff7f00000;
    has_own_memfd = has_own_memfd || r.start == 0x7ffff7f10000;
  }
  EXPECT_FALSE(has_channel);
  EXPECT_TRUE(has_own_memfd);
  // The stack from the stack pointer up only.
  EXPECT_EQ(ranges.back().start, sp);
  EXPECT_EQ(ranges.back().end, 0x7ffffffff000u);
  // Without the inode, the name decides (both memfds are left out).
  for (const StateRange& r : StateRanges(map, sp)) {
    EXPECT_NE(r.start, 0x7ffff7f10000u);
  }
}

TEST(MemoryMapTest, RegionsForMemoryFlips) {
  std::vector<MemoryRegion> map = ParseMaps(kMaps);
  EXPECT_TRUE(InRegion(map, 1, FaultRegion::kData));   // the file's writable mapping
  EXPECT_TRUE(InRegion(map, 2, FaultRegion::kData));   // and its .bss
  EXPECT_FALSE(InRegion(map, 2, FaultRegion::kHeap));
  EXPECT_TRUE(InRegion(map, 3, FaultRegion::kHeap));   // [heap]
  EXPECT_TRUE(InRegion(map, 6, FaultRegion::kHeap));   // anonymous: malloc's mmap'd chunks
  EXPECT_TRUE(InRegion(map, 7, FaultRegion::kStack));
  EXPECT_FALSE(InRegion(map, 4, FaultRegion::kAny, 4242));  // never the channel
  EXPECT_FALSE(InRegion(map, 5, FaultRegion::kAny, 4242));  // nor shared memory
  std::mt19937_64 random(1);
  for (int i = 0; i < 1000; ++i) {
    std::optional<uint64_t> a = PickFlipAddress(map, FaultRegion::kStack, 0x7fffffff0000, random);
    ASSERT_TRUE(a.has_value());
    EXPECT_GE(*a, 0x7fffffff0000u);  // the live stack only
    EXPECT_LT(*a, 0x7ffffffff000u);
  }
}

}  // namespace
}  // namespace nmr
