// One group: a process of the program run as N replicas. Its requests become votes, the
// vote engine's decisions become executed calls, replies and kills, and its end is decided
// by its own vote (DESIGN.md "Supervisor").
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "interface/syscall_table.h"
#include "supervisor/control.h"
#include "supervisor/core/exit_codes.h"
#include "supervisor/os/proc.h"

namespace nmr {

Group::Group(Supervisor& run, pid_t vpid)
    : run_(run),
      config_(run.config_),
      policy_(run.policy_),
      program_thread_(run.program_thread_),
      report_(run.report_),
      stopping_(run.stopping_),
      fault_done_(run.fault_done_),
      vpid_(vpid),
      engine_(policy_.replicas, policy_.vote_timeout_ms) {}

void Group::Step() {
  if (ended_) {
    return;
  }
  if (executing_ && tree_waiting_) {
    if (PollTreeCall()) {
      executing_ = false;
      tree_waiting_ = false;
      AfterPerformed();
    }
  } else if (executing_ && executor_->Done()) {
    executing_ = false;
    performer_->Complete();
    AfterPerformed();
  } else if (interrupting_ && executing_) {
    executor_->Interrupt();
  }
  if (replace_pending_) {
    replace_pending_ = false;
    ReplaceProgram(executing_call_);
    return;
  }
  if (!stopping_) {
    FireTimers();
    InjectTimedFaults();
    CheckClones();
    PollChannels();
    CheckStragglers();
    Apply(engine_.OnTick(NowMs()));
    AtBoundary();
    CheckEnd();
  }
  if (engine_.finished() && !AnyRunning()) {
    End();
  }
}

void Group::PostSignal(int sig, const SignalInfo& info, bool from_outside) {
  if (ended_) {
    return;
  }
  // As the kernel: SIGCONT drops pending stop signals and a stop signal a pending SIGCONT.
  if (sig == SIGCONT) {
    signals_for_program_ &= ~kStopSignalBits;
    if (stopped_ || stop_expected_ || AnyStopped()) {
      Continue();  // a real SIGCONT per replica (jobs.cc): the kernel runs a handler
      return;
    }
  } else if (((1ULL << (sig - 1)) & kStopSignalBits) != 0) {
    signals_for_program_ &= ~(1ULL << (SIGCONT - 1));
  } else if (sig == SIGKILL && (stopped_ || AnyStopped())) {
    for (Replica& r : replicas_) {
      if (r.running && !r.killed && r.process.pid > 0) {
        kill(r.process.pid, SIGKILL);  // a stopped process takes no reply: it dies where it is
      }
    }
    return;
  }
  deliver_now_ = deliver_now_ || !from_outside;
  signal_info_.emplace(sig, info);  // a standard signal already pending keeps its first info
  if (signals_for_program_ == 0) {
    signals_since_ms_ = NowMs();
  }
  signals_for_program_ |= 1ULL << (sig - 1);
  UpdateSignalfds();
  Supervisor::Wake();  // its step may have run already in this round of the loop
  if (executing_ && Interrupts(1ULL << (sig - 1))) {
    interrupting_ = true;
    if (!tree_waiting_) {
      executor_->Interrupt();
    }
  }
}

// A POSIX timer's signal that the program blocks stays here rather than in the replicas:
// the kernel keeps one such signal pending per timer and counts later expiries as overruns
// (si_overrun), which only works while it is still ours to count (timers.cc).
uint64_t Group::HeldTimerSignals() const {
  uint64_t held = 0;
  for (const auto& [sig, info] : signal_info_) {
    if (info.code == SI_TIMER) {
      held |= 1ULL << (sig - 1);
    }
  }
  return held & signals_for_program_ & executing_mask_;
}

// The siginfo of a signal the program sent itself (kill, raise), or of SIGPIPE for its write.
SignalInfo Group::OwnSignalInfo() const {
  bool to_thread = executing_call_.nr == SYS_tgkill || executing_call_.nr == SYS_tkill;
  return {.code = to_thread ? SI_TKILL : SI_USER,
          .pid = vpid_,
          .uid = static_cast<int32_t>(getuid())};
}

// Whether `signals` cut the executed call short: natively only one that the call's mask lets
// through does; a blocked one stays pending, and goes with the reply.
bool Group::Interrupts(uint64_t signals) const {
  constexpr uint64_t kUnblockable = (1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1));
  return (signals & (~executing_mask_ | kUnblockable)) != 0;
}

