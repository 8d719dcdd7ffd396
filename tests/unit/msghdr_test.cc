// sendmsg/recvmsg and sendmmsg/recvmmsg marshalling (supervisor/core/msghdr.h) over fake
// replica memory, and the SCM_CREDENTIALS rewrite.
#include "supervisor/core/msghdr.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "supervisor/core/marshal.h"
#include "tests/unit/fake_memory.h"

namespace nmr {
namespace {

static_assert(sizeof(msghdr) == kMsghdrSize);
static_assert(sizeof(mmsghdr) == kMmsghdrSize);
static_assert(offsetof(mmsghdr, msg_len) == kMmsgLenOffset);
static_assert(offsetof(msghdr, msg_namelen) == kMsgNamelenOffset);
static_assert(offsetof(msghdr, msg_controllen) == kMsgControllenOffset);
static_assert(offsetof(msghdr, msg_flags) == kMsgFlagsOffset);

constexpr uint64_t kVec = 0x1000'0000'0000;   // the msghdr, or the mmsghdr array
constexpr uint64_t kIov = 0x2000'0000'0000;   // iovec arrays, 0x10000 apart
constexpr uint64_t kData = 0x3000'0000'0000;  // data, names and control bytes, 0x100 apart
constexpr uint64_t kTimeout = 0x4000'0000'0000;
constexpr uint64_t kUnmapped = 0xdead'0000;

Request MakeRequest(long nr, std::initializer_list<uint64_t> args) {
  Request r{};
  r.seq = 1;
  r.nr = static_cast<int32_t>(nr);
  std::copy(args.begin(), args.end(), std::begin(r.args));
  return r;
}

std::vector<PackedMsg> Unpack(const Call& call) {
  std::vector<PackedMsg> msgs;
  EXPECT_TRUE(UnpackMsgs(call, msgs));
  return msgs;
}

std::string Text(const std::vector<uint8_t>& bytes, size_t at, size_t length) {
  return {bytes.begin() + static_cast<long>(at), bytes.begin() + static_cast<long>(at + length)};
}

struct Message {
  std::vector<std::string> parts;  // one iovec entry each
  std::string name;
  std::string control;
  // Where its header's pointers point; unmapped pointers stay unmapped.
  bool iov_mapped = true;
  bool data_mapped = true;
};

// Lays out `messages` as an mmsghdr array at kVec (each msghdr at kVec + 64 k), their iovec
// arrays and their bytes, and returns the array's bytes (for tests that change them).
std::vector<uint8_t> MapMessages(FakeMemory& mem, const std::vector<Message>& messages) {
  std::vector<uint8_t> array(messages.size() * sizeof(mmsghdr));
  uint64_t data_at = kData;
  for (size_t k = 0; k < messages.size(); ++k) {
    const Message& m = messages[k];
    mmsghdr h{};
    uint64_t iov_at = kIov + k * 0x10000;
    std::vector<std::pair<uint64_t, uint64_t>> entries;
    for (const std::string& part : m.parts) {
      if (m.data_mapped && !part.empty()) {
        mem.Map(data_at, part);
      }
      entries.emplace_back(part.empty() ? 0 : data_at, part.size());
      data_at += 0x100;
    }
    if (m.iov_mapped) {
      mem.MapIovec(iov_at, entries);
    }
    h.msg_hdr.msg_iov = reinterpret_cast<iovec*>(iov_at);
    h.msg_hdr.msg_iovlen = m.parts.size();
    if (!m.name.empty()) {
      mem.Map(data_at, m.name);
      h.msg_hdr.msg_name = reinterpret_cast<void*>(data_at);
      h.msg_hdr.msg_namelen = static_cast<socklen_t>(m.name.size());
      data_at += 0x100;
    }
    if (!m.control.empty()) {
      mem.Map(data_at, m.control);
      h.msg_hdr.msg_control = reinterpret_cast<void*>(data_at);
      h.msg_hdr.msg_controllen = m.control.size();
      data_at += 0x100;
    }
    h.msg_len = 0xabcdef;  // never read
    std::memcpy(array.data() + k * sizeof h, &h, sizeof h);
  }
  mem.Map(kVec, array);
  return array;
}

std::vector<Message> ThreeMessages() {
  return {{.parts = {"hel", "lo"}, .name = "nm"},
          {.parts = {"second"}, .control = std::string(24, 'c')},
          {.parts = {}, .name = "xy"}};
}

// ---- The single msghdr of sendmsg/recvmsg -----------------------------------------------

TEST(MsghdrTest, SendmsgPacksHeaderNameDataAndControl) {
  FakeMemory mem;
  MapMessages(mem, {{.parts = {"hel", "lo"}, .name = "nm", .control = "ctl"}});
  Call call = Marshal(MakeRequest(SYS_sendmsg, {3, kVec, 0}), mem);
  ASSERT_EQ(call.unreadable_arg, -1);
  ASSERT_EQ(call.in[1].size(), kMsghdrSize + 2 + 5 + 3);
  EXPECT_EQ(Text(call.in[1], kMsghdrSize, 10), "nmhelloctl");
  EXPECT_EQ(call.iov_arg, 1);
  ASSERT_EQ(call.iov.size(), 2u);
  EXPECT_EQ(call.capacity[1], 5u);
  std::vector<PackedMsg> msgs = Unpack(call);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].address, kVec);
  EXPECT_EQ(Text(call.in[1], msgs[0].name_at, msgs[0].name_len), "nm");
  EXPECT_EQ(Text(call.in[1], msgs[0].data_at, msgs[0].data_len), "hello");
  EXPECT_EQ(Text(call.in[1], msgs[0].control_at, msgs[0].control_len), "ctl");
}

