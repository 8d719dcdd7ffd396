#include "supervisor/core/msghdr.h"

#include <sys/socket.h>
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

int MsgHeaderError(const MsgHeader& h, bool send) {
  if (h.iovlen > kMaxMsgIov) {
    return EMSGSIZE;
  }
  if (h.name != 0 && h.namelen > INT32_MAX) {
    return EINVAL;  // a negative int to the kernel
  }
  if (send && h.control != 0 && h.controllen > kMaxMsgControl) {
    return ENOBUFS;
  }
  return 0;
}

size_t MsgNameLength(const MsgHeader& h) {
  return h.name != 0 ? std::min<size_t>(h.namelen, kMaxMsgName) : 0;
}

size_t MsgControlLength(const MsgHeader& h, bool send) {
  if (h.control == 0) {
    return 0;
  }
  return send ? h.controllen : std::min<size_t>(h.controllen, kMaxMsgControl);
}

bool IsMsgCall(long nr) {
  return nr == SYS_sendmsg || nr == SYS_recvmsg || nr == SYS_sendmmsg || nr == SYS_recvmmsg;
}

bool IsSendingMsgCall(long nr) { return nr == SYS_sendmsg || nr == SYS_sendmmsg; }

bool IsMmsgCall(long nr) { return nr == SYS_sendmmsg || nr == SYS_recvmmsg; }

namespace {

enum class Appended { kOk, kUnreadable, kRefused, kOverLimit };

// Appends the msghdr at `address` to the call: its 56 bytes (and, to send, its name, data and
// control bytes) to call.in[1], its iovec entries to call.iov; on failure, nothing (but a
// first message's header the kernel refuses, which is kept for the performer to answer).
// `used`: the bytes of names, data and control taken so far. The first message's data is cut
// to kMaxTransfer, as sendmsg's; a later message that would go past a limit is left out.
Appended AppendMsg(ReplicaMemory& memory, uint64_t address, bool send, bool first, uint64_t& used,
                   Call& call) {
  std::vector<uint8_t>& pack = call.in[1];
  const size_t pack_before = pack.size();
  const size_t iov_before = call.iov.size();
  auto undo = [&](Appended why) {
    pack.resize(pack_before);
    call.iov.resize(iov_before);
    return why;
  };
  pack.resize(pack_before + kMsghdrSize);
  if (memory.Read(address, pack.data() + pack_before, kMsghdrSize) !=
      static_cast<ssize_t>(kMsghdrSize)) {
    return undo(Appended::kUnreadable);
  }
  MsgHeader h = ParseMsgHeader(pack.data() + pack_before);
  if (MsgHeaderError(h, send) != 0) {
    return first ? Appended::kRefused : undo(Appended::kRefused);
  }
  if (iov_before + h.iovlen > kMaxMsgIov) {
    return undo(Appended::kOverLimit);  // never the first: MsgHeaderError bounds its iovlen
  }
  std::vector<uint8_t> entries(h.iovlen * 16);
  if (h.iovlen > 0 &&
      memory.Read(h.iov, entries.data(), entries.size()) != static_cast<ssize_t>(entries.size())) {
    return undo(Appended::kUnreadable);
  }
  call.iov_arg = 1;
  const uint64_t name_len = MsgNameLength(h);
  const uint64_t control_len = MsgControlLength(h, send);
  uint64_t data = 0;
  for (uint64_t i = 0; i < h.iovlen; ++i) {
    uint64_t entry_address;
    uint64_t length;
    std::memcpy(&entry_address, entries.data() + i * 16, 8);
    std::memcpy(&length, entries.data() + i * 16 + 8, 8);
    if (first) {
      length = std::min<uint64_t>(length, kMaxTransfer - data);  // a short send or receive
    } else if (length > kMaxTransfer) {
      return undo(Appended::kOverLimit);
    }
    call.iov.emplace_back(entry_address, length);
    data += length;
  }
  // (The first message's name and control bytes are small, and allowed on top of its data.)
  if (!first && used + name_len + data + control_len > kMaxTransfer) {
    return undo(Appended::kOverLimit);
  }
  used += name_len + data + control_len;
  if (!send) {
    return Appended::kOk;  // nothing else is read: the kernel writes name, data and control
  }
  auto append = [&](uint64_t from, uint64_t length) {
    size_t at = pack.size();
    pack.resize(at + length);
    return length == 0 ||
           memory.Read(from, pack.data() + at, length) == static_cast<ssize_t>(length);
  };
  if (!append(h.name, name_len)) {
    return undo(Appended::kUnreadable);
  }
  for (size_t i = iov_before; i < call.iov.size(); ++i) {
    if (!append(call.iov[i].first, call.iov[i].second)) {
      return undo(Appended::kUnreadable);
    }
  }
  return append(h.control, control_len) ? Appended::kOk : undo(Appended::kUnreadable);
}

}  // namespace

