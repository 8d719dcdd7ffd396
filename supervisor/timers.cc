// Timers owned by the supervisor (DESIGN.md "Signals"): alarm and setitimer(ITIMER_REAL) arm
// a deadline of the group's, not a kernel timer in each replica (each would fire at its own
// moment, wherever that replica happened to be, and a replica waiting in a vote could not
// take it). When the deadline passes, SIGALRM is posted to the group and reaches every
// replica with one agreed step. The CPU-time timers (ITIMER_VIRTUAL, ITIMER_PROF) stay each
// replica's own. Timers survive execve (same group) and are not inherited by a fork.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include <cstring>

#include "supervisor/control.h"

namespace nmr {
namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

int64_t ToNs(const timeval& tv) { return tv.tv_sec * 1'000'000'000LL + tv.tv_usec * 1000LL; }

timeval ToTimeval(int64_t ns) {
  return {static_cast<time_t>(ns / 1'000'000'000LL),
          static_cast<suseconds_t>((ns % 1'000'000'000LL + 999) / 1000)};
}

}  // namespace

itimerval Group::RealTimer() const {
  itimerval value = {};
  if (timer_deadline_ns_ != 0) {
    value.it_value = ToTimeval(std::max<int64_t>(timer_deadline_ns_ - NowNs(), 1000));
    value.it_interval = ToTimeval(timer_interval_ns_);
  }
  return value;
}

void Group::SetRealTimer(const itimerval& value) {
  int64_t first = ToNs(value.it_value);
  timer_deadline_ns_ = first > 0 ? NowNs() + first : 0;
  timer_interval_ns_ = first > 0 ? ToNs(value.it_interval) : 0;
}

Group::TreeCall Group::StartTimerCall(const Call& call) {
  const uint64_t* a = call.args;
  Outcome& outcome = performer_->BeginAnswer(call);
  auto bytes = [](const itimerval& value) {
    std::vector<uint8_t> out(sizeof value);
    std::memcpy(out.data(), &value, sizeof value);
    return out;
  };
  if (call.nr != SYS_alarm && a[0] != ITIMER_REAL) {
    outcome.action = ReplyAction::kExecuteLocally;  // a CPU-time timer: each replica's own
    return TreeCall::kReady;
  }
  itimerval old = RealTimer();
  switch (call.nr) {
    case SYS_alarm: {
      SetRealTimer({{0, 0}, {static_cast<time_t>(static_cast<uint32_t>(a[0])), 0}});
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
      outcome.writes.emplace_back(a[1], bytes(old));
      outcome.value = 0;
      return TreeCall::kReady;
    case SYS_setitimer: {
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
      SetRealTimer(value);
      if (a[2] != 0) {
        outcome.writes.emplace_back(a[2], bytes(old));
      }
      outcome.value = 0;
      return TreeCall::kReady;
    }
    default:
      return TreeCall::kNotMine;
  }
}

// The timer's deadline passed: SIGALRM for the group (overruns merge, as a pending standard
// signal does), and the next period.
void Group::FireTimers() {
  if (timer_deadline_ns_ == 0) {
    return;
  }
  int64_t now = NowNs();
  if (now < timer_deadline_ns_) {
    return;
  }
  if (timer_interval_ns_ > 0) {
    while (timer_deadline_ns_ <= now) {
      timer_deadline_ns_ += timer_interval_ns_;
    }
  } else {
    timer_deadline_ns_ = 0;
  }
  spdlog::debug("process {}: its timer fired", vpid_);
  PostSignal(SIGALRM, {SI_KERNEL, 0, 0, 0});
}

std::optional<int64_t> Group::TimerDeadlineMs() const {
  if (timer_deadline_ns_ == 0) {
    return std::nullopt;
  }
  return (timer_deadline_ns_ + 999'999) / 1'000'000;
}

}  // namespace nmr
