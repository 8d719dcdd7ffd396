// Timers owned by the supervisor (DESIGN.md "Signals"): alarm, setitimer(ITIMER_REAL) and the
// POSIX timers (timer_create) arm a deadline of the group's, not a kernel timer in each
// replica (each would fire at its own moment, wherever that replica happened to be, and a
// replica waiting in a vote could not take it). When a deadline passes, the timer's signal is
// posted to the group and reaches every replica with one agreed step.
//
// The CPU-time timers (ITIMER_VIRTUAL, ITIMER_PROF) stay each replica's own; POSIX timers on
// a CPU-time clock are refused (EINVAL). alarm and setitimer survive execve (same group) and
// POSIX timers do not, as natively; no timer is inherited by a fork.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include <cstring>

#include "supervisor/control.h"

namespace nmr {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000LL;

int64_t ClockNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * kNsPerSecond + ts.tv_nsec;
}

int64_t NowNs() { return ClockNs(CLOCK_MONOTONIC); }

int64_t ToNs(const timeval& tv) { return tv.tv_sec * kNsPerSecond + tv.tv_usec * 1000LL; }
int64_t ToNs(const timespec& ts) { return ts.tv_sec * kNsPerSecond + ts.tv_nsec; }

timeval ToTimeval(int64_t ns) {
  return {static_cast<time_t>(ns / kNsPerSecond),
          static_cast<suseconds_t>((ns % kNsPerSecond + 999) / 1000)};
}

timespec ToTimespec(int64_t ns) {
  return {static_cast<time_t>(ns / kNsPerSecond), static_cast<long>(ns % kNsPerSecond)};
}

bool Valid(const timespec& ts) { return ts.tv_sec >= 0 && ts.tv_nsec >= 0 && ts.tv_nsec < kNsPerSecond; }

// The clocks a POSIX timer of the group can count: wall-clock ones (the _ALARM kinds behave
// as their base clock: nmr does not wake a suspended machine).
std::optional<clockid_t> WallClock(clockid_t clock) {
  switch (clock) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_ALARM:
      return CLOCK_REALTIME;
    case CLOCK_MONOTONIC:
      return CLOCK_MONOTONIC;
    case CLOCK_BOOTTIME:
    case CLOCK_BOOTTIME_ALARM:
      return CLOCK_BOOTTIME;
    case CLOCK_TAI:
      return CLOCK_TAI;
    default:
      return std::nullopt;
  }
}

// The kernel's struct sigevent (64 bytes): the part timer_create reads.
struct KernelSigevent {
  int64_t value;  // sigev_value
  int32_t signo;
  int32_t notify;
  int32_t tid;  // SIGEV_THREAD_ID's target
};
constexpr int32_t kSigevThreadId = 4;


}  // namespace

// What is left of `timer` and its period.
std::pair<int64_t, int64_t> Group::TimerLeft(const Timer& timer) const {
  if (timer.deadline_ns == 0) {
    return {0, 0};
  }
  return {std::max<int64_t>(timer.deadline_ns - NowNs(), 1), timer.interval_ns};
}

void Group::ArmTimer(Timer& timer, int64_t first_ns, int64_t interval_ns) {
  timer.deadline_ns = first_ns > 0 ? NowNs() + first_ns : 0;
  timer.interval_ns = first_ns > 0 ? interval_ns : 0;
}

