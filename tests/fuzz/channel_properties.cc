#include "tests/fuzz/channel_properties.h"

#include "supervisor/core/msghdr.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>
#include <utility>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NMR_FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define NMR_FUZZ_ASAN 1
#endif
#ifdef NMR_FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace nmr::fuzz {

// ---- Choices -------------------------------------------------------------------------------

uint64_t Choices::Below(uint64_t bound) {
  if (bound <= 1) {
    return 0;
  }
  int bits = std::bit_width(bound - 1);
  return Bits(bits) % bound;
}

uint64_t ByteChoices::Bits(int n) {
  uint64_t value = 0;
  for (int shift = 0; shift < n; shift += 8) {
    uint64_t byte = 0;
    if (size_ > 0) {
      byte = *data_++;
      --size_;
    }
    value |= byte << shift;
  }
  return n >= 64 ? value : value & ((uint64_t{1} << n) - 1);
}

std::string ByteChoices::Rest() {
  std::string out(reinterpret_cast<const char*>(data_), size_);
  data_ += size_;
  size_ = 0;
  return out;
}

uint64_t RandomChoices::Bits(int n) {
  if (n <= 0) {
    return 0;
  }
  uint64_t value = random_();
  return n >= 64 ? value : value >> (64 - n);
}

// ---- FakeMemory ----------------------------------------------------------------------------

namespace {

// More reads than any marshalling needs with memory of a fuzzer's size: a loop that does not
// end. (execve's arrays allow 65536 strings; our memory holds far fewer pointers.)
constexpr uint64_t kMaxReads = 1 << 20;
constexpr size_t kMaxServedLog = 4096;

}  // namespace

uint64_t FakeMemory::Room(uint64_t address, uint64_t want) const {
  if (address >= kUserTop) {
    return 0;
  }
  auto next = ranges_.upper_bound(address);
  if (next != ranges_.begin()) {
    auto previous = std::prev(next);
    if (address - previous->first < previous->second.size()) {
      return 0;
    }
  }
  uint64_t room = std::min(want, kUserTop - address);
  if (next != ranges_.end()) {
    room = std::min(room, next->first - address);
  }
  return room;
}

bool FakeMemory::Map(uint64_t address, std::vector<uint8_t> bytes) {
  uint64_t room = Room(address, bytes.size());
  if (room == 0) {
    return false;
  }
  bytes.resize(room);
  ranges_[address] = std::move(bytes);
  return true;
}

const uint8_t* FakeMemory::Find(uint64_t address) const {
  auto it = ranges_.upper_bound(address);
  if (it == ranges_.begin()) {
    return nullptr;
  }
  --it;
  uint64_t offset = address - it->first;
  return offset < it->second.size() ? &it->second[offset] : nullptr;
}

ssize_t FakeMemory::Read(uint64_t address, void* out, size_t length) {
  if (++reads_ > kMaxReads) {
    if (reads_ == kMaxReads + 1) {
      misuse_.push_back("more than " + std::to_string(kMaxReads) + " reads in one marshalling");
    }
    return -EFAULT;
  }
  if (length > kMaxTransfer) {
    misuse_.push_back("a read of " + std::to_string(length) + " bytes (more than kMaxTransfer)");
    return -EFAULT;
  }
#ifdef NMR_FUZZ_ASAN
  if (length > 0 && __asan_region_is_poisoned(out, length) != nullptr) {
    misuse_.push_back("a read of " + std::to_string(length) +
                      " bytes into a buffer that is not that long");
    return -EFAULT;
  }
#endif
  size_t limit = max_read != 0 ? std::min(length, max_read) : length;
  size_t done = 0;
  while (done < limit) {
    uint64_t at = address + done;
    if (done > 0 && at < address) {
      break;  // nothing is served past 2^64 - 1
    }
    auto it = ranges_.upper_bound(at);
    if (it == ranges_.begin()) {
      break;
    }
    --it;
    uint64_t offset = at - it->first;
    if (offset >= it->second.size()) {
      break;
    }
    size_t n = std::min<uint64_t>(limit - done, it->second.size() - offset);
    std::memcpy(static_cast<uint8_t*>(out) + done, it->second.data() + offset, n);
    done += n;
  }
  if (done > 0 && served_.size() < kMaxServedLog) {
    served_.push_back({address, done});
  }
  if (limit < length && done == limit) {
    short_read_ = true;
  }
  if (done == 0 && length > 0) {
    return -EFAULT;
  }
  return static_cast<ssize_t>(done);
}

ssize_t FakeMemory::Write(uint64_t address, const void*, size_t length) {
  char text[96];
  std::snprintf(text, sizeof text, "a write of %zu bytes at %#llx (marshalling only reads)", length,
                static_cast<unsigned long long>(address));
  misuse_.push_back(text);
  return -EFAULT;
}

void FakeMemory::ResetLog() {
  served_.clear();
  short_read_ = false;
  reads_ = 0;
  misuse_.clear();
}

// ---- Building scenarios --------------------------------------------------------------------

namespace {

std::string Hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "%#llx", static_cast<unsigned long long>(value));
  return text;
}

const std::vector<long>& NamedSyscalls() {
  static const std::vector<long> list = [] {
    std::vector<long> out;
    for (long nr = 0; nr < kMaxSyscall; ++nr) {
      if (SyscallInfo(nr).name != nullptr) {
        out.push_back(nr);
      }
    }
    return out;
  }();
  return list;
}

// Calls whose marshalling has its own paths.
const std::vector<long> kInterestingSyscalls = {SYS_read,
                                                SYS_write,
                                                SYS_pread64,
                                                SYS_pwrite64,
                                                SYS_readv,
                                                SYS_writev,
                                                SYS_preadv,
                                                SYS_pwritev,
                                                SYS_preadv2,
                                                SYS_pwritev2,
                                                SYS_open,
                                                SYS_openat,
                                                SYS_execve,
                                                SYS_execveat,
                                                SYS_ioctl,
                                                SYS_fcntl,
                                                SYS_accept,
                                                SYS_accept4,
                                                SYS_recvfrom,
                                                SYS_getsockname,
                                                SYS_getpeername,
                                                SYS_getsockopt,
                                                SYS_setsockopt,
                                                SYS_sendto,
                                                SYS_connect,
                                                SYS_bind,
                                                SYS_poll,
                                                SYS_ppoll,
                                                SYS_select,
                                                SYS_pselect6,
                                                SYS_stat,
                                                SYS_newfstatat,
                                                SYS_readlink,
                                                SYS_getdents64,
                                                SYS_getxattr,
                                                SYS_rename,
                                                SYS_renameat2,
                                                SYS_epoll_wait,
                                                SYS_epoll_ctl,
                                                SYS_getrandom,
                                                SYS_exit_group,
                                                SYS_getpid,
                                                SYS_sendmsg,
                                                SYS_recvmsg,
                                                SYS_sendmmsg,
                                                SYS_recvmmsg,
                                                SYS_semop,
                                                SYS_semtimedop,
                                                SYS_semctl,
                                                SYS_msgsnd,
                                                SYS_msgrcv,
                                                SYS_msgctl,
                                                kPseudoSyscallMapDone};

const std::vector<long> kOddSyscalls = {-1,
                                        INT32_MIN,
                                        INT32_MAX,
                                        kMaxSyscall,
                                        kMaxSyscall - 1,
                                        kMaxSyscall + 1,
                                        kPseudoSyscallMapDone - 1,
                                        kPseudoSyscallMapDone + 1,
                                        512,
                                        -512,
                                        0x40000000 | SYS_write};

const std::vector<uint64_t> kIoctlRequests = {
    TCGETS,     TCSETS,     TCSETSW,  TCSETSF,
    TIOCGWINSZ, TIOCSWINSZ, FIONREAD, TIOCOUTQ,
    TIOCGPGRP,  FIONBIO,    FIOASYNC, FIOCLEX,
    FIONCLEX,   0x40049409, 0,        0x5413 + 0x100000000ull,
    ~0ull};

