// Resource usage as the program sees it (core/usage.h): getrusage, times, and the rusage of a
// collected child (wait4, waitid). A process's own figures are the median over its replicas
// (read from /proc while they run, from wait4 once they have ended), plus what the programs
// it exec'd from had used; its children's are the sum of what it collected, each with their
// own collected children, as the kernel counts RUSAGE_CHILDREN. The process's CPU clock
// (CLOCK_PROCESS_CPUTIME_ID) is the median of its replicas' CPU clocks.
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "supervisor/control.h"
#include "supervisor/core/usage.h"
#include "supervisor/os/proc.h"

namespace nmr {
namespace {


clock_t Ticks(const timeval& tv) {
  static const long per_second = sysconf(_SC_CLK_TCK);
  return static_cast<clock_t>((tv.tv_sec * 1'000'000LL + tv.tv_usec) * per_second / 1'000'000);
}

}  // namespace

rusage Group::SelfUsage() const {
  std::vector<rusage> samples;
  for (const Replica& r : replicas_) {
    if (ended_) {
      samples.push_back(r.usage);
    } else if (r.running && !r.killed && r.process.pid > 0) {
      if (std::optional<rusage> now = ReadUsage(r.process.pid)) {
        samples.push_back(*now);
      }
    }
  }
  rusage self = usage_before_exec_;
  AddUsage(self, MedianUsage(samples));
  return self;
}

rusage Group::TotalUsage() const {
  rusage total = SelfUsage();
  AddUsage(total, children_usage_);
  return total;
}

// An agreed execve replaced these replicas (reaped with `ended`, by slot): what they used
// stays the process's, as natively.
void Group::KeepUsageBeforeExec(const std::vector<rusage>& ended) {
  AddUsage(usage_before_exec_, MedianUsage(ended));
}

Group::TreeCall Group::StartUsageCall(const Call& call) {
  const uint64_t* a = call.args;
  Outcome& outcome = performer_->BeginAnswer(call);
  if (call.nr == SYS_getrusage) {
    auto who = static_cast<int>(a[0]);
    if (who != RUSAGE_SELF && who != RUSAGE_THREAD && who != RUSAGE_CHILDREN) {
      outcome.value = -EINVAL;
      return TreeCall::kReady;
    }
    outcome.writes.emplace_back(a[1], Bytes(who == RUSAGE_CHILDREN ? children_usage_ : SelfUsage()));
    outcome.value = 0;
    return TreeCall::kReady;
  }
  if (call.nr == SYS_clock_gettime) {  // CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID
    std::vector<int64_t> samples;
    for (const Replica& r : replicas_) {
      if (r.running && !r.killed && r.process.pid > 0) {
        samples.push_back(CpuNanoseconds(r.process.pid));
      }
    }
    int64_t ns = 0;
    if (!samples.empty()) {
      auto middle = samples.begin() + static_cast<long>((samples.size() - 1) / 2);
      std::nth_element(samples.begin(), middle, samples.end());
      ns = *middle;
    }
    const timeval& user = usage_before_exec_.ru_utime;
    const timeval& system = usage_before_exec_.ru_stime;
    ns += (user.tv_sec + system.tv_sec) * 1'000'000'000LL + (user.tv_usec + system.tv_usec) * 1000LL;
    timespec value = {static_cast<time_t>(ns / 1'000'000'000LL), static_cast<long>(ns % 1'000'000'000LL)};
    outcome.writes.emplace_back(a[1], Bytes(value));
    outcome.value = 0;
    return TreeCall::kReady;
  }
  // times(2): clock ticks, and the elapsed ticks since an arbitrary point (the kernel's).
  if (a[0] != 0) {
    rusage self = SelfUsage();
    tms buffer = {Ticks(self.ru_utime), Ticks(self.ru_stime), Ticks(children_usage_.ru_utime),
                  Ticks(children_usage_.ru_stime)};
    outcome.writes.emplace_back(a[0], Bytes(buffer));
  }
  outcome.value = times(nullptr);
  return TreeCall::kReady;
}

}  // namespace nmr
