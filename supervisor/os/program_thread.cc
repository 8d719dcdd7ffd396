#include "supervisor/os/program_thread.h"

#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "supervisor/os/executor.h"

namespace nmr {

Result<std::unique_ptr<ProgramThread>> ProgramThread::Start() {
  std::unique_ptr<ProgramThread> t(new ProgramThread());
  ProgramThread* self = t.get();
  self->thread_ = std::thread([self] { self->Loop(); });
  while (self->started_.load(std::memory_order_acquire) == 0) {
    FutexWait(&self->started_, 0);
  }
  if (self->start_errno_ != 0) {
    self->thread_.join();
    return MakeError(
        "cannot start the program thread: unshare: " + std::string(strerror(self->start_errno_)),
        self->start_errno_);
  }
  return t;
}

ProgramThread::~ProgramThread() {
  if (thread_.joinable()) {
    thread_.detach();  // only if Run() was never called; the process is ending
  }
}

void ProgramThread::Loop() {
  // Signals meant for nmr-run are handled on the main thread; they must never interrupt a
  // program's call executed here.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  tid_ = static_cast<pid_t>(syscall(SYS_gettid));
  if (!UnshareTableAndAnnounce(&started_, &start_errno_)) {
    return;
  }
  while (body_posted_.load(std::memory_order_acquire) == 0) {
    FutexWait(&body_posted_, 0);
  }
  int result = body_();
  body_result_ = result;
  body_done_ = true;
  main_word_.fetch_add(1, std::memory_order_release);
  FutexWake(&main_word_);
}

int ProgramThread::Run(std::function<int()> body) {
  body_ = std::move(body);
  body_posted_.store(1, std::memory_order_release);
  FutexWake(&body_posted_);
  for (;;) {
    uint32_t seen = main_word_.load(std::memory_order_acquire);
    if (on_wake_) {
      on_wake_();
    }
    if (request_pending_) {
      request_pending_ = false;
      request_();
      request_done_.fetch_add(1, std::memory_order_release);
      FutexWake(&request_done_);
      continue;
    }
    if (body_done_) {
      thread_.join();
      if (on_wake_) {
        on_wake_();  // what it logged last
      }
      return body_result_;
    }
    FutexWait(&main_word_, seen);
  }
}

void ProgramThread::Ring() {
  main_word_.fetch_add(1, std::memory_order_release);
  FutexWake(&main_word_);
}

void ProgramThread::RunOnMain(std::function<void()> work) {
  uint32_t done = request_done_.load(std::memory_order_acquire);
  request_ = std::move(work);
  request_pending_ = true;
  main_word_.fetch_add(1, std::memory_order_release);
  FutexWake(&main_word_);
  while (request_done_.load(std::memory_order_acquire) == done) {
    FutexWait(&request_done_, done);
  }
}

}  // namespace nmr