void Group::KillAll() {
  if (!quarantine_.empty()) {
    WriteForensics(-1);
  }
  for (Replica& r : replicas_) {
    if (r.running && !r.killed) {
      if (r.process.pid > 0) {
        kill(r.process.pid, SIGKILL);
      }
      r.killed = true;
      if (r.clone_pending) {
        r.running = false;  // no process we know of; PDEATHSIG ends it if it exists
      }
    }
  }
}

void Group::AddCpuTimes(std::vector<double>* cpu_s) const {
  cpu_s->resize(std::max(cpu_s->size(), replicas_.size()), 0.0);
  for (size_t i = 0; i < replicas_.size(); ++i) {
    // Replicas an execve replaced are counted evenly into their successors.
    (*cpu_s)[i] += replicas_[i].cpu_s + cpu_s_before_exec_ / static_cast<double>(replicas_.size());
  }
}

const std::map<std::string, uint64_t>& Group::refused() const {
  return performer_ ? performer_->refused() : refused_;
}

// The executor may still be blocked in a call (every replica died meanwhile) that would
// write into the performer's buffers: both live until the process ends.
void Group::ForgetExecutor() {
  if (executing_) {
    (void)performer_.release();
    (void)executor_.release();
  }
}

void Group::RecordView() {
  report_.views.push_back({vpid_, engine_.view(), engine_.Members()});
}

bool IsRunnable(pid_t pid) { return ReadProcStat(pid).state == 'R'; }


bool IsStopped(pid_t pid) {
  char state = ReadProcStat(pid).state;
  return state == 'T' || state == 't';
}

// A replica that has not voted by the deadline is hung only if it has used more CPU since
// its last vote than the step's leader needed for the same step, plus the timeout as a
// margin (DESIGN.md: on 2 cores a healthy replica is often merely late, because it got less
// CPU). One that is stopped, or asleep (no CPU at all, and not runnable) from one deadline
// to the next, or has not voted for 10 timeouts, is hung too.
// Otherwise the deadline moves on.
void Group::CheckStragglers() {
  if (stopped_) {
    return;  // stopped by the program's own stop signal (jobs.cc), not hung
  }
  std::optional<int64_t> deadline = engine_.NextDeadline();
  int64_t now = NowMs();
  if (!deadline || now < *deadline) {
    return;
  }
  int64_t margin_ns = static_cast<int64_t>(policy_.vote_timeout_ms) * 1'000'000;
  bool stuck_too_long = now - decided_at_ms_ >= 10LL * policy_.vote_timeout_ms;
  for (int r : engine_.Stragglers()) {
    Replica& replica = replicas_[r];
    if (replica.clone_pending || replica.stopped) {
      continue;  // CheckClones gives a clone its own deadline; jobs.cc judges a stop
    }
    int64_t cpu = CpuNanoseconds(replica.process.pid);
    int64_t used = cpu - replica.cpu_ns_at_vote;
    // Not one nanosecond of CPU since the last deadline of this same step, and not even
    // runnable: asleep where no healthy replica sleeps (a single-threaded program waiting on
    // a futex nobody will wake, say).
    bool asleep = replica.checked_step == engine_.seq() && replica.cpu_ns_at_check == cpu &&
                  !IsRunnable(replica.process.pid);
    replica.checked_step = engine_.seq();
    replica.cpu_ns_at_check = cpu;
    if (used > step_cpu_ns_ + margin_ns || stuck_too_long || asleep ||
        IsStopped(replica.process.pid)) {
      Apply(engine_.OnHung(r, now));
    }
  }
  // The others are merely slow: they get another timeout.
  engine_.PostponeDeadline(now + policy_.vote_timeout_ms);
}