const std::vector<uint64_t> kFcntlCommands = {
    F_DUPFD,     F_DUPFD_CLOEXEC, F_GETFD,      F_SETFD,     F_GETFL,
    F_SETFL,     F_GETPIPE_SZ,    F_SETPIPE_SZ, F_ADD_SEALS, F_GET_SEALS,
    F_SETLEASE,  F_GETLEASE,      F_GETLK,      F_SETLK,     F_SETLKW,
    F_OFD_GETLK, F_OFD_SETLK,     F_OFD_SETLKW, 0x7fff,      F_SETLK + (uint64_t{1} << 32)};

// semctl's (GETALL and SETALL have no size without a SemaphoreCounter: none here) and
// msgctl's commands; IPC_STAT again with high bits the kernel's int drops.
const std::vector<uint64_t> kSemctlCommands = {
    IPC_RMID,     IPC_SET,  IPC_STAT, IPC_INFO,
    GETPID,       GETVAL,   GETALL,   GETNCNT,
    GETZCNT,      SETVAL,   SETALL,   SEM_STAT,
    SEM_STAT_ANY, SEM_INFO, 0x7fff,   IPC_STAT + (uint64_t{1} << 32)};
const std::vector<uint64_t> kMsgctlCommands = {IPC_RMID, IPC_SET,  IPC_STAT,
                                               IPC_INFO, MSG_STAT, MSG_STAT_ANY,
                                               MSG_INFO, 0x7fff,   IPC_STAT + (uint64_t{1} << 32)};

const std::vector<uint64_t> kOddLengths = {4095, 4096, 4097, kMaxPath - 1, kMaxPath, kMaxPath + 1,
                                           1023, 1024, 1025, 16,           36,       32};

// Costly ones (a 16 MiB copy is made ready for them): drawn rarely.
const std::vector<uint64_t> kHugeLengths = {
    kMaxTransfer - 1,  kMaxTransfer, kMaxTransfer + 1, uint64_t{1} << 31,    uint64_t{1} << 32,
    uint64_t{1} << 63, ~uint64_t{0}, ~uint64_t{0} / 2, ~uint64_t{0} / 16 + 1};