Group::TreeCall Group::StartTimerCall(const Call& call) {
  const uint64_t* a = call.args;
  Outcome& outcome = performer_->BeginAnswer(call);
  if (call.nr != SYS_alarm && call.nr != SYS_getitimer && call.nr != SYS_setitimer) {
    return StartPosixTimerCall(call, outcome);
  }
  if (call.nr != SYS_alarm && a[0] != ITIMER_REAL) {
    outcome.action = ReplyAction::kExecuteLocally;  // a CPU-time timer: each replica's own
    return TreeCall::kReady;
  }
  Timer& real = timers_[kRealTimer];  // SIGALRM, SI_KERNEL: what the kernel's sends
  real.signo = SIGALRM;
  real.info = {.code = SI_KERNEL};
  auto [left_ns, interval_ns] = TimerLeft(real);
  itimerval old = {ToTimeval(interval_ns), ToTimeval(left_ns)};
  switch (call.nr) {
    case SYS_alarm: {
      ArmTimer(real, static_cast<int64_t>(static_cast<uint32_t>(a[0])) * kNsPerSecond, 0);
      // What was left, in seconds rounded to the nearest (at least 1 if armed), as the
      // kernel answers.
      int64_t left = old.it_value.tv_sec + (old.it_value.tv_usec >= 500000 ? 1 : 0);
      if (left == 0 && old.it_value.tv_usec != 0) {
        left = 1;
      }
      outcome.value = left;
      return TreeCall::kReady;
    }
    case SYS_getitimer:
      outcome.writes.emplace_back(a[1], Bytes(old));
      outcome.value = 0;
      return TreeCall::kReady;
    default: {  // setitimer
      itimerval value = {};
      if (call.in[1].size() != sizeof value) {
        outcome.value = -EFAULT;
        return TreeCall::kReady;
      }
      std::memcpy(&value, call.in[1].data(), sizeof value);
      if (value.it_value.tv_usec < 0 || value.it_value.tv_usec >= 1000000 ||
          value.it_interval.tv_usec < 0 || value.it_interval.tv_usec >= 1000000) {
        outcome.value = -EINVAL;
        return TreeCall::kReady;
      }
      ArmTimer(real, ToNs(value.it_value), ToNs(value.it_interval));
      if (a[2] != 0) {
        outcome.writes.emplace_back(a[2], Bytes(old));
      }
      outcome.value = 0;
      return TreeCall::kReady;
    }
  }
}

// timer_create, timer_settime, timer_gettime, timer_getoverrun, timer_delete.
Group::TreeCall Group::StartPosixTimerCall(const Call& call, Outcome& outcome) {
  const uint64_t* a = call.args;
  auto answer = [&](int64_t value) {
    outcome.value = value;
    return TreeCall::kReady;
  };
  if (call.nr == SYS_timer_create) {
    auto clock = WallClock(static_cast<clockid_t>(a[0]));
    if (!clock) {
      performer_->Refuse(call.nr, "timers on a CPU-time clock are not supported yet (EINVAL)",
                         false);
      return answer(-EINVAL);
    }
    int id = next_timer_id_;
    Timer timer;
    timer.clock = *clock;
    timer.signo = SIGALRM;
    timer.info = {.code = SI_TIMER, .pid = id, .value = id};  // no sigevent: SIGALRM, the id
    if (a[1] != 0) {
      KernelSigevent event = {};
      std::memcpy(&event, call.in[1].data(), std::min(call.in[1].size(), sizeof event));
      int32_t notify = event.notify & ~kSigevThreadId;
      if ((event.notify & kSigevThreadId) != 0 && event.tid != vpid_) {
        return answer(-EINVAL);  // one thread per process: its tid is its pid
      }
      if (notify == SIGEV_NONE) {
        timer.signo = 0;
      } else if (notify == SIGEV_SIGNAL && event.signo >= 1 && event.signo <= 64) {
        timer.signo = event.signo;
      } else {
        return answer(-EINVAL);  // SIGEV_THREAD is glibc's: the kernel never sees it
      }
      timer.info.value = event.value;
    }
    ++next_timer_id_;
    timers_[id] = timer;
    outcome.writes.emplace_back(a[2], Bytes(static_cast<int32_t>(id)));
    return answer(0);
  }
  auto found = timers_.find(static_cast<int>(a[0]));
  if (static_cast<int>(a[0]) < 0 || found == timers_.end()) {
    return answer(-EINVAL);
  }
  Timer& timer = found->second;
  auto [left_ns, interval_ns] = TimerLeft(timer);
  itimerspec old = {ToTimespec(interval_ns), ToTimespec(left_ns)};
  switch (call.nr) {
    case SYS_timer_settime: {
      itimerspec value = {};
      if (call.in[2].size() != sizeof value) {
        return answer(-EFAULT);
      }
      std::memcpy(&value, call.in[2].data(), sizeof value);
      if (!Valid(value.it_value) || !Valid(value.it_interval)) {
        return answer(-EINVAL);
      }
      int64_t first_ns = ToNs(value.it_value);
      if ((a[1] & TIMER_ABSTIME) != 0 && first_ns != 0) {
        first_ns = std::max<int64_t>(first_ns - ClockNs(timer.clock), 1);  // passed: at once
      }
      ArmTimer(timer, first_ns, ToNs(value.it_interval));
      if (a[3] != 0) {
        outcome.writes.emplace_back(a[3], Bytes(old));
      }
      return answer(0);
    }
    case SYS_timer_gettime:
      outcome.writes.emplace_back(a[1], Bytes(old));
      return answer(0);
    case SYS_timer_getoverrun:
      return answer(timer.last_overrun);
    default: {  // timer_delete: a signal of it still held here stays pending, in the replicas
      auto pending = signal_info_.find(timer.signo);
      if (pending != signal_info_.end() && pending->second.code == SI_TIMER &&
          pending->second.pid == found->first) {
        outcome.signals |= 1ULL << (timer.signo - 1);
        outcome.signal_info[timer.signo] = pending->second;
        signals_for_program_ &= ~(1ULL << (timer.signo - 1));
        signal_info_.erase(pending);
      }
      timers_.erase(found);
      return answer(0);
    }
  }
}

