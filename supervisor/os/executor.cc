#include "supervisor/os/executor.h"

#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace nmr {

void FutexWake(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
}

void FutexWait(std::atomic<uint32_t>* word, uint32_t expected) {
  syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

std::unique_ptr<Executor> Executor::Start(std::atomic<uint32_t>* event_word) {
  std::unique_ptr<Executor> executor(new Executor(event_word));
  Executor* e = executor.get();
  e->thread_ = std::thread([e] { e->Loop(); });
  return executor;
}

Executor::~Executor() {
  // The thread may be blocked in a program's syscall (a read of a terminal) forever; it ends
  // with the process.
  if (thread_.joinable()) {
    thread_.detach();
  }
}

int Executor::InterruptSignal() { return SIGRTMIN + 4; }

namespace {

void OnInterrupt(int) {}

}  // namespace

void Executor::Interrupt() {
  pid_t tid = tid_.load(std::memory_order_acquire);
  if (tid != 0) {
    syscall(SYS_tgkill, getpid(), tid, Executor::InterruptSignal());
  }
}

void Executor::Loop() {
  // Signals meant for nmr-run go to the main thread, never interrupt a program's call; only
  // the interrupt signal gets through here.
  struct sigaction action = {};
  action.sa_handler = OnInterrupt;
  sigaction(Executor::InterruptSignal(), &action, nullptr);
  sigset_t mask;
  sigfillset(&mask);
  sigdelset(&mask, Executor::InterruptSignal());
  pthread_sigmask(SIG_SETMASK, &mask, nullptr);
  tid_.store(static_cast<pid_t>(syscall(SYS_gettid)), std::memory_order_release);
  uint32_t handled = 0;
  for (;;) {
    uint32_t posted = posted_seq_.load(std::memory_order_acquire);
    if (posted == handled) {
      FutexWait(&posted_seq_, posted);
      continue;
    }
    long r = syscall(nr_, args_[0], args_[1], args_[2], args_[3], args_[4], args_[5]);
    result_ = r == -1 ? -errno : r;
    handled = posted;
    done_seq_.store(handled, std::memory_order_release);
    event_word_->fetch_add(1, std::memory_order_release);
    FutexWake(event_word_);
  }
}

void Executor::Submit(long nr, const uint64_t args[6]) {
  NMR_CHECK(Done());
  nr_ = nr;
  for (int i = 0; i < 6; ++i) {
    args_[i] = args[i];
  }
  ++job_seq_;
  posted_seq_.store(job_seq_, std::memory_order_release);
  FutexWake(&posted_seq_);
}

int64_t Executor::Run(long nr, const uint64_t args[6]) {
  Submit(nr, args);
  for (;;) {
    uint32_t seen = event_word_->load(std::memory_order_acquire);
    if (Done()) {
      return result_;
    }
    FutexWait(event_word_, seen);
  }
}

}  // namespace nmr
