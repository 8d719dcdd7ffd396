// Performing an agreed call once: decides what each class of syscall means (execute on the
// executor, answer from supervisor state, deny, let the replicas do it locally) and prepares
// the outcome that every replica of the majority receives: a return value, the bytes to write
// into its memory (identical replicas: the same addresses), and what its shim must do.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "interface/channel.h"
#include "supervisor/core/marshal.h"
#include "supervisor/core/msghdr.h"
#include "supervisor/os/executor.h"

namespace nmr {

// How many semaphores SysV set `semid` has (IPC_STAT), or -errno: Marshal's SemaphoreCounter.
long SemaphoreCount(int semid);

struct Outcome {
  ReplyAction action = ReplyAction::kReturn;
  int64_t value = 0;
  uint64_t signals = 0;          // bit (sig - 1): signals every replica queues on itself
  uint32_t flags = 0;            // kReplyInterrupted | kReplyRestartable
  bool replace_program = false;  // an agreed execve passed its checks: start the new program
  // The siginfo of signals sent by others (sig -> info); the rest were sent by the program to
  // itself, or by the kernel for its call (SIGPIPE).
  std::map<int, SignalInfo> signal_info;
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> writes;  // replica address, bytes
};

class Performer {
 public:
  // `inline_ok`: the calling thread owns the program's fd table (the root group's program
  // thread), so calls that cannot block run right here; otherwise every call goes to the
  // executor, which owns the table.
  Performer(Executor& executor, pid_t virtual_pid, bool inline_ok)
      : executor_(executor), virtual_pid_(virtual_pid), inline_ok_(inline_ok) {}

  // Starts performing `call` as replica `replica_pid` asked it. Runs on the program thread:
  // a call that cannot block is executed right here. Returns true when the outcome is ready,
  // false when the executor runs it (then call Complete() once the executor is Done()).
  bool Start(const Call& call, pid_t replica_pid);
  void Complete();
  const Outcome& outcome() const { return outcome_; }
  // "syscall: what" -> how many times nmr refused it or could not do it as asked.
  const std::map<std::string, uint64_t>& refused() const { return refused_; }
  // A signal sent to nmr-run, delivered with this step's result. `interrupted`: the
  // executor's call was cut short by it (then the result is -EINTR and may be restarted).
  void DeliverSignals(uint64_t signals, bool interrupted);
  // A call answered outside (the process tree, supervisor/tree.cc): its outcome starts empty
  // and is filled there, possibly later.
  Outcome& BeginAnswer(const Call& call) {
    outcome_ = Outcome{};
    call_ = &call;
    return outcome_;
  }
  Outcome& outcome_to_fill() { return outcome_; }
  // Records a call nmr refused or could not do as asked (the report's "refused").
  void Refuse(long nr, const std::string& what, bool probe);

 private:
  bool Answer(int64_t value);
  bool AnswerVirtual(const Call& call);
  bool AnswerSpecial(const Call& call);
  bool IsSelf(int64_t pid) const;
  // Returns true when the outcome is ready (executed inline).
  bool Execute(const Call& call, pid_t replica_pid);
  void Finish(int64_t result);
  mmsghdr* PrepareMsgs(const Call& call);
  void FinishMsgs(const Call& call, int64_t result);
  void FinishReceivedMsg(const Call& call, size_t k, size_t received);

  Executor& executor_;
  pid_t virtual_pid_;
  bool inline_ok_;
  Outcome outcome_;
  std::map<std::string, uint64_t> refused_;
  const Call* call_ = nullptr;
  // Buffers the executed call points into.
  std::array<std::string, 6> paths_;
  std::array<std::vector<uint8_t>, 6> out_;
  std::array<iovec, 6> iov_{};
  uint64_t pselect_mask_ = 0;     // pselect6's signal mask, and the struct pointing at it
  uint64_t pselect_pack_[2] = {};
  // sendmsg/recvmsg's msghdr (msgs_[0].msg_hdr) or sendmmsg/recvmmsg's vector, each message
  // over its own buffers; packed_msgs_ says where they came from (core/msghdr.h).
  struct MsgBuffers {
    std::vector<uint8_t> name, data, control;
    iovec iov = {};
  };
  std::vector<PackedMsg> packed_msgs_;
  std::vector<mmsghdr> msgs_;
  std::vector<MsgBuffers> msg_buffers_;
};

}  // namespace nmr