// The outcome of the agreed call is ready: hand it out (with any signal sent to nmr-run
// meanwhile), or replace the program (execve).
void Group::AfterPerformed() {
  if (performer_->outcome().replace_program) {
    replace_pending_ = true;
    return;
  }
  // A signal from outside (sent to nmr-run) is delivered with the first call it interrupts
  // (one that waits, on the executor), or with any call once it has been pending for
  // kSignalGraceMs: a program that is about to wait (for input, say) then sees it *while*
  // waiting, as it would natively, where waiting is what a program mostly does when a person
  // presses Ctrl-C. One from within the tree (a child's SIGCHLD, a kill, a timer) goes with
  // the very next reply: natively it arrives as it is sent, and a parent that collects a
  // child with waitpid has seen its SIGCHLD by then.
  constexpr int64_t kSignalGraceMs = 50;
  if (!signalfds_.empty()) {
    KeepSignalfdSignals(performer_->outcome_to_fill());
  }
  uint64_t deliver = signals_for_program_ & ~HeldTimerSignals() & ~SignalfdSignals();
  if (deliver != 0 && (interrupting_ || deliver_now_ ||
                       NowMs() - signals_since_ms_ >= kSignalGraceMs)) {
    deliver_now_ = false;
    performer_->DeliverSignals(deliver, interrupting_);
    for (int sig = 1; sig <= 64; ++sig) {
      auto info = signal_info_.find(sig);
      if ((deliver & (1ULL << (sig - 1))) != 0 && info != signal_info_.end()) {
        if (auto timer = timers_.find(info->second.pid);
            info->second.code == SI_TIMER && timer != timers_.end()) {
          timer->second.last_overrun = info->second.uid;  // timer_getoverrun: as delivered
        }
        performer_->outcome_to_fill().signal_info.insert(*info);
        signal_info_.erase(info);
      }
    }
    spdlog::debug("[v{} s{}] delivering signals {:#x} to the program", engine_.view(),
                  engine_.seq(), deliver);
    signals_for_program_ &= ~deliver;
    UpdateSignalfds();
  }
  interrupting_ = false;
  Apply(engine_.OnExecuted(NowMs()));
}

// After the program's end (the engine finished), every replica must be gone within a vote
// timeout. One that is not (stopped, or stuck on its way out) is killed and reported, so that
// nmr-run never waits for it: its fault came after the program's last vote and changed
// nothing the outside world saw.
void Group::CheckEnd() {
  if (!engine_.finished() || stopping_) {
    return;
  }
  int64_t now = NowMs();
  if (finished_at_ms_ == 0) {
    finished_at_ms_ = now;
  }
  if (now >= finished_at_ms_ + policy_.vote_timeout_ms) {
    KillLeftovers("did not end within " + std::to_string(policy_.vote_timeout_ms) +
                  " ms of the program's end");
  }
}

void Group::KillLeftovers(const std::string& why) {
  for (size_t i = 0; i < replicas_.size(); ++i) {
    Replica& r = replicas_[i];
    if (!r.running || r.killed) {
      continue;
    }
    r.killed = true;
    if (r.clone_pending || r.process.pid <= 0) {
      r.running = false;  // no process we know of; PDEATHSIG ends it if it exists
      continue;
    }
    DivergenceRecord d;
    d.seq = engine_.seq();
    d.view = engine_.view();
    d.replica = static_cast<int>(i);
    d.syscall = "none";
    d.reason = "hung";
    d.detail = why + (IsStopped(r.process.pid) ? " (stopped)" : "");
    spdlog::warn("[v{} s{}] replica {} {}: killed", d.view, d.seq, i, d.detail);
    d.process = vpid_;
    report_.divergences.push_back(d);
    kill(r.process.pid, SIGKILL);
  }
}

void Group::PollChannels() {
  for (size_t i = 0; i < replicas_.size() && !stopping_; ++i) {
    Replica& r = replicas_[i];
    if (!r.running || r.killed || r.has_call || r.clone_pending) {
      continue;
    }
    uint32_t seq = r.process.channel->request_seq.load(std::memory_order_acquire);
    if (seq != r.seen_seq) {
      TakeRequest(static_cast<int>(i));
    }
  }
}

void Group::TakeRequest(int i) {
  Replica& r = replicas_[i];
  // Copied once into private memory; everything after works on the copy.
  Request request;
  std::memcpy(&request, &r.process.channel->request, sizeof request);
  uint32_t seq = r.process.channel->request_seq.load(std::memory_order_acquire);
  uint32_t expected = r.seen_seq + 1;
  stop_expected_ = false;  // it voted: the stop signal ran a handler, or it was continued
  r.seen_seq = seq;
  if (request.seq != seq || seq != expected) {
    // Only a wild write into its own channel makes these differ: that replica's fault.
    protocol_note_ = "a request stamped " + std::to_string(request.seq) + " under sequence " +
                     std::to_string(seq) + ", expected " + std::to_string(expected);
    spdlog::warn("replica {}: malformed request ({})", i, protocol_note_);
    r.has_call = false;
    Apply(engine_.OnFaulty(i, KillReason::kProtocol, NowMs()));
    return;
  }
  ProcessMemory memory(r.process.pid);
  r.call = Marshal(request, memory, SemaphoreCount);
  r.cpu_ns_at_prev_vote = r.cpu_ns_at_vote;
  r.cpu_ns_at_vote = CpuNanoseconds(r.process.pid);
  r.has_call = true;
  ++r.votes;
  ++r.votes_by_nr[r.call.nr];
  InjectAtVote(i);
  if (!r.running || r.killed) {
    return;  // a kill injected at this vote: its death is its vote
  }
  bool terminal = r.call.nr == SYS_exit_group || r.call.nr == SYS_exit;
  Apply(engine_.OnVote(i, r.call.digest, terminal, NowMs()));
}

