// When the policy's faults happen: at a replica's K-th vote (as the supervisor takes it), or
// T ms into the run, wherever the replica then is. corrupt-vote changes the vote itself;
// every other kind is done to the process by os/injector.h. Each fault happens once, even
// if its slot is later refilled by a clone.
#include <spdlog/spdlog.h>
#include <sys/random.h>

#include "supervisor/control.h"
#include "supervisor/os/injector.h"

namespace nmr {

bool Group::IsRoot() const { return &run_.root() == this; }

// A fault is for the program nmr-run started, or (program=NAME) for the first process
// running NAME when the fault is due.
bool Group::FaultIsMine(const FaultSpec& fault) const {
  if (!fault.program) {
    return IsRoot();
  }
  auto base = [](const std::string& path) { return path.substr(path.rfind('/') + 1); };
  return !ended_ && (base(plan_.path) == *fault.program ||
                     (!argv_.empty() && base(argv_[0]) == *fault.program));
}

void Group::InjectAtVote(int i) {
  Replica& r = replicas_[i];
  for (size_t f = 0; f < policy_.faults.size(); ++f) {
    const FaultSpec& fault = policy_.faults[f];
    if (fault_done_[f] || fault.after_ms || fault.replica != i || !FaultIsMine(fault)) {
      continue;
    }
    uint64_t count =
        fault.syscall < 0 ? r.votes : (fault.syscall == r.call.nr ? r.votes_by_nr[r.call.nr] : 0);
    if (count != fault.at_vote.value_or(1)) {
      continue;
    }
    fault_done_[f] = true;
    if (fault.kind != FaultSpec::Kind::kCorruptVote) {
      Inject(f, i);
      continue;
    }
    std::string what = FlipOneBit(r.call);
    std::string note = "corrupt-vote: replica " + std::to_string(i) + ", vote " +
                       std::to_string(r.votes) + " (" + SyscallName(r.call.nr) + "): flipped " +
                       what;
    spdlog::info("injected {}", note);
    report_.injected.push_back(note);
  }
}

std::optional<int64_t> Group::NextFaultDeadline() const {
  std::optional<int64_t> next;
  for (size_t f = 0; f < policy_.faults.size(); ++f) {
    const FaultSpec& fault = policy_.faults[f];
    if (!fault_done_[f] && fault.after_ms && FaultIsMine(fault)) {
      int64_t at = run_.started_ms_ + static_cast<int64_t>(*fault.after_ms);
      next = next ? std::min(*next, at) : at;
    }
  }
  return next;
}

void Group::InjectTimedFaults() {
  int64_t elapsed = NowMs() - run_.started_ms_;
  for (size_t f = 0; f < policy_.faults.size(); ++f) {
    const FaultSpec& fault = policy_.faults[f];
    if (fault_done_[f] || !fault.after_ms || elapsed < static_cast<int64_t>(*fault.after_ms) ||
        !FaultIsMine(fault)) {
      continue;
    }
    fault_done_[f] = true;
    const Replica& r = replicas_[fault.replica];
    if (!r.running || r.killed || r.clone_pending) {
      std::string note = std::string(FaultKindName(fault.kind)) + ": replica " +
                         std::to_string(fault.replica) + ", " + std::to_string(*fault.after_ms) +
                         " ms: not injected, the replica is gone";
      spdlog::info("{}", note);
      report_.injected.push_back(note);
      continue;
    }
    Inject(f, fault.replica);
  }
}

void Group::Inject(size_t f, int i) {
  const FaultSpec& fault = policy_.faults[f];
  Replica& r = replicas_[i];
  uint64_t seed = 0;
  if (fault.seed) {
    seed = *fault.seed;
  } else if (getrandom(&seed, sizeof seed, 0) != sizeof seed) {
    seed = static_cast<uint64_t>(NowMs());
  }
  seed &= INT64_MAX;  // what seed= accepts, so that the report's seed replays it
  InjectionOutcome outcome = InjectFault(r.process.pid, fault, seed, r.process.channel_inode);
  std::string when = fault.after_ms ? std::to_string(*fault.after_ms) + " ms"
                                    : "vote " + std::to_string(r.votes);
  std::string where =
      IsRoot() ? "" : "process " + std::to_string(vpid_) + " (" + *fault.program + "), ";
  std::string note = std::string(FaultKindName(fault.kind)) + ": " + where + "replica " +
                     std::to_string(i) + ", " + when + ", seed " + std::to_string(seed) + ": " +
                     (outcome.injected ? "" : "not injected: ") + outcome.what;
  spdlog::info("[v{} s{}] injected {}", engine_.view(), engine_.seq(), note);
  report_.injected.push_back(note);
  if (outcome.death_status) {
    OnReaped(r, *outcome.death_status, rusage{}, true, i);
  }
}

}  // namespace nmr