const std::vector<uint64_t> kBases = {0x1000,
                                      0x10000,
                                      0x5555'5555'4000,
                                      0x7fff'f7dd'0000,
                                      0x7fff'ffff'e000,
                                      0xffff'ffff'ffff'f000,
                                      0,
                                      0xffff'8000'0000'0000,
                                      0xdead'0000 - 0x1000};

std::pair<int, int> SocketLengthArgsModel(long nr) {
  switch (nr) {
    case SYS_accept:
    case SYS_accept4:
    case SYS_getsockname:
    case SYS_getpeername:
      return {1, 2};
    case SYS_recvfrom:
      return {4, 5};
    case SYS_getsockopt:
      return {3, 4};
    default:
      return {-1, -1};
  }
}

struct Anchor {
  enum Kind { kString, kIovec, kPointers, kWord, kMsghdr } kind;
  uint64_t address;
  uint64_t count;  // iovec entries, pointers, msghdrs
};

class Builder {
 public:
  explicit Builder(Choices& choices) : c_(choices) {}

  Scenario Build() {
    Scenario s;
    int regions = 1 + static_cast<int>(c_.Below(6));
    for (int k = 0; k < regions; ++k) {
      AddRegion(s.memory);
    }
    if (c_.OneIn(8)) {
      static const std::vector<uint64_t> limits = {1, 3, 7, 8, 13, 64, 4095};
      s.memory.max_read = c_.Pick(limits);
    }
    s.request = MakeRequest();
    switch (c_.Below(4)) {
      case 0:
        s.second = s.request;
        break;
      case 1:
        s.second = s.request;
        s.second.args[c_.Below(6)] ^= uint64_t{1} << c_.Below(64);
        break;
      case 2:
        s.second = s.request;
        s.second.args[c_.Below(6)] = Address();
        break;
      default:
        s.second = MakeRequest();
        break;
    }
    s.flip_choice = c_.Bits(64);
    return s;
  }

 private:
  uint64_t Base() {
    switch (c_.Below(8)) {
      case 0:
        return c_.Bits(64);
      case 1:
        if (!regions_.empty()) {
          return regions_.back().second;  // right after the previous one: contiguous
        }
        [[fallthrough]];
      case 2:
        if (!regions_.empty()) {
          return regions_.back().second + 1 + c_.Below(16);  // a small hole
        }
        [[fallthrough]];
      default: {
        uint64_t base = c_.Pick(kBases) + c_.Below(16) * 4096;
        if (c_.OneIn(4)) {
          base += c_.Below(4096);
        } else if (c_.OneIn(4)) {
          base -= 1 + c_.Below(64);  // ends just across a page boundary
        }
        return base;
      }
    }
  }

  uint64_t Size() {
    switch (c_.Below(16)) {
      case 0:
      case 1:
        return c_.Below(16);
      case 2:
        return 4096 * (1 + c_.Below(2)) + c_.Below(64);  // across pages
      default:
        return 16 + c_.Below(c_.OneIn(4) ? 2048 : 256);
    }
  }

  void AddRegion(FakeMemory& memory) {
    uint64_t start = Base();
    uint64_t size = memory.Room(start, Size());
    if (size == 0) {
      return;
    }
    std::vector<uint8_t> bytes(size);
    Fill(start, bytes);
    if (memory.Map(start, std::move(bytes))) {
      regions_.emplace_back(start, start + size);  // end may be 0 (2^64)
    }
  }

  void Put(std::vector<uint8_t>& bytes, size_t& at, const void* data, size_t n) {
    n = std::min(n, bytes.size() - at);
    std::memcpy(bytes.data() + at, data, n);
    at += n;
  }

  void Fill(uint64_t start, std::vector<uint8_t>& bytes) {
    size_t at = 0;
    while (at < bytes.size()) {
      uint64_t address = start + at;
      size_t before = at;
      Item(address, bytes, at);
      if (at == before) {
        ++at;  // (choices that ran out pick empty items)
      }
    }
  }

  void Item(uint64_t address, std::vector<uint8_t>& bytes, size_t& at) {
    if (c_.OneIn(8)) {
      Msghdrs(address, bytes, at);
      return;
    }
    switch (c_.Below(10)) {
      case 0: {  // zeros
        at += std::min<size_t>(c_.Below(64), bytes.size() - at);
        break;
      }
      case 1:
      case 2: {  // a path
        static const char kChars[] = "abcdefghijklmnopqrstuvwxyz/._-0123456789 ";
        size_t n = c_.Below(48);
        for (size_t k = 0; k < n && at < bytes.size(); ++k) {
          bytes[at++] = kChars[c_.Below(sizeof kChars - 1)];
        }
        if (at < bytes.size()) {
          bytes[at++] = 0;
        }
        anchors_.push_back({Anchor::kString, address, 0});
        break;
      }
      case 3: {  // a string of any bytes but NUL: non-UTF-8, control characters, quotes
        size_t n = c_.Below(32);
        for (size_t k = 0; k < n && at < bytes.size(); ++k) {
          bytes[at++] = static_cast<uint8_t>(1 + c_.Below(255));
        }
        if (at < bytes.size()) {
          bytes[at++] = 0;
        }
        anchors_.push_back({Anchor::kString, address, 0});
        break;
      }
      case 4: {  // a string at PATH_MAX's edge (or a run of one byte)
        static const std::vector<uint64_t> lengths = {4094, 4095, 4096, 4097, 200};
        size_t n = std::min<size_t>(c_.Pick(lengths), bytes.size() - at);
        std::memset(bytes.data() + at, c_.OneIn(4) ? 0xff : 'a', n);
        at += n;
        if (at < bytes.size()) {
          bytes[at++] = 0;
        }
        anchors_.push_back({Anchor::kString, address, 0});
        break;
      }
      case 5: {  // an iovec array
        uint64_t count = c_.Below(5);
        for (uint64_t k = 0; k < count; ++k) {
          iovec v{reinterpret_cast<void*>(Address()), Length()};
          if (c_.OneIn(2) && !regions_.empty()) {  // a buffer that is there (or one over)
            auto [region_start, region_end] = c_.Pick(regions_);
            uint64_t base = region_start + c_.Below(region_end - region_start);
            v = {reinterpret_cast<void*>(base), c_.Below(region_end - base + 2)};
          }
          Put(bytes, at, &v, sizeof v);
        }
        anchors_.push_back({Anchor::kIovec, address, count});
        break;
      }
      case 6: {  // a null-terminated array of string pointers (argv)
        uint64_t count = c_.Below(4);
        for (uint64_t k = 0; k < count; ++k) {
          uint64_t pointer = StringAddress();
          Put(bytes, at, &pointer, 8);
        }
        if (!c_.OneIn(8)) {
          uint64_t zero = 0;
          Put(bytes, at, &zero, 8);
        }
        anchors_.push_back({Anchor::kPointers, address, count});
        break;
      }
      case 7: {  // a socklen_t, a count, a struct field
        static const std::vector<uint64_t> words = {0,   4,    16,    110,        128,
                                                    256, 4096, 65536, 0xffffffff, 0x80000000};
        uint64_t word = c_.OneIn(4) ? c_.Bits(64) : c_.Pick(words);
        Put(bytes, at, &word, c_.OneIn(2) ? 4 : 8);
        anchors_.push_back({Anchor::kWord, address, 0});
        break;
      }
      case 8: {  // a run of one byte
        size_t n = std::min<size_t>(c_.Below(256), bytes.size() - at);
        std::memset(bytes.data() + at, static_cast<int>(c_.Bits(8)), n);
        at += n;
        break;
      }
      default: {  // random bytes
        size_t n = c_.Below(32);
        for (size_t k = 0; k < n && at < bytes.size(); ++k) {
          bytes[at++] = static_cast<uint8_t>(c_.Bits(8));
        }
        break;
      }
    }
  }

  // sendmsg's msghdr, or sendmmsg's array of mmsghdr (64 bytes each): pointers at iovec
  // arrays, names and control buffers that are mostly there, lengths at the kernel's limits.
  void Msghdrs(uint64_t address, std::vector<uint8_t>& bytes, size_t& at) {
    static const std::vector<uint64_t> name_lengths = {0, 2, 16, 110, 128, 129, 200, 0x80000000};
    static const std::vector<uint64_t> control_lengths = {0,     16,   24,   32,         65536,
                                                          65537, 1024, 4096, 0x80000000, ~0ull};
    uint64_t count = 1 + c_.Below(c_.OneIn(8) ? 70 : 4);
    for (uint64_t k = 0; k < count && at < bytes.size(); ++k) {
      uint64_t fields[8] = {};
      fields[0] = c_.OneIn(2) ? 0 : Pointer();                        // name
      fields[1] = c_.OneIn(8) ? c_.Bits(32) : c_.Pick(name_lengths);  // namelen
      fields[2] = c_.OneIn(4) ? (c_.OneIn(2) ? 0 : Address()) : AnchorAddress(Anchor::kIovec);
      fields[3] = c_.OneIn(4) ? Length() : IovecCount(fields[2]);        // iovlen
      fields[4] = c_.OneIn(2) ? 0 : Pointer();                           // control
      fields[5] = c_.OneIn(8) ? c_.Bits(64) : c_.Pick(control_lengths);  // controllen
      fields[6] = c_.Bits(32) | (c_.Bits(32) << 32);  // flags, padding, msg_len: never read
      fields[7] = c_.Bits(64);
      Put(bytes, at, fields, sizeof fields);
    }
    anchors_.push_back({Anchor::kMsghdr, address, count});
  }

  uint64_t Pointer() { return c_.OneIn(2) ? InsideRegion() : Address(); }

  uint64_t IovecCount(uint64_t address) {
    for (const Anchor& anchor : anchors_) {
      if (anchor.kind == Anchor::kIovec && anchor.address == address) {
        return anchor.count + (c_.OneIn(8) ? 1 : 0);
      }
    }
    return address == 0 ? 0 : c_.Below(4);
  }

  uint64_t InsideRegion() {
    if (regions_.empty()) {
      return 0x5555'5555'a000;
    }
    auto [start, end] = c_.Pick(regions_);
    return start + c_.Below(end - start);
  }

  uint64_t AnchorAddress(Anchor::Kind kind) {
    std::vector<uint64_t> matching;
    for (const Anchor& a : anchors_) {
      if (a.kind == kind) {
        matching.push_back(a.address);
      }
    }
    return matching.empty() ? Address() : c_.Pick(matching);
  }

  uint64_t StringAddress() { return c_.OneIn(4) ? Address() : AnchorAddress(Anchor::kString); }

  uint64_t Address() {
    switch (c_.Below(10)) {
      case 0:
        return 0;
      case 1:
        return c_.Bits(64);
      case 2:
        return 0xdead'0000 + c_.Below(4096);  // unmapped (unless a region landed there)
      case 3:
        return ~uint64_t{0} - c_.Below(16);
      case 4:
      case 5:
        return InsideRegion();
      case 6:
      case 7: {  // straddling a region's end, or just past it
        if (regions_.empty()) {
          return InsideRegion();
        }
        auto [start, end] = c_.Pick(regions_);
        uint64_t back = c_.Below(9);
        return end - back < start ? start : end - back;
      }
      default:
        if (anchors_.empty()) {
          return InsideRegion();
        }
        return c_.Pick(anchors_).address;
    }
  }

  uint64_t Length() {
    switch (c_.Below(16)) {
      case 0:
        return 0;
      case 1:
        return c_.Below(4096);
      case 2:
        return c_.Pick(kOddLengths);
      case 3:
        return c_.OneIn(64) ? c_.Pick(kHugeLengths) : c_.Below(100);
      default:
        return c_.Below(64);
    }
  }

  uint64_t Scalar() {
    switch (c_.Below(8)) {
      case 0:
        return 0;
      case 1:
        return ~uint64_t{0};
      case 2:
        return static_cast<uint64_t>(-100);  // AT_FDCWD
      case 3:
        return c_.Bits(64);
      case 4:
        return c_.Bits(32);
      default:
        return c_.Below(64);
    }
  }

  Request MakeRequest() {
    Request r{};
    r.seq = static_cast<uint32_t>(c_.Bits(32));
    r.ip = c_.OneIn(2) ? kGateSyscallReturnIp : c_.Bits(64);
    long nr;
    switch (c_.Below(10)) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
        nr = c_.Pick(NamedSyscalls());
        break;
      case 6:
      case 7:
        nr = c_.Pick(kInterestingSyscalls);
        break;
      case 8:
        nr = c_.Pick(kOddSyscalls);
        break;
      default:
        nr = static_cast<int32_t>(c_.Bits(32));
        break;
    }
    r.nr = static_cast<int32_t>(nr);
    nr = r.nr;
    if (nr == SYS_ioctl) {
      r.args[1] = c_.OneIn(4) ? Scalar() : c_.Pick(kIoctlRequests);
    } else if (nr == SYS_fcntl) {
      r.args[1] = c_.OneIn(4) ? Scalar() : c_.Pick(kFcntlCommands);
    } else if (nr == SYS_msgctl) {
      r.args[1] = c_.OneIn(4) ? Scalar() : c_.Pick(kMsgctlCommands);
    } else if (nr == SYS_semctl) {
      r.args[2] = c_.OneIn(4) ? Scalar() : c_.Pick(kSemctlCommands);
    }
    SyscallSpec spec = RefineSpec(nr, r.args).spec;
    auto [socket_buffer, socket_length] = SocketLengthArgsModel(nr);
    bool is_length[6] = {};
    for (int i = 0; i < 6; ++i) {
      if (spec.args[i].len_arg >= 0 && spec.args[i].len_arg < 6) {
        is_length[spec.args[i].len_arg] = true;
      }
    }
    for (int i = 0; i < 6; ++i) {
      if (((nr == SYS_ioctl || nr == SYS_fcntl || nr == SYS_msgctl) && i == 1) ||
          (nr == SYS_semctl && i == 2)) {
        continue;  // the command, drawn above
      }
      uint64_t& a = r.args[i];
      if (is_length[i]) {
        a = Length();  // (arbitrary ones are mostly huge: Length draws those rarely)
        continue;
      }
      if (c_.OneIn(16)) {
        a = c_.Bits(64);
        continue;
      }
      if (i == socket_length) {
        a = c_.OneIn(4) ? Address() : AnchorAddress(Anchor::kWord);
        continue;
      }
      if (i == socket_buffer) {
        a = Address();
        continue;
      }
      if (nr == SYS_execve && (i == 1 || i == 2)) {
        a = c_.OneIn(4) ? (c_.OneIn(2) ? 0 : Address()) : AnchorAddress(Anchor::kPointers);
        continue;
      }
      bool msg_call =
          nr == SYS_sendmsg || nr == SYS_recvmsg || nr == SYS_sendmmsg || nr == SYS_recvmmsg;
      if (msg_call && i == 1) {
        a = c_.OneIn(4) ? Address() : AnchorAddress(Anchor::kMsghdr);
        continue;
      }
      if ((nr == SYS_sendmmsg || nr == SYS_recvmmsg) && i == 2) {
        a = c_.OneIn(4) ? Scalar() : c_.Below(6);
        for (const Anchor& anchor : anchors_) {
          if (anchor.kind == Anchor::kMsghdr && anchor.address == r.args[1] && c_.OneIn(2)) {
            a = anchor.count + (c_.OneIn(4) ? 1 : 0);  // (the vector's count, or one over)
          }
        }
        continue;
      }
      switch (i < spec.arg_count ? spec.args[i].kind : ArgKind::kNone) {
        case ArgKind::kPath:
          a = StringAddress();
          break;
        case ArgKind::kIovecIn:
        case ArgKind::kIovecOut:
          a = c_.OneIn(3) ? Address() : AnchorAddress(Anchor::kIovec);
          break;
        case ArgKind::kInBuf:
        case ArgKind::kInOutBuf:
        case ArgKind::kOutBuf:
        case ArgKind::kOpaquePtr:
          a = Address();
          break;
        case ArgKind::kNone:
          a = c_.OneIn(2) ? 0 : c_.Bits(64);  // whatever the caller left in the register
          break;
        default:
          a = Scalar();
          break;
      }
    }
    // Half the time, make counts agree with the buffers they describe (exactly, or one over),
    // so that marshalling gets past its reads as often as it fails them.
    if (c_.OneIn(2)) {
      for (int i = 0; i < 6; ++i) {
        const ArgSpec& a = spec.args[i];
        if (a.len_arg < 0 || a.len_arg >= 6) {
          continue;
        }
        uint64_t& count = r.args[a.len_arg];
        if (a.kind == ArgKind::kIovecIn || a.kind == ArgKind::kIovecOut) {
          for (const Anchor& anchor : anchors_) {
            if (anchor.kind == Anchor::kIovec && anchor.address == r.args[i]) {
              count = anchor.count + (c_.OneIn(4) ? 1 : 0);
            }
          }
          continue;
        }
        for (auto [start, end] : regions_) {
          if (r.args[i] >= start && r.args[i] - start < end - start) {
            uint64_t element = std::max<uint64_t>(a.size, 1);
            uint64_t room = end - r.args[i];
            count = (room > a.header ? room - a.header : 0) / element + (c_.OneIn(4) ? 1 : 0);
          }
        }
      }
    }
    return r;
  }

  Choices& c_;
  std::vector<std::pair<uint64_t, uint64_t>> regions_;  // [start, end), end 0 meaning 2^64
  std::vector<Anchor> anchors_;
};

}  // namespace