void Group::Apply(EngineActions actions) {
  for (const EngineAction& action : actions) {
    switch (action.kind) {
      case EngineAction::Kind::kExecute:
        Execute(action);
        break;
      case EngineAction::Kind::kReply:
        Reply(action.replica);
        break;
      case EngineAction::Kind::kKill:
        Kill(action);
        break;
      case EngineAction::Kind::kFinish:
        Finish(action);
        break;
      case EngineAction::Kind::kNoMajority:
        spdlog::error("[v{} s{}] no majority: the replicas disagree and no value can win",
                      action.view, action.seq);
        RecordNoMajority(action);
        run_.SetOutcome("no-majority", kExitNoMajority);
        run_.StopAll();
        break;
    }
  }
}

void Group::Execute(const EngineAction& action) {
  Replica& leader = replicas_[action.replica];
  const Call& call = leader.call;
  report_.votes_total++;
  votes_++;
  report_.votes_by_syscall[call.spec.name != nullptr ? call.spec.name : SyscallName(call.nr)]++;
  spdlog::debug("[v{} s{}] agreed: {}", action.view, action.seq, DescribeCall(call));
  // The leader's call is copied: its slot may be refilled before the stragglers are judged.
  executing_call_ = call;
  // The signals the call blocks while it waits: sigsuspend's own mask; for sigwait,
  // everything but its set (it takes those); otherwise what the shim published.
  executing_mask_ = call.nr == kPseudoSyscallSuspend   ? call.args[0]
                    : call.nr == kPseudoSyscallSigwait ? ~call.args[0]
                                                       : leader.process.channel->call_mask;
  hold_step_ = HoldingReplies();
  step_cpu_ns_ = leader.cpu_ns_at_vote - leader.cpu_ns_at_prev_vote;
  decided_at_ms_ = NowMs();
  switch (StartTreeCall(executing_call_)) {
    case TreeCall::kReady:
      AfterPerformed();
      return;
    case TreeCall::kWaiting:
      executing_ = true;
      if (Interrupts(signals_for_program_)) {
        interrupting_ = true;
      }
      return;
    case TreeCall::kNotMine:
      break;
  }
  if (performer_->Start(executing_call_, leader.process.pid)) {
    AfterPerformed();
  } else {
    executing_ = true;
    if (Interrupts(signals_for_program_)) {
      interrupting_ = true;  // a pending signal interrupts the call as soon as it waits
      executor_->Interrupt();
    }
  }
}

void Group::Reply(int i) {
  if (hold_step_) {
    held_.push_back(i);  // released at the boundary (recovery.cc)
    return;
  }
  WriteReply(i, -1, -1);
}

void Group::WriteReply(int i, int fork_channel_fd, int fork_donor) {
  Replica& r = replicas_[i];
  const Outcome& outcome = performer_->outcome();
  ProcessMemory memory(r.process.pid);
  for (const auto& [address, bytes] : outcome.writes) {
    ssize_t written = memory.Write(address, bytes.data(), bytes.size());
    if (written == -ESRCH) {
      // It died after its vote (its death is reaped and judged next): nothing to tell.
      spdlog::debug("replica {}: gone before the result of {} reached it", i,
                    SyscallName(r.call.nr));
    } else if (written != static_cast<ssize_t>(bytes.size())) {
      spdlog::warn("replica {}: cannot write the result of {} into its memory", i,
                   SyscallName(r.call.nr));
    }
  }
  if ((outcome.signals & kStopSignalBits) != 0) {
    stop_expected_ = true;  // its replicas may stop themselves with this reply (jobs.cc)
  }
  Channel* ch = r.process.channel;
  ch->reply.seq = r.seen_seq;
  ch->reply.action = outcome.action;
  ch->reply.value = outcome.value;
  ch->reply.signals = outcome.signals;
  for (int sig = 1; sig <= 64; ++sig) {
    if ((outcome.signals & (1ULL << (sig - 1))) == 0) {
      continue;
    }
    auto known = outcome.signal_info.find(sig);
    if (known != outcome.signal_info.end()) {
      ch->signal_info[sig - 1] = known->second;
    } else {
      ch->signal_info[sig - 1] = OwnSignalInfo();
    }
  }
  ch->reply.flags = outcome.flags;
  if (fork_channel_fd >= 0) {
    ch->reply.flags |= kReplyFork | (static_cast<uint32_t>(fork_donor) << kReplyForkDonorShift);
  }
  ch->reply.fork_channel_fd = fork_channel_fd;
  if (outcome.action == ReplyAction::kFork) {
    // The program's fork: each replica forks into its own slot of the new group.
    ch->reply.fork_channel_fd = static_cast<size_t>(i) < fork_fds_.size() ? fork_fds_[i] : -1;
  }
  r.has_call = false;
  ch->reply_seq.store(r.seen_seq, std::memory_order_seq_cst);
  if (ch->replica_sleeping.load(std::memory_order_seq_cst) != 0) {
    syscall(SYS_futex, &ch->reply_seq, FUTEX_WAKE, 1, nullptr, nullptr, 0);
  }
}

