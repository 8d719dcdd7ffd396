// The executor: one thread that owns the program's fd table and filesystem context
// (DESIGN.md "Supervisor"). It called unshare(CLONE_FILES | CLONE_FS) when it started, before
// nmr-run opened anything of its own, so the program's fd N is this thread's real fd N:
// lowest-free numbering, dup2, CLOEXEC, cwd, umask and POSIX record locks are exact, and
// nmr-run's own fds never appear in the program's table.
//
// Blocking calls (a read of a terminal) run here, so the control loop keeps watching the
// replicas. Thread-safety: Submit/Done/Result from one control thread only; completion is
// announced by incrementing *event_word and waking it (the control loop waits on it).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "supervisor/result.h"

namespace nmr {

class Executor {
 public:
  // Starts the thread; returns once it has its own fd table.
  static Result<std::unique_ptr<Executor>> Start(std::atomic<uint32_t>* event_word);
  ~Executor();

  void Submit(long nr, const uint64_t args[6]);
  bool Done() const { return done_seq_.load(std::memory_order_acquire) == job_seq_; }
  // The finished call's return value: >= 0, or -errno.
  int64_t result() const { return result_; }
  // Submits and waits (for start-up work and tests; the control loop uses Submit).
  int64_t Run(long nr, const uint64_t args[6]);
  pid_t tid() const { return tid_; }

 private:
  explicit Executor(std::atomic<uint32_t>* event_word) : event_word_(event_word) {}
  void Loop();

  std::atomic<uint32_t>* event_word_;
  std::thread thread_;
  pid_t tid_ = 0;
  int start_errno_ = 0;
  std::atomic<uint32_t> started_{0};
  uint32_t job_seq_ = 0;
  std::atomic<uint32_t> posted_seq_{0};
  std::atomic<uint32_t> done_seq_{0};
  long nr_ = -1;
  uint64_t args_[6] = {};
  int64_t result_ = 0;
};

// futex helpers shared by the supervisor's threads.
void FutexWake(std::atomic<uint32_t>* word);
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected);

}  // namespace nmr