TEST(MsghdrTest, RecvmsgPacksTheHeaderAndItsEntriesOnly) {
  FakeMemory mem;
  MapMessages(mem, {{.parts = {"abcd", "efghij"}, .name = "nm", .control = "ctl"}});
  Call call = Marshal(MakeRequest(SYS_recvmsg, {3, kVec, 0}), mem);
  ASSERT_EQ(call.unreadable_arg, -1);
  EXPECT_EQ(call.in[1].size(), kMsghdrSize);
  EXPECT_EQ(call.capacity[1], 10u);
  std::vector<PackedMsg> msgs = Unpack(call);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].name_len, 2u);
  EXPECT_EQ(msgs[0].data_len, 10u);
  EXPECT_EQ(msgs[0].control_len, 3u);
}

TEST(MsghdrTest, LengthsAsTheKernelTakesThem) {
  MsgHeader h;
  h.name = kData;
  h.namelen = 200;  // longer than a sockaddr_storage: cut to one, not refused
  EXPECT_EQ(MsgHeaderError(h, true), 0);
  EXPECT_EQ(MsgNameLength(h), kMaxMsgName);
  h.namelen = 0x80000000u;  // negative to the kernel
  EXPECT_EQ(MsgHeaderError(h, true), EINVAL);
  EXPECT_EQ(MsgHeaderError(h, false), EINVAL);
  h.name = 0;  // no name: its length is not looked at
  EXPECT_EQ(MsgHeaderError(h, true), 0);
  EXPECT_EQ(MsgNameLength(h), 0u);
  h.control = kData;
  h.controllen = kMaxMsgControl + 1;
  EXPECT_EQ(MsgHeaderError(h, true), ENOBUFS);  // the kernel's copy would be too large
  EXPECT_EQ(MsgHeaderError(h, false), 0);       // a receive's buffer is only written
  EXPECT_EQ(MsgControlLength(h, false), kMaxMsgControl);
  h.iovlen = kMaxMsgIov + 1;
  EXPECT_EQ(MsgHeaderError(h, false), EMSGSIZE);
}

// ---- sendmmsg/recvmmsg ------------------------------------------------------------------

