// The process tree (DESIGN.md "Supervisor": a process is a replica group). A program's fork,
// vfork, clone or clone3 (without CLONE_THREAD) is a vote like any other; once agreed, every replica
// of the group forks inside its shim into the same slot of a new group, which gets its own
// channels, vote engine and executor (with a copy of its parent's fd table, taken at the
// fork). Ids are virtual and identical in every replica: pids, the parent's pid, process
// groups and sessions. A group's end is decided by its own vote and reaches its parent as a
// zombie's status (wait4, waitid) and a SIGCHLD. Signals between groups are posted to the
// target group and delivered at its next agreed step.
#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "supervisor/control.h"
#include "supervisor/core/usage.h"
#include "supervisor/os/replica_state.h"

namespace nmr {
namespace {

// What glibc asks of clone for fork (SIGCHLD | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID) and
// posix_spawn (CLONE_VM | CLONE_VFORK | SIGCHLD). A child that would share memory or the fd
// table with its parent while both run (a thread without CLONE_THREAD) is not a process nmr
// can run as a group.
constexpr uint64_t kForkFlags = CSIGNAL | CLONE_VM | CLONE_VFORK | CLONE_CHILD_SETTID |
                                CLONE_CHILD_CLEARTID | CLONE_PARENT_SETTID;


}  // namespace

// clone3 counts when its struct is valid; one the kernel would refuse is answered by
// StartTreeCall, and a thread by the performer.
bool IsForkCall(const Call& call) {
  if (call.nr == SYS_clone3) {
    Clone3Request request = DecodeClone3(call);
    return request.error == 0 && (request.flags & CLONE_THREAD) == 0;
  }
  return call.nr == SYS_fork || call.nr == SYS_vfork ||
         (call.nr == SYS_clone && (call.args[0] & CLONE_THREAD) == 0);
}

pid_t Supervisor::NewVpid() { return root().vpid() + static_cast<pid_t>(++forks_); }

Group* Supervisor::FindGroup(pid_t vpid) {
  for (auto& group : groups_) {
    if (group->vpid() == vpid && !group->waited_) {
      return group.get();
    }
  }
  return nullptr;
}

// The parent's pid as the program sees it: an ended parent's children are init's, as natively.
pid_t Group::ParentVpid() const {
  if (parent_vpid_ == 0) {
    return getppid();  // the root's parent is nmr-run's
  }
  Group* parent = run_.FindGroup(parent_vpid_);
  return parent != nullptr && !parent->ended_ ? parent_vpid_ : 1;
}

Group::TreeCall Group::StartTreeCall(const Call& call) {
  const uint64_t* a = call.args;
  auto answer = [&](int64_t value) {
    performer_->BeginAnswer(call).value = value;
    return TreeCall::kReady;
  };
  auto target = [&](uint64_t pid) -> Group* {
    return static_cast<pid_t>(pid) == 0 ? this : run_.FindGroup(static_cast<pid_t>(pid));
  };
  switch (call.nr) {
    case SYS_fork:
    case SYS_vfork:
    case SYS_clone:
      if (!IsForkCall(call)) {
        return TreeCall::kNotMine;  // a thread (EAGAIN, in the performer)
      }
      return StartFork(call);
    case SYS_clone3: {
      // A clone of flags | exit_signal (the struct was read by Marshal).
      Clone3Request request = DecodeClone3(call);
      if (request.error != 0) {
        if (request.unsupported) {
          performer_->Refuse(call.nr,
                             "set_tid, CLONE_CLEAR_SIGHAND and CLONE_INTO_CGROUP are not "
                             "supported yet (ENOSYS: glibc falls back to clone)",
                             /*probe=*/true);
        }
        return answer(request.error);
      }
      if (!IsForkCall(call)) {
        return TreeCall::kNotMine;  // a thread (EAGAIN, in the performer)
      }
      return StartFork(call);
    }
    case kPseudoSyscallSigwait:
      sigwait_deadline_ms_ = static_cast<int64_t>(a[1]) < 0
                                 ? 0
                                 : NowMs() + static_cast<int64_t>(a[1] / 1'000'000);
      [[fallthrough]];
    case kPseudoSyscallForkDone:
    case kPseudoSyscallSuspend:
    case SYS_wait4:
    case SYS_waitid:
      performer_->BeginAnswer(call);
      tree_waiting_ = true;
      if (PollTreeCall()) {
        tree_waiting_ = false;
        return TreeCall::kReady;
      }
      return TreeCall::kWaiting;
    case SYS_getppid:
      return answer(ParentVpid());
    case SYS_getpgrp:
      return answer(pgid_);
    case SYS_getpgid:
    case SYS_getsid: {
      Group* g = target(a[0]);
      if (g == nullptr) {
        return answer(-ESRCH);
      }
      return answer(call.nr == SYS_getpgid ? g->pgid_ : g->sid_);
    }
    case SYS_setpgid: {
      Group* g = target(a[0]);
      if (g == nullptr || (g != this && g->parent_vpid_ != vpid_)) {
        return answer(-ESRCH);
      }
      if (static_cast<int64_t>(a[1]) < 0) {
        return answer(-EINVAL);
      }
      if (g->sid_ != sid_ || g->sid_ == g->vpid_) {
        return answer(-EPERM);  // another session, or a session leader
      }
      g->pgid_ = a[1] == 0 ? g->vpid_ : static_cast<pid_t>(a[1]);
      return answer(0);
    }
    case SYS_setsid:
      if (pgid_ == vpid_) {
        return answer(-EPERM);  // already a process group leader
      }
      sid_ = pgid_ = vpid_;
      return answer(vpid_);
    case SYS_kill:
      return SignalGroups(call, static_cast<pid_t>(a[0]), static_cast<int>(a[1]));
    case SYS_tkill:
    case SYS_tgkill: {
      // A thread: one per process, its tid its pid (raise() is tgkill(getpid(), gettid())).
      auto tid = static_cast<pid_t>(call.nr == SYS_tkill ? a[0] : a[1]);
      if (tid <= 0 || (call.nr == SYS_tgkill && static_cast<pid_t>(a[0]) <= 0)) {
        return answer(-EINVAL);
      }
      if (call.nr == SYS_tgkill && a[0] != a[1]) {
        return answer(-ESRCH);
      }
      return SignalGroups(call, tid, static_cast<int>(call.nr == SYS_tkill ? a[1] : a[2]));
    }
    case SYS_rt_sigqueueinfo:
    case SYS_rt_tgsigqueueinfo:
      return StartSigqueue(call);
    case SYS_alarm:
    case SYS_getitimer:
    case SYS_setitimer:
    case SYS_timer_create:
    case SYS_timer_settime:
    case SYS_timer_gettime:
    case SYS_timer_getoverrun:
    case SYS_timer_delete:
      return StartTimerCall(call);
    case SYS_getrusage:
    case SYS_times:
      return StartUsageCall(call);
    case SYS_signalfd:
    case SYS_signalfd4:
      return StartSignalfd(call);
    case SYS_read:
      return signalfds_.empty() ? TreeCall::kNotMine : StartSignalfdRead(call);
    case SYS_clock_gettime:
      if (a[0] == CLOCK_PROCESS_CPUTIME_ID || a[0] == CLOCK_THREAD_CPUTIME_ID) {
        return StartUsageCall(call);  // its own CPU time, not nmr-run's
      }
      return TreeCall::kNotMine;
    case SYS_ioctl:
      if (call.supported && (a[1] == TIOCGPGRP || a[1] == TIOCSPGRP)) {
        return TerminalGroupCall(call);
      }
      return TreeCall::kNotMine;
    default:
      return TreeCall::kNotMine;
  }
}

// sigqueue(3) and pthread_sigqueue(3): a signal with the sender's own siginfo (si_value).
Group::TreeCall Group::StartSigqueue(const Call& call) {
  const uint64_t* a = call.args;
  bool to_thread = call.nr == SYS_rt_tgsigqueueinfo;
  auto pid = static_cast<pid_t>(a[0]);
  int sig = static_cast<int>(to_thread ? a[2] : a[1]);
  const std::vector<uint8_t>& bytes = call.in[to_thread ? 3 : 2];
  if (to_thread && a[0] != a[1]) {
    performer_->BeginAnswer(call).value = -ESRCH;  // one thread per process: its tid is its pid
    return TreeCall::kReady;
  }
  SignalInfo info = {};
  if (bytes.size() < 32) {
    performer_->BeginAnswer(call).value = -EFAULT;
    return TreeCall::kReady;
  }
  std::memcpy(&info.code, bytes.data() + 8, sizeof info.code);
  std::memcpy(&info.pid, bytes.data() + 16, sizeof info.pid);
  std::memcpy(&info.uid, bytes.data() + 20, sizeof info.uid);
  std::memcpy(&info.value, bytes.data() + 24, sizeof info.value);
  // As the kernel: only a signal to oneself may claim to come from the kernel or from kill.
  if ((info.code >= 0 || info.code == SI_TKILL) && pid != vpid_) {
    performer_->BeginAnswer(call).value = -EPERM;
    return TreeCall::kReady;
  }
  if (pid <= 0) {
    performer_->BeginAnswer(call).value = -ESRCH;  // sigqueue names one process
    return TreeCall::kReady;
  }
  return SignalGroups(call, pid, sig, &info);
}

// tcgetpgrp and tcsetpgrp on nmr-run's terminal. Its real foreground group stays nmr-run's
// (so nmr-run gets the terminal's signals: HandleSignals passes them on to the virtual
// foreground group); the program sees and sets a virtual one, among its own process groups.
Group::TreeCall Group::TerminalGroupCall(const Call& call) {
  const uint64_t* a = call.args;
  Outcome& outcome = performer_->BeginAnswer(call);
  pid_t real = 0;
  int error = 0;
  InTable([&] {
    if (ioctl(static_cast<int>(a[0]), TIOCGPGRP, &real) != 0) {
      error = errno;
    }
  });
  if (error != 0) {
    outcome.value = -error;
    return TreeCall::kReady;
  }
  bool ours = real == run_.own_pgid_;  // nmr-run's terminal, with nmr-run in the foreground
  if (a[1] == TIOCGPGRP) {
    pid_t shown = ours ? run_.foreground_pgid_ : real;
    outcome.writes.emplace_back(a[2], Bytes(static_cast<int32_t>(shown)));
    outcome.value = 0;
    return TreeCall::kReady;
  }
  int32_t pgid = 0;
  if (call.in[2].size() != sizeof pgid) {
    outcome.value = -EFAULT;
    return TreeCall::kReady;
  }
  std::memcpy(&pgid, call.in[2].data(), sizeof pgid);
  if (!ours) {
    outcome.value = -ENOTTY;  // not the terminal nmr-run runs in the foreground of
    return TreeCall::kReady;
  }
  bool exists = std::any_of(run_.groups_.begin(), run_.groups_.end(), [&](const auto& g) {
    return !g->ended_ && g->pgid_ == pgid && g->sid_ == sid_;
  });
  if (pgid < 0) {
    outcome.value = -EINVAL;
  } else if (!exists) {
    outcome.value = -EPERM;
  } else {
    spdlog::debug("process {} puts process group {} in the terminal's foreground", vpid_, pgid);
    run_.foreground_pgid_ = pgid;
    outcome.value = 0;
  }
  return TreeCall::kReady;
}

// kill(2)'s targets within the tree (tkill, tgkill and the sigqueue calls name a pid): a pid,
// the caller's process group (0), every process but the caller (-1), or a process group
// (-pgid). The caller's own share is voted, then queued by each of its replicas on itself;
// the others get it with their next reply. `queued`: the siginfo sigqueue gave (the kernel
// takes it as it is, once it has checked that it does not pretend to come from the kernel).
Group::TreeCall Group::SignalGroups(const Call& call, pid_t pid, int sig,
                                    const SignalInfo* queued) {
  Outcome& outcome = performer_->BeginAnswer(call);
  if (sig < 0 || sig > 64) {
    outcome.value = -EINVAL;
    return TreeCall::kReady;
  }
  auto included = [&](const Group& g) {
    if (g.ended_ || g.waited_) {
      return pid > 0 && g.vpid_ == pid && !g.waited_;  // a zombie can be signalled (no effect)
    }
    if (pid > 0) {
      return g.vpid_ == pid;
    }
    if (pid == 0) {
      return g.pgid_ == pgid_;
    }
    if (pid == -1) {
      return &g != this;
    }
    return g.pgid_ == -pid;
  };
  int32_t code = call.nr == SYS_kill ? SI_USER : SI_TKILL;
  SignalInfo info = queued != nullptr
                        ? *queued
                        : SignalInfo{.code = code, .pid = vpid_, .uid = static_cast<int32_t>(getuid())};
  bool found = false;
  for (auto& group : run_.groups_) {
    if (!included(*group)) {
      continue;
    }
    found = true;
    if (sig == 0 || group->ended_) {
      continue;
    }
    if (group.get() == this) {
      outcome.signals |= 1ULL << (sig - 1);
      if (queued != nullptr) {
        outcome.signal_info[sig] = info;
      }
    } else {
      spdlog::debug("process {} sends SIG{} to process {}", vpid_, sigabbrev_np(sig),
                    group->vpid_);
      group->PostSignal(sig, info);
    }
  }
  outcome.value = found ? 0 : -ESRCH;
  return TreeCall::kReady;
}

Group::TreeCall Group::StartFork(const Call& call) {
  uint64_t flags = SIGCHLD;
  if (call.nr == SYS_vfork) {
    flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
  } else if (call.nr == SYS_clone) {
    flags = call.args[0];
  } else if (call.nr == SYS_clone3) {
    flags = DecodeClone3(call).flags;  // valid: StartTreeCall checked it
  }
  Outcome& outcome = performer_->BeginAnswer(call);
  bool shares_memory = (flags & CLONE_VM) != 0 && (flags & CLONE_VFORK) == 0;
  if ((flags & ~kForkFlags) != 0 || shares_memory) {
    performer_->Refuse(call.nr,
                       "this kind of child process is not supported yet (flags " +
                           std::to_string(flags) + ", EINVAL)",
                       false);
    outcome.value = -EINVAL;
    return TreeCall::kReady;
  }
  auto child = std::make_unique<Group>(run_, run_.NewVpid());
  Result<Ok> started = child->StartForked(*this, flags);
  if (!started) {
    spdlog::error("process {}: cannot start a child process: {}", vpid_, started.error().message);
    outcome.value = -EAGAIN;
    return TreeCall::kReady;
  }
  fork_fds_.assign(replicas_.size(), -1);
  for (size_t i = 0; i < child->replicas_.size() && i < fork_fds_.size(); ++i) {
    fork_fds_[i] = child->replicas_[i].channel_fd;
  }
  forked_vpid_ = child->vpid_;
  spdlog::debug("[v{} s{}] process {} forks process {}", engine_.view(), engine_.seq(), vpid_,
                child->vpid_);
  run_.groups_.push_back(std::move(child));
  outcome.action = ReplyAction::kFork;
  outcome.value = 0;
  return TreeCall::kReady;
}

// A forked group: N replicas yet to be born (each reports in like a clone), an executor with
// a copy of the parent's fd table, the parent's ids.
Result<Ok> Group::StartForked(Group& parent, uint64_t flags) {
  parent_vpid_ = parent.vpid_;
  pgid_ = parent.pgid_;
  sid_ = parent.sid_;
  argv_ = parent.argv_;
  exit_signal_to_parent_ = static_cast<int>(flags & CSIGNAL);
  vfork_ = (flags & CLONE_VFORK) != 0;
  Result<std::unique_ptr<Executor>> executor = MakeError("not started");
  // Made on the parent's executor, whose table is the parent's (the root's shares the
  // program thread's).
  parent.executor_->RunFunction([&executor] {
    executor = Executor::StartUnshared(&g_event_word);
    return int64_t{0};
  });
  if (!executor) {
    return executor.error();
  }
  executor_ = std::move(*executor);
  executor_owns_table_ = true;
  InheritSignalfds(parent);
  performer_ = std::make_unique<Performer>(*executor_, vpid_, /*inline_ok=*/false);
  plan_ = parent.plan_;
  plan_.virtual_pid = vpid_;
  plan_.executor_tid = executor_->tid();
  spin_iterations_ = parent.spin_iterations_;
  equalized_ = parent.equalized_;
  replicas_.resize(parent.replicas_.size());
  Result<Ok> made = Ok{};
  // The memfds must be in nmr-run's own fd table, where the children find them through /proc.
  program_thread_.RunOnMain([&] {
    for (size_t i = 0; i < replicas_.size(); ++i) {
      int fd = -1;
      Result<Channel*> channel = CreateChannel(plan_, static_cast<int>(i), &fd);
      if (!channel) {
        made = channel.error();
        return;
      }
      Replica& r = replicas_[i];
      r.process.channel = *channel;
      r.process.channel_inode = ChannelInode(fd);
      r.channel_fd = fd;
    }
  });
  int64_t deadline = NowMs() + std::max(policy_.vote_timeout_ms, 1000);
  for (Replica& r : replicas_) {
    r.running = r.process.channel != nullptr;
    r.clone_pending = true;
    r.clone_deadline_ms = deadline;
  }
  return made;
}

// A call that waits for the tree: true once its outcome is ready.
bool Group::PollTreeCall() {
  const Call& call = executing_call_;
  Outcome& outcome = performer_->outcome_to_fill();
  const uint64_t* a = call.args;
  if (call.nr == SYS_read) {
    return PollSignalfdRead();
  }
  if (call.nr == kPseudoSyscallForkDone) {
    // The parent goes on once every child replica has reported in (or was dropped); after a
    // vfork, once the child has exec'd or ended, as the kernel holds a vfork's parent.
    Group* child = run_.FindGroup(forked_vpid_);
    if (child != nullptr && !child->Born()) {
      return false;
    }
    if (child != nullptr && child->vfork_ && child->execs_ == 0 && !child->ended_) {
      return false;
    }
    outcome.value = static_cast<int64_t>(a[0]) < 0 ? static_cast<int64_t>(a[0]) : forked_vpid_;
    return true;
  }
  if (call.nr == kPseudoSyscallSuspend || call.nr == kPseudoSyscallSigwait) {
    // sigsuspend: a signal its mask lets through; sigwait: one of its set.
    uint64_t wanted = call.nr == kPseudoSyscallSuspend ? ~a[0] : a[0];
    if ((signals_for_program_ & wanted) != 0) {
      interrupting_ = true;  // the pending signals go with this reply
      outcome.value = 0;
      return true;
    }
    if (call.nr == kPseudoSyscallSigwait && sigwait_deadline_ms_ != 0 &&
        NowMs() >= sigwait_deadline_ms_) {
      outcome.value = -EAGAIN;
      return true;
    }
    return false;
  }
  // wait4(pid, status, options, rusage) or waitid(idtype, id, infop, options, rusage).
  bool is_waitid = call.nr == SYS_waitid;
  uint64_t options = is_waitid ? a[3] : a[2];
  pid_t pid = -1;  // wait4's selector
  if (is_waitid) {
    switch (a[0]) {
      case P_ALL:
        pid = -1;
        break;
      case P_PID:
        pid = static_cast<pid_t>(a[1]);
        break;
      case P_PGID:
        pid = a[1] == 0 ? 0 : -static_cast<pid_t>(a[1]);
        break;
      default:
        outcome.value = -EINVAL;  // P_PIDFD: pidfds are not supported yet
        return true;
    }
  }
  auto selected = [&](const Group& g) {
    if (g.parent_vpid_ != vpid_ || g.waited_) {
      return false;
    }
    if (pid > 0) {
      return g.vpid_ == pid;
    }
    if (pid == 0) {
      return g.pgid_ == pgid_;
    }
    return pid == -1 || g.pgid_ == -pid;
  };
  // What a child has to report: its end, or (if asked for) a stop or a continuation.
  bool exits = !is_waitid || (options & WEXITED) != 0;
  enum class Report { kNone, kExit, kStop, kContinue };
  auto report_of = [&](const Group& g) {
    if (g.ended_) {
      return exits ? Report::kExit : Report::kNone;
    }
    if (g.stop_unreported_ && g.stopped_ && (options & WUNTRACED) != 0) {
      return Report::kStop;  // WUNTRACED is waitid's WSTOPPED
    }
    if (g.continue_unreported_ && (options & WCONTINUED) != 0) {
      return Report::kContinue;
    }
    return Report::kNone;
  };
  bool any = false;
  Group* child = nullptr;
  Report report = Report::kNone;
  for (auto& group : run_.groups_) {
    if (selected(*group)) {
      any = true;
      if (child == nullptr && report_of(*group) != Report::kNone) {
        child = group.get();
        report = report_of(*group);
      }
    }
  }
  if (!any) {
    outcome.value = -ECHILD;
    return true;
  }
  if (child == nullptr && (options & WNOHANG) == 0) {
    if (interrupting_) {
      outcome.value = -EINTR;  // a signal came first
      return true;
    }
    return false;
  }
  // The wait status, and waitid's si_code and si_status.
  int status = 0;
  int32_t code = 0;
  int32_t child_status = 0;
  switch (report) {
    case Report::kExit:
      status = child->exit_status_;
      code = WIFSIGNALED(status) ? CLD_KILLED : CLD_EXITED;
      child_status = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
      break;
    case Report::kStop:
      status = W_STOPCODE(child->stop_signal_);
      code = CLD_STOPPED;
      child_status = child->stop_signal_;
      break;
    case Report::kContinue:
      status = 0xffff;  // WIFCONTINUED
      code = CLD_CONTINUED;
      child_status = SIGCONT;
      break;
    case Report::kNone:
      break;
  }
  if (child != nullptr && (options & WNOWAIT) == 0) {
    if (report == Report::kExit) {
      child->waited_ = true;
      AddUsage(children_usage_, child->TotalUsage());
    } else {
      child->stop_unreported_ = false;
      child->continue_unreported_ = false;
    }
  }
  if (is_waitid) {
    struct {
      int32_t signo, error, code, pad;
      int32_t pid, uid, status;
    } info = {};
    if (child != nullptr) {
      info.signo = SIGCHLD;
      info.code = code;
      info.pid = child->vpid_;
      info.uid = static_cast<int32_t>(getuid());
      info.status = child_status;
    }
    if (a[2] != 0) {
      outcome.writes.emplace_back(a[2], Bytes(info));
    }
    outcome.value = 0;
  } else {
    if (child != nullptr && a[1] != 0) {
      outcome.writes.emplace_back(a[1], Bytes(static_cast<int32_t>(status)));
    }
    outcome.value = child != nullptr ? child->vpid_ : 0;
  }
  uint64_t rusage_address = is_waitid ? a[4] : a[3];
  if (child != nullptr && rusage_address != 0) {
    outcome.writes.emplace_back(rusage_address, Bytes(child->TotalUsage()));
  }
  return true;
}

ProcessRecord Group::Record() const {
  ProcessRecord record{vpid_, parent_vpid_, argv_, {}, {}, votes_, execs_};
  if (ended_ && WIFSIGNALED(exit_status_)) {
    record.exit_signal = WTERMSIG(exit_status_);
  } else if (ended_) {
    record.exit_code = WEXITSTATUS(exit_status_);
  }
  return record;
}

// A vfork child (posix_spawn's) ends without having exec'd: natively it ran in its parent's
// memory, which still holds what it wrote (posix_spawn's error code, errno). Called when the
// child's exit is decided: each parent replica gets the writes of the child replica of its
// slot if that one voted the exit (it waits for the reply: its memory is still), else the
// leader's (a straggler is killed now, the program having ended). Only the parent's own state
// ranges are compared, its stack cut at the signal frame of its fork: the child's writes
// above it (into the program's frames) are the ones that count. A parent replica that has
// not voted kForkDone yet is in the shim between its fork and that vote, where it never
// touches the program's memory (and the shim's own state is skipped).
void Group::GiveBackVforkWrites(int leader) {
  Group* parent = run_.FindGroup(parent_vpid_);
  if (parent == nullptr || parent->ended_ || parent->forked_vpid_ != vpid_) {
    return;
  }
  for (size_t slot = 0; slot < parent->replicas_.size() && slot < replicas_.size(); ++slot) {
    Replica& mine = parent->replicas_[slot];
    if (!mine.running || mine.killed || mine.clone_pending) {
      continue;
    }
    const Replica& own = replicas_[slot];
    int source = own.running && !own.killed && own.has_call ? static_cast<int>(slot) : leader;
    Channel* ch = mine.process.channel;
    Result<size_t> copied = CopyVforkWrites(Live(source), parent->Live(static_cast<int>(slot)),
                                            ch->shim_state[0], ch->shim_state[1]);
    if (copied) {
      spdlog::debug("process {}: replica {}'s writes as a vfork child ({} bytes) given to process {}'s replica {}",
                    vpid_, source, *copied, parent->vpid_, slot);
    } else {
      spdlog::warn("process {}: cannot give replica {}'s vfork writes to its parent: {}", vpid_,
                   source, copied.error().message);
    }
  }
}

// Every replica of a forked group has reported in or was dropped.
bool Group::Born() const {
  return std::none_of(replicas_.begin(), replicas_.end(),
                      [](const Replica& r) { return r.clone_pending && r.running; });
}

// Its own vote decided its end and every replica is gone: the table closes (a pipe's readers
// see EOF), and its status waits for its parent.
void Group::End() {
  ended_ = true;
  if (!IsRoot()) {
    // ld.so's messages (a missing library): to the process's own stdout and stderr.
    std::array<std::string, 2> early;
    program_thread_.RunOnMain([&] { early = TakeEarlyOutput(); });
    if (!early[0].empty() || !early[1].empty()) {
      InTable([&] { WriteEarlyOutput(early); });
    }
  }
  if (executing_ && !tree_waiting_ && executor_ && !executor_->Done()) {
    spdlog::debug("process {}: its executor is still in a call; left to end with nmr-run", vpid_);
    ForgetExecutor();  // blocked in a call nobody will take the result of
  } else if (executor_owns_table_) {
    refused_ = performer_->refused();
    performer_.reset();
    executor_.reset();
  } else {
    InTable([] { syscall(SYS_close_range, 0, ~0U, 0); });
  }
  spdlog::debug("process {} ended: {}", vpid_, DescribeStatus(exit_status_));
  if (!IsRoot()) {
    Release();  // the root's pipes still hold what Conclude forwards
  }
  run_.OnGroupEnded(*this);
}

}  // namespace nmr
