// The executor: a thread for the program's calls that may block (a read of a terminal or a
// pipe, a lock wait, poll). It is created by the program thread and shares its fd table and
// filesystem context (see program_thread.h), so it sees exactly the program's fds; the
// control loop keeps watching the replicas while it waits.
//
// Thread-safety: Submit/Done/result from the control thread only; completion is announced by
// incrementing *event_word and waking it (the control loop waits on it).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "supervisor/core/result.h"

namespace nmr {

class Executor {
 public:
  // Sent to the executor thread only (tgkill) to cut a waiting call short: a handler without
  // SA_RESTART makes the call return EINTR. A real-time signal nothing else uses; a mask the
  // program hands the kernel for a wait (pselect6, ppoll) must not block it.
  static int InterruptSignal();

  // Starts the thread (sharing the caller's fd table).
  static std::unique_ptr<Executor> Start(std::atomic<uint32_t>* event_word);
  // Starts a thread with a table of its own: a copy of the calling thread's fd table and
  // filesystem context (cwd, umask), taken before this returns. A forked process's table
  // (DESIGN.md: one executor per replica group) is made by calling this on its parent's
  // executor (RunFunction).
  static Result<std::unique_ptr<Executor>> StartUnshared(std::atomic<uint32_t>* event_word);
  // Ends the thread once it is idle. With a table of its own, that closes every fd in it
  // (a pipe's write end: its readers see EOF).
  ~Executor();

  void Submit(long nr, const uint64_t args[6]);
  bool Done() const { return done_seq_.load(std::memory_order_acquire) == job_seq_; }
  // The finished call's return value: >= 0, or -errno.
  int64_t result() const { return result_; }
  // Cuts the running call short (it returns -EINTR if it was waiting). Racy by nature (the
  // call may not have started waiting yet): the caller repeats it until Done().
  void Interrupt();
  // Submits and waits (for start-up work and tests; the control loop uses Submit).
  int64_t Run(long nr, const uint64_t args[6]);
  // Runs `work` on the executor thread (in its fd table) and waits for it. The executor must
  // be idle.
  int64_t RunFunction(std::function<int64_t()> work);
  pid_t tid() const { return tid_.load(std::memory_order_acquire); }

 private:
  explicit Executor(std::atomic<uint32_t>* event_word) : event_word_(event_word) {}
  void Loop(bool unshare_table);
  // Hands job `nr` (a syscall number, or one of the two below) to the thread.
  void Post(long nr);
  void WaitDone();
  static constexpr long kRunFunction = -1;
  static constexpr long kEndThread = -2;

  std::atomic<uint32_t>* event_word_;
  std::thread thread_;
  std::atomic<pid_t> tid_{0};
  uint32_t job_seq_ = 0;
  std::atomic<uint32_t> posted_seq_{0};
  std::atomic<uint32_t> done_seq_{0};
  long nr_ = -1;  // a syscall number, kRunFunction (function_) or kEndThread
  uint64_t args_[6] = {};
  std::function<int64_t()> function_;
  std::atomic<uint32_t> started_{0};
  int start_errno_ = 0;
  bool owns_table_ = false;
  int64_t result_ = 0;
};

// On a new thread: unshare(CLONE_FILES | CLONE_FS), record the errno in *error (0 if it
// worked), and announce it through *started (1, woken). Returns whether it worked.
bool UnshareTableAndAnnounce(std::atomic<uint32_t>* started, int* error);

// futex helpers shared by the supervisor's threads.
void FutexWake(std::atomic<uint32_t>* word);
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected);

}  // namespace nmr