Scenario MakeScenario(Choices& choices) { return Builder(choices).Build(); }

namespace {

std::string DescribeRequest(const Request& r) {
  std::string out = "nr=" + std::to_string(r.nr) + " (" + SyscallName(r.nr) + ") args={";
  for (int i = 0; i < 6; ++i) {
    out += (i == 0 ? "" : ", ") + Hex(r.args[i]);
  }
  return out + "} seq=" + std::to_string(r.seq) + " ip=" + Hex(r.ip);
}

}  // namespace

std::string DescribeScenario(const Scenario& s) {
  std::string out = "request: " + DescribeRequest(s.request) +
                    "\nsecond:  " + DescribeRequest(s.second) +
                    "\nmax_read: " + std::to_string(s.memory.max_read) + "\nmemory:\n";
  for (const auto& [address, bytes] : s.memory.ranges()) {
    out += "  " + Hex(address) + " +" + std::to_string(bytes.size()) + ":";
    for (size_t k = 0; k < std::min<size_t>(bytes.size(), 48); ++k) {
      char text[4];
      std::snprintf(text, sizeof text, " %02x", bytes[k]);
      out += text;
    }
    out += bytes.size() > 48 ? " ...\n" : "\n";
  }
  return out;
}

// ---- Checks --------------------------------------------------------------------------------

namespace {

class Failures {
 public:
  explicit Failures(std::vector<std::string>& out) : out_(out) {}
  void Fail(std::string what) {
    if (out_.size() < 20) {
      out_.push_back(std::move(what));
    }
  }

 private:
  std::vector<std::string>& out_;
};

// The message is built only when the check fails.
#define CHECK_THAT(failures, condition, message) \
  do {                                           \
    if (!(condition)) {                          \
      (failures).Fail(message);                  \
    }                                            \
  } while (false)

bool SameArgSpec(const ArgSpec& a, const ArgSpec& b) {
  return a.kind == b.kind && a.len_arg == b.len_arg && a.size == b.size &&
         a.nullable == b.nullable && a.out_len == b.out_len && a.header == b.header;
}

std::string SpecDifference(const SyscallSpec& a, const SyscallSpec& b) {
  bool same_name = (a.name == nullptr) == (b.name == nullptr) &&
                   (a.name == nullptr || std::strcmp(a.name, b.name) == 0);
  if (!same_name || a.cls != b.cls || a.restart != b.restart || a.arg_count != b.arg_count ||
      a.deny_errno != b.deny_errno) {
    return "the spec (name, class, restart, argument count or errno)";
  }
  for (int i = 0; i < 6; ++i) {
    if (!SameArgSpec(a.args[i], b.args[i])) {
      return "the spec of argument " + std::to_string(i);
    }
  }
  return "";
}

// What the supervisor acts on (perform.cc: the number, the spec, the registers the call has,
// the copied bytes, the capacities, the iovec entries, the verdict). "" if equal.
std::string ContentDifference(const Call& a, const Call& b) {
  if (a.nr != b.nr) {
    return "the syscall number";
  }
  if (a.supported != b.supported) {
    return "supported";
  }
  if (std::string spec = SpecDifference(a.spec, b.spec); !spec.empty()) {
    return spec;
  }
  for (int i = 0; i < std::min<int>(a.spec.arg_count, 6); ++i) {
    if (a.args[i] != b.args[i]) {
      return "argument " + std::to_string(i);
    }
  }
  for (int i = 0; i < 6; ++i) {
    if (a.in[i] != b.in[i]) {
      return "the input bytes of argument " + std::to_string(i);
    }
    if (a.capacity[i] != b.capacity[i]) {
      return "the capacity of argument " + std::to_string(i);
    }
  }
  if (a.iov_arg != b.iov_arg || a.iov != b.iov) {
    return "the iovec entries";
  }
  if (a.unreadable_arg != b.unreadable_arg) {
    return "unreadable_arg";
  }
  return "";
}

bool PrintableAscii(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c < 0x7f;
  });
}

// Each argument's description is at most ", " + "0x" + 16 digits and a path escaped 4 bytes
// for each of its (at most kMaxPath) bytes.
constexpr size_t kMaxDescription = 64 + 6 * (24 + 4 + 4 * kMaxPath);
constexpr const char* kNoVisibleDifference = "a register the table does not describe";

// ---- A plain model of what Marshal must copy, read from the fake memory byte by byte ----

std::optional<std::vector<uint8_t>> Peek(const FakeMemory& memory, uint64_t address,
                                         uint64_t length) {
  std::vector<uint8_t> out;
  for (uint64_t k = 0; k < length; ++k) {
    if (k > 0 && address + k < address) {
      return std::nullopt;
    }
    const uint8_t* byte = memory.Find(address + k);
    if (byte == nullptr) {
      return std::nullopt;
    }
    out.push_back(*byte);
  }
  return out;
}

