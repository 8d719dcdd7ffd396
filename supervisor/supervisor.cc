#include "supervisor/supervisor.h"

#include "supervisor/control.h"
#include "supervisor/os/proc.h"

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
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "interface/syscall_table.h"
#include "supervisor/core/exit_codes.h"
#include "supervisor/core/filter.h"
#include "supervisor/core/marshal.h"
#include "supervisor/os/notify_responder.h"
#include "supervisor/os/perform.h"
#include "supervisor/os/program_thread.h"
#include "supervisor/core/report.h"
#include "supervisor/os/spawner.h"
#include "supervisor/core/vote_engine.h"

namespace nmr {



int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1'000'000;
}

// A replica's CPU time (the kernel's per-process CPU clock), or 0 once it is gone.
int64_t CpuNanoseconds(pid_t pid) {
  clockid_t clock = static_cast<clockid_t>((~static_cast<unsigned>(pid) << 3) | 2);
  timespec ts;
  if (clock_gettime(clock, &ts) != 0) {
    return 0;
  }
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

double CpuSeconds(const rusage& usage) {
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::string DescribeStatus(int status) {
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return name != nullptr ? std::string("killed by SIG") + name
                           : "killed by signal " + std::to_string(WTERMSIG(status));
  }
  return "exited with " + std::to_string(WEXITSTATUS(status));
}

Supervisor::Supervisor(const RunConfig& config, ProgramThread& program_thread)
    : config_(config),
      policy_(config.policy),
      program_thread_(program_thread),
      fault_done_(policy_.faults.size(), false) {}

int Supervisor::Run() {
  started_ = std::chrono::steady_clock::now();
  started_ms_ = NowMs();
  report_.replicas = policy_.replicas;
  report_.program = config_.argv;
  spdlog::debug("starting {} replica(s) of {}", policy_.replicas, config_.argv[0]);
  // The program's virtual pid is nmr-run's own: what a person sees in ps and kill.
  groups_.push_back(std::make_unique<Group>(*this, getpid()));
  own_pgid_ = getpgrp();
  foreground_pgid_ = own_pgid_;
  root().pgid_ = own_pgid_;
  root().sid_ = getsid(0);
  root().argv_ = config_.argv;
  Result<Ok> started = root().Start();
  if (!started) {
    spdlog::error("{}", started.error().message);
    report_.outcome = "error";
    return Conclude();
  }
  spdlog::debug("replicas started");
  program_thread_.Run([this] {
    root().StartRootExecutor();
    Loop();
    for (auto& group : groups_) {
      group->ForgetExecutor();
    }
    return 0;
  });
  return Conclude();
}

void Supervisor::Loop() {
  for (;;) {
    uint32_t event_seen = g_event_word.load(std::memory_order_acquire);
    HandleSignals();
    Reap();
    // By index: a fork adds a group while its parent takes its step.
    for (size_t i = 0; i < groups_.size(); ++i) {
      groups_[i]->Step();
    }
    // A collected zombie is gone for good (and the loop stays as short as the live tree).
    const Group* program = &root();
    std::erase_if(groups_, [this, program](const std::unique_ptr<Group>& group) {
      if (group.get() == program || !group->ended_ || !group->waited_) {
        return false;
      }
      AddToReport(*group);
      return true;
    });
    if (!AnyRunning()) {
      return;
    }
    StopWithTheProgram();
    WaitForEvent(event_seen);
  }
}

bool Supervisor::AnyRunning() const {
  return std::any_of(groups_.begin(), groups_.end(),
                     [](const auto& group) { return group->AnyRunning(); });
}

void Supervisor::StopAll() {
  stopping_ = true;
  for (auto& group : groups_) {
    group->KillAll();
  }
}

void Supervisor::SetOutcome(const std::string& outcome, int exit_code) {
  report_.outcome = outcome;
  exit_code_ = exit_code;
}

// A group's own vote decided its end (exit_group, or death by a signal after its last vote).
// The root group's end is the run's.
void Supervisor::OnGroupEnded(Group& group) {
  Wake();  // its parent may be waiting for it
  // Its children are init's now; init collects the ones already ended.
  for (auto& child : groups_) {
    if (child->parent_vpid_ == group.vpid_ && child->ended_) {
      child->waited_ = true;
    }
  }
  if (&group != &root()) {
    Group* parent = FindGroup(group.parent_vpid_);
    if (parent == nullptr || parent->ended_) {
      group.waited_ = true;
    } else if (group.exit_signal_to_parent_ != 0) {
      int status = group.exit_status_;
      SignalInfo info = {.code = WIFSIGNALED(status) ? CLD_KILLED : CLD_EXITED,
                         .pid = group.vpid_,
                         .uid = static_cast<int32_t>(getuid()),
                         .value = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status)};
      parent->PostSignal(group.exit_signal_to_parent_, info);
    }
    return;
  }
  if (stopping_) {
    return;  // the run was stopped (no majority, abort, a signal): its outcome is set
  }
  int status = group.exit_status_;
  if (WIFSIGNALED(status)) {
    report_.outcome = "signal";
    exit_signal_ = WTERMSIG(status);
  } else {
    report_.outcome = "exit";
    exit_code_ = WEXITSTATUS(status);
  }
}

// What a group adds to the report: its record in the tree, its refused calls, its CPU time.
void Supervisor::AddToReport(const Group& group) {
  report_.processes.push_back(group.Record());
  for (const auto& [what, count] : group.refused()) {
    report_.refused[what] += count;
  }
  group.AddCpuTimes(&report_.cpu_s);
}

int Supervisor::Conclude() {
  spdlog::debug("every replica has ended");
  if (!groups_.empty()) {
    root().ForwardEarlyOutput();
  }
  for (auto& group : groups_) {
    group->responder_.reset();
    AddToReport(*group);
  }
  std::sort(report_.processes.begin(), report_.processes.end(),
            [](const ProcessRecord& a, const ProcessRecord& b) { return a.pid < b.pid; });
  report_.wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  if (exit_signal_ != 0) {
    report_.exit_signal = exit_signal_;
  } else {
    report_.exit_code = exit_code_;
  }
  if (policy_.report) {
    std::ofstream out(*policy_.report);
    out << ToJson(report_).dump(2) << "\n";
    if (!out) {
      spdlog::error("cannot write the report to {}", *policy_.report);
    }
  }
  if (exit_signal_ != 0) {
    // Die the way the program died (or the way nmr-run was told to), without a core file.
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(exit_signal_, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, exit_signal_);
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
    raise(exit_signal_);
    return 128 + exit_signal_;
  }
  return exit_code_;
}

int RunUnderNmr(const RunConfig& config, ProgramThread& program_thread) {
  Supervisor supervisor(config, program_thread);
  return supervisor.Run();
}

}  // namespace nmr
