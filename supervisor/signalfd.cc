// signalfd: the program's signalfd is a real one, made on its process's executor thread, and
// so it reads the signals pending for that thread (signalfd(2): "the calling thread or
// process"). A signal for the process that one of its signalfds covers and that the program
// blocks is queued on that thread, with the process's siginfo (virtual pids), instead of in
// the replicas: a read, poll or epoll of the signalfd on the executor then takes it, once,
// for every replica. It is queued while the executor is idle; a call it is in is cut short
// and performed again. The executor thread blocks every signal but its own interrupt, which is
// kept out of the program's signalfd masks (the kernel would hand it to the program).
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "supervisor/control.h"

namespace nmr {

void Group::NoteSignalfd(const Call& call) {
  const std::vector<uint8_t>& mask = call.in[1];
  if (mask.size() == sizeof(uint64_t)) {
    uint64_t bits = 0;
    std::memcpy(&bits, mask.data(), sizeof bits);
    signalfd_mask_ |= bits & ~(1ULL << (Executor::InterruptSignal() - 1));
  }
}

bool Group::ToSignalfd(int sig, const SignalInfo& info) {
  uint64_t bit = 1ULL << (sig - 1);
  if ((bit & signalfd_mask_ & executing_mask_) == 0 || !executor_) {
    return false;
  }
  spdlog::debug("process {}: SIG{} goes to its signalfd", vpid_, sigabbrev_np(sig));
  for_signalfd_.emplace_back(sig, info);
  if (!executing_ || tree_waiting_) {
    QueueForSignalfd();
  } else {
    // The executor is in a call (a read or poll of the signalfd, maybe): cut it short, queue,
    // and perform the call again (Step), as if nothing had happened.
    signalfd_restart_ = true;
    executor_->Interrupt();
  }
  return true;
}

// On the executor thread, each on itself: the kernel lets a thread queue a siginfo that says
// it comes from the kernel (si_code >= 0: CLD_EXITED, SI_KERNEL, SI_USER) only on itself.
void Group::QueueForSignalfd() {
  for (const auto& [sig, info] : for_signalfd_) {
    QueuedSiginfo queued = ToQueuedSiginfo(sig, info);
    int64_t rc = executor_->RunFunction([&]() -> int64_t {
      return syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), sig, &queued) == 0
                 ? 0
                 : errno;
    });
    if (rc != 0) {
      spdlog::warn("process {}: cannot queue SIG{} for its signalfd: {}", vpid_,
                   sigabbrev_np(sig), strerror(static_cast<int>(rc)));
    }
  }
  for_signalfd_.clear();
}

void Group::SignalsToSignalfd(Outcome& outcome) {
  uint64_t routed = outcome.signals & signalfd_mask_ & executing_mask_;
  for (int sig = 1; sig <= 64 && routed != 0; ++sig) {
    uint64_t bit = 1ULL << (sig - 1);
    if ((routed & bit) == 0) {
      continue;
    }
    routed &= ~bit;
    auto known = outcome.signal_info.find(sig);
    // Sent by the program to itself (kill, raise, sigqueue), or SIGPIPE for its write.
    bool to_thread = executing_call_.nr == SYS_tgkill || executing_call_.nr == SYS_tkill;
    SignalInfo info = known != outcome.signal_info.end()
                          ? known->second
                          : SignalInfo{.code = to_thread ? SI_TKILL : SI_USER,
                                       .pid = vpid_,
                                       .uid = static_cast<int32_t>(getuid())};
    if (ToSignalfd(sig, info)) {
      outcome.signals &= ~bit;
    }
  }
}

}  // namespace nmr