void Group::Kill(const EngineAction& action) {
  Replica& r = replicas_[action.replica];
  RecordView();
  if (action.reason == KillReason::kFinished) {
    spdlog::debug("[v{} s{}] replica {} stopped: the program has ended", action.view, action.seq,
                  action.replica);
  } else {
    DivergenceRecord d;
    d.seq = action.seq;
    d.view = action.view;
    d.replica = action.replica;
    d.reason = KillReasonName(action.reason);
    if (r.clone_pending) {
      d.syscall = "none";
      d.detail = "the clone never reported (its donor could not fork, or it died at once)";
    } else if (action.reason == KillReason::kCrashed) {
      d.syscall = "death";
      d.detail = DescribeStatus(r.status);
      if (WIFEXITED(r.status)) {
        d.reason = "exited";  // ended on its own while the majority went on
      }
    } else if (action.reason == KillReason::kHung) {
      d.syscall = "none";
      d.detail = "no vote within " + std::to_string(policy_.vote_timeout_ms) +
                 " ms of the quorum" + (IsStopped(r.process.pid) ? " (stopped)" : "");
    } else if (action.reason == KillReason::kScrub) {
      d.syscall = "none";
      d.detail = "its writable memory differs from the majority's";
    } else if (action.reason == KillReason::kProtocol) {
      d.syscall = "none";
      d.detail = r.process.channel->fatal.code != 0
                     ? "its shim failed at shim.cc:" +
                           std::to_string(r.process.channel->fatal.line) + " (" +
                           strerror(-r.process.channel->fatal.code) + ")"
                     : "nonsense in its channel: " + protocol_note_;
    } else {
      d.syscall = SyscallName(r.call.nr);
      d.detail = DescribeDifference(r.call, executing_call_);
      if (r.call.nr == SYS_exit_group || r.call.nr == SYS_exit) {
        d.reason = "exited";  // asked to end the program while the majority went on
      }
    }
    spdlog::warn("[v{} s{}] replica {} {}: {} ({}); {} replica(s) left", action.view, action.seq,
                 action.replica, d.reason, d.syscall, d.detail, engine_.Members().size());
    d.process = vpid_;
    report_.divergences.push_back(d);
  }
  bool quarantine = policy_.EffectiveOnDivergence() == OnDivergence::kQuarantine &&
                    action.reason != KillReason::kFinished && !stopping_;
  if (quarantine) {
    Quarantine(r, action, report_.divergences.back());  // frozen, killed once dumped
  } else if (r.running && !r.killed && r.process.pid > 0) {
    kill(r.process.pid, SIGKILL);
  }
  r.killed = true;
  if (r.clone_pending) {
    r.running = false;  // no process we know of; PDEATHSIG ends it if it exists
  }
  // Its reply, if it was held for the boundary, will never be sent.
  held_.erase(std::remove(held_.begin(), held_.end(), action.replica), held_.end());
  if (action.reason != KillReason::kFinished) {
    QueueRestart(action);
  }
  if (policy_.EffectiveOnDivergence() == OnDivergence::kAbort &&
      action.reason != KillReason::kFinished && !stopping_) {
    spdlog::error("[v{} s{}] stopping the run (on_divergence: abort)", action.view, action.seq);
    run_.SetOutcome("divergence-abort", kExitNoMajority);
    run_.StopAll();
  }
}