// A NUL-terminated string of at most kMaxPath - 1 bytes.
std::optional<std::vector<uint8_t>> PeekString(const FakeMemory& memory, uint64_t address) {
  std::vector<uint8_t> out;
  for (uint64_t k = 0; k < kMaxPath; ++k) {
    if (k > 0 && address + k < address) {
      return std::nullopt;
    }
    const uint8_t* byte = memory.Find(address + k);
    if (byte == nullptr) {
      return std::nullopt;
    }
    if (*byte == 0) {
      return out;
    }
    out.push_back(*byte);
  }
  return std::nullopt;  // too long
}

uint64_t ModelLength(const ArgSpec& a, const uint64_t args[6]) {
  if (a.len_arg < 0) {
    return a.size;
  }
  unsigned __int128 bytes =
      a.header + static_cast<unsigned __int128>(args[a.len_arg]) * std::max<uint64_t>(a.size, 1);
  return bytes > kMaxTransfer ? kMaxTransfer : static_cast<uint64_t>(bytes);
}

struct ModelArg {
  bool ok = true;
  std::vector<uint8_t> in;
  uint64_t capacity = 0;
  bool iovec = false;
  std::vector<std::pair<uint64_t, uint64_t>> iov;
};

ModelArg ExpectArg(const FakeMemory& memory, long nr, const SyscallSpec& spec,
                   const uint64_t args[6], int i) {
  ModelArg m;
  uint64_t address = args[i];
  if (nr == SYS_execve && (i == 1 || i == 2)) {
    if (address == 0) {
      return m;
    }
    for (uint64_t k = 0; k < 65536; ++k) {
      auto word = Peek(memory, address + k * 8, 8);
      if (!word) {
        m.ok = false;
        return m;
      }
      uint64_t pointer;
      std::memcpy(&pointer, word->data(), 8);
      if (pointer == 0) {
        return m;
      }
      auto text = PeekString(memory, pointer);
      if (!text || m.in.size() + text->size() > (2u << 20)) {
        m.ok = false;
        return m;
      }
      m.in.insert(m.in.end(), text->begin(), text->end());
      m.in.push_back(0);
    }
    m.ok = false;
    return m;
  }
  const ArgSpec& a = spec.args[i];
  bool null_allowed = address == 0 && a.nullable;
  switch (a.kind) {
    case ArgKind::kPath: {
      if (null_allowed) {
        return m;
      }
      auto text = PeekString(memory, address);
      m.ok = text.has_value();
      if (text) {
        m.in = *text;
      }
      return m;
    }
    case ArgKind::kInBuf:
    case ArgKind::kInOutBuf: {
      m.capacity = ModelLength(a, args);
      if (null_allowed || m.capacity == 0) {
        return m;
      }
      auto bytes = Peek(memory, address, m.capacity);
      m.ok = bytes.has_value();
      if (bytes) {
        m.in = *bytes;
      }
      return m;
    }
    case ArgKind::kOutBuf:
      m.capacity = ModelLength(a, args);
      return m;
    case ArgKind::kIovecIn:
    case ArgKind::kIovecOut: {
      uint64_t count = args[a.len_arg];
      auto raw = count > 1024 ? std::nullopt : Peek(memory, address, count * sizeof(iovec));
      if (!raw) {
        m.ok = false;
        return m;
      }
      m.iovec = true;
      for (uint64_t k = 0; k < count; ++k) {
        uint64_t entry[2];
        std::memcpy(entry, raw->data() + k * sizeof(iovec), sizeof entry);
        uint64_t length = std::min<uint64_t>(entry[1], kMaxTransfer - m.capacity);
        m.iov.emplace_back(entry[0], length);
        m.capacity += length;
      }
      if (a.kind == ArgKind::kIovecIn) {
        m.in = *raw;
        for (const auto& [base, length] : m.iov) {
          auto bytes = Peek(memory, base, length);
          if (!bytes) {
            m.ok = false;
            return m;
          }
          m.in.insert(m.in.end(), bytes->begin(), bytes->end());
        }
      }
      return m;
    }
    default:
      return m;
  }
}

// sendmsg/recvmsg's msghdr, or sendmmsg/recvmmsg's vector of them, as core/msghdr.h describes
// it: per message its 56 bytes, then (sending) the name, every iovec entry's data and the
// control bytes; every message's entries in iov, one message after the other. A vector stops
// at the first message that cannot be read, is refused, or would pass a limit; only the
// first message's failure is the call's (unreadable, or answered with the kernel's error).
ModelArg ExpectMsgs(const FakeMemory& memory, long nr, const uint64_t args[6]) {
  ModelArg m;
  const bool send = nr == SYS_sendmsg || nr == SYS_sendmmsg;
  const bool vector = nr == SYS_sendmmsg || nr == SYS_recvmmsg;
  const uint64_t count = vector ? std::min<uint64_t>(static_cast<uint32_t>(args[2]), 1024) : 1;
  uint64_t used = 0;
  for (uint64_t k = 0; k < count; ++k) {
    const bool first = k == 0;
    auto header = Peek(memory, args[1] + k * 64, kMsghdrSize);
    if (!header) {
      m.ok = !first;
      break;
    }
    MsgHeader h = ParseMsgHeader(header->data());
    if (MsgHeaderError(h, send) != 0) {
      if (first) {
        m.in = *header;
      }
      break;
    }
    if (m.iov.size() + h.iovlen > 1024) {
      break;
    }
    auto entries = Peek(memory, h.iov, h.iovlen * 16);
    if (h.iovlen > 0 && !entries) {
      m.ok = !first;
      break;
    }
    std::vector<std::pair<uint64_t, uint64_t>> iov;
    uint64_t data = 0;
    bool over = false;
    for (uint64_t e = 0; e < h.iovlen; ++e) {
      uint64_t entry[2];
      std::memcpy(entry, entries->data() + e * 16, sizeof entry);
      uint64_t length = entry[1];
      if (first) {
        length = std::min<uint64_t>(length, kMaxTransfer - data);
      } else if (length > kMaxTransfer) {
        over = true;
        break;
      }
      iov.emplace_back(entry[0], length);
      data += length;
    }
    uint64_t name_len = h.name != 0 ? std::min<uint64_t>(h.namelen, 128) : 0;
    uint64_t control_len =
        h.control == 0 ? 0 : (send ? h.controllen : std::min<uint64_t>(h.controllen, 65536));
    if (over || (!first && used + name_len + data + control_len > kMaxTransfer)) {
      break;
    }
    m.iovec = true;  // (the call's iov_arg: set once a message's entries were read)
    std::vector<uint8_t> record = *header;
    auto append = [&](uint64_t at, uint64_t length) {
      if (length == 0) {
        return true;
      }
      auto bytes = Peek(memory, at, length);
      if (bytes) {
        record.insert(record.end(), bytes->begin(), bytes->end());
      }
      return bytes.has_value();
    };
    bool ok = !send || append(h.name, name_len);
    for (const auto& [at, length] : iov) {
      ok = ok && (!send || append(at, length));
    }
    ok = ok && (!send || append(h.control, control_len));
    if (!ok) {
      m.ok = !first;
      break;
    }
    m.in.insert(m.in.end(), record.begin(), record.end());
    m.iov.insert(m.iov.end(), iov.begin(), iov.end());
    used += name_len + data + control_len;
  }
  for (const auto& entry : m.iov) {
    m.capacity += entry.second;
  }
  return m;
}

