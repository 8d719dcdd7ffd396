// What wakes the control loop: replicas' requests (futex_waitv over their channels), signals
// sent to nmr-run (its doorbell), deaths (reaping), and deadlines; and nmr-run's own signal
// handling.
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "supervisor/control.h"
#include "supervisor/core/usage.h"
#include "supervisor/core/exit_codes.h"
#include "supervisor/core/filter.h"

namespace nmr {

std::atomic<uint32_t> g_event_word{0};
sigset_t g_original_mask;
std::vector<std::pair<int, struct sigaction>> g_original_actions;

namespace {

std::atomic<uint64_t> g_pending_signals{0};
// Of those, the ones the terminal sent (si_code SI_KERNEL: Ctrl-C, Ctrl-\, a window change, a
// hangup): they are for the terminal's foreground process group, not only for the program.
std::atomic<uint64_t> g_from_terminal{0};

constexpr int kWatchedSignals[] = {SIGCHLD, SIGINT,  SIGTERM,  SIGHUP,  SIGQUIT,
                                   SIGUSR1, SIGUSR2, SIGWINCH, SIGTSTP, SIGCONT};

void OnSignal(int sig, siginfo_t* info, void*) {
  if (info != nullptr && info->si_code == SI_KERNEL) {
    g_from_terminal.fetch_or(1ULL << sig);
  }
  g_pending_signals.fetch_or(1ULL << sig);
  g_event_word.fetch_add(1);
  syscall(SYS_futex, &g_event_word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace

bool Group::AnyRunning() const {
  auto running = [](const Replica& r) { return r.running; };
  return std::any_of(replicas_.begin(), replicas_.end(), running) ||
         std::any_of(retired_.begin(), retired_.end(), running);
}

bool Group::AnyEvent() const {
  for (const Replica& r : replicas_) {
    if (r.clone_pending) {
      if (r.running && r.process.channel->clone_pid.load(std::memory_order_seq_cst) != 0) {
        return true;
      }
      continue;
    }
    if (r.running && !r.killed && !r.has_call &&
        r.process.channel->request_seq.load(std::memory_order_seq_cst) != r.seen_seq) {
      return true;
    }
  }
  return false;
}

void Group::AddWaiters(struct futex_waitv* waiters, int* n, int max) {
  auto add = [&](uint32_t expected, const void* word) {
    if (*n < max) {
      waiters[*n].val = expected;
      waiters[*n].uaddr = reinterpret_cast<uint64_t>(word);
      waiters[*n].flags = FUTEX_32;  // shared with the replica
      ++*n;
    }
  };
  for (Replica& r : replicas_) {
    if (r.clone_pending && r.running) {
      add(0, &r.process.channel->clone_pid);  // the clone reports in
    } else if (r.running && !r.killed && !r.has_call) {
      r.process.channel->supervisor_sleeping.store(1, std::memory_order_seq_cst);
      add(r.seen_seq, &r.process.channel->request_seq);
    }
  }
}

void Group::ClearSleeping() {
  for (Replica& r : replicas_) {
    if (r.running) {
      r.process.channel->supervisor_sleeping.store(0, std::memory_order_relaxed);
    }
  }
}

std::optional<int64_t> Group::NextDeadline() const {
  std::optional<int64_t> next = engine_.NextDeadline();
  auto earliest = [&next](std::optional<int64_t> other) {
    if (other && (!next || *other < *next)) {
      next = other;
    }
  };
  earliest(NextFaultDeadline());
  earliest(TimerDeadlineMs());
  if (executing_ && executing_call_.nr == kPseudoSyscallSigwait && sigwait_deadline_ms_ != 0) {
    earliest(sigwait_deadline_ms_);
  }
  if (engine_.finished() && !stopping_) {
    earliest(finished_at_ms_ + policy_.vote_timeout_ms);
  }
  for (const Replica& r : replicas_) {
    if (r.clone_pending && r.running) {
      earliest(r.clone_deadline_ms);
    }
  }
  if (interrupting_ && executing_) {
    // The interrupt may have arrived before the call started waiting: send it again soon.
    earliest(NowMs() + 20);
  }
  return next;
}

bool Supervisor::AnyEvent(uint32_t event_seen) const {
  if (g_event_word.load(std::memory_order_acquire) != event_seen) {
    return true;
  }
  if (stopping_) {
    return false;
  }
  return std::any_of(groups_.begin(), groups_.end(),
                     [](const auto& group) { return group->AnyEvent(); });
}

void Supervisor::WaitForEvent(uint32_t event_seen) {
  // With a core for every replica and for us, a reply is often only microseconds away:
  // poll first (no context switch), then sleep.
  uint32_t spin = groups_.size() == 1 ? root().spin_iterations_ : 0;
  for (uint32_t i = 0; i < spin; ++i) {
    if (AnyEvent(event_seen)) {
      return;
    }
    __builtin_ia32_pause();
  }
  // futex_waitv over the doorbell and every live replica's request word: returns at once if
  // any of them already moved past what we saw. Replicas wake us only when we say we sleep.
  // Beyond the kernel's 128 words, the loop polls every 10 ms.
  constexpr int kMaxWaiters = 128;  // FUTEX_WAITV_MAX
  constexpr uint32_t kPrivate = 128;  // FUTEX2_PRIVATE: the doorbell is process-private
  struct futex_waitv waiters[kMaxWaiters + 1] = {};
  waiters[0].val = event_seen;
  waiters[0].uaddr = reinterpret_cast<uint64_t>(&g_event_word);
  waiters[0].flags = FUTEX_32 | kPrivate;
  int n = 1;
  std::optional<int64_t> next;
  for (auto& group : groups_) {
    if (!stopping_) {
      group->AddWaiters(waiters, &n, kMaxWaiters + 1);
    }
    std::optional<int64_t> deadline = group->NextDeadline();
    if (deadline && (!next || *deadline < *next)) {
      next = deadline;
    }
  }
  if (n > kMaxWaiters) {
    n = kMaxWaiters;
    next = next ? std::min(*next, NowMs() + 10) : NowMs() + 10;
  }
  timespec deadline;
  timespec* timeout = nullptr;
  if (next) {
    deadline = {*next / 1000, (*next % 1000) * 1'000'000};
    timeout = &deadline;
  }
  if (!AnyEvent(event_seen)) {
    syscall(SYS_futex_waitv, waiters, n, 0, timeout, CLOCK_MONOTONIC);
  }
  for (auto& group : groups_) {
    group->ClearSleeping();
  }
}

// Signals sent to nmr-run are the program's: they are delivered to every replica with the
// result of the next agreed call (a call waiting on the executor is cut short for it, as the
// kernel interrupts a blocked syscall). The same signal again before the first one was
// delivered (a second Ctrl-C on a program that never makes a syscall) stops the run.
void Supervisor::HandleSignals() {
  uint64_t pending = g_pending_signals.exchange(0);
  uint64_t from_terminal = g_from_terminal.exchange(0);
  if ((pending & (1ULL << SIGCHLD)) != 0) {
    reap_pending_ = true;  // Reap() does the work
  }
  pending &= ~(1ULL << SIGCHLD);
  if ((pending & (1ULL << SIGCONT)) != 0) {
    stopped_with_program_ = false;  // the shell that started nmr-run resumed it (jobs.cc)
  }
  if ((pending & ~(1ULL << SIGCONT)) != 0 && root().finished() && !stopping_) {
    // The program has ended: there is nobody left to deliver a signal to, only replicas that
    // have not gone yet. Stop waiting for them.
    for (auto& group : groups_) {
      group->KillLeftovers("still there when nmr-run got a signal after the program's end");
    }
    return;
  }
  for (int sig = 1; sig < 64 && pending != 0; ++sig) {
    if ((pending & (1ULL << sig)) == 0) {
      continue;
    }
    pending &= ~(1ULL << sig);
    uint64_t bit = 1ULL << (sig - 1);
    // A signal sent to nmr-run is the program's; one from the terminal goes to every process
    // of the terminal's foreground group, as natively (Ctrl-C ends a whole pipeline).
    std::vector<Group*> targets;
    if (sig == SIGCONT) {
      // Continuing nmr-run continues its job: every process of its own process group.
      for (auto& group : groups_) {
        if (!group->ended_ && group->pgid_ == own_pgid_) {
          targets.push_back(group.get());
        }
      }
    } else if ((from_terminal & (1ULL << sig)) != 0) {
      for (auto& group : groups_) {
        if (!group->ended_ && group->pgid_ == foreground_pgid_) {
          targets.push_back(group.get());
        }
      }
    }
    if (targets.empty()) {
      targets.push_back(&root());
    }
    // Like the kernel, a standard signal already pending merges with the new one; only the
    // ones a person sends to end a program escalate to stopping the run.
    bool ends_a_run = sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT;
    bool again = std::any_of(targets.begin(), targets.end(), [bit](const Group* g) {
      return (g->signals_for_program_ & bit) != 0;
    });
    if ((again && ends_a_run) || stopping_) {
      spdlog::warn(
          "received SIG{} again before the program took the first: stopping the "
          "replicas",
          sigabbrev_np(sig));
      report_.outcome = "interrupted";
      exit_signal_ = sig;
      StopAll();
      return;
    }
    spdlog::debug("received SIG{}: for {} process(es) of the program", sigabbrev_np(sig),
                  targets.size());
    for (Group* group : targets) {
      group->PostSignal(sig, {.code = (from_terminal & (1ULL << sig)) != 0 ? SI_KERNEL : SI_USER},
                        /*from_outside=*/true);
    }
  }
}

void Supervisor::Reap() {
  if (!reap_pending_) {
    return;
  }
  reap_pending_ = false;
  for (;;) {
    int status;
    rusage usage;
    pid_t pid = wait4(-1, &status, WNOHANG | __WALL | WUNTRACED | WCONTINUED, &usage);
    if (pid <= 0) {
      return;
    }
    if (WIFSTOPPED(status) || WIFCONTINUED(status)) {
      for (auto& group : groups_) {
        if (group->OnStopOrContinue(pid, status)) {
          break;
        }
      }
      continue;
    }
    for (auto& group : groups_) {
      if (group->OnReaped(pid, status, usage)) {
        break;
      }
    }
    // Anything else is a clone that died before it reported: CheckClones times it out.
  }
}

bool Group::OnReaped(pid_t pid, int status, const rusage& usage) {
  for (size_t i = 0; i < replicas_.size(); ++i) {
    if (replicas_[i].process.pid == pid && replicas_[i].running) {
      OnReaped(replicas_[i], status, usage, true, static_cast<int>(i));
      return true;
    }
  }
  for (Replica& r : retired_) {
    if (r.process.pid == pid && r.running) {
      OnReaped(r, status, usage, false, -1);
      return true;
    }
  }
  return false;
}

void Group::OnReaped(Replica& r, int status, const rusage& usage, bool current, int slot) {
  r.running = false;
  r.status = status;
  r.cpu_s += CpuSeconds(usage);
  AddUsage(r.usage, usage);
  if (r.process.channel->fatal.code != 0) {
    spdlog::error("replica {}: shim failed at shim.cc:{} ({})", slot, r.process.channel->fatal.line,
                  strerror(-r.process.channel->fatal.code));
  }
  if (!current) {
    munmap(r.process.channel, kChannelSize);
    r.process.channel = nullptr;
    return;
  }
  if (AnyStopped()) {
    MaybeStopped();  // the others had stopped: so has the process now
  }
  if (!r.killed) {
    spdlog::debug("[v{} s{}] replica {} {}", engine_.view(), engine_.seq(), slot,
                  DescribeStatus(status));
    if (r.process.channel->fatal.code != 0) {
      Apply(engine_.OnFaulty(slot, KillReason::kProtocol, NowMs()));
    } else {
      Apply(engine_.OnDeath(slot, DeathDigest(status), NowMs()));
    }
  }
}

void InstallSupervisorSignals() {
  sigprocmask(SIG_SETMASK, nullptr, &g_original_mask);
  for (int sig : kWatchedSignals) {
    struct sigaction old;
    struct sigaction action = {};
    action.sa_sigaction = OnSignal;
    action.sa_flags = SA_RESTART | SA_SIGINFO;
    sigfillset(&action.sa_mask);
    sigaction(sig, &action, &old);
    g_original_actions.emplace_back(sig, old);
  }
  // nmr-run's own: a program's EPIPE and EFBIG are results to hand over, not our death. What
  // the program inherits is restored in the spawner.
  for (int sig : {SIGPIPE, SIGXFSZ}) {
    struct sigaction old;
    struct sigaction ignore = {};
    ignore.sa_handler = SIG_IGN;
    sigaction(sig, &ignore, &old);
    g_original_actions.emplace_back(sig, old);
  }
  sigset_t unblock;
  sigemptyset(&unblock);
  for (int sig : kWatchedSignals) {
    sigaddset(&unblock, sig);
  }
  sigprocmask(SIG_UNBLOCK, &unblock, nullptr);
}

}  // namespace nmr