TEST(MsghdrTest, SendmmsgPacksEveryMessage) {
  FakeMemory mem;
  MapMessages(mem, ThreeMessages());
  Call call = Marshal(MakeRequest(SYS_sendmmsg, {3, kVec, 3, 0}), mem);
  ASSERT_EQ(call.unreadable_arg, -1);
  EXPECT_EQ(call.iov_arg, 1);
  EXPECT_EQ(call.iov.size(), 3u);
  EXPECT_EQ(call.capacity[1], 11u);
  std::vector<PackedMsg> msgs = Unpack(call);
  ASSERT_EQ(msgs.size(), 3u);
  const char* data[3] = {"hello", "second", ""};
  const char* names[3] = {"nm", "", "xy"};
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(msgs[k].address, kVec + k * kMmsghdrSize) << k;
    EXPECT_EQ(Text(call.in[1], msgs[k].data_at, msgs[k].data_len), data[k]) << k;
    EXPECT_EQ(Text(call.in[1], msgs[k].name_at, msgs[k].name_len), names[k]) << k;
  }
  EXPECT_EQ(msgs[1].iov_first, 2u);
  EXPECT_EQ(msgs[2].iov_first, 3u);
  EXPECT_EQ(Text(call.in[1], msgs[1].control_at, msgs[1].control_len), std::string(24, 'c'));
  EXPECT_EQ(msgs[2].control_at + msgs[2].control_len, call.in[1].size());
}

TEST(MsghdrTest, RecvmmsgPacksHeadersAndReadsItsTimeout) {
  FakeMemory mem;
  MapMessages(mem, ThreeMessages());
  mem.Map(kTimeout, std::vector<uint8_t>(16, 7));
  Call call = Marshal(MakeRequest(SYS_recvmmsg, {3, kVec, 3, 0, kTimeout}), mem);
  ASSERT_EQ(call.unreadable_arg, -1);
  EXPECT_EQ(call.in[1].size(), 3 * kMsghdrSize);
  EXPECT_EQ(call.in[4], std::vector<uint8_t>(16, 7));
  EXPECT_EQ(call.capacity[1], 11u);
  EXPECT_EQ(Unpack(call).size(), 3u);

  Call no_timeout = Marshal(MakeRequest(SYS_recvmmsg, {3, kVec, 3, 0, 0}), mem);
  EXPECT_EQ(no_timeout.unreadable_arg, -1);
  EXPECT_TRUE(no_timeout.in[4].empty());
  Call bad_timeout = Marshal(MakeRequest(SYS_recvmmsg, {3, kVec, 3, 0, kUnmapped}), mem);
  EXPECT_EQ(bad_timeout.unreadable_arg, 4);  // EFAULT, as natively
}

TEST(MsghdrTest, TheMsgLenFieldIsNotPartOfTheVote) {
  FakeMemory a;
  FakeMemory b;
  std::vector<uint8_t> array = MapMessages(a, ThreeMessages());
  MapMessages(b, ThreeMessages());
  array[kMmsgLenOffset] ^= 1;  // what the kernel writes; garbage before the call
  b.Map(kVec, array);
  EXPECT_EQ(Marshal(MakeRequest(SYS_sendmmsg, {3, kVec, 3, 0}), a).digest,
            Marshal(MakeRequest(SYS_sendmmsg, {3, kVec, 3, 0}), b).digest);
}

TEST(MsghdrTest, ALaterMessagesBytesAreVoted) {
  FakeMemory a;
  FakeMemory b;
  MapMessages(a, ThreeMessages());
  std::vector<Message> changed = ThreeMessages();
  changed[2].name = "xz";
  MapMessages(b, changed);
  EXPECT_NE(Marshal(MakeRequest(SYS_sendmmsg, {3, kVec, 3, 0}), a).digest,
            Marshal(MakeRequest(SYS_sendmmsg, {3, kVec, 3, 0}), b).digest);
  // The entries of a receive say where the data lands, and how much.
  changed = ThreeMessages();
  changed[1].parts = {"second!"};
  FakeMemory c;
  MapMessages(c, changed);
  EXPECT_NE(Marshal(MakeRequest(SYS_recvmmsg, {3, kVec, 3, 0, 0}), a).digest,
            Marshal(MakeRequest(SYS_recvmmsg, {3, kVec, 3, 0, 0}), c).digest);
}

