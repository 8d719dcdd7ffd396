// Marshalling (supervisor/core/marshal.h) over fake replica memory.
#include "supervisor/core/marshal.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/fake_memory.h"

namespace nmr {

// Digests print as two hex words in failure messages.
static void PrintTo(const VoteValue& v, std::ostream* os) {
  *os << std::hex << "{0x" << v.low << ", 0x" << v.high << "}" << std::dec;
}

namespace {

Request MakeRequest(long nr, std::initializer_list<uint64_t> args) {
  Request r{};
  r.seq = 1;
  r.nr = static_cast<int32_t>(nr);
  std::copy(args.begin(), args.end(), std::begin(r.args));
  return r;
}

std::string Text(const std::vector<uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

constexpr uint64_t kBuf = 0x5555'5555'a000;
constexpr uint64_t kOtherBuf = 0x5555'5555'c000;
constexpr uint64_t kPathAt = 0x7fff'ffff'0000;
constexpr uint64_t kUnmapped = 0xdead'0000;
constexpr VoteValue kZero{};

// ---- Buffers -----------------------------------------------------------------------------

TEST(MarshalTest, WriteReadsExactlyItsCount) {
  FakeMemory mem;
  mem.Map(kBuf, "hello, world");
  Call call = Marshal(MakeRequest(SYS_write, {1, kBuf, 5}), mem);
  EXPECT_EQ(call.nr, SYS_write);
  EXPECT_STREQ(call.spec.name, "write");
  EXPECT_EQ(Text(call.in[1]), "hello");
  EXPECT_EQ(call.capacity[1], 5u);
  EXPECT_TRUE(call.in[0].empty());
  EXPECT_TRUE(call.in[2].empty());
  EXPECT_EQ(call.unreadable_arg, -1);
  EXPECT_TRUE(call.supported);
  EXPECT_NE(call.digest, kZero);
}

// clone3's struct is read for the size in its second argument (a page at most), and stands
// for a clone of flags | exit_signal; what the kernel refuses before cloning is answered so.
TEST(MarshalTest, Clone3ReadsItsStructAndDecodesIt) {
  FakeMemory mem;
  CloneArgs args{};
  args.flags = CLONE_VM | CLONE_VFORK;
  args.exit_signal = SIGCHLD;
  args.stack = 0x1000;
  args.stack_size = 0x4000;
  std::string bytes(reinterpret_cast<const char*>(&args), sizeof args);
  bytes.append(40, '\0');  // a larger struct than the kernel knows, zero past its fields
  mem.Map(kBuf, bytes);
  Call call = Marshal(MakeRequest(SYS_clone3, {kBuf, sizeof args}), mem);
  EXPECT_EQ(call.in[0].size(), sizeof args);
  Clone3Request request = DecodeClone3(call);
  EXPECT_EQ(request.error, 0);
  EXPECT_EQ(request.flags, static_cast<uint64_t>(CLONE_VM | CLONE_VFORK | SIGCHLD));
  EXPECT_EQ(request.args.stack_size, 0x4000u);
  EXPECT_EQ(DecodeClone3(Marshal(MakeRequest(SYS_clone3, {kBuf, bytes.size()}), mem)).error, 0);

  bytes[100] = 1;
  mem.Map(kBuf, bytes);
  EXPECT_EQ(DecodeClone3(Marshal(MakeRequest(SYS_clone3, {kBuf, bytes.size()}), mem)).error,
            -E2BIG);
  Call huge = Marshal(MakeRequest(SYS_clone3, {kBuf, 8192}), mem);
  EXPECT_TRUE(huge.in[0].empty());  // not read
  EXPECT_EQ(DecodeClone3(huge).error, -E2BIG);
  EXPECT_EQ(DecodeClone3(Marshal(MakeRequest(SYS_clone3, {kBuf, 32}), mem)).error, -EINVAL);
  EXPECT_EQ(DecodeClone3(Marshal(MakeRequest(SYS_clone3, {kUnmapped, sizeof args}), mem)).error,
            -EFAULT);

  auto decode = [&](const CloneArgs& a) {
    mem.Map(kOtherBuf, std::string(reinterpret_cast<const char*>(&a), sizeof a));
    return DecodeClone3(Marshal(MakeRequest(SYS_clone3, {kOtherBuf, sizeof a}), mem));
  };
  CloneArgs bad = args;
  bad.flags |= SIGCHLD;  // the signal belongs in exit_signal
  EXPECT_EQ(decode(bad).error, -EINVAL);
  bad = args;
  bad.stack_size = 0;
  EXPECT_EQ(decode(bad).error, -EINVAL);
  bad = args;
  bad.exit_signal = 65;
  EXPECT_EQ(decode(bad).error, -EINVAL);
  bad = args;
  bad.set_tid = kBuf;
  bad.set_tid_size = 1;
  EXPECT_EQ(decode(bad).error, -ENOSYS);
  EXPECT_TRUE(decode(bad).unsupported);
  CloneArgs thread{};
  thread.flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
  EXPECT_EQ(decode(thread).error, 0);
  EXPECT_NE(decode(thread).flags & CLONE_THREAD, 0u);
}

TEST(MarshalTest, WriteOfNothingReadsNothing) {
  FakeMemory mem;
  Call call = Marshal(MakeRequest(SYS_write, {1, kUnmapped, 0}), mem);
  EXPECT_EQ(call.unreadable_arg, -1) << "the kernel reads no byte of a 0-byte write";
  EXPECT_TRUE(call.in[1].empty());
}

TEST(MarshalTest, AHugeWriteIsCutToTheTransferLimit) {
  FakeMemory mem;
  mem.Map(kBuf, std::vector<uint8_t>(kMaxTransfer + 100, 'x'));
  Call call = Marshal(MakeRequest(SYS_write, {1, kBuf, kMaxTransfer + 100}), mem);
  EXPECT_EQ(call.unreadable_arg, -1);
  EXPECT_EQ(call.in[1].size(), kMaxTransfer);
}

TEST(MarshalTest, AnUnreadableBufferIsRecordedAndStillDigested) {
  FakeMemory mem;
  Call bad = Marshal(MakeRequest(SYS_write, {1, kUnmapped, 5}), mem);
  EXPECT_EQ(bad.unreadable_arg, 1);
  EXPECT_NE(bad.digest, kZero);
  EXPECT_EQ(Marshal(MakeRequest(SYS_write, {1, kUnmapped, 5}), mem).digest, bad.digest);

  mem.Map(kBuf, "hello");
  Call good = Marshal(MakeRequest(SYS_write, {1, kBuf, 5}), mem);
  EXPECT_NE(good.digest, bad.digest);

  // A buffer mapped only in part is unreadable too.
  Call partial = Marshal(MakeRequest(SYS_write, {1, kBuf, 6}), mem);
  EXPECT_EQ(partial.unreadable_arg, 1);
}

// ---- Paths -------------------------------------------------------------------------------

TEST(MarshalTest, OpenatReadsThePathUpToItsNul) {
  FakeMemory mem;
  mem.MapString(kPathAt, "/etc/passwd");
  mem.Map(kPathAt + 12, "garbage after the NUL");
  Call call = Marshal(
      MakeRequest(SYS_openat, {static_cast<uint64_t>(AT_FDCWD), kPathAt, O_RDONLY | O_CLOEXEC, 0}),
      mem);
  EXPECT_EQ(call.unreadable_arg, -1);
  EXPECT_EQ(Text(call.in[1]), "/etc/passwd");
  EXPECT_TRUE(call.in[0].empty());
  EXPECT_TRUE(call.in[2].empty());
}

TEST(MarshalTest, APathEndingRightBeforeAnUnmappedPageIsRead) {
  FakeMemory mem;
  const std::string path = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  const uint64_t page_end = 0x7fff'ffff'2000;
  const uint64_t start = page_end - path.size() - 1;  // the NUL is the page's last byte
  mem.MapString(start, path);
  Call call = Marshal(MakeRequest(SYS_openat, {static_cast<uint64_t>(AT_FDCWD), start, 0, 0}), mem);
  EXPECT_EQ(call.unreadable_arg, -1);
  EXPECT_EQ(Text(call.in[1]), path);
}

TEST(MarshalTest, APathAcrossAPageBoundaryInTwoRangesIsRead) {
  FakeMemory mem;
  const uint64_t boundary = 0x7fff'ffff'5000;
  mem.Map(boundary - 6, "/usr/l");           // the end of one page
  mem.MapString(boundary, "ib/os-release");  // the next page, then nothing
  Call call =
      Marshal(MakeRequest(SYS_openat, {static_cast<uint64_t>(AT_FDCWD), boundary - 6, 0, 0}), mem);
  EXPECT_EQ(call.unreadable_arg, -1);
  EXPECT_EQ(Text(call.in[1]), "/usr/lib/os-release");
}

TEST(MarshalTest, AnUnterminatedOrUnmappedPathIsUnreadable) {
  FakeMemory mem;
  mem.Map(kPathAt, "/tmp/no-nul-and-then-unmapped");
  EXPECT_EQ(Marshal(MakeRequest(SYS_openat, {static_cast<uint64_t>(AT_FDCWD), kPathAt, 0, 0}), mem)
                .unreadable_arg,
            1);
  EXPECT_EQ(
      Marshal(MakeRequest(SYS_openat, {static_cast<uint64_t>(AT_FDCWD), kUnmapped, 0, 0}), mem)
          .unreadable_arg,
      1);
  EXPECT_EQ(Marshal(MakeRequest(SYS_openat, {static_cast<uint64_t>(AT_FDCWD), 0, 0, 0}), mem)
                .unreadable_arg,
            1)
      << "openat's path is not nullable";
  // Longer than PATH_MAX, all of it mapped.
  mem.Map(kBuf, std::vector<uint8_t>(kMaxPath + 10, 'a'));
  EXPECT_EQ(Marshal(MakeRequest(SYS_openat, {static_cast<uint64_t>(AT_FDCWD), kBuf, 0, 0}), mem)
                .unreadable_arg,
            1);
}

TEST(MarshalTest, ANullPathWhereTheTableAllowsItIsNotUnreadable) {
  FakeMemory mem;
  // newfstatat(fd, NULL, statbuf, AT_EMPTY_PATH): the path is Opt in the table.
  Call call = Marshal(MakeRequest(SYS_newfstatat, {3, 0, kBuf, AT_EMPTY_PATH}), mem);
  EXPECT_EQ(call.unreadable_arg, -1);
  EXPECT_EQ(call.capacity[2], 144u) << "struct stat";
}

// ---- Digests -----------------------------------------------------------------------------

TEST(MarshalTest, DigestsOfIdenticalCallsAreEqual) {
  FakeMemory a, b;
  a.Map(kBuf, "same bytes");
  b.Map(kBuf, "same bytes");
  EXPECT_EQ(Marshal(MakeRequest(SYS_write, {1, kBuf, 10}), a).digest,
            Marshal(MakeRequest(SYS_write, {1, kBuf, 10}), b).digest);
}

TEST(MarshalTest, OneDifferentByteChangesTheDigest) {
  FakeMemory a, b;
  a.Map(kBuf, "same bytes");
  b.Map(kBuf, "same bytez");
  EXPECT_NE(Marshal(MakeRequest(SYS_write, {1, kBuf, 10}), a).digest,
            Marshal(MakeRequest(SYS_write, {1, kBuf, 10}), b).digest);
}

TEST(MarshalTest, ADifferentScalarChangesTheDigest) {
  FakeMemory mem;
  mem.Map(kBuf, "same bytes");
  VoteValue base = Marshal(MakeRequest(SYS_write, {1, kBuf, 10}), mem).digest;
  EXPECT_NE(Marshal(MakeRequest(SYS_write, {2, kBuf, 10}), mem).digest, base) << "the fd";
  EXPECT_NE(Marshal(MakeRequest(SYS_write, {1, kBuf, 9}), mem).digest, base) << "the count";
  EXPECT_NE(Marshal(MakeRequest(SYS_pwrite64, {1, kBuf, 10, 0}), mem).digest, base)
      << "the syscall number";
  EXPECT_NE(Marshal(MakeRequest(SYS_lseek, {3, 100, SEEK_SET}), mem).digest,
            Marshal(MakeRequest(SYS_lseek, {3, 100, SEEK_CUR}), mem).digest);
}

TEST(MarshalTest, TheSameBytesAtAnotherAddressChangeTheDigest) {
  // Pointer arguments are part of the vote: identical replicas pass identical pointers.
  FakeMemory mem;
  mem.Map(kBuf, "same bytes");
  mem.Map(kOtherBuf, "same bytes");
  EXPECT_NE(Marshal(MakeRequest(SYS_write, {1, kBuf, 10}), mem).digest,
            Marshal(MakeRequest(SYS_write, {1, kOtherBuf, 10}), mem).digest);
}

TEST(MarshalTest, RegistersBeyondTheArgumentCountDoNotMatter) {
  FakeMemory mem;
  mem.Map(kBuf, "hello");
  EXPECT_EQ(Marshal(MakeRequest(SYS_close, {3}), mem).digest,
            Marshal(MakeRequest(SYS_close, {3, 0x7fff1234, 42, ~0ULL, 5, 6}), mem).digest);
  EXPECT_EQ(Marshal(MakeRequest(SYS_getpid, {}), mem).digest,
            Marshal(MakeRequest(SYS_getpid, {1, 2, 3, 4, 5, 6}), mem).digest);
  EXPECT_EQ(Marshal(MakeRequest(SYS_write, {1, kBuf, 5}), mem).digest,
            Marshal(MakeRequest(SYS_write, {1, kBuf, 5, 0xdead, 0xbeef, 7}), mem).digest);
  // ...but those within it do.
  EXPECT_NE(Marshal(MakeRequest(SYS_close, {3}), mem).digest,
            Marshal(MakeRequest(SYS_close, {4}), mem).digest);
}

// ---- Vectors -----------------------------------------------------------------------------

TEST(MarshalTest, WritevGathersItsBuffers) {
  FakeMemory mem;
  const uint64_t iov = 0x7fff'fffe'0000;
  mem.Map(kBuf, "ab");
  mem.Map(kOtherBuf, "cdeXX");
  mem.MapIovec(iov, {{kBuf, 2}, {kOtherBuf, 3}});
  Call call = Marshal(MakeRequest(SYS_writev, {1, iov, 2}), mem);
  EXPECT_EQ(call.unreadable_arg, -1);
  EXPECT_EQ(call.iov_arg, 1);
  EXPECT_EQ(call.iov, (std::vector<std::pair<uint64_t, uint64_t>>{{kBuf, 2}, {kOtherBuf, 3}}));
  EXPECT_EQ(call.capacity[1], 5u);
  // The iovec entries themselves, then the gathered bytes.
  ASSERT_EQ(call.in[1].size(), 2 * sizeof(iovec) + 5);
  EXPECT_EQ(Text({call.in[1].begin() + 2 * sizeof(iovec), call.in[1].end()}), "abcde");

  // A different byte in the second buffer changes the vote.
  FakeMemory other = mem;
  other.Map(kOtherBuf, "cdfXX");
  EXPECT_NE(Marshal(MakeRequest(SYS_writev, {1, iov, 2}), other).digest, call.digest);
  // A byte past what the iovec covers does not.
  other.Map(kOtherBuf, "cdeYY");
  EXPECT_EQ(Marshal(MakeRequest(SYS_writev, {1, iov, 2}), other).digest, call.digest);
}

TEST(MarshalTest, WritevWithAnUnreadableBufferOrTooManyEntries) {
  FakeMemory mem;
  const uint64_t iov = 0x7fff'fffe'0000;
  mem.Map(kBuf, "ab");
  mem.MapIovec(iov, {{kBuf, 2}, {kUnmapped, 3}});
  EXPECT_EQ(Marshal(MakeRequest(SYS_writev, {1, iov, 2}), mem).unreadable_arg, 1);
  EXPECT_EQ(Marshal(MakeRequest(SYS_writev, {1, kUnmapped, 2}), mem).unreadable_arg, 1);
  EXPECT_EQ(Marshal(MakeRequest(SYS_writev, {1, iov, 1025}), mem).unreadable_arg, 1)
      << "more than IOV_MAX entries";
}

TEST(MarshalTest, ReadvRecordsCapacitiesAndReadsNoBuffer) {
  FakeMemory mem;
  const uint64_t iov = 0x7fff'fffe'0000;
  // Only the iovec array is mapped: the kernel would write the buffers, never read them.
  mem.MapIovec(iov, {{kBuf, 100}, {kOtherBuf, 28}, {kUnmapped, 0}});
  Call call = Marshal(MakeRequest(SYS_readv, {0, iov, 3}), mem);
  EXPECT_EQ(call.unreadable_arg, -1);
  EXPECT_EQ(call.iov_arg, 1);
  EXPECT_EQ(call.capacity[1], 128u);
  EXPECT_EQ(call.iov, (std::vector<std::pair<uint64_t, uint64_t>>{
                          {kBuf, 100}, {kOtherBuf, 28}, {kUnmapped, 0}}));
  EXPECT_TRUE(call.in[1].empty());
}

TEST(MarshalTest, ReadRecordsItsCapacity) {
  FakeMemory mem;
  Call call = Marshal(MakeRequest(SYS_read, {0, kUnmapped, 4096}), mem);
  EXPECT_EQ(call.unreadable_arg, -1) << "an out buffer is not read";
  EXPECT_EQ(call.capacity[1], 4096u);
  EXPECT_TRUE(call.in[1].empty());
}

// ---- ioctl and fcntl ---------------------------------------------------------------------

TEST(MarshalTest, IoctlTcgetsIsA36ByteOutBuffer) {
  FakeMemory mem;
  Call call = Marshal(MakeRequest(SYS_ioctl, {0, TCGETS, kUnmapped}), mem);
  EXPECT_TRUE(call.supported);
  EXPECT_EQ(call.spec.args[2].kind, ArgKind::kOutBuf);
  EXPECT_EQ(call.spec.args[2].size, 36);
  EXPECT_EQ(call.capacity[2], 36u);
  EXPECT_EQ(call.unreadable_arg, -1);
}

TEST(MarshalTest, IoctlTiocgwinszIsAnEightByteOutBuffer) {
  EffectiveSpec s = RefineSpec(SYS_ioctl, std::array<uint64_t, 6>{1, TIOCGWINSZ, kBuf}.data());
  EXPECT_TRUE(s.supported);
  EXPECT_EQ(s.spec.args[2].kind, ArgKind::kOutBuf);
  EXPECT_EQ(s.spec.args[2].size, 8);
}

TEST(MarshalTest, AnUnknownIoctlIsUnsupported) {
  FakeMemory mem;
  Call call = Marshal(MakeRequest(SYS_ioctl, {3, 0xc0de1234, kBuf}), mem);
  EXPECT_FALSE(call.supported);
  EXPECT_NE(call.digest, kZero);
  // Still a vote: another request is another value.
  EXPECT_NE(Marshal(MakeRequest(SYS_ioctl, {3, 0xc0de1235, kBuf}), mem).digest, call.digest);
}

TEST(MarshalTest, FcntlSetlkIsA32ByteInOutBuffer) {
  FakeMemory mem;
  std::vector<uint8_t> flock(40);
  for (size_t i = 0; i < flock.size(); ++i) {
    flock[i] = static_cast<uint8_t>(i);
  }
  mem.Map(kBuf, flock);
  Call call = Marshal(MakeRequest(SYS_fcntl, {3, F_SETLK, kBuf}), mem);
  EXPECT_TRUE(call.supported);
  EXPECT_EQ(call.spec.args[2].kind, ArgKind::kInOutBuf);
  EXPECT_EQ(call.spec.args[2].size, 32);
  EXPECT_EQ(call.capacity[2], 32u);
  EXPECT_EQ(call.in[2], std::vector<uint8_t>(flock.begin(), flock.begin() + 32));
}

TEST(MarshalTest, FcntlScalarCommandsAndUnknownCommands) {
  FakeMemory mem;
  Call getfd = Marshal(MakeRequest(SYS_fcntl, {3, F_SETFD, FD_CLOEXEC}), mem);
  EXPECT_TRUE(getfd.supported);
  EXPECT_EQ(getfd.spec.args[2].kind, ArgKind::kScalar);
  EXPECT_EQ(getfd.unreadable_arg, -1);
  EXPECT_FALSE(Marshal(MakeRequest(SYS_fcntl, {3, 9999, kBuf}), mem).supported);
}

// ---- SysV semaphores and message queues --------------------------------------------------

// struct msgbuf: msgsz counts the text after the 8-byte mtype.
TEST(MarshalTest, MsgsndReadsTheTypeAndTheTextItsSizeCounts) {
  FakeMemory mem;
  std::vector<uint8_t> message = {2, 0, 0, 0, 0, 0, 0, 0};
  const std::string text = "hello, queue";
  message.insert(message.end(), text.begin(), text.end());
  mem.Map(kBuf, message);
  Call call = Marshal(MakeRequest(SYS_msgsnd, {7, kBuf, 5, 0}), mem);
  ASSERT_EQ(call.unreadable_arg, -1);
  EXPECT_EQ(call.capacity[1], 13u);
  EXPECT_EQ(call.in[1], std::vector<uint8_t>(message.begin(), message.begin() + 13));
  // Another type is another request.
  FakeMemory other;
  message[0] = 3;
  other.Map(kBuf, message);
  EXPECT_NE(Marshal(MakeRequest(SYS_msgsnd, {7, kBuf, 5, 0}), other).digest, call.digest);
  // An empty text still sends its type; a message past the mapping is unreadable.
  EXPECT_EQ(Marshal(MakeRequest(SYS_msgsnd, {7, kBuf, 0, 0}), mem).in[1].size(), 8u);
  EXPECT_EQ(Marshal(MakeRequest(SYS_msgsnd, {7, kBuf, text.size() + 1, 0}), mem).unreadable_arg, 1);
}

TEST(MarshalTest, MsgrcvHasRoomForTheTypeAndTheText) {
  FakeMemory mem;
  Call call = Marshal(MakeRequest(SYS_msgrcv, {7, kUnmapped, 100, 0, 0}), mem);
  EXPECT_EQ(call.unreadable_arg, -1) << "an out buffer is not read";
  EXPECT_EQ(call.capacity[1], 108u);
  EXPECT_EQ(call.spec.args[1].out_len, OutLen::kReturnValue);
  // Cut to kMaxTransfer in all, the type included.
  EXPECT_EQ(Marshal(MakeRequest(SYS_msgrcv, {7, kBuf, kMaxTransfer, 0, 0}), mem).capacity[1],
            kMaxTransfer);
  EXPECT_EQ(Marshal(MakeRequest(SYS_msgrcv, {7, kBuf, ~0ULL, 0, 0}), mem).capacity[1],
            kMaxTransfer);
}

TEST(MarshalTest, SemopReadsSixBytesPerOperation) {
  FakeMemory mem;
  std::vector<uint8_t> ops(18);
  for (size_t i = 0; i < ops.size(); ++i) {
    ops[i] = static_cast<uint8_t>(i);
  }
  mem.Map(kBuf, ops);
  Call call = Marshal(MakeRequest(SYS_semop, {7, kBuf, 2}), mem);
  EXPECT_EQ(call.in[1], std::vector<uint8_t>(ops.begin(), ops.begin() + 12));
  mem.Map(kOtherBuf, std::vector<uint8_t>(16, 1));
  Call timed = Marshal(MakeRequest(SYS_semtimedop, {7, kBuf, 3, kOtherBuf}), mem);
  EXPECT_EQ(timed.in[1], ops);
  EXPECT_EQ(timed.in[3].size(), 16u);
  Call untimed = Marshal(MakeRequest(SYS_semtimedop, {7, kBuf, 3, 0}), mem);
  EXPECT_EQ(untimed.unreadable_arg, -1) << "no timeout: wait as semop does";
  EXPECT_NE(untimed.digest, timed.digest);
  EXPECT_EQ(Marshal(MakeRequest(SYS_semop, {7, kBuf, 4}), mem).unreadable_arg, 1);
}

TEST(MarshalTest, SemctlCommandsSayWhatTheFourthArgumentIs) {
  struct Expected {
    int cmd;
    ArgKind kind;
    uint16_t size;
  };
  for (const Expected& e :
       {Expected{IPC_STAT, ArgKind::kOutBuf, 104}, Expected{SEM_STAT, ArgKind::kOutBuf, 104},
        Expected{SEM_STAT_ANY, ArgKind::kOutBuf, 104}, Expected{IPC_SET, ArgKind::kInBuf, 104},
        Expected{IPC_INFO, ArgKind::kOutBuf, 40}, Expected{SEM_INFO, ArgKind::kOutBuf, 40},
        Expected{SETVAL, ArgKind::kScalar, 0}, Expected{GETVAL, ArgKind::kScalar, 0},
        Expected{GETPID, ArgKind::kScalar, 0}, Expected{GETNCNT, ArgKind::kScalar, 0},
        Expected{GETZCNT, ArgKind::kScalar, 0}, Expected{IPC_RMID, ArgKind::kScalar, 0}}) {
    std::array<uint64_t, 6> args = {7, 0, static_cast<uint64_t>(e.cmd), kBuf};
    EffectiveSpec s = RefineSpec(SYS_semctl, args.data());
    EXPECT_TRUE(s.supported) << e.cmd;
    EXPECT_EQ(s.spec.args[3].kind, e.kind) << e.cmd;
    EXPECT_EQ(s.spec.args[3].size, e.size) << e.cmd;
  }
  EXPECT_EQ(sizeof(struct semid_ds), 104u);
  EXPECT_EQ(sizeof(struct seminfo), 40u);
  // The kernel takes an int: bits above it do not make another command.
  std::array<uint64_t, 6> high = {7, 0, IPC_STAT | (uint64_t{1} << 32), kBuf};
  EXPECT_EQ(RefineSpec(SYS_semctl, high.data()).spec.args[3].kind, ArgKind::kOutBuf);
  // Any other command: EINVAL, as the kernel says.
  std::array<uint64_t, 6> unknown = {7, 0, 9999, kBuf};
  EXPECT_FALSE(RefineSpec(SYS_semctl, unknown.data()).supported);
  FakeMemory mem;
  mem.Map(kBuf, std::vector<uint8_t>(104, 5));
  Call set = Marshal(MakeRequest(SYS_semctl, {7, 0, IPC_SET, kBuf}), mem);
  EXPECT_EQ(set.in[3], std::vector<uint8_t>(104, 5));
  Call val = Marshal(MakeRequest(SYS_semctl, {7, 1, SETVAL, 42}), mem);
  EXPECT_EQ(val.unreadable_arg, -1);
  EXPECT_NE(Marshal(MakeRequest(SYS_semctl, {7, 1, SETVAL, 43}), mem).digest, val.digest);
}

// GETALL and SETALL: one unsigned short per semaphore, a count the supervisor asks the kernel.
long ThreeSemaphoresInSet7(int semid) { return semid == 7 ? 3 : -EINVAL; }

TEST(MarshalTest, SemctlArraysHaveOneShortPerSemaphoreOfTheSet) {
  FakeMemory mem;
  mem.Map(kBuf, std::vector<uint8_t>{1, 0, 2, 0, 3, 0, 4, 0});
  Call set = Marshal(MakeRequest(SYS_semctl, {7, 0, SETALL, kBuf}), mem, ThreeSemaphoresInSet7);
  ASSERT_EQ(set.unreadable_arg, -1);
  EXPECT_EQ(set.spec.args[3].kind, ArgKind::kInBuf);
  EXPECT_EQ(set.in[3], (std::vector<uint8_t>{1, 0, 2, 0, 3, 0}));
  EXPECT_EQ(set.capacity[3], 6u);
  FakeMemory other;
  other.Map(kBuf, std::vector<uint8_t>{1, 0, 2, 0, 9, 0});
  EXPECT_NE(
      Marshal(MakeRequest(SYS_semctl, {7, 0, SETALL, kBuf}), other, ThreeSemaphoresInSet7).digest,
      set.digest);
  Call get =
      Marshal(MakeRequest(SYS_semctl, {7, 0, GETALL, kUnmapped}), mem, ThreeSemaphoresInSet7);
  EXPECT_EQ(get.unreadable_arg, -1) << "an out array is not read";
  EXPECT_EQ(get.spec.args[3].kind, ArgKind::kOutBuf);
  EXPECT_EQ(get.capacity[3], 6u);
  // An array shorter than the set is unreadable.
  FakeMemory short_array;
  short_array.Map(kBuf, std::vector<uint8_t>{1, 0, 2, 0});
  EXPECT_EQ(
      Marshal(MakeRequest(SYS_semctl, {7, 0, SETALL, kBuf}), short_array, ThreeSemaphoresInSet7)
          .unreadable_arg,
      3);
  // A set the kernel does not know, or no one to ask: nothing is copied (the performer asks
  // the kernel again and answers its error).
  for (Call call :
       {Marshal(MakeRequest(SYS_semctl, {8, 0, SETALL, kBuf}), mem, ThreeSemaphoresInSet7),
        Marshal(MakeRequest(SYS_semctl, {7, 0, SETALL, kBuf}), mem)}) {
    EXPECT_EQ(call.unreadable_arg, -1);
    EXPECT_EQ(call.capacity[3], 0u);
    EXPECT_TRUE(call.in[3].empty());
  }
}

TEST(MarshalTest, MsgctlCommandsSayWhatTheThirdArgumentIs) {
  struct Expected {
    int cmd;
    ArgKind kind;
    uint16_t size;
  };
  for (const Expected& e :
       {Expected{IPC_STAT, ArgKind::kOutBuf, 120}, Expected{MSG_STAT, ArgKind::kOutBuf, 120},
        Expected{MSG_STAT_ANY, ArgKind::kOutBuf, 120}, Expected{IPC_SET, ArgKind::kInBuf, 120},
        Expected{IPC_INFO, ArgKind::kOutBuf, 32}, Expected{MSG_INFO, ArgKind::kOutBuf, 32},
        Expected{IPC_RMID, ArgKind::kScalar, 0}}) {
    std::array<uint64_t, 6> args = {7, static_cast<uint64_t>(e.cmd), kBuf};
    EffectiveSpec s = RefineSpec(SYS_msgctl, args.data());
    EXPECT_TRUE(s.supported) << e.cmd;
    EXPECT_EQ(s.spec.args[2].kind, e.kind) << e.cmd;
    EXPECT_EQ(s.spec.args[2].size, e.size) << e.cmd;
  }
  EXPECT_EQ(sizeof(struct msqid_ds), 120u);
  EXPECT_EQ(sizeof(struct msginfo), 32u);
  std::array<uint64_t, 6> unknown = {7, 9999, kBuf};
  EXPECT_FALSE(RefineSpec(SYS_msgctl, unknown.data()).supported);
  FakeMemory mem;
  Call stat = Marshal(MakeRequest(SYS_msgctl, {7, IPC_STAT, kUnmapped}), mem);
  EXPECT_EQ(stat.unreadable_arg, -1);
  EXPECT_EQ(stat.capacity[2], 120u);
  EXPECT_EQ(Marshal(MakeRequest(SYS_msgctl, {7, IPC_SET, kUnmapped}), mem).unreadable_arg, 2);
  EXPECT_EQ(Marshal(MakeRequest(SYS_msgctl, {7, IPC_RMID, 0}), mem).unreadable_arg, -1);
}

// ---- Fault injection ---------------------------------------------------------------------

TEST(MarshalTest, FlipOneBitFlipsTheFirstInputBuffer) {
  FakeMemory mem;
  mem.Map(kBuf, "hello");
  Call call = Marshal(MakeRequest(SYS_write, {1, kBuf, 5}), mem);
  const VoteValue before = call.digest;
  std::string what = FlipOneBit(call);
  EXPECT_NE(call.digest, before);
  EXPECT_EQ(Text(call.in[1]), "iello");
  EXPECT_NE(what.find("argument 1"), std::string::npos) << what;
}

TEST(MarshalTest, FlipOneBitWithoutBuffersChangesAnArgument) {
  FakeMemory mem;
  Call call = Marshal(MakeRequest(SYS_close, {3}), mem);
  const VoteValue before = call.digest;
  FlipOneBit(call);
  EXPECT_NE(call.digest, before);
  EXPECT_EQ(call.args[0], 2u);
}

TEST(MarshalTest, RedigestFollowsTheContents) {
  FakeMemory mem;
  mem.Map(kBuf, "hello");
  Call call = Marshal(MakeRequest(SYS_write, {1, kBuf, 5}), mem);
  const VoteValue before = call.digest;
  call.in[1][4] = '!';
  Redigest(call);
  EXPECT_NE(call.digest, before);
  call.in[1][4] = 'o';
  Redigest(call);
  EXPECT_EQ(call.digest, before);
}

// Regression (found as a bug): FlipOneBit on a call with no argument and no input buffer (getpid, gettid, getppid,
// sched_yield...) flips args[0], which Redigest ignores (only arg_count arguments are
// digested), so the injected fault changes nothing while the log and the report claim
// "flipped bit 0 of argument 0". A corrupt-vote injection at such a vote is silently a no-op.
TEST(MarshalTest, FlipOneBitChangesTheDigestOfACallWithoutArguments) {
  FakeMemory mem;
  Call call = Marshal(MakeRequest(SYS_getpid, {}), mem);
  const VoteValue before = call.digest;
  FlipOneBit(call);
  EXPECT_NE(call.digest, before);
}

// Regression (found as a bug): marshal.h says FlipOneBit flips "in its first argument" when there is no input
// buffer; marshal.cc flips the *last* one (args[arg_count - 1]): lseek(3, 100, SEEK_SET)
// becomes lseek(3, 100, SEEK_CUR), not lseek(2, ...). Either the code or the comment is
// wrong; the digest changes either way.
TEST(MarshalTest, FlipOneBitWithoutBuffersFlipsTheFirstArgument) {
  FakeMemory mem;
  Call call = Marshal(MakeRequest(SYS_lseek, {3, 100, SEEK_SET}), mem);
  FlipOneBit(call);
  EXPECT_EQ(call.args[0], 2u);
  EXPECT_EQ(call.args[1], 100u);
  EXPECT_EQ(call.args[2], static_cast<uint64_t>(SEEK_SET));
}

// ---- Logs and deaths ---------------------------------------------------------------------

// getsockname(fd, addr, &len): the address buffer is as large as *len says; len is in/out.
TEST(MarshalTest, SocketLengthPointerSizesTheAddressBuffer) {
  FakeMemory mem;
  mem.Map(kOtherBuf, std::vector<uint8_t>{16, 0, 0, 0});
  Call call = Marshal(MakeRequest(SYS_getsockname, {3, kBuf, kOtherBuf}), mem);
  ASSERT_EQ(call.unreadable_arg, -1);
  EXPECT_EQ(call.spec.args[1].kind, ArgKind::kOutBuf);
  EXPECT_EQ(call.capacity[1], 16u);
  EXPECT_EQ(call.spec.args[2].kind, ArgKind::kInOutBuf);
  EXPECT_EQ(call.in[2], (std::vector<uint8_t>{16, 0, 0, 0}));
  // A different length is a different request.
  FakeMemory other;
  other.Map(kOtherBuf, std::vector<uint8_t>{8, 0, 0, 0});
  EXPECT_NE(Marshal(MakeRequest(SYS_getsockname, {3, kBuf, kOtherBuf}), other).digest, call.digest);
  // An unreadable length pointer is that replica's fault.
  FakeMemory none;
  EXPECT_EQ(Marshal(MakeRequest(SYS_getsockname, {3, kBuf, kUnmapped}), none).unreadable_arg, 2);
  // accept(fd, NULL, NULL): nothing to copy.
  Call bare = Marshal(MakeRequest(SYS_accept, {3, 0, 0}), none);
  EXPECT_EQ(bare.unreadable_arg, -1);
  EXPECT_EQ(bare.spec.args[1].kind, ArgKind::kOpaquePtr);
}

TEST(MarshalTest, DescribeCallShowsArgumentsAndPaths) {
  FakeMemory mem;
  mem.MapString(kPathAt, "/etc/hosts");
  Call open =
      Marshal(MakeRequest(SYS_openat, {static_cast<uint64_t>(AT_FDCWD), kPathAt, 0, 0}), mem);
  std::string text = DescribeCall(open);
  EXPECT_EQ(text.rfind("openat(-100, ", 0), 0u) << text;
  EXPECT_NE(text.find("\"/etc/hosts\""), std::string::npos) << text;
  mem.Map(kBuf, "hi\n");
  EXPECT_EQ(DescribeCall(Marshal(MakeRequest(SYS_write, {1, kBuf, 3}), mem)),
            "write(1, 0x55555555a000, 0x3)");
}

TEST(MarshalTest, DeathDigests) {
  const int exit0 = 0;         // exited with 0
  const int exit11 = 11 << 8;  // exited with 11
  const int segv = SIGSEGV;    // killed by SIGSEGV
  const int segv_core = SIGSEGV | 0x80;
  ASSERT_TRUE(WIFEXITED(exit11) && WEXITSTATUS(exit11) == 11);
  ASSERT_TRUE(WIFSIGNALED(segv_core) && WTERMSIG(segv_core) == SIGSEGV && WCOREDUMP(segv_core));

  EXPECT_EQ(DeathDigest(segv), DeathDigest(segv));
  EXPECT_EQ(DeathDigest(segv), DeathDigest(segv_core)) << "a core dump is the same death";
  EXPECT_NE(DeathDigest(segv), DeathDigest(SIGABRT));
  EXPECT_NE(DeathDigest(exit11), DeathDigest(segv)) << "exit(11) is not death by signal 11";
  EXPECT_NE(DeathDigest(exit0), DeathDigest(1 << 8));
  EXPECT_EQ(DeathDigest(exit0), DeathDigest(0));
  EXPECT_NE(DeathDigest(exit0), kZero);
}

}  // namespace
}  // namespace nmr