// Compares a marshalled call with the model. `call` was marshalled over `memory`.
void CheckAgainstModel(const Request& request, const FakeMemory& memory, const Call& call,
                       Failures& f) {
  long nr = request.nr;
  uint64_t args[6];
  std::copy(std::begin(request.args), std::end(request.args), args);
  EffectiveSpec refined = RefineSpec(nr, args);
  SyscallSpec spec = refined.spec;
  CHECK_THAT(f, call.nr == nr, "Marshal changed the syscall number");
  CHECK_THAT(f, std::equal(std::begin(args), std::end(args), call.args),
             "Marshal changed the registers");
  CHECK_THAT(f, call.supported == refined.supported, "supported differs from RefineSpec's");
  // The socket calls' buffers are as long as the socklen_t their last argument points at.
  auto [buffer, length] = SocketLengthArgsModel(nr);
  if (buffer >= 0) {
    spec.args[length] = ArgSpec{ArgKind::kInOutBuf, -1, 4, true};
    if (args[length] == 0) {
      spec.args[buffer] = ArgSpec{ArgKind::kOpaquePtr};
    } else {
      auto word = Peek(memory, args[length], 4);
      if (!word) {
        CHECK_THAT(f, call.unreadable_arg == length,
                   "an unreadable socklen_t pointer is not reported as unreadable");
        return;
      }
      if (call.unreadable_arg == length && call.in[length].empty()) {
        CHECK_THAT(f, memory.short_read(), "a readable socklen_t pointer reported unreadable");
        return;
      }
      uint32_t capacity;
      std::memcpy(&capacity, word->data(), 4);
      spec.args[buffer] =
          ArgSpec{ArgKind::kOutBuf, -1, static_cast<uint16_t>(std::min(capacity, 4096u)), true};
    }
  }
  if (std::string d = SpecDifference(call.spec, spec); !d.empty()) {
    CHECK_THAT(f, false, "the call's spec is not the table's (refined): " + d);
    return;
  }
  int expected_unreadable = -1;
  // False when the check is over (an argument that could not be read ends marshalling).
  auto check_arg = [&](int i, const ModelArg& m) {
    std::string arg = " of argument " + std::to_string(i);
    if (call.unreadable_arg == i) {
      if (m.ok) {
        CHECK_THAT(f, memory.short_read(), "readable memory reported unreadable" + arg);
      } else {
        expected_unreadable = i;
      }
      return false;
    }
    if (!m.ok) {
      expected_unreadable = i;
      CHECK_THAT(f, false,
                 "unreadable memory not reported" + arg + " (unreadable_arg " +
                     std::to_string(call.unreadable_arg) + ")");
      return false;
    }
    bool vector = nr == SYS_sendmmsg || nr == SYS_recvmmsg;
    if (vector && i == 1 && memory.short_read() && call.in[i] != m.in) {
      // A short read ended the vector early: fewer messages, those before it whole.
      CHECK_THAT(f,
                 call.in[i].size() < m.in.size() &&
                     std::equal(call.in[i].begin(), call.in[i].end(), m.in.begin()) &&
                     call.iov.size() <= m.iov.size() &&
                     std::equal(call.iov.begin(), call.iov.end(), m.iov.begin()),
                 "a vector cut by a short read is not a prefix of the model's" + arg);
      return true;
    }
    CHECK_THAT(f, call.in[i] == m.in,
               "the copied bytes differ from the replica's" + arg + " (" +
                   std::to_string(call.in[i].size()) + " vs " + std::to_string(m.in.size()) +
                   " bytes)");
    CHECK_THAT(f, call.capacity[i] == m.capacity,
               "the capacity" + arg + " is " + std::to_string(call.capacity[i]) + ", not " +
                   std::to_string(m.capacity));
    if (m.iovec) {
      CHECK_THAT(f, call.iov_arg == i && call.iov == m.iov, "the iovec entries" + arg + " differ");
    }
    return true;
  };
  const bool msg_call =
      nr == SYS_sendmsg || nr == SYS_recvmsg || nr == SYS_sendmmsg || nr == SYS_recvmmsg;
  for (int i = 0; i < 6 && refined.supported; ++i) {
    if (msg_call && i == 1) {
      continue;  // the messages are read after every other argument (below)
    }
    if (!check_arg(i, ExpectArg(memory, nr, spec, args, i))) {
      return;
    }
  }
  if (msg_call && !check_arg(1, ExpectMsgs(memory, nr, args))) {
    return;  // core/msghdr.h: one pack for every message
  }
  CHECK_THAT(f, call.unreadable_arg == expected_unreadable,
             "unreadable_arg is " + std::to_string(call.unreadable_arg) + " but every argument " +
                 "the model read was readable");
}

// What must hold of any marshalled call, whatever the memory.
void CheckBounds(const Call& call, Failures& f) {
  CHECK_THAT(f, call.unreadable_arg >= -1 && call.unreadable_arg < 6,
             "unreadable_arg out of range");
  CHECK_THAT(f, call.iov_arg >= -1 && call.iov_arg < 6, "iov_arg out of range");
  CHECK_THAT(f, call.spec.arg_count <= 6, "more than six arguments");
  CHECK_THAT(f, call.iov.size() <= 1024, "more iovec entries than IOV_MAX");
  // Table invariants the digest depends on: every argument Marshal reads through, and every
  // length it uses, is one of the call's arguments (the digest covers only those registers).
  for (int i = 0; i < 6; ++i) {
    const ArgSpec& a = call.spec.args[i];
    std::string arg = " of argument " + std::to_string(i);
    if (a.kind != ArgKind::kNone) {
      CHECK_THAT(f, i < call.spec.arg_count, "a described argument past arg_count" + arg);
    }
    if (a.len_arg >= 0) {
      CHECK_THAT(f, a.len_arg < call.spec.arg_count && a.len_arg != i,
                 "a length argument outside the call" + arg);
    }
    bool vector = a.kind == ArgKind::kIovecIn || a.kind == ArgKind::kIovecOut;
    if (vector) {
      CHECK_THAT(f, a.len_arg >= 0, "an iovec without a count" + arg);
    }
    // (A message call's pack: the headers of up to kMaxMmsg messages, then the first's name
    // and control on top of the data.)
    const size_t extra = IsMsgCall(call.nr) ? kMaxMmsg * kMsghdrSize + kMaxMsgName + kMaxMsgControl
                                            : 1024 * sizeof(iovec);
    CHECK_THAT(f, call.in[i].size() <= kMaxTransfer + extra,
               "an input copy of " + std::to_string(call.in[i].size()) + " bytes" + arg);
    CHECK_THAT(f, call.capacity[i] <= kMaxTransfer,
               "a capacity of " + std::to_string(call.capacity[i]) + " bytes" + arg);
    bool marshalled = call.supported && (call.unreadable_arg < 0 || i < call.unreadable_arg);
    bool execve_array = call.nr == SYS_execve && (i == 1 || i == 2);
    bool null = call.args[i] == 0 && a.nullable;
    if (!marshalled || execve_array) {
      continue;
    }
    if (a.kind == ArgKind::kPath && !null) {
      CHECK_THAT(f, call.in[i].size() < kMaxPath, "a path longer than kMaxPath - 1" + arg);
      CHECK_THAT(f, std::find(call.in[i].begin(), call.in[i].end(), 0) == call.in[i].end(),
                 "a path with a NUL inside" + arg);
    }
    // The kernel reads or writes min(count, capacity / size) elements (perform.cc clamps
    // the count): that must fit in the copy.
    bool in_buffer = a.kind == ArgKind::kInBuf || a.kind == ArgKind::kInOutBuf;
    if (in_buffer && !null && call.capacity[i] > 0) {
      CHECK_THAT(f, call.in[i].size() == call.capacity[i],
                 "an input copy of " + std::to_string(call.in[i].size()) +
                     " bytes for a capacity " + "of " + std::to_string(call.capacity[i]) + arg);
      uint64_t element = std::max<uint64_t>(a.size, 1);
      uint64_t elements = (call.capacity[i] - a.header) / element;
      uint64_t kernel =
          a.len_arg >= 0 ? a.header + std::min(call.args[a.len_arg], elements) * element : a.size;
      CHECK_THAT(f, kernel <= call.in[i].size(), "the kernel would read past the copy" + arg);
    }
    if (vector) {
      uint64_t total = 0;
      for (const auto& entry : call.iov) {
        total += entry.second;
      }
      CHECK_THAT(f, call.iov_arg == i, "iov_arg is not the iovec argument" + arg);
      CHECK_THAT(f, total == call.capacity[i] && total <= kMaxTransfer,
                 "the iovec entries do not add up to the capacity" + arg);
      if (a.kind == ArgKind::kIovecIn) {
        CHECK_THAT(f, call.in[i].size() == call.iov.size() * sizeof(iovec) + total,
                   "the gathered copy is not entries + bytes" + arg);
      }
    }
  }
}