// No value can win: what each member asked for goes into the report (with N = 2, one
// disagreement is enough), so that a person sees the disagreement, not only its end.
void Group::RecordNoMajority(const EngineAction& action) {
  for (int m : engine_.Members()) {
    const Replica& r = replicas_[m];
    DivergenceRecord d;
    d.seq = action.seq;
    d.view = action.view;
    d.replica = m;
    d.reason = "no-majority";
    if (r.has_call) {
      d.syscall = SyscallName(r.call.nr);
      d.detail = "asked for " + DescribeCall(r.call);
    } else if (!r.running) {
      d.syscall = "death";
      d.detail = DescribeStatus(r.status);
    } else {
      d.syscall = "none";
      d.detail = "had not voted";
    }
    d.process = vpid_;
    report_.divergences.push_back(d);
  }
}

void Group::Finish(const EngineAction& action) {
  Replica& leader = replicas_[action.replica];
  leader_ = action.replica;
  hold_step_ = false;  // the program ends: nothing to recover
  if (!quarantine_.empty()) {
    WriteForensics(-1);
  }
  if (leader.has_call && (leader.call.nr == SYS_exit_group || leader.call.nr == SYS_exit)) {
    exit_status_ = W_EXITCODE(static_cast<int>(leader.call.args[0] & 0xff), 0);
    report_.votes_total++;
    report_.votes_by_syscall[SyscallName(leader.call.nr)]++;
    executing_call_ = leader.call;
    performer_->Start(executing_call_, leader.process.pid);  // kExecuteLocally for the voters
    if (vfork_ && execs_ == 0) {
      GiveBackVforkWrites(action.replica);
    }
  } else {
    exit_status_ = leader.status;
  }
  // Its parent hears of it once every replica is gone (End, tree.cc).
  spdlog::debug("[v{} s{}] process {} decided its end: {}", action.view, action.seq, vpid_,
                DescribeStatus(exit_status_));
}

// What a replica wrote to its own stdout/stderr before its shim was in (ld.so's messages):
// every replica wrote the same, so one copy is taken. On the main thread (the pipes are in
// nmr-run's own table); without waiting, since a process this one forked may still hold
// the pipes' write ends.
std::array<std::string, 2> Group::TakeEarlyOutput() {
  std::array<std::string, 2> out;
  if (replicas_.empty()) {
    return out;
  }
  const ReplicaProcess* original = &replicas_[leader_].process;
  for (const Replica& r : replicas_) {
    if (original->stdout_pipe < 0 && r.process.stdout_pipe >= 0) {
      original = &r.process;  // a clone has no pipes of its own: its donor's are the same
    }
  }
  const ReplicaProcess& p = *original;
  if (p.stdout_pipe < 0) {
    return out;
  }
  int pipes[2] = {p.stdout_pipe, p.stderr_pipe};
  for (int i = 0; i < 2; ++i) {
    fcntl(pipes[i], F_SETFL, fcntl(pipes[i], F_GETFL) | O_NONBLOCK);
    char buffer[4096];
    ssize_t n;
    while ((n = read(pipes[i], buffer, sizeof buffer)) > 0) {
      out[i].append(buffer, static_cast<size_t>(n));
    }
  }
  return out;
}

void Group::WriteEarlyOutput(const std::array<std::string, 2>& out) {
  for (int i = 0; i < 2; ++i) {
    if (!out[i].empty() && write(i + 1, out[i].data(), out[i].size()) < 0) {
      break;
    }
  }
}

// The root's, at the end of the run (on the main thread): to nmr-run's own stdout/stderr.
void Group::ForwardEarlyOutput() { WriteEarlyOutput(TakeEarlyOutput()); }

// What nmr-run holds for a group that has ended: its channels, its replicas' pipes.
void Group::Release() {
  program_thread_.RunOnMain([this] {
    for (std::vector<Replica>* list : {&replicas_, &retired_}) {
      for (Replica& r : *list) {
        if (r.process.channel != nullptr) {
          munmap(r.process.channel, kChannelSize);
          r.process.channel = nullptr;
        }
        for (int* fd : {&r.process.stdout_pipe, &r.process.stderr_pipe, &r.channel_fd}) {
          if (*fd >= 0) {
            close(*fd);
            *fd = -1;
          }
        }
      }
    }
    responder_.reset();  // its fds are in nmr-run's own table too
    for (auto& [inode, fd] : signalfds_) {
      close(fd.read_end);
      close(fd.write_end);
    }
    signalfds_.clear();
  });
}

}  // namespace nmr
