// Job control (stopping and continuing a process). A stop signal the program takes with its
// default action (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) reaches every replica with the same
// reply, and each replica stops itself there, in the kernel: nmr-run, their real parent,
// sees each stop (wait4 WUNTRACED). Once every replica has stopped, the process is stopped:
// its parent gets SIGCHLD (CLD_STOPPED) and wait4(WUNTRACED) reports it. SIGCONT resumes it:
// nmr-run continues every replica with a real SIGCONT (the kernel runs a SIGCONT handler at
// the same point in each), and the parent gets CLD_CONTINUED. When every process of nmr-run's
// own process group is stopped (Ctrl-Z at a terminal), nmr-run stops itself, so the shell
// that started it sees the job stopped; its SIGCONT resumes them.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "supervisor/control.h"

namespace nmr {

bool Group::OnStopOrContinue(pid_t pid, int status) {
  for (Replica& r : replicas_) {
    if (r.process.pid != pid || !r.running) {
      continue;
    }
    // nmr itself stops replicas only with SIGSTOP (an injected hang, quarantine's freeze):
    // a terminal stop signal is always the program's, SIGSTOP when its reply carried one.
    int sig = WIFSTOPPED(status) ? WSTOPSIG(status) : 0;
    bool programs = sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU ||
                    (sig == SIGSTOP && stop_expected_);
    if (WIFCONTINUED(status)) {
      r.stopped = false;
    } else if (programs && !r.killed) {
      r.stopped = true;
      stop_signal_ = sig;
      MaybeStopped();
    }
    return true;
  }
  return false;
}

bool Group::AnyStopped() const {
  return std::any_of(replicas_.begin(), replicas_.end(),
                     [](const Replica& r) { return r.running && r.stopped; });
}

// Every replica still there has stopped (one may die or be killed meanwhile: OnReaped asks
// again): the process is stopped.
void Group::MaybeStopped() {
  bool all = std::all_of(replicas_.begin(), replicas_.end(), [](const Replica& m) {
    return !m.running || m.killed || m.stopped;
  });
  if (all && !stopped_ && AnyStopped()) {
    Stopped(stop_signal_);
  }
}

void Group::Stopped(int sig) {
  spdlog::debug("process {} stopped by SIG{}", vpid_, sigabbrev_np(sig));
  stopped_ = true;
  stop_signal_ = sig;
  stop_unreported_ = true;
  continue_unreported_ = false;
  NotifyParent(CLD_STOPPED, sig);
}

void Group::Continue() {
  bool was_stopped = stopped_;
  for (Replica& r : replicas_) {
    if (r.running && !r.killed && r.process.pid > 0) {
      kill(r.process.pid, SIGCONT);  // also drops a stop signal not taken yet, as natively
    }
    r.stopped = false;
  }
  stopped_ = false;
  stop_expected_ = false;
  if (was_stopped) {
    spdlog::debug("process {} continued", vpid_);
    stop_unreported_ = false;
    continue_unreported_ = true;
    NotifyParent(CLD_CONTINUED, SIGCONT);
  }
}

void Group::NotifyParent(int code, int status) {
  Supervisor::Wake();  // a parent waiting in wait4(WUNTRACED) looks again
  Group* parent = parent_vpid_ != 0 ? run_.FindGroup(parent_vpid_) : nullptr;
  if (parent != nullptr && !parent->ended_) {
    parent->PostSignal(SIGCHLD, {.code = code,
                                 .pid = vpid_,
                                 .uid = static_cast<int32_t>(getuid()),
                                 .value = status});
  }
}

// Every process of nmr-run's own process group is stopped: so is nmr-run, for the shell that
// started it (its SIGCONT comes back through HandleSignals).
void Supervisor::StopWithTheProgram() {
  bool any = false;
  for (const auto& group : groups_) {
    if (group->ended_ || group->pgid_ != own_pgid_) {
      continue;
    }
    if (!group->stopped_) {
      return;
    }
    any = true;
  }
  if (!any || stopped_with_program_) {
    return;
  }
  stopped_with_program_ = true;
  spdlog::debug("every process of nmr-run's process group is stopped: so is nmr-run");
  kill(getpid(), SIGSTOP);
}

}  // namespace nmr
