#include "supervisor/supervisor.h"

#include "supervisor/control.h"

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

std::atomic<uint32_t> g_event_word{0};

namespace {

std::atomic<uint64_t> g_pending_signals{0};

constexpr int kWatchedSignals[] = {SIGCHLD, SIGINT,  SIGTERM, SIGHUP,
                                   SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
sigset_t g_original_mask;
std::vector<std::pair<int, struct sigaction>> g_original_actions;

void OnSignal(int sig) {
  g_pending_signals.fetch_or(1ULL << sig);
  g_event_word.fetch_add(1);
  syscall(SYS_futex, &g_event_word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace

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

static double CpuSeconds(const rusage& usage) {
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
      engine_(policy_.replicas, policy_.vote_timeout_ms),
      fault_done_(policy_.faults.size(), false) {}

Result<Ok> Supervisor::Start() {
  ResolveError resolve_error;
  const char* path_env = getenv("PATH");
  ResolvedProgram program =
      ResolveProgram(config_.argv[0], path_env ? path_env : "", &resolve_error);
  if (program.path.empty()) {
    exit_code_ = resolve_error.exit_code;
    return MakeError(resolve_error.message);
  }
  std::vector<std::string> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    envp.emplace_back(*e);
  }
  return StartReplicas(program.path, config_.argv, envp);
}

Result<Ok> Supervisor::StartReplicas(const std::string& path, const std::vector<std::string>& argv,
                                     const std::vector<std::string>& envp) {
  SpawnPlan plan;
  plan.path = path;
  plan.argv = argv;
  // LD_PRELOAD=<shim>[:<the program's own>]; the shim takes itself out again at start-up.
  std::string preload = config_.shim_path;
  for (const std::string& e : envp) {
    if (e.rfind("LD_PRELOAD=", 0) == 0) {
      if (e.size() > 11) {
        preload += ":" + e.substr(11);
      }
      continue;
    }
    plan.envp.push_back(e);
  }
  plan.envp.push_back("LD_PRELOAD=" + preload);
  plan.replicas = policy_.replicas;
  plan.virtual_pid = getpid();
  plan.executor_tid = program_thread_.tid();
  plan.shim_filter = BuildShimFilter();
  plan.fast_path = config_.fast_path;
  // Polling pays when every replica and the control loop have a core of their own; with
  // fewer cores it only steals CPU from the replicas (DESIGN.md: 2-3x slower on 2 cores).
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  spin_iterations_ = policy_.replicas + 1 <= cpus ? 4000 : 0;
  plan.spin_iterations = spin_iterations_;
  if (getrandom(plan.at_random.data(), plan.at_random.size(), 0) != 16) {
    return MakeError("getrandom: " + std::string(strerror(errno)));
  }
  plan.original_mask = g_original_mask;
  plan.original_actions = g_original_actions;
  // The program's working directory is the executor's (a chdir before an execve moved it).
  std::string cwd = "/proc/self/task/" + std::to_string(program_thread_.tid()) + "/cwd";
  plan.cwd_fd = open(cwd.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  Result<std::vector<ReplicaProcess>> spawned = SpawnReplicas(plan);
  if (plan.cwd_fd >= 0) {
    close(plan.cwd_fd);
  }
  if (!spawned) {
    exit_code_ = kExitOwnError;
    return spawned.error();
  }
  plan_ = plan;
  plan_.cwd_fd = -1;
  replicas_.clear();
  std::vector<int> listeners;
  for (ReplicaProcess& p : *spawned) {
    Replica r;
    r.process = p;
    listeners.push_back(p.listener);
    replicas_.push_back(std::move(r));
  }
  uint64_t seed;
  std::memcpy(&seed, plan.at_random.data(), sizeof seed);
  responder_ = std::make_unique<NotifyResponder>(std::move(listeners), seed);
  RecordView();
  return Ok{};
}

// An agreed execve that passed the kernel's checks: the replicas are replaced by new ones
// running the new program. What execve keeps lives in the supervisor already: the virtual
// pid, the fd table and cwd (the executor's; close-on-exec fds are closed here).
void Supervisor::ReplaceProgram(const Call& call) {
  auto split = [](const std::vector<uint8_t>& joined) {
    std::vector<std::string> out;
    std::string current;
    for (uint8_t c : joined) {
      if (c == 0) {
        out.push_back(current);
        current.clear();
      } else {
        current.push_back(static_cast<char>(c));
      }
    }
    return out;
  };
  std::string path(call.in[0].begin(), call.in[0].end());
  std::vector<std::string> argv = split(call.in[1]);
  std::vector<std::string> envp = split(call.in[2]);
  std::string shown = path;
  if (!path.empty() && path[0] != '/') {
    path = "/proc/self/task/" + std::to_string(program_thread_.tid()) + "/cwd/" + path;
  }
  std::optional<ResolveError> problem;
  // Reading the file opens an fd: on the main thread, never in the program's table.
  program_thread_.RunOnMain([&] { problem = CheckExecutable(path); });
  if (problem) {
    // The kernel would have let it run (a static program): nmr cannot follow it there.
    spdlog::error("execve {}: {}", shown, problem->message);
    report_.outcome = "error";
    exit_code_ = problem->exit_code;
    StopAll();
    return;
  }
  spdlog::debug("[v{} s{}] execve {}: replacing the replicas", engine_.view(), engine_.seq(),
                shown);
  for (std::vector<Replica>* list : {&replicas_, &retired_}) {
    for (Replica& r : *list) {
      if (r.running && r.process.pid > 0) {
        kill(r.process.pid, SIGKILL);
        int status;
        rusage usage;
        wait4(r.process.pid, &status, __WALL, &usage);
        cpu_s_before_exec_ += CpuSeconds(usage);
      }
      r.running = false;
    }
  }
  // The new program starts at full strength: nothing is left to recover.
  held_.clear();
  restarts_.clear();
  equalized_ = false;
  CloseOnExec();
  report_.execs++;
  engine_ = VoteEngine(policy_.replicas, policy_.vote_timeout_ms, engine_.view() + 1);
  // nmr-run's own fds (pipes, listeners) and forking belong to the main thread.
  Result<Ok> started = Ok{};
  program_thread_.RunOnMain([&] {
    for (std::vector<Replica>* list : {&replicas_, &retired_}) {
      for (Replica& r : *list) {
        munmap(r.process.channel, kChannelSize);
        for (int fd : {r.process.stdout_pipe, r.process.stderr_pipe, r.channel_fd}) {
          if (fd >= 0) {
            close(fd);
          }
        }
      }
    }
    retired_.clear();
    responder_.reset();
    started = StartReplicas(path, argv, envp);
  });
  if (!started) {
    spdlog::error("execve {}: {}", shown, started.error().message);
    report_.outcome = "error";
    exit_code_ = kExitOwnError;
    replicas_.clear();
  }
}

// execve closes the fds marked close-on-exec. The program's table is this thread's; the
// listing is read on the main thread, so its own directory fd is not in the program's table.
void Supervisor::CloseOnExec() {
  std::vector<int> to_close;
  program_thread_.RunOnMain([&] {
    std::string dir = "/proc/self/task/" + std::to_string(program_thread_.tid()) + "/fdinfo/";
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      std::ifstream info(entry.path());
      std::string key;
      std::string value;
      while (info >> key >> value) {
        if (key == "flags:" && (std::stoul(value, nullptr, 8) & O_CLOEXEC) != 0) {
          to_close.push_back(std::stoi(entry.path().filename().string()));
        }
      }
    }
  });
  for (int fd : to_close) {
    close(fd);
  }
}

void Supervisor::RecordView() { report_.views.push_back({engine_.view(), engine_.Members()}); }

int Supervisor::Run() {
  started_ = std::chrono::steady_clock::now();
  started_ms_ = NowMs();
  report_.replicas = policy_.replicas;
  report_.program = config_.argv;
  spdlog::debug("starting {} replica(s) of {}", policy_.replicas, config_.argv[0]);
  Result<Ok> started = Start();
  spdlog::debug("replicas started");
  if (!started) {
    spdlog::error("{}", started.error().message);
    report_.outcome = "error";
    return Conclude();
  }
  program_thread_.Run([this] {
    executor_ = Executor::Start(&g_event_word);
    performer_ = std::make_unique<Performer>(*executor_, getpid());
    Loop();
    if (executing_) {
      // The executor may still be blocked in a call (every replica died meanwhile) that
      // would write into these buffers: they live until the process ends.
      (void)performer_.release();
      (void)executor_.release();
    }
    return 0;
  });
  return Conclude();
}

// Whether the process is stopped (SIGSTOP, a terminal stop): it can make no progress at all.
static bool IsStopped(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t paren = text.rfind(')');
  return paren != std::string::npos && paren + 2 < text.size() &&
         (text[paren + 2] == 'T' || text[paren + 2] == 't');
}

// A replica that has not voted by the deadline is hung only if it has used more CPU since
// its last vote than the step's leader needed for the same step, plus the timeout as a
// margin (DESIGN.md: on 2 cores a healthy replica is often merely late, because it got less
// CPU). One that is stopped, or has used almost none for 10 timeouts (stuck, not spinning),
// is hung too.
// Otherwise the deadline moves on.
void Supervisor::CheckStragglers() {
  std::optional<int64_t> deadline = engine_.NextDeadline();
  int64_t now = NowMs();
  if (!deadline || now < *deadline) {
    return;
  }
  int64_t margin_ns = static_cast<int64_t>(policy_.vote_timeout_ms) * 1'000'000;
  bool stuck_too_long = now - decided_at_ms_ >= 10LL * policy_.vote_timeout_ms;
  for (int r : engine_.Stragglers()) {
    const Replica& replica = replicas_[r];
    if (replica.clone_pending) {
      continue;  // CheckClones gives a clone its own deadline
    }
    int64_t used = CpuNanoseconds(replica.process.pid) - replica.cpu_ns_at_vote;
    if (used > step_cpu_ns_ + margin_ns || stuck_too_long || IsStopped(replica.process.pid)) {
      Apply(engine_.OnHung(r, now));
    }
  }
  // The others are merely slow: they get another timeout.
  engine_.PostponeDeadline(now + policy_.vote_timeout_ms);
}

// The outcome of the agreed call is ready: hand it out (with any signal sent to nmr-run
// meanwhile), or replace the program (execve).
void Supervisor::AfterPerformed() {
  if (performer_->outcome().replace_program) {
    replace_pending_ = true;
    return;
  }
  // A signal is delivered with the first call it interrupts (one that waits, on the
  // executor), or with any call once it has been pending for kSignalGraceMs: a program that
  // is about to wait (for input, say) then sees it *while* waiting, as it would natively,
  // where waiting is what a program mostly does when a person presses Ctrl-C.
  constexpr int64_t kSignalGraceMs = 50;
  if (signals_for_program_ != 0 &&
      (interrupting_ || NowMs() - signals_since_ms_ >= kSignalGraceMs)) {
    performer_->DeliverSignals(signals_for_program_, interrupting_);
    spdlog::debug("[v{} s{}] delivering signals {:#x} to the program", engine_.view(),
                  engine_.seq(), signals_for_program_);
    signals_for_program_ = 0;
  }
  interrupting_ = false;
  Apply(engine_.OnExecuted(NowMs()));
}

void Supervisor::Loop() {
  for (;;) {
    uint32_t event_seen = g_event_word.load(std::memory_order_acquire);
    HandleSignals();
    Reap();
    if (interrupting_ && executing_ && !executor_->Done()) {
      executor_->Interrupt();
    }
    if (executing_ && executor_->Done()) {
      executing_ = false;
      performer_->Complete();
      AfterPerformed();
    }
    if (replace_pending_) {
      replace_pending_ = false;
      ReplaceProgram(executing_call_);
      continue;
    }
    if (!stopping_) {
      InjectTimedFaults();
      CheckClones();
      PollChannels();
      CheckStragglers();
      Apply(engine_.OnTick(NowMs()));
      AtBoundary();
    }
    if (!AnyRunning()) {
      return;
    }
    WaitForEvent(event_seen);
  }
}

bool Supervisor::AnyRunning() const {
  auto running = [](const Replica& r) { return r.running; };
  return std::any_of(replicas_.begin(), replicas_.end(), running) ||
         std::any_of(retired_.begin(), retired_.end(), running);
}

bool Supervisor::AnyEvent(uint32_t event_seen) const {
  if (g_event_word.load(std::memory_order_acquire) != event_seen) {
    return true;
  }
  if (stopping_) {
    return false;
  }
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

void Supervisor::WaitForEvent(uint32_t event_seen) {
  // With a core for every replica and for us, a reply is often only microseconds away:
  // poll first (no context switch), then sleep.
  for (uint32_t i = 0; i < spin_iterations_; ++i) {
    if (AnyEvent(event_seen)) {
      return;
    }
    __builtin_ia32_pause();
  }
  // futex_waitv over the doorbell and every live replica's request word: returns at once if
  // any of them already moved past what we saw. Replicas wake us only when we say we sleep.
  constexpr uint32_t kPrivate = 128;  // FUTEX2_PRIVATE: the doorbell is process-private
  struct futex_waitv waiters[1 + 16] = {};
  int n = 0;
  auto add = [&](uint32_t expected, const void* word, uint32_t flags) {
    waiters[n].val = expected;
    waiters[n].uaddr = reinterpret_cast<uint64_t>(word);
    waiters[n].flags = flags;
    ++n;
  };
  add(event_seen, &g_event_word, FUTEX_32 | kPrivate);
  if (!stopping_) {
    for (Replica& r : replicas_) {
      if (r.clone_pending && r.running) {
        add(0, &r.process.channel->clone_pid, FUTEX_32);  // the clone reports in
      } else if (r.running && !r.killed && !r.has_call) {
        r.process.channel->supervisor_sleeping.store(1, std::memory_order_seq_cst);
        add(r.seen_seq, &r.process.channel->request_seq, FUTEX_32);  // shared with the replica
      }
    }
  }
  std::optional<int64_t> next = engine_.NextDeadline();
  auto earliest = [&next](std::optional<int64_t> other) {
    if (other && (!next || *other < *next)) {
      next = other;
    }
  };
  earliest(NextFaultDeadline());
  for (const Replica& r : replicas_) {
    if (r.clone_pending && r.running) {
      earliest(r.clone_deadline_ms);
    }
  }
  if (interrupting_ && executing_) {
    // The interrupt may have arrived before the call started waiting: send it again soon.
    int64_t retry = NowMs() + 20;
    next = next ? std::min(*next, retry) : retry;
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
  for (Replica& r : replicas_) {
    if (r.running) {
      r.process.channel->supervisor_sleeping.store(0, std::memory_order_relaxed);
    }
  }
}

// Signals sent to nmr-run are the program's: they are delivered to every replica with the
// result of the next agreed call (a call waiting on the executor is cut short for it, as the
// kernel interrupts a blocked syscall). The same signal again before the first one was
// delivered (a second Ctrl-C on a program that never makes a syscall) stops the run.
void Supervisor::HandleSignals() {
  uint64_t pending = g_pending_signals.exchange(0);
  if ((pending & (1ULL << SIGCHLD)) != 0) {
    reap_pending_ = true;  // Reap() does the work
  }
  pending &= ~(1ULL << SIGCHLD);
  for (int sig = 1; sig < 64 && pending != 0; ++sig) {
    if ((pending & (1ULL << sig)) == 0) {
      continue;
    }
    pending &= ~(1ULL << sig);
    uint64_t bit = 1ULL << (sig - 1);
    // Like the kernel, a standard signal already pending merges with the new one; only the
    // ones a person sends to end a program escalate to stopping the run.
    bool ends_a_run = sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT;
    if (((signals_for_program_ & bit) != 0 && ends_a_run) || stopping_) {
      spdlog::warn(
          "received SIG{} again before the program took the first: stopping the "
          "replicas",
          sigabbrev_np(sig));
      report_.outcome = "interrupted";
      exit_signal_ = sig;
      StopAll();
      return;
    }
    spdlog::debug("received SIG{}: for the program", sigabbrev_np(sig));
    if (signals_for_program_ == 0) {
      signals_since_ms_ = NowMs();
    }
    signals_for_program_ |= bit;
  }
  if (signals_for_program_ != 0 && executing_) {
    interrupting_ = true;
    executor_->Interrupt();
  }
}

void Supervisor::StopAll() {
  stopping_ = true;
  if (!quarantine_.empty()) {
    WriteForensics(-1);
  }
  for (Replica& r : replicas_) {
    if (r.running && !r.killed) {
      kill(r.process.pid, SIGKILL);
      r.killed = true;
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
    pid_t pid = wait4(-1, &status, WNOHANG | __WALL, &usage);
    if (pid <= 0) {
      return;
    }
    for (size_t i = 0; i < replicas_.size(); ++i) {
      if (replicas_[i].process.pid == pid && replicas_[i].running) {
        OnReaped(replicas_[i], status, CpuSeconds(usage), true, static_cast<int>(i));
      }
    }
    for (Replica& r : retired_) {
      if (r.process.pid == pid && r.running) {
        OnReaped(r, status, CpuSeconds(usage), false, -1);
      }
    }
    // Anything else is a clone that died before it reported: CheckClones times it out.
  }
}

void Supervisor::OnReaped(Replica& r, int status, double cpu_s, bool current, int slot) {
  r.running = false;
  r.status = status;
  r.cpu_s += cpu_s;
  if (r.process.channel->fatal.code != 0) {
    spdlog::error("replica {}: shim failed at shim.cc:{} ({})", slot, r.process.channel->fatal.line,
                  strerror(-r.process.channel->fatal.code));
  }
  if (!current) {
    munmap(r.process.channel, kChannelSize);
    r.process.channel = nullptr;
    return;
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

void Supervisor::PollChannels() {
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

void Supervisor::TakeRequest(int i) {
  Replica& r = replicas_[i];
  // Copied once into private memory; everything after works on the copy.
  Request request;
  std::memcpy(&request, &r.process.channel->request, sizeof request);
  uint32_t seq = r.process.channel->request_seq.load(std::memory_order_acquire);
  uint32_t expected = r.seen_seq + 1;
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
  r.call = Marshal(request, memory);
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

void Supervisor::Apply(EngineActions actions) {
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
        report_.outcome = "no-majority";
        exit_code_ = kExitNoMajority;
        StopAll();
        break;
    }
  }
}

void Supervisor::Execute(const EngineAction& action) {
  Replica& leader = replicas_[action.replica];
  const Call& call = leader.call;
  report_.votes_total++;
  report_.votes_by_syscall[call.spec.name != nullptr ? call.spec.name : SyscallName(call.nr)]++;
  spdlog::debug("[v{} s{}] agreed: {}", action.view, action.seq, DescribeCall(call));
  // The leader's call is copied: its slot may be refilled before the stragglers are judged.
  executing_call_ = call;
  hold_step_ = HoldingReplies();
  replied_this_step_ = 0;
  step_cpu_ns_ = leader.cpu_ns_at_vote - leader.cpu_ns_at_prev_vote;
  decided_at_ms_ = NowMs();
  if (performer_->Start(executing_call_, leader.process.pid)) {
    AfterPerformed();
  } else {
    executing_ = true;
    if (signals_for_program_ != 0) {
      interrupting_ = true;  // a pending signal interrupts the call as soon as it waits
      executor_->Interrupt();
    }
  }
}

void Supervisor::Reply(int i) {
  if (hold_step_) {
    held_.push_back(i);  // released at the boundary (recovery.cc)
    return;
  }
  WriteReply(i, -1, -1);
}

void Supervisor::WriteReply(int i, int fork_channel_fd, int fork_donor) {
  Replica& r = replicas_[i];
  const Outcome& outcome = performer_->outcome();
  ProcessMemory memory(r.process.pid);
  for (const auto& [address, bytes] : outcome.writes) {
    if (memory.Write(address, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
      spdlog::warn("replica {}: cannot write the result of {} into its memory", i,
                   SyscallName(r.call.nr));
    }
  }
  Channel* ch = r.process.channel;
  ++replied_this_step_;
  ch->reply.seq = r.seen_seq;
  ch->reply.action = outcome.action;
  ch->reply.value = outcome.value;
  ch->reply.signals = outcome.signals;
  ch->reply.flags = outcome.flags;
  if (fork_channel_fd >= 0) {
    ch->reply.flags |= kReplyFork | (static_cast<uint32_t>(fork_donor) << kReplyForkDonorShift);
  }
  ch->reply.fork_channel_fd = fork_channel_fd;
  r.has_call = false;
  ch->reply_seq.store(r.seen_seq, std::memory_order_seq_cst);
  if (ch->replica_sleeping.load(std::memory_order_seq_cst) != 0) {
    syscall(SYS_futex, &ch->reply_seq, FUTEX_WAKE, 1, nullptr, nullptr, 0);
  }
}

void Supervisor::Kill(const EngineAction& action) {
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
    // If no reply of this step went out yet, hold them all: the clone (and a quarantine's
    // healthy core) then comes from this very step.
    if ((!restarts_.empty() || !quarantine_.empty()) && replied_this_step_ == 0 && executing_ == false &&
        executing_call_.nr != SYS_exit_group && executing_call_.nr != SYS_exit && !stopping_) {
      hold_step_ = true;
    }
  }
  if (policy_.EffectiveOnDivergence() == OnDivergence::kAbort &&
      action.reason != KillReason::kFinished && !stopping_) {
    spdlog::error("[v{} s{}] stopping the run (on_divergence: abort)", action.view, action.seq);
    report_.outcome = "divergence-abort";
    exit_code_ = kExitNoMajority;
    StopAll();
  }
}

// No value can win: what each member asked for goes into the report (with N = 2, one
// disagreement is enough), so that a person sees the disagreement, not only its end.
void Supervisor::RecordNoMajority(const EngineAction& action) {
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
    report_.divergences.push_back(d);
  }
}

void Supervisor::Finish(const EngineAction& action) {
  Replica& leader = replicas_[action.replica];
  leader_ = action.replica;
  hold_step_ = false;  // the program ends: nothing to recover
  if (!quarantine_.empty()) {
    WriteForensics(-1);
  }
  if (leader.has_call && (leader.call.nr == SYS_exit_group || leader.call.nr == SYS_exit)) {
    report_.outcome = "exit";
    exit_code_ = static_cast<int>(leader.call.args[0] & 0xff);
    report_.votes_total++;
    report_.votes_by_syscall[SyscallName(leader.call.nr)]++;
    executing_call_ = leader.call;
    performer_->Start(executing_call_, leader.process.pid);  // kExecuteLocally for the voters
  } else if (WIFSIGNALED(leader.status)) {
    report_.outcome = "signal";
    exit_signal_ = WTERMSIG(leader.status);
  } else {
    report_.outcome = "exit";
    exit_code_ = WEXITSTATUS(leader.status);
  }
  spdlog::debug("[v{} s{}] the program ended: {}", action.view, action.seq, report_.outcome);
}

// What a replica wrote to its own stdout/stderr before its shim was in (ld.so's messages):
// every replica wrote the same, so one copy is shown.
void Supervisor::ForwardEarlyOutput() {
  if (replicas_.empty()) {
    return;
  }
  const ReplicaProcess* original = &replicas_[leader_].process;
  for (const Replica& r : replicas_) {
    if (original->stdout_pipe < 0 && r.process.stdout_pipe >= 0) {
      original = &r.process;  // a clone has no pipes of its own: its donor's are the same
    }
  }
  const ReplicaProcess& p = *original;
  if (p.stdout_pipe < 0) {
    return;
  }
  for (auto [from, to] : {std::pair{p.stdout_pipe, 1}, std::pair{p.stderr_pipe, 2}}) {
    char buffer[4096];
    ssize_t n;
    while ((n = read(from, buffer, sizeof buffer)) > 0) {
      if (write(to, buffer, static_cast<size_t>(n)) < 0) {
        break;
      }
    }
  }
}

int Supervisor::Conclude() {
  spdlog::debug("every replica has ended");
  ForwardEarlyOutput();
  responder_.reset();
  if (performer_) {
    report_.refused = performer_->refused();
  }
  report_.wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  for (const Replica& r : replicas_) {
    // Replicas an execve replaced are counted evenly into their successors.
    report_.cpu_s.push_back(r.cpu_s + cpu_s_before_exec_ / static_cast<double>(replicas_.size()));
  }
  if (exit_signal_ != 0 && report_.outcome == "signal") {
    report_.exit_signal = exit_signal_;
  } else if (exit_signal_ != 0) {
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

void InstallSupervisorSignals() {
  sigprocmask(SIG_SETMASK, nullptr, &g_original_mask);
  for (int sig : kWatchedSignals) {
    struct sigaction old;
    struct sigaction action = {};
    action.sa_handler = OnSignal;
    action.sa_flags = SA_RESTART;
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

int RunUnderNmr(const RunConfig& config, ProgramThread& program_thread) {
  Supervisor supervisor(config, program_thread);
  return supervisor.Run();
}

}  // namespace nmr
