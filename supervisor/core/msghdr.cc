#include "supervisor/core/msghdr.h"

#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "supervisor/core/marshal.h"

namespace nmr {

MsgHeader ParseMsgHeader(const uint8_t* bytes) {
  MsgHeader h;
  std::memcpy(&h.name, bytes, 8);
  std::memcpy(&h.namelen, bytes + 8, 4);
  std::memcpy(&h.iov, bytes + 16, 8);
  std::memcpy(&h.iovlen, bytes + 24, 8);
  std::memcpy(&h.control, bytes + 32, 8);
  std::memcpy(&h.controllen, bytes + 40, 8);
  std::memcpy(&h.flags, bytes + 48, 4);
  return h;
}

int MsgHeaderError(const MsgHeader& h) {
  if (h.iovlen > kMaxMsgIov) {
    return EMSGSIZE;
  }
  if (h.name != 0 && h.namelen > kMaxMsgName) {
    return EINVAL;
  }
  if (h.control != 0 && h.controllen > kMaxMsgControl) {
    return ENOBUFS;
  }
  return 0;
}

bool MarshalMsghdr(ReplicaMemory& memory, Call& call) {
  std::vector<uint8_t>& pack = call.in[1];
  pack.assign(kMsghdrSize, 0);
  if (memory.Read(call.args[1], pack.data(), kMsghdrSize) != static_cast<ssize_t>(kMsghdrSize)) {
    return false;
  }
  MsgHeader h = ParseMsgHeader(pack.data());
  if (MsgHeaderError(h) != 0) {
    return true;  // the performer answers the kernel's error; nothing more is read
  }
  std::vector<uint8_t> entries(h.iovlen * 16);
  if (h.iovlen > 0 &&
      memory.Read(h.iov, entries.data(), entries.size()) != static_cast<ssize_t>(entries.size())) {
    return false;
  }
  call.iov_arg = 1;
  call.iov.clear();
  uint64_t total = 0;
  for (uint64_t i = 0; i < h.iovlen; ++i) {
    uint64_t address;
    uint64_t length;
    std::memcpy(&address, entries.data() + i * 16, 8);
    std::memcpy(&length, entries.data() + i * 16 + 8, 8);
    length = std::min<uint64_t>(length, kMaxTransfer - total);  // a short send or receive
    call.iov.emplace_back(address, length);
    total += length;
  }
  call.capacity[1] = total;
  if (call.nr == SYS_recvmsg) {
    return true;  // nothing else is read: the kernel writes name, data and control
  }
  auto append = [&](uint64_t address, uint64_t length) {
    size_t at = pack.size();
    pack.resize(at + length);
    return length == 0 ||
           memory.Read(address, pack.data() + at, length) == static_cast<ssize_t>(length);
  };
  if (h.name != 0 && !append(h.name, h.namelen)) {
    return false;
  }
  for (const auto& [address, length] : call.iov) {
    if (!append(address, length)) {
      return false;
    }
  }
  return h.control == 0 || append(h.control, h.controllen);
}

}  // namespace nmr
