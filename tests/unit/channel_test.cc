// The channel's layout (interface/channel.h): both sides of a shared page agree on it, so
// every offset and size is pinned; these checks restate the pins and add what a static_assert
// in the header does not say (sizes of the whole, padding, alignment, the gate's address).
#include "interface/channel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <string>
#include <type_traits>

#include "interface/syscall_table.h"

namespace nmr {
namespace {

TEST(ChannelTest, OffsetsAreAsPinned) {
  EXPECT_EQ(offsetof(Channel, setup), 0u);
  EXPECT_EQ(offsetof(ChannelSetup, magic), 0u);
  EXPECT_EQ(offsetof(ChannelSetup, version), 4u);
  EXPECT_EQ(offsetof(ChannelSetup, replica), 8u);
  EXPECT_EQ(offsetof(ChannelSetup, virtual_pid), 12u);
  EXPECT_EQ(offsetof(ChannelSetup, supervisor_pid), 16u);
  EXPECT_EQ(offsetof(ChannelSetup, executor_tid), 20u);
  EXPECT_EQ(offsetof(ChannelSetup, filter_length), 24u);
  EXPECT_EQ(offsetof(ChannelSetup, filter), 40u);
  EXPECT_EQ(sizeof(ChannelSetup), 40u + 8u * kMaxFilterInstructions);
  EXPECT_EQ(offsetof(Channel, request_seq), 4160u);
  EXPECT_EQ(offsetof(Channel, reply_seq), 4224u);
  EXPECT_EQ(offsetof(Channel, supervisor_sleeping), 4164u);
  EXPECT_EQ(offsetof(Channel, replica_sleeping), 4228u);
  EXPECT_EQ(offsetof(ChannelSetup, spin_iterations), 32u);
  EXPECT_EQ(offsetof(Channel, request), 4288u);
  EXPECT_EQ(offsetof(Channel, reply), 4352u);
  EXPECT_EQ(offsetof(Channel, fatal), 4384u);
  EXPECT_EQ(offsetof(Channel, shim_ready), 4392u);
  EXPECT_EQ(offsetof(Channel, spawn_listener_fd), 4396u);
  EXPECT_EQ(offsetof(Channel, spawn_go), 4400u);
  EXPECT_EQ(offsetof(Channel, spawn_errno), 4404u);
  EXPECT_EQ(offsetof(Channel, clone_pid), 4408u);
  EXPECT_EQ(offsetof(Channel, sigframe_end), 4416u);
  EXPECT_EQ(offsetof(Reply, fork_channel_fd), 28u);
  EXPECT_EQ(offsetof(Channel, signal_info), 4424u);
  EXPECT_EQ(offsetof(Channel, shim_state), 5960u);
  EXPECT_EQ(offsetof(Channel, call_mask), 5976u);
  EXPECT_EQ(sizeof(Channel), 6016u);  // 5984 bytes, rounded up to the 64-byte alignment
  EXPECT_EQ(kChannelSize, 8192u);
  EXPECT_EQ(alignof(Channel), 64u);
}

TEST(ChannelTest, HandshakeWordsHaveACacheLineEach) {
  // The replica spins/waits on one, the supervisor writes the other: no false sharing.
  EXPECT_EQ(offsetof(Channel, request_seq) % 64, 0u);
  EXPECT_EQ(offsetof(Channel, reply_seq) % 64, 0u);
  EXPECT_EQ(offsetof(Channel, reply_seq) - offsetof(Channel, request_seq), 64u);
  EXPECT_GE(offsetof(Channel, request) - offsetof(Channel, reply_seq), 64u);
}

TEST(ChannelTest, RecordsAreAsPinned) {
  EXPECT_EQ(sizeof(Request), 64u);
  EXPECT_EQ(offsetof(Request, seq), 0u);
  EXPECT_EQ(offsetof(Request, nr), 4u);
  EXPECT_EQ(offsetof(Request, args), 8u);
  EXPECT_EQ(offsetof(Request, ip), 56u);
  EXPECT_EQ(sizeof(Reply), 32u);
  EXPECT_EQ(offsetof(Reply, seq), 0u);
  EXPECT_EQ(offsetof(Reply, action), 4u);
  EXPECT_EQ(offsetof(Reply, value), 8u);
  EXPECT_EQ(offsetof(Reply, signals), 16u);
  EXPECT_EQ(offsetof(Reply, flags), 24u);
  EXPECT_EQ(sizeof(ShimFatal), 8u);
  EXPECT_EQ(sizeof(ReplyAction), 4u);
  // Protocol values: the shim and the supervisor are built separately.
  EXPECT_EQ(static_cast<uint32_t>(ReplyAction::kReturn), 0u);
  EXPECT_EQ(static_cast<uint32_t>(ReplyAction::kExecuteLocally), 1u);
  EXPECT_EQ(static_cast<uint32_t>(ReplyAction::kMapFile), 2u);
}

TEST(ChannelTest, TheSegmentIsWholePagesThatHoldTheChannel) {
  EXPECT_EQ(kChannelSize % 4096, 0u);
  EXPECT_GE(kChannelSize, sizeof(Channel));
  EXPECT_LT(kChannelSize - sizeof(Channel), 4096u) << "no more pages than needed";
}

TEST(ChannelTest, SharedTypesArePlainData) {
  EXPECT_TRUE(std::is_trivially_copyable_v<Request>);
  EXPECT_TRUE(std::is_trivially_copyable_v<Reply>);
  EXPECT_TRUE(std::is_trivially_copyable_v<ChannelSetup>);
  EXPECT_TRUE(std::is_trivially_copyable_v<ShimFatal>);
  EXPECT_TRUE(std::is_standard_layout_v<Request>);
  EXPECT_TRUE(std::is_standard_layout_v<Reply>);
  EXPECT_TRUE(std::is_standard_layout_v<ChannelSetup>);
  EXPECT_TRUE(std::is_standard_layout_v<Channel>) << "offsetof on Channel needs it";
}

TEST(ChannelTest, AtomicsAreLockFreeAndUnpadded) {
  EXPECT_TRUE(std::atomic<uint32_t>::is_always_lock_free);
  EXPECT_TRUE(std::atomic<int32_t>::is_always_lock_free);
  EXPECT_EQ(sizeof(std::atomic<uint32_t>), 4u) << "futex words are 32 bits, nothing else";
  EXPECT_EQ(sizeof(std::atomic<int32_t>), 4u);
  EXPECT_EQ(alignof(std::atomic<uint32_t>), 4u);
  std::atomic<uint32_t> word{0};
  EXPECT_TRUE(word.is_lock_free());
}

TEST(ChannelTest, TheGateIsAPageAtAFixedLowAddress) {
  EXPECT_EQ(kGateAddress % 4096, 0u);
  EXPECT_GE(kGateAddress, 0x10000u) << "above vm.mmap_min_addr";
  EXPECT_EQ(kGateSyscallReturnIp, kGateAddress + 2) << "after the 2-byte `syscall` (0f 05)";
  EXPECT_EQ(kGateSyscallReturnIp / 4096, kGateAddress / 4096) << "on the gate page";
}

TEST(ChannelTest, ConstantsThatOtherPartsRelyOn) {
  EXPECT_GT(kChannelFd, 2) << "not a standard stream";
  EXPECT_GE(kPseudoSyscallMapDone, kMaxSyscall) << "above every real syscall";
  EXPECT_LE(kMaxFilterInstructions, 4096u) << "BPF_MAXINSNS";
  char magic[4];
  std::memcpy(magic, &kChannelMagic, 4);
  EXPECT_EQ(std::string(magic, 4), "rnm1");
  EXPECT_GE(kProtocolVersion, 1u);
}

}  // namespace
}  // namespace nmr
