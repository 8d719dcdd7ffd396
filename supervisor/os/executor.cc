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

bool UnshareTableAndAnnounce(std::atomic<uint32_t>* started, int* error) {
  *error = unshare(CLONE_FILES | CLONE_FS) != 0 ? errno : 0;
  started->store(1, std::memory_order_release);
  FutexWake(started);
  return *error == 0;
}

std::unique_ptr<Executor> Executor::Start(std::atomic<uint32_t>* event_word) {
  std::unique_ptr<Executor> executor(new Executor(event_word));
  Executor* e = executor.get();
  e->thread_ = std::thread([e] { e->Loop(/*unshare_table=*/false); });
  return executor;
}

Result<std::unique_ptr<Executor>> Executor::StartUnshared(std::atomic<uint32_t>* event_word) {
  std::unique_ptr<Executor> executor(new Executor(event_word));
  Executor* e = executor.get();
  e->owns_table_ = true;
  e->thread_ = std::thread([e] { e->Loop(/*unshare_table=*/true); });
  while (e->started_.load(std::memory_order_acquire) == 0) {
    FutexWait(&e->started_, 0);
  }
  if (e->start_errno_ != 0) {
    e->thread_.join();
    return MakeError("cannot copy the fd table: unshare: " + std::string(strerror(e->start_errno_)),
                     e->start_errno_);
  }
  return executor;
}

Executor::~Executor() {
  if (!thread_.joinable()) {
    return;
  }
  if (owns_table_ && Done()) {
    // Its table closes with it: the program's pipes see EOF as when a process exits.
    Post(kEndThread);
    thread_.join();
    return;
  }
  // The thread may be blocked in a program's syscall (a read of a terminal) forever; it ends
  // with the process.
  thread_.detach();
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

void Executor::Loop(bool unshare_table) {
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
  if (unshare_table && !UnshareTableAndAnnounce(&started_, &start_errno_)) {
    return;
  }
  uint32_t handled = 0;
  for (;;) {
    uint32_t posted = posted_seq_.load(std::memory_order_acquire);
    if (posted == handled) {
      FutexWait(&posted_seq_, posted);
      continue;
    }
    if (nr_ == kEndThread) {
      return;
    }
    if (nr_ == kRunFunction) {
      result_ = function_();
    } else {
      long r = syscall(nr_, args_[0], args_[1], args_[2], args_[3], args_[4], args_[5]);
      result_ = r == -1 ? -errno : r;
    }
    handled = posted;
    done_seq_.store(handled, std::memory_order_release);
    event_word_->fetch_add(1, std::memory_order_release);
    FutexWake(event_word_);
  }
}

void Executor::Post(long nr) {
  nr_ = nr;
  ++job_seq_;
  posted_seq_.store(job_seq_, std::memory_order_release);
  FutexWake(&posted_seq_);
}

void Executor::Submit(long nr, const uint64_t args[6]) {
  NMR_CHECK(Done());
  for (int i = 0; i < 6; ++i) {
    args_[i] = args[i];
  }
  Post(nr);
}

int64_t Executor::Run(long nr, const uint64_t args[6]) {
  Submit(nr, args);
  WaitDone();
  return result_;
}

int64_t Executor::RunFunction(std::function<int64_t()> work) {
  NMR_CHECK(Done());
  function_ = std::move(work);
  Post(kRunFunction);
  WaitDone();
  function_ = nullptr;
  return result_;
}

void Executor::WaitDone() {
  for (;;) {
    uint32_t seen = event_word_->load(std::memory_order_acquire);
    if (Done()) {
      return;
    }
    FutexWait(event_word_, seen);
  }
}

}  // namespace nmr