void CheckDescription(const std::string& text, const std::string& what, Failures& f) {
  CHECK_THAT(f, PrintableAscii(text), what + " is not printable ASCII: " + text.substr(0, 200));
  CHECK_THAT(f, text.size() <= 2 * kMaxDescription + 256,
             what + " is " + std::to_string(text.size()) + " bytes long");
}

// DescribeDifference of two calls, in both directions.
void CheckDifference(const Call& a, const Call& b, const std::string& what, Failures& f) {
  for (const auto& [x, y] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
    std::string text = DescribeDifference(*x, *y);
    CheckDescription(text, "DescribeDifference (" + what + ")", f);
    if (x->digest != y->digest) {
      CHECK_THAT(f, text.find(kNoVisibleDifference) == std::string::npos,
                 "calls with different digests described as differing in nothing visible (" + what +
                     "): " + text.substr(0, 200));
    }
  }
}

Call MarshalLogged(const Request& request, FakeMemory& memory, Failures& f) {
  memory.ResetLog();
  Call call = Marshal(request, memory);
  for (const std::string& misuse : memory.misuse()) {
    CHECK_THAT(f, false, "Marshal misused replica memory: " + misuse);
  }
  return call;
}

}  // namespace

std::vector<std::string> CheckScenario(Scenario& s) {
  std::vector<std::string> out;
  Failures f(out);
  FakeMemory& memory = s.memory;

  Call call = MarshalLogged(s.request, memory, f);
  std::vector<FakeMemory::Served> served = memory.served();
  CheckBounds(call, f);
  CheckAgainstModel(s.request, memory, call, f);

  // Deterministic: again, the same call and digest; Redigest agrees.
  Call again = MarshalLogged(s.request, memory, f);
  CHECK_THAT(f, ContentDifference(call, again).empty() && call.digest == again.digest,
             "marshalling the same request over the same memory twice differs: " +
                 ContentDifference(call, again));
  Call redigested = call;
  Redigest(redigested);
  CHECK_THAT(f, redigested.digest == call.digest, "Redigest does not reproduce Marshal's digest");

  // The digest covers what the supervisor acts on: flip one bit of a byte Marshal read.
  if (!served.empty()) {
    const FakeMemory::Served& read = served[s.flip_choice % served.size()];
    uint64_t offset = (s.flip_choice >> 16) % read.length;
    uint8_t bit = static_cast<uint8_t>(1u << ((s.flip_choice >> 60) & 7));
    uint8_t* byte = memory.FindMutable(read.address + offset);
    CHECK_THAT(f, byte != nullptr, "the fake memory served a byte it does not hold");
    if (byte != nullptr) {
      *byte ^= bit;
      Call flipped = MarshalLogged(s.request, memory, f);
      CheckBounds(flipped, f);
      std::string difference = ContentDifference(call, flipped);
      CHECK_THAT(f, flipped.digest != call.digest || difference.empty(),
                 "a flipped bit at " + Hex(read.address + offset) + " changes " + difference +
                     " but not the digest");
      CHECK_THAT(f, flipped.digest == call.digest || !difference.empty(),
                 "same contents, different digests");
      CheckDifference(call, flipped, "a flipped memory bit", f);
      *byte ^= bit;
    }
  }

  // A second call (the same, one register changed, or another one).
  Call second = MarshalLogged(s.second, memory, f);
  CheckBounds(second, f);
  std::string difference = ContentDifference(call, second);
  CHECK_THAT(f, second.digest != call.digest || difference.empty(),
             "two requests whose calls differ in " + difference + " have the same digest");
  CHECK_THAT(f, second.digest == call.digest || !difference.empty(),
             "same contents, different digests");
  CheckDifference(call, second, "a second request", f);

  // Descriptions.
  std::string text = DescribeCall(call);
  CheckDescription(text, "DescribeCall", f);
  std::string name = call.spec.name != nullptr ? call.spec.name : SyscallName(call.nr);
  CHECK_THAT(f, text.rfind(name + "(", 0) == 0 && !text.empty() && text.back() == ')',
             "DescribeCall is not name(...): " + text.substr(0, 200));
  CheckDescription(DescribeDifference(call, call), "DescribeDifference of a call with itself", f);

  // FlipOneBit always changes the vote, says what it did, and is undone by a second flip.
  Call corrupted = call;
  std::string what = FlipOneBit(corrupted);
  CHECK_THAT(f, !what.empty() && PrintableAscii(what), "FlipOneBit's description: " + what);
  CHECK_THAT(f, corrupted.digest != call.digest,
             "FlipOneBit did not change the digest (" + what + ")");
  Call redone = corrupted;
  Redigest(redone);
  CHECK_THAT(f, redone.digest == corrupted.digest, "Redigest disagrees with FlipOneBit's digest");
  CheckDescription(DescribeCall(corrupted), "DescribeCall of a flipped call", f);
  CheckDifference(corrupted, call, "FlipOneBit", f);
  FlipOneBit(corrupted);
  CHECK_THAT(f, corrupted.digest == call.digest && ContentDifference(call, corrupted).empty(),
             "FlipOneBit twice is not the original call");
  return out;
}

// ---- Maps ----------------------------------------------------------------------------------

namespace {

bool IsStateModel(const MemoryRegion& r) {
  return r.readable && r.writable && r.path.rfind(kChannelMemfdName, 0) != 0 &&
         r.path != "[vvar]" && r.path != "[vdso]";
}

std::string RandomName(Choices& c) {
  switch (c.Below(10)) {
    case 0:
      return "";
    case 1:
      return "[heap]";
    case 2:
      return "[stack]";
    case 3: {
      static const std::vector<std::string> names = {"[vdso]", "[vvar]", "[vsyscall]",
                                                     "[anon:glibc: malloc arena]"};
      return c.Pick(names);
    }
    case 4:
      return "/usr/lib/x86_64-linux-gnu/libc.so.6";
    case 5:
      return c.OneIn(2) ? "/memfd:nmr-channel (deleted)" : "/memfd:nmr-channelX";
    case 6:
      return "/tmp/a file with  spaces (deleted)";
    default: {
      // Any bytes a file name may hold (the kernel escapes '\n' as \012; no NUL).
      std::string name = c.OneIn(4) ? "[" : "/";
      size_t n = c.Below(40);
      for (size_t k = 0; k < n; ++k) {
        char ch = static_cast<char>(c.Bits(8));
        name += (ch == '\n' || ch == 0) ? '_' : ch;
      }
      return name;
    }
  }
}

}  // namespace

