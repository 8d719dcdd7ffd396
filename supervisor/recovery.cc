// Recovery (DESIGN.md "recovery by cloning", "Scrubbing"): the work done at a vote boundary.
//
// When a slot must be refilled or memory is due for a scrub, the replies of one step are
// held (Group::Reply) until every member has voted on it: then every member waits in
// its shim at the same point, and their writable memory must be byte-identical. The members'
// memory digests are compared; a member that differs from a strict majority carries a latent
// fault and leaves (reason "scrub"); a clone is made only from a donor whose digest matches
// at least one other member's (never clone a hidden fault). The donor's reply then says
// "fork" and both go on from the same point with the same result.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "supervisor/control.h"
#include "supervisor/os/proc.h"
#include "supervisor/os/replica_state.h"

namespace nmr {

LiveReplica Group::Live(int r) const {
  const ReplicaProcess& p = replicas_[r].process;
  return {p.pid, p.channel->sigframe_end, p.channel_inode};
}

// With recovery on, every step's replies wait for every member's vote. Otherwise a faulty
// vote that arrives after the quorum's is found only once the others have their replies and
// run on, and a second fault in the very next step meets a group of two, which cannot tell
// who is right (two corrupted writes in a row ended with "no majority"). The price is the
// overlap of a fast replica's next computation with a slow one's vote: 5-20 % on
// syscall-bound runs with 3 replicas on 2 cores (docs/design.md, "Recovery by cloning").
bool Group::HoldingReplies() const {
  // A fork's reply already tells every member to fork: no clone at the same boundary.
  if (stopping_ || replace_pending_ || executing_call_.nr == SYS_exit_group ||
      executing_call_.nr == SYS_exit || IsForkCall(executing_call_)) {
    return false;
  }
  OnDivergence mode = policy_.EffectiveOnDivergence();
  bool several = engine_.MemberCount() >= 2;
  bool recovering =
      (mode == OnDivergence::kRestart || mode == OnDivergence::kQuarantine) && !degraded_ && several;
  bool restart_due = (!restarts_.empty() && !degraded_) || !quarantine_.empty();
  bool equalize_due = !equalized_ && several;
  bool scrub_due = policy_.scrub_interval_ms && several &&
                   NowMs() - last_scrub_ms_ >= *policy_.scrub_interval_ms;
  return recovering || restart_due || scrub_due || equalize_due;
}

void Group::QueueRestart(const EngineAction& action) {
  OnDivergence mode = policy_.EffectiveOnDivergence();
  if (stopping_ || degraded_ || (mode != OnDivergence::kRestart && mode != OnDivergence::kQuarantine)) {
    return;
  }
  restarts_.push_back({action.replica, KillReasonName(action.reason), NowMs(), action.view});
}

// Where two members' memories differ, at debug level: what a person needs when a scrub or a
// donor check fails (the digests alone say only that they differ).
void Group::LogDifferences(int a, int b) {
  if (!spdlog::should_log(spdlog::level::debug)) {
    return;
  }
  std::vector<std::string> where;
  (void)EqualizeState(Live(a), Live(b), 4096, &where, /*dry_run=*/true);
  for (const std::string& w : where) {
    spdlog::debug("[v{} s{}] replica {} differs from replica {} at {}", engine_.view(),
                  engine_.seq(), b, a, w);
  }
}

void Group::GoDegraded(const std::string& why) {
  degraded_ = true;
  restarts_.clear();
  report_.degraded = why;
  spdlog::warn("[v{} s{}] no more restarts: {}; going on with {} replica(s)", engine_.view(),
               engine_.seq(), why, engine_.Members().size());
}

// Every member has voted on this step and waits for its (held) reply: recover, then reply.
void Group::AtBoundary() {
  if (held_.empty() || executing_ || stopping_) {
    return;
  }
  // held_ holds members only (a kill takes its replica out), each once.
  if (static_cast<int>(held_.size()) < engine_.MemberCount()) {
    return;  // someone has yet to vote on this step (or is a clone yet to report)
  }
  if (!quarantine_.empty()) {
    WriteForensics(engine_.Members().front());  // every member waits at this step
  }
  std::map<int, int> fork_fds;  // donor -> the clone's channel fd in nmr-run
  RecoverAtBoundary(&fork_fds);
  std::vector<int> held;
  held.swap(held_);
  hold_step_ = false;
  // At most one clone per boundary: every member's reply carries it (the same bytes).
  int donor = fork_fds.empty() ? -1 : fork_fds.begin()->first;
  int fork_fd = fork_fds.empty() ? -1 : fork_fds.begin()->second;
  for (int i : held) {
    Replica& r = replicas_[i];
    if (r.running && !r.killed && r.has_call) {
      WriteReply(i, fork_fd, donor);
    }
  }
}

// At the first boundary of a program: replicas were born identical but for what ld.so wrote
// before the shim was in (see EqualizeState); make them identical, so that donors can be
// verified and scrubbing compares like with like.
void Group::EqualizeAtStart() {
  equalized_ = true;
  std::vector<int> members = engine_.Members();
  for (size_t i = 1; i < members.size(); ++i) {
    std::vector<std::string> where;
    Result<size_t> copied = EqualizeState(Live(members[0]), Live(members[i]), 256, &where);
    if (!copied) {
      spdlog::warn("[v{} s{}] replica {} does not start identical to replica {}: {}",
                   engine_.view(), engine_.seq(), members[i], members[0], copied.error().message);
      continue;
    }
    for (const std::string& w : where) {
      spdlog::debug("[v{} s{}] replica {}: start-up bytes made identical at {}", engine_.view(),
                    engine_.seq(), members[i], w);
    }
  }
}

void Group::RecoverAtBoundary(std::map<int, int>* fork_fds) {
  if (!equalized_) {
    EqualizeAtStart();
  }
  // With recovery on this runs at every step: return before any work when nothing is due.
  bool restart = !restarts_.empty() && !degraded_;
  bool scrub_on = policy_.scrub_interval_ms && engine_.MemberCount() >= 2;
  if (!restart && !scrub_on) {
    return;
  }
  int64_t now = NowMs();
  bool scrub = scrub_on && now - last_scrub_ms_ >= *policy_.scrub_interval_ms;
  if (!scrub && !restart) {
    return;
  }
  std::vector<int> members = engine_.Members();
  // Each member's state, then the largest group of members whose states agree.
  std::map<std::pair<uint64_t, uint64_t>, std::vector<int>> groups;
  std::map<int, StateDigest> digests;
  for (int m : members) {
    Result<StateDigest> d = DigestReplicaState(Live(m));
    if (!d) {
      spdlog::warn("[v{} s{}] cannot digest replica {}'s memory: {}", engine_.view(),
                   engine_.seq(), m, d.error().message);
      continue;
    }
    spdlog::debug("[v{} s{}] replica {}: memory digest {:016x}{:016x} ({} bytes, {:.1f} ms)",
                  engine_.view(), engine_.seq(), m, d->digest.high, d->digest.low, d->bytes,
                  d->ms);
    for (const auto& [start, end, hash] : d->ranges) {
      spdlog::trace("replica {}: {:x}-{:x} {:016x}", m, start, end, hash);
    }
    digests[m] = *d;
    groups[{d->digest.low, d->digest.high}].push_back(m);
  }
  std::vector<int> agree;
  for (const auto& [digest, group] : groups) {
    if (group.size() > agree.size()) {
      agree = group;
    }
  }
  if (scrub) {
    last_scrub_ms_ = now;
    ScrubRecord record{engine_.seq(), engine_.view(), members, {}, 0, 0};
    for (int m : members) {
      if (std::find(agree.begin(), agree.end(), m) == agree.end()) {
        record.differing.push_back(m);
      }
      if (auto d = digests.find(m); d != digests.end()) {
        record.bytes += d->second.bytes;
        record.ms += d->second.ms;
      }
    }
    spdlog::debug("[v{} s{}] scrub: {} member(s), {} differing, {} bytes in {:.1f} ms",
                  record.view, record.seq, members.size(), record.differing.size(), record.bytes,
                  record.ms);
    report_.scrubs.push_back(record);
    if (agree.size() * 2 > members.size()) {
      for (int m : members) {
        if (std::find(agree.begin(), agree.end(), m) == agree.end() && !stopping_) {
          LogDifferences(agree[0], m);
          Apply(engine_.OnFaulty(m, KillReason::kScrub, NowMs()));
        }
      }
    } else if (agree.size() < members.size()) {
      for (size_t i = 1; i < members.size(); ++i) {
        LogDifferences(members[0], members[i]);
      }
      spdlog::warn("[v{} s{}] scrub: no majority of the {} members' memories agree", engine_.view(),
                   engine_.seq(), members.size());
    }
    if (stopping_) {
      return;
    }
  }
  if (restarts_.empty() || degraded_) {
    return;
  }
  if (agree.size() < 2) {
    for (size_t i = 1; i < members.size(); ++i) {
      LogDifferences(members[0], members[i]);
    }
    GoDegraded("no two members' memories agree, so no donor can be verified");
    return;
  }
  RecoveryRecord check;
  double digest_ms = 0;
  for (const auto& [m, d] : digests) {
    check.bytes_compared += d.bytes;
    digest_ms += d.ms;
  }
  check.digest_ms = digest_ms;
  // One clone per boundary (every member's reply names it); the rest wait for the next one.
  for (size_t d = 0; d < 1 && !restarts_.empty(); ++d) {
    if (report_.restarts >= policy_.max_restarts) {
      GoDegraded("max_restarts (" + std::to_string(policy_.max_restarts) + ") reached");
      return;
    }
    int donor = agree[d];
    // fork copies one thread: a donor with several cannot be cloned (threads come with the
    // process-trees work; today nmr refuses to start them, so this is a safeguard).
    if (int threads = ThreadCount(replicas_[donor].process.pid); threads != 1) {
      GoDegraded("replica " + std::to_string(donor) + " has " + std::to_string(threads) +
                 " threads and cannot be cloned");
      return;
    }
    int verified_with = agree[(d + 1) % agree.size()];
    PendingRestart next = restarts_.front();
    restarts_.erase(restarts_.begin());
    if (!StartClone(next, donor, verified_with, check, fork_fds)) {
      return;
    }
  }
}

bool Group::StartClone(const PendingRestart& restart, int donor, int verified_with,
                            const RecoveryRecord& check, std::map<int, int>* fork_fds) {
  int slot = restart.slot;
  Replica& old = replicas_[slot];
  int channel_fd = -1;
  Result<Channel*> channel = MakeError("not created");
  // The memfd must be in nmr-run's own fd table, where the clone finds it through /proc.
  uint64_t inode = 0;
  program_thread_.RunOnMain([&] {
    channel = CreateChannel(plan_, slot, &channel_fd);
    inode = channel ? ChannelInode(channel_fd) : 0;
    for (int fd : {old.process.stdout_pipe, old.process.stderr_pipe}) {
      if (fd >= 0) {
        close(fd);
      }
    }
  });
  old.process.stdout_pipe = -1;
  old.process.stderr_pipe = -1;
  if (!channel) {
    GoDegraded("cannot create a channel for a clone: " + channel.error().message);
    return false;
  }
  uint32_t seq = replicas_[donor].seen_seq;
  (*channel)->request_seq.store(seq);
  (*channel)->reply_seq.store(seq);
  (*channel)->clone_pid.store(0);

  Replica clone;
  clone.process.channel = *channel;
  clone.process.channel_inode = inode;
  clone.seen_seq = seq;
  clone.clone_pending = true;
  clone.restart = true;
  clone.channel_fd = channel_fd;
  clone.clone_deadline_ms = NowMs() + std::max(policy_.vote_timeout_ms, 1000);
  clone.cpu_s = old.cpu_s;
  clone.usage = old.usage;
  clone.detected_ms = restart.detected_ms;
  if (old.running) {
    retired_.push_back(std::move(old));  // killed, not reaped yet
  } else {
    munmap(old.process.channel, kChannelSize);
  }
  engine_.OnJoin(slot, donor);
  RecordView();
  RecoveryRecord record = check;
  record.process = vpid_;
  record.seq = engine_.seq();
  record.view_before = restart.view;
  record.view_after = engine_.view();
  record.slot = slot;
  record.donor = donor;
  record.reason = restart.reason;
  record.verified_with = verified_with;
  clone.recovery_index = report_.recoveries.size();
  report_.recoveries.push_back(record);
  report_.restarts++;
  replicas_[slot] = std::move(clone);
  (*fork_fds)[donor] = channel_fd;
  spdlog::warn("[v{} s{}] restarting replica {} as a clone of replica {} (memory verified against "
               "replica {}, {} bytes)",
               engine_.view(), engine_.seq(), slot, donor, verified_with, record.bytes_compared);
  return true;
}

// A clone reports in by writing its pid into its channel; one that does not within its
// deadline is dropped (and its slot queued for another try).
void Group::CheckClones() {
  for (size_t i = 0; i < replicas_.size(); ++i) {
    Replica& r = replicas_[i];
    if (!r.clone_pending || !r.running || r.killed) {
      continue;
    }
    int32_t pid = r.process.channel->clone_pid.load(std::memory_order_seq_cst);
    if (pid != 0) {
      AdoptClone(static_cast<int>(i), pid);
    } else if (NowMs() >= r.clone_deadline_ms) {
      Apply(engine_.OnFaulty(static_cast<int>(i), KillReason::kCrashed, NowMs()));
    }
  }
}


void Group::AdoptClone(int slot, pid_t pid) {
  Replica& r = replicas_[slot];
  bool known = false;
  for (const Replica& other : replicas_) {
    known = known || (other.process.pid == pid && &other != &r);
  }
  int fd = r.channel_fd;
  r.channel_fd = -1;
  program_thread_.RunOnMain([fd] { close(fd); });
  // A clone's claim is believed only if that process is nmr-run's child.
  if (pid <= 0 || known || ReadProcStat(pid).ppid != getpid()) {
    spdlog::warn("[v{} s{}] replica {}: its clone reported pid {}, which is not a new child of "
                 "nmr-run",
                 engine_.view(), engine_.seq(), slot, pid);
    Apply(engine_.OnFaulty(slot, KillReason::kProtocol, NowMs()));
    return;
  }
  r.process.pid = pid;
  r.clone_pending = false;
  r.cpu_ns_at_vote = CpuNanoseconds(pid);
  r.cpu_ns_at_prev_vote = r.cpu_ns_at_vote;
  if (!r.restart) {
    spdlog::debug("process {}: replica {} started (pid {})", vpid_, slot, pid);
    Supervisor::Wake();  // its parent's fork may be waiting for it (kForkDone)
    return;
  }
  RecoveryRecord& record = report_.recoveries[r.recovery_index];
  record.completed = true;
  record.ms = static_cast<double>(NowMs() - r.detected_ms);
  spdlog::info("[v{} s{}] replica {} is back (pid {}), {} ms after the fault was detected",
               engine_.view(), engine_.seq(), slot, pid, record.ms);
}

}  // namespace nmr
