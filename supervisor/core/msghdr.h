// sendmsg/recvmsg and sendmmsg/recvmmsg: a struct msghdr points at a name, an iovec array and a
// control buffer (SCM_RIGHTS fds, SCM_CREDENTIALS). Marshalled into one private copy, call.in[1],
// a record per message: for the sending calls, the msghdr's 56 bytes followed by the name, the
// data of every iovec entry in order, and the control bytes (all of it digested, so replicas
// must agree on every byte); for the receiving calls, the msghdr alone. call.iov holds every
// message's iovec entries, one message after the other (where the data lands on receive).
// sendmmsg/recvmmsg's struct mmsghdr is a msghdr and the msg_len the kernel writes: each
// element is marshalled as sendmsg/recvmsg's one msghdr.
// The fds a control message carries are program fds, the executor's own numbers: sent and
// received on the group's executor, they mean the same open files as natively.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nmr {

struct Call;
class ReplicaMemory;

inline constexpr size_t kMsghdrSize = 56;          // x86-64 struct msghdr
inline constexpr size_t kMmsghdrSize = 64;         // x86-64 struct mmsghdr: msghdr, msg_len, pad
inline constexpr size_t kMmsgLenOffset = 56;       // of msg_len in struct mmsghdr
inline constexpr size_t kMaxMsgName = 128;         // sizeof(struct sockaddr_storage)
inline constexpr size_t kMaxMsgControl = 1 << 16;  // more to send is ENOBUFS natively
inline constexpr size_t kMaxMsgIov = 1024;         // UIO_MAXIOV
// sendmmsg/recvmmsg: at most this many messages (sendmmsg's own cap, UIO_MAXIOV; recvmmsg has
// none natively, and receives fewer under nmr: a short count).
inline constexpr size_t kMaxMmsg = 1024;

// The offsets of the fields the kernel writes back into a struct msghdr.
inline constexpr size_t kMsgNamelenOffset = 8;
inline constexpr size_t kMsgControllenOffset = 40;
inline constexpr size_t kMsgFlagsOffset = 48;

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

// The errno the kernel gives lengths it refuses (EMSGSIZE, EINVAL, ENOBUFS), or 0. Such a
// msghdr is marshalled as its 56 bytes only, and answered with that error.
int MsgHeaderError(const MsgHeader& h, bool send);
// The bytes of name and control the kernel reads (send) or may write (receive): 0 for a null
// pointer; a name longer than a sockaddr_storage is cut to one, as the kernel does; a receive's
// control buffer past kMaxMsgControl is cut to it (no control message is that long).
size_t MsgNameLength(const MsgHeader& h);
size_t MsgControlLength(const MsgHeader& h, bool send);

bool IsMsgCall(long nr);         // sendmsg, recvmsg, sendmmsg, recvmmsg
bool IsSendingMsgCall(long nr);  // sendmsg, sendmmsg
bool IsMmsgCall(long nr);        // sendmmsg, recvmmsg

// Fills call.in[1] (and call.iov, call.capacity[1]) for a call IsMsgCall names. False if
// replica memory could not be read (for the first message of sendmmsg/recvmmsg; a later one
// that cannot be read, or that has a length the kernel refuses, ends the vector there, as
// natively: the kernel does the messages before it and returns their count).
//
// Limits: at most kMaxTransfer bytes of data (the first message's is cut to it, a short
// send or receive, as sendmsg's); sendmmsg/recvmmsg also stop before a message that would
// take the names, data and control bytes of the call past kMaxTransfer, or its iovec entries
// past kMaxMsgIov, and at kMaxMmsg messages: fewer messages, each whole.
bool MarshalMsghdr(ReplicaMemory& memory, Call& call);

// One message of a marshalled call: its msghdr and where its parts are.
struct PackedMsg {
  uint64_t address = 0;  // of its msghdr in the replica
  MsgHeader header;
  size_t iov_first = 0;  // its entries: call.iov[iov_first, iov_first + header.iovlen)
  size_t name_len = 0;   // 0 without a name
  size_t data_len = 0;   // the sum of its entries' (cut) lengths
  size_t control_len = 0;
  size_t name_at = 0;  // offsets in call.in[1] of the bytes to send (sending calls only)
  size_t data_at = 0;
  size_t control_at = 0;
};
// The messages of a call marshalled by MarshalMsghdr, in order, into `msgs`. A first message
// with a MsgHeaderError comes alone, with nothing but its header. False if the copy does not
// add up (changed after marshalling: an injected fault), which the performer answers EFAULT.
bool UnpackMsgs(const Call& call, std::vector<PackedMsg>& msgs);

// SCM_CREDENTIALS: the kernel wants the sender's real tgid in struct ucred, and a program
// under nmr puts its virtual pid there. Rewrites, in a control buffer about to be sent, every
// well-formed SCM_CREDENTIALS message whose pid is `virtual_pid` into `real_pid`. (Credentials
// received name a real pid as the kernel saw it: nmr-run's, the executor being its thread,
// which is the root process's virtual pid whichever process of the tree sent them; a limit.)
void RewriteCredentialsPid(std::vector<uint8_t>& control, pid_t virtual_pid, pid_t real_pid);

}  // namespace nmr