MapsCase MakeMapsCase(Choices& c) {
  MapsCase m;
  m.well_formed = true;
  m.seed = c.Bits(64);
  uint64_t cursor = c.OneIn(4) ? c.Bits(48) : 0x5555'5555'4000;
  int lines = static_cast<int>(c.Below(12));
  std::vector<std::pair<uint64_t, uint64_t>> stacks;
  for (int k = 0; k < lines; ++k) {
    if (c.OneIn(8)) {
      // A line ParseMaps must skip: garbage, or an empty range.
      if (c.OneIn(2)) {
        std::string line = "z";
        size_t n = c.Below(40);
        for (size_t j = 0; j < n; ++j) {
          char ch = static_cast<char>(c.Bits(8));
          line += (ch == '\n' || ch == 0) ? ' ' : ch;
        }
        m.text += line + "\n";
      } else {
        char line[96];
        uint64_t end = cursor > 0 ? cursor - c.Below(2) : 0;
        std::snprintf(line, sizeof line, "%08llx-%08llx rw-p 00000000 00:00 0\n",
                      static_cast<unsigned long long>(cursor),
                      static_cast<unsigned long long>(end));
        m.text += line;
      }
      continue;
    }
    MemoryRegion r;
    if (c.OneIn(8)) {  // anywhere, overlapping or out of order
      uint64_t size = 1 + c.Below(c.OneIn(4) ? ~uint64_t{0} : 1 << 20);
      r.start = std::min(c.Bits(64), ~uint64_t{0} - size);
      r.end = r.start + size;
    } else {
      if (cursor > (uint64_t{1} << 62)) {
        cursor = 0x1000;
      }
      r.start = cursor + c.Below(4) * 4096;
      r.end =
          r.start + 4096 * (1 + c.Below(c.OneIn(4) ? 256 : 16)) + (c.OneIn(8) ? c.Below(64) : 0);
    }
    cursor = r.end;
    r.readable = !c.OneIn(5);
    r.writable = !c.OneIn(3);
    r.shared = c.OneIn(6);
    r.inode = c.OneIn(2) ? 0 : c.Bits(c.OneIn(4) ? 64 : 24);
    r.path = RandomName(c);
    char line[160];
    std::snprintf(line, sizeof line, "%08llx-%08llx %c%c%c%c %08llx %02x:%02x %llu",
                  static_cast<unsigned long long>(r.start), static_cast<unsigned long long>(r.end),
                  r.readable ? 'r' : '-', r.writable ? 'w' : '-', c.OneIn(2) ? 'x' : '-',
                  r.shared ? 's' : 'p', static_cast<unsigned long long>(c.Bits(32)),
                  static_cast<unsigned>(c.Bits(8)), static_cast<unsigned>(c.Bits(8)),
                  static_cast<unsigned long long>(r.inode));
    m.text += line;
    if (!r.path.empty()) {
      m.text += std::string(1 + c.Below(30), ' ') + r.path;
    } else if (c.OneIn(2)) {
      m.text += " ";
    }
    m.text += "\n";
    if (r.path == "[stack]") {
      stacks.emplace_back(r.start, r.end);
    }
    m.expected.push_back(std::move(r));
  }
  if (!stacks.empty() && !c.OneIn(4)) {
    auto [start, end] = c.Pick(stacks);
    m.stack_pointer = start + c.Below(end - start);
  } else if (!m.expected.empty() && c.OneIn(2)) {
    const MemoryRegion& r = c.Pick(m.expected);  // an alternate signal stack, say
    m.stack_pointer = r.start + c.Below(r.end - r.start);
  } else {
    m.stack_pointer = c.Bits(64);
  }
  if (c.OneIn(4) && !m.text.empty()) {
    m.text.pop_back();  // no newline after the last line
  }
  return m;
}

std::vector<std::string> CheckMapsCase(const MapsCase& m) {
  std::vector<std::string> out;
  Failures f(out);
  std::vector<MemoryRegion> map = ParseMaps(m.text);
  for (const MemoryRegion& r : map) {
    CHECK_THAT(f, r.start < r.end, "ParseMaps returned an empty region at " + Hex(r.start));
    CHECK_THAT(f, r.path.find('\n') == std::string::npos, "a region's path holds a newline");
  }
  CHECK_THAT(f,
             map.size() <= static_cast<size_t>(std::count(m.text.begin(), m.text.end(), '\n')) + 1,
             "more regions than lines");
  if (m.well_formed) {
    bool same = map.size() == m.expected.size();
    for (size_t k = 0; same && k < map.size(); ++k) {
      const MemoryRegion& a = map[k];
      const MemoryRegion& b = m.expected[k];
      same = a.start == b.start && a.end == b.end && a.readable == b.readable &&
             a.writable == b.writable && a.shared == b.shared && a.inode == b.inode &&
             a.path == b.path;
      if (!same) {
        CHECK_THAT(f, false,
                   "region " + std::to_string(k) + " parsed as " + Hex(a.start) + "-" + Hex(a.end) +
                       " '" + a.path + "', written as " + Hex(b.start) + "-" + Hex(b.end) + " '" +
                       b.path + "'");
      }
    }
    CHECK_THAT(f, map.size() == m.expected.size(),
               "ParseMaps found " + std::to_string(map.size()) + " regions in " +
                   std::to_string(m.expected.size()));
  }

  // Sorted and disjoint, as the kernel writes it: then the stronger properties below hold.
  bool ordered = true;
  for (size_t k = 1; k < map.size(); ++k) {
    ordered = ordered && map[k - 1].end <= map[k].start;
  }

  uint64_t sp = m.stack_pointer;
  std::vector<StateRange> ranges = StateRanges(map, sp);
  CHECK_THAT(f, ranges.size() <= 2 * map.size(), "more state ranges than twice the regions");
  unsigned __int128 covered = 0;
  for (size_t k = 0; k < ranges.size(); ++k) {
    const StateRange& range = ranges[k];
    CHECK_THAT(f, range.start < range.end, "an empty state range");
    bool inside = std::any_of(map.begin(), map.end(), [&](const MemoryRegion& r) {
      return IsStateModel(r) && r.start <= range.start && range.end <= r.end;
    });
    CHECK_THAT(f, inside,
               "a state range " + Hex(range.start) + "-" + Hex(range.end) +
                   " outside every writable non-channel region");
    if (k > 0 && ordered) {
      CHECK_THAT(f, ranges[k - 1].end <= range.start, "state ranges overlap or are out of order");
    }
    covered += range.end - range.start;
  }
  if (ordered) {
    // Every state byte is covered but the dead stack below the stack pointer (or, on another
    // region, kAltStackSlack bytes below it).
    unsigned __int128 expected = 0;
    for (const MemoryRegion& r : map) {
      if (!IsStateModel(r)) {
        continue;
      }
      uint64_t excluded_from = r.end;
      uint64_t excluded_to = r.end;
      if (r.Contains(sp)) {
        excluded_to = sp;
        excluded_from =
            r.path == "[stack]" ? r.start : std::max(r.start, sp - std::min(sp, kAltStackSlack));
      }
      expected += r.size() - (excluded_to - excluded_from);
      for (const StateRange& range : ranges) {
        CHECK_THAT(f, range.end <= excluded_from || range.start >= excluded_to,
                   "a state range " + Hex(range.start) + "-" + Hex(range.end) +
                       " includes the dead stack below " + Hex(sp));
      }
    }
    CHECK_THAT(f, covered == expected, "the state ranges leave out live state bytes");
  }

  for (FaultRegion region :
       {FaultRegion::kHeap, FaultRegion::kStack, FaultRegion::kData, FaultRegion::kAny}) {
    std::mt19937_64 random(m.seed);
    std::optional<uint64_t> pick = PickFlipAddress(map, region, sp, random);
    std::mt19937_64 random_again(m.seed);
    CHECK_THAT(f, pick == PickFlipAddress(map, region, sp, random_again),
               "PickFlipAddress with the same seed picks another address");
    unsigned __int128 eligible = 0;
    bool landed = false;
    for (size_t i = 0; i < map.size(); ++i) {
      if (!InRegion(map, i, region)) {
        continue;
      }
      const MemoryRegion& r = map[i];
      CHECK_THAT(f, !r.shared && IsStateModel(r), "InRegion accepts shared or non-state memory");
      uint64_t start = r.path == "[stack]" && r.Contains(sp) ? sp : r.start;
      eligible += r.end - start;
      landed = landed || (pick && *pick >= start && *pick < r.end);
    }
    if (pick) {
      CHECK_THAT(f, landed,
                 "PickFlipAddress picked " + Hex(*pick) + ", outside the region asked for");
    } else {
      // (A total past 2^64 bytes wraps; no kernel's map is that large.)
      CHECK_THAT(f, eligible == 0 || eligible >= (static_cast<unsigned __int128>(1) << 64),
                 "PickFlipAddress found nothing in a map with eligible memory");
    }
  }
  return out;
}

std::vector<std::string> CheckFuzzInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return {};
  }
  ByteChoices choices(data + 1, size - 1);
  switch (data[0] % 16) {
    case 0: {  // raw maps text
      MapsCase m;
      m.stack_pointer = choices.Bits(64);
      m.seed = choices.Bits(64);
      m.text = choices.Rest();
      return CheckMapsCase(m);
    }
    case 1: {
      MapsCase m = MakeMapsCase(choices);
      return CheckMapsCase(m);
    }
    default: {
      Scenario s = MakeScenario(choices);
      std::vector<std::string> failures = CheckScenario(s);
      if (!failures.empty()) {
        failures.push_back("scenario:\n" + DescribeScenario(s));
      }
      return failures;
    }
  }
}

}  // namespace nmr::fuzz