bool MarshalMsghdr(ReplicaMemory& memory, Call& call) {
  const bool send = IsSendingMsgCall(call.nr);
  call.in[1].clear();
  call.iov.clear();
  uint64_t used = 0;
  bool readable = true;
  if (!IsMmsgCall(call.nr)) {
    readable = AppendMsg(memory, call.args[1], send, true, used, call) != Appended::kUnreadable;
  } else {
    // vlen is an unsigned int: the kernel sees the register's low 32 bits. Natively, a message
    // that cannot be read or is refused ends the call with the count of those before it (an
    // error only if it is the first).
    const uint64_t count = std::min<uint64_t>(static_cast<uint32_t>(call.args[2]), kMaxMmsg);
    for (uint64_t k = 0; k < count; ++k) {
      Appended a = AppendMsg(memory, call.args[1] + k * kMmsghdrSize, send, k == 0, used, call);
      if (a != Appended::kOk) {
        readable = k > 0 || a != Appended::kUnreadable;
        break;
      }
    }
  }
  if (!readable) {
    call.iov_arg = -1;  // EFAULT, wherever the first message failed: nothing else to vote on
  }
  call.capacity[1] = 0;
  for (const auto& entry : call.iov) {
    call.capacity[1] += entry.second;
  }
  return readable;
}

bool UnpackMsgs(const Call& call, std::vector<PackedMsg>& msgs) {
  msgs.clear();
  const std::vector<uint8_t>& pack = call.in[1];
  const bool send = IsSendingMsgCall(call.nr);
  size_t at = 0;
  size_t entry = 0;
  for (uint64_t k = 0; at + kMsghdrSize <= pack.size(); ++k) {
    PackedMsg m;
    m.address = call.args[1] + k * kMmsghdrSize;
    m.header = ParseMsgHeader(pack.data() + at);
    at += kMsghdrSize;
    if (MsgHeaderError(m.header, send) != 0) {
      msgs.push_back(m);
      return k == 0 && at == pack.size();
    }
    m.iov_first = entry;
    entry += m.header.iovlen;
    if (entry > call.iov.size()) {
      return false;
    }
    for (size_t i = m.iov_first; i < entry; ++i) {
      m.data_len += call.iov[i].second;
    }
    m.name_len = MsgNameLength(m.header);
    m.control_len = MsgControlLength(m.header, send);
    if (send) {
      m.name_at = at;
      m.data_at = m.name_at + m.name_len;
      m.control_at = m.data_at + m.data_len;
      at = m.control_at + m.control_len;
      if (at > pack.size()) {
        return false;
      }
    }
    msgs.push_back(m);
  }
  return at == pack.size() && entry == call.iov.size();
}

void RewriteCredentialsPid(std::vector<uint8_t>& control, pid_t virtual_pid, pid_t real_pid) {
  // struct cmsghdr: size_t cmsg_len, int cmsg_level, int cmsg_type, then the data; each
  // message starts at an 8-byte boundary. The kernel takes only an exact-length ucred.
  constexpr size_t kHeader = sizeof(cmsghdr);
  size_t at = 0;
  while (at + kHeader <= control.size()) {
    uint64_t length;
    int32_t level;
    int32_t type;
    std::memcpy(&length, control.data() + at, 8);
    std::memcpy(&level, control.data() + at + 8, 4);
    std::memcpy(&type, control.data() + at + 12, 4);
    if (length < kHeader || length > control.size() - at) {
      return;  // malformed: the kernel refuses it (EINVAL) or stops here
    }
    if (level == SOL_SOCKET && type == SCM_CREDENTIALS && length == CMSG_LEN(sizeof(ucred))) {
      ucred credentials;
      std::memcpy(&credentials, control.data() + at + kHeader, sizeof credentials);
      if (credentials.pid == virtual_pid) {
        credentials.pid = real_pid;
        std::memcpy(control.data() + at + kHeader, &credentials, sizeof credentials);
      }
    }
    at += CMSG_ALIGN(length);
  }
}

}  // namespace nmr