TEST(MsghdrTest, VlenIsAnUnsignedIntCappedAtUioMaxiov) {
  FakeMemory mem;
  std::vector<Message> many(kMaxMmsg + 10, Message{.parts = {"x"}});
  for (Message& m : many) {
    m.parts.clear();  // no entries: 1034 messages fit every other limit
  }
  MapMessages(mem, many);
  Call call = Marshal(MakeRequest(SYS_sendmmsg, {3, kVec, kMaxMmsg + 10, 0}), mem);
  EXPECT_EQ(call.unreadable_arg, -1);
  EXPECT_EQ(Unpack(call).size(), kMaxMmsg);
  call = Marshal(MakeRequest(SYS_recvmmsg, {3, kVec, 0xffff'ffff, 0, 0}), mem);
  EXPECT_EQ(Unpack(call).size(), kMaxMmsg);
  call = Marshal(MakeRequest(SYS_sendmmsg, {3, kVec, (uint64_t{1} << 32) | 2, 0}), mem);
  EXPECT_EQ(Unpack(call).size(), 2u);  // the register's high half is not the kernel's
}

TEST(MsghdrTest, ANullOrUnreadableVectorIsEfaultUnlessEmpty) {
  FakeMemory mem;
  for (long nr : {SYS_sendmmsg, SYS_recvmmsg}) {
    EXPECT_EQ(Marshal(MakeRequest(nr, {3, 0, 1, 0, 0}), mem).unreadable_arg, 1) << nr;
    EXPECT_EQ(Marshal(MakeRequest(nr, {3, kUnmapped, 2, 0, 0}), mem).unreadable_arg, 1) << nr;
    Call empty = Marshal(MakeRequest(nr, {3, 0, 0, 0, 0}), mem);  // natively 0 (or EBADF)
    EXPECT_EQ(empty.unreadable_arg, -1) << nr;
    EXPECT_TRUE(empty.in[1].empty()) << nr;
    EXPECT_TRUE(Unpack(empty).empty()) << nr;
  }
  EXPECT_EQ(Marshal(MakeRequest(SYS_sendmsg, {3, 0, 0}), mem).unreadable_arg, 1);
}

// Natively the kernel does the messages before a bad one and returns their count; a bad
// first message is the call's error.
TEST(MsghdrTest, ABadLaterMessageEndsTheVector) {
  {
    FakeMemory mem;  // the array ends after two messages
    std::vector<uint8_t> array = MapMessages(mem, ThreeMessages());
    array.resize(2 * kMmsghdrSize + 8);
    mem.Map(kVec, array);
    Call call = Marshal(MakeRequest(SYS_sendmmsg, {3, kVec, 3, 0}), mem);
    EXPECT_EQ(call.unreadable_arg, -1);
    EXPECT_EQ(Unpack(call).size(), 2u);
  }
  {
    FakeMemory mem;  // the second's iovec array is not mapped
    std::vector<Message> messages = ThreeMessages();
    messages[1].iov_mapped = false;
    MapMessages(mem, messages);
    Call call = Marshal(MakeRequest(SYS_recvmmsg, {3, kVec, 3, 0, 0}), mem);
    EXPECT_EQ(call.unreadable_arg, -1);
    ASSERT_EQ(Unpack(call).size(), 1u);
    EXPECT_EQ(call.iov.size(), 2u);  // the first's entries only
    EXPECT_EQ(call.capacity[1], 5u);
  }
  {
    FakeMemory mem;  // the second's data is not mapped: only a send reads it
    std::vector<Message> messages = ThreeMessages();
    messages[1].data_mapped = false;
    MapMessages(mem, messages);
    Call send = Marshal(MakeRequest(SYS_sendmmsg, {3, kVec, 3, 0}), mem);
    EXPECT_EQ(send.unreadable_arg, -1);
    ASSERT_EQ(Unpack(send).size(), 1u);
    EXPECT_EQ(send.in[1].size(), kMsghdrSize + 2 + 5);  // nothing of the second is left
    Call receive = Marshal(MakeRequest(SYS_recvmmsg, {3, kVec, 3, 0, 0}), mem);
    EXPECT_EQ(Unpack(receive).size(), 3u);
  }
  {
    FakeMemory mem;  // the first's iovec array is not mapped: EFAULT
    std::vector<Message> messages = ThreeMessages();
    messages[0].iov_mapped = false;
    MapMessages(mem, messages);
    EXPECT_EQ(Marshal(MakeRequest(SYS_sendmmsg, {3, kVec, 3, 0}), mem).unreadable_arg, 1);
    EXPECT_EQ(Marshal(MakeRequest(SYS_recvmmsg, {3, kVec, 3, 0, 0}), mem).unreadable_arg, 1);
  }
}

TEST(MsghdrTest, ARefusedMessageEndsTheVectorOrIsTheCallsError) {
  FakeMemory mem;
  std::vector<uint8_t> array = MapMessages(mem, ThreeMessages());
  uint64_t too_many = kMaxMsgIov + 1;  // EMSGSIZE
  std::memcpy(array.data() + kMmsghdrSize + 24, &too_many, 8);
  mem.Map(kVec, array);
  Call call = Marshal(MakeRequest(SYS_sendmmsg, {3, kVec, 3, 0}), mem);
  EXPECT_EQ(call.unreadable_arg, -1);
  EXPECT_EQ(Unpack(call).size(), 1u);

  std::memcpy(array.data() + 24, &too_many, 8);  // the first, now
  mem.Map(kVec, array);
  call = Marshal(MakeRequest(SYS_recvmmsg, {3, kVec, 3, 0, 0}), mem);
  EXPECT_EQ(call.unreadable_arg, -1);
  EXPECT_EQ(call.in[1].size(), kMsghdrSize);
  std::vector<PackedMsg> msgs = Unpack(call);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(MsgHeaderError(msgs[0].header, false), EMSGSIZE);  // the performer's answer
}

TEST(MsghdrTest, LaterMessagesPastTheTransferLimitAreLeftOut) {
  FakeMemory mem;
  std::vector<uint8_t> array = MapMessages(mem, ThreeMessages());
  // The first message's receive buffer takes all but 8 bytes of the limit (it is not read:
  // a receive), so the second, 6 bytes with a 24-byte control buffer, does not fit.
  mem.MapIovec(kIov, {{kData, kMaxTransfer - 8}, {kData, 1}});
  Call call = Marshal(MakeRequest(SYS_recvmmsg, {3, kVec, 3, 0, 0}), mem);
  EXPECT_EQ(call.unreadable_arg, -1);
  ASSERT_EQ(Unpack(call).size(), 1u);
  EXPECT_EQ(call.capacity[1], kMaxTransfer - 8 + 1);
  // A first message alone is cut to the limit (a short receive), as recvmsg's.
  mem.MapIovec(kIov, {{kData, kMaxTransfer}, {kData, 100}});
  call = Marshal(MakeRequest(SYS_recvmmsg, {3, kVec, 3, 0, 0}), mem);
  ASSERT_EQ(Unpack(call).size(), 1u);
  EXPECT_EQ(call.capacity[1], kMaxTransfer);
}

TEST(MsghdrTest, LaterMessagesPastTheEntryLimitAreLeftOut) {
  FakeMemory mem;
  std::vector<Message> messages(3);
  messages[0].parts.assign(kMaxMsgIov - 1, "");
  messages[1].parts = {"a"};
  messages[2].parts = {"b", "c"};
  MapMessages(mem, messages);
  Call call = Marshal(MakeRequest(SYS_recvmmsg, {3, kVec, 3, 0, 0}), mem);
  ASSERT_EQ(Unpack(call).size(), 2u);
  EXPECT_EQ(call.iov.size(), kMaxMsgIov);
}

// ---- SCM_CREDENTIALS --------------------------------------------------------------------

std::vector<uint8_t> Control(const std::vector<std::pair<int, std::vector<uint8_t>>>& messages) {
  std::vector<uint8_t> out;
  for (const auto& [type, data] : messages) {
    size_t at = out.size();
    out.resize(at + CMSG_SPACE(data.size()));
    cmsghdr h{};
    h.cmsg_len = CMSG_LEN(data.size());
    h.cmsg_level = SOL_SOCKET;
    h.cmsg_type = type;
    std::memcpy(out.data() + at, &h, sizeof h);
    std::memcpy(out.data() + at + CMSG_LEN(0), data.data(), data.size());
  }
  return out;
}

std::vector<uint8_t> Credentials(pid_t pid) {
  ucred c{pid, 1000, 1000};
  std::vector<uint8_t> bytes(sizeof c);
  std::memcpy(bytes.data(), &c, sizeof c);
  return bytes;
}

TEST(MsghdrTest, CredentialsNamingTheVirtualPidNameTheRealOne) {
  std::vector<uint8_t> fd(4, 0);
  std::vector<uint8_t> control = Control({{SCM_RIGHTS, fd}, {SCM_CREDENTIALS, Credentials(1001)}});
  RewriteCredentialsPid(control, 1001, 77);
  EXPECT_EQ(control, Control({{SCM_RIGHTS, fd}, {SCM_CREDENTIALS, Credentials(77)}}));
}

TEST(MsghdrTest, OtherCredentialsAndMalformedControlAreLeftAlone) {
  std::vector<uint8_t> other = Control({{SCM_CREDENTIALS, Credentials(5)}});
  std::vector<uint8_t> copy = other;
  RewriteCredentialsPid(copy, 1001, 77);
  EXPECT_EQ(copy, other);  // another pid: the kernel decides (EPERM without privilege)

  std::vector<uint8_t> rights = Control({{SCM_RIGHTS, Credentials(1001)}});  // 12 bytes of fds
  copy = rights;
  RewriteCredentialsPid(copy, 1001, 77);
  EXPECT_EQ(copy, rights);

  std::vector<uint8_t> cut = Control({{SCM_CREDENTIALS, Credentials(1001)}});
  cut.resize(CMSG_LEN(sizeof(ucred)) - 1);  // its cmsg_len runs past the buffer
  copy = cut;
  RewriteCredentialsPid(copy, 1001, 77);
  EXPECT_EQ(copy, cut);

  std::vector<uint8_t> zero_length = Control({{SCM_CREDENTIALS, Credentials(1001)}});
  std::memset(zero_length.data(), 0, 8);  // cmsg_len 0 must not loop forever
  copy = zero_length;
  RewriteCredentialsPid(copy, 1001, 77);
  EXPECT_EQ(copy, zero_length);
}

// A record changed after marshalling (corrupt-vote injection at N=1 executes it) must not
// make the performer read past its copy.
TEST(MsghdrTest, ACopyThatDoesNotAddUpIsRefused) {
  FakeMemory mem;
  MapMessages(mem, {{.parts = {"hello"}}});
  Call call = Marshal(MakeRequest(SYS_sendmsg, {3, kVec, 0}), mem);
  std::vector<PackedMsg> msgs;
  ASSERT_TRUE(UnpackMsgs(call, msgs));
  call.in[1][0] ^= 1;  // FlipOneBit: a null name pointer becomes 1 ...
  call.in[1][8] = 16;  // ... with a name length: 16 bytes the copy does not hold
  EXPECT_FALSE(UnpackMsgs(call, msgs));
  call = Marshal(MakeRequest(SYS_sendmmsg, {3, kVec, 1, 0}), mem);
  call.iov.pop_back();
  EXPECT_FALSE(UnpackMsgs(call, msgs));
}

}  // namespace
}  // namespace nmr
