// sendmsg/recvmsg: their struct msghdr points at a name, an iovec array and a control buffer
// (SCM_RIGHTS fds, SCM_CREDENTIALS). Marshalled into one private copy: for sendmsg, call.in[1]
// holds the msghdr's 56 bytes followed by the name, the data of every iovec entry in order,
// and the control bytes (all of it digested, so replicas must agree on every byte); for
// recvmsg, call.in[1] holds the msghdr and call.iov its entries (where the data lands).
// The fds a control message carries are program fds, the executor's own numbers: sent and
// received on the group's executor, they mean the same open files as natively.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nmr {

struct Call;
class ReplicaMemory;

inline constexpr size_t kMsghdrSize = 56;          // x86-64 struct msghdr
inline constexpr size_t kMaxMsgName = 128;         // sizeof(struct sockaddr_storage)
inline constexpr size_t kMaxMsgControl = 1 << 16;  // more is ENOBUFS natively
inline constexpr size_t kMaxMsgIov = 1024;         // UIO_MAXIOV

struct MsgHeader {
  uint64_t name = 0;
  uint32_t namelen = 0;
  uint64_t iov = 0;
  uint64_t iovlen = 0;
  uint64_t control = 0;
  uint64_t controllen = 0;
  int32_t flags = 0;
};
MsgHeader ParseMsgHeader(const uint8_t* bytes);

// The errno the kernel gives lengths beyond these limits (EMSGSIZE, EINVAL, ENOBUFS), or 0.
// Such a msghdr is marshalled as its 56 bytes only, and answered with that error.
int MsgHeaderError(const MsgHeader& h);

// Fills call.in[1] (and call.iov, call.capacity[1]) for SYS_sendmsg or SYS_recvmsg. False if
// replica memory could not be read.
bool MarshalMsghdr(ReplicaMemory& memory, Call& call);

}  // namespace nmr
