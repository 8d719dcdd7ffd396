// Answers the base filter's USER_NOTIF notifications: the syscalls a replica makes after
// execve and before its shim's filter is in (ld.so's own work, the first getrandom of libc,
// an error message and exit from ld.so when a library is missing). Once the shim's filter
// is installed, TRAP outranks USER_NOTIF and this hears nothing more from that replica.
//
// getrandom is answered with bytes that are the same for the k-th call of every replica
// (so malloc's tcache key agrees); everything else is let through (CONTINUE). Runs on its own
// thread; the control loop never waits for it.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace nmr {

class NotifyResponder {
 public:
  // `listeners`: one per replica (owned by the responder from now on).
  NotifyResponder(std::vector<int> listeners, uint64_t seed);
  ~NotifyResponder();
  // Closes replica r's listener (the replica is gone).
  void Forget(int replica);

 private:
  void Loop();

  std::vector<int> listeners_;
  std::vector<uint64_t> getrandom_calls_;
  uint64_t seed_;
  int stop_fd_ = -1;
  std::thread thread_;
};

}  // namespace nmr
