// The program thread: the supervisor thread that owns the program's fd table and filesystem
// context, and runs the control loop (DESIGN.md "Supervisor", executor).
//
// It is started first thing in main(), before nmr-run opens anything of its own, and calls
// unshare(CLONE_FILES | CLONE_FS): from then on the program's fd N is this thread's real fd N
// (lowest-free numbering, dup2, CLOEXEC, cwd, umask and POSIX record locks are exact) and
// nmr-run's own fds (log file, seccomp listeners) never appear in the program's table.
// Because the control loop runs here, an agreed call that cannot block is executed inline,
// with no thread hand-off; calls that may block go to an Executor thread that shares this
// thread's table, so the loop keeps watching the replicas meanwhile.
//
// The main thread keeps nmr-run's own table: it spawns replicas (they must be forked by a
// thread that outlives them, for PDEATHSIG) and serves RunOnMain requests while it waits.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "supervisor/core/result.h"

namespace nmr {

class ProgramThread {
 public:
  static Result<std::unique_ptr<ProgramThread>> Start();
  ~ProgramThread();

  // On the main thread: runs `body` on the program thread and returns its result, serving
  // RunOnMain requests meanwhile.
  int Run(std::function<int()> body);
  // On the program thread: runs `work` on the main thread and waits for it.
  void RunOnMain(std::function<void()> work);
  // From any thread: wakes the main thread, which then calls `on_wake` (set before Run).
  void Ring();
  void SetOnWake(std::function<void()> on_wake) { on_wake_ = std::move(on_wake); }
  pid_t tid() const { return tid_; }
  std::thread::id thread_id() const { return thread_.get_id(); }

 private:
  ProgramThread() = default;
  void Loop();

  std::thread thread_;
  pid_t tid_ = 0;
  int start_errno_ = 0;
  std::atomic<uint32_t> started_{0};
  // Main -> program thread: the body to run.
  std::function<int()> body_;
  std::atomic<uint32_t> body_posted_{0};
  int body_result_ = 0;
  // Program thread -> main: requests and completion, one word the main thread waits on.
  std::atomic<uint32_t> main_word_{0};
  std::function<void()> request_;
  std::atomic<bool> request_pending_{false};
  std::atomic<bool> body_done_{false};
  std::atomic<uint32_t> request_done_{0};
  std::function<void()> on_wake_;
};

}  // namespace nmr