void Group::DeletePosixTimers() {
  std::erase_if(timers_, [](const auto& entry) { return entry.first != kRealTimer; });
}

// Deadlines that passed: each timer's signal for the group. Expirations while its signal is
// still pending merge into it and count as overruns (si_overrun, timer_getoverrun), as the
// kernel counts them.
void Group::FireTimers() {
  int64_t now = NowNs();
  for (auto& [id, timer] : timers_) {
    if (timer.deadline_ns == 0 || now < timer.deadline_ns) {
      continue;
    }
    int expirations = 1;
    if (timer.interval_ns > 0) {
      int64_t late = now - timer.deadline_ns;
      expirations += static_cast<int>(std::min<int64_t>(late / timer.interval_ns, INT32_MAX - 1));
      timer.deadline_ns += static_cast<int64_t>(expirations) * timer.interval_ns;
    } else {
      timer.deadline_ns = 0;
    }
    if (timer.signo == 0) {
      continue;  // SIGEV_NONE: only timer_gettime sees it
    }
    spdlog::debug("process {}: timer {} fired", vpid_, id);
    uint64_t bit = 1ULL << (timer.signo - 1);
    auto pending = signal_info_.find(timer.signo);
    bool merges = (signals_for_program_ & bit) != 0 && pending != signal_info_.end() &&
                  pending->second.code == timer.info.code && pending->second.pid == timer.info.pid;
    if (merges && id != kRealTimer) {
      pending->second.uid += expirations;  // si_overrun
      continue;
    }
    SignalInfo info = timer.info;
    if (id != kRealTimer) {
      info.uid = expirations - 1;
    }
    PostSignal(timer.signo, info);
  }
}

std::optional<int64_t> Group::TimerDeadlineMs() const {
  std::optional<int64_t> earliest;
  for (const auto& [id, timer] : timers_) {
    if (timer.deadline_ns != 0) {
      int64_t ms = (timer.deadline_ns + 999'999) / 1'000'000;
      earliest = earliest ? std::min(*earliest, ms) : ms;
    }
  }
  return earliest;
}

}  // namespace nmr
