// The control loop's state, shared by its parts (internal to supervisor/). Two levels:
// a Group is one process of the program's tree, run as N replicas (its channels, vote
// engine, executor and fd table, virtual pid, pending signals); the Supervisor is the run
// (the tree of groups, reaping, signals sent to nmr-run, the report, the exit status).
//   supervisor.cc  the run: its loop over the groups, stopping, the end of the run
//   group.cc       one group's votes, replies, kills and end
//   tree.cc        the process tree: fork, wait, virtual pids, process groups, kill
//   start.cc       starting a group's replicas, and replacing them at an agreed execve
//   events.cc      waiting for requests, signals, deaths and deadlines; reaping
//   recovery.cc    restart by cloning, scrubbing, quarantine: the work done at a vote
//                  boundary, while every member waits for its reply
//   faults.cc      when the policy's faults are injected
//   forensics.cc   quarantine's bundles (cores, divergence.json)
// Not thread-safe: everything runs on the program thread, except what RunOnMain hands over.
#pragma once

#include <linux/futex.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/core/marshal.h"
#include "supervisor/core/policy.h"
#include "supervisor/core/report.h"
#include "supervisor/core/vote_engine.h"
#include "supervisor/os/executor.h"
#include "supervisor/os/notify_responder.h"
#include "supervisor/os/perform.h"
#include "supervisor/os/program_thread.h"
#include "supervisor/os/replica_state.h"
#include "supervisor/os/spawner.h"
#include "supervisor/supervisor.h"

namespace nmr {

// Bumped (and woken) by the signal handler and the executor: the control loop's doorbell.
extern std::atomic<uint32_t> g_event_word;
// What nmr-run inherited (mask, dispositions of the signals it handles), for the program.
extern sigset_t g_original_mask;
extern std::vector<std::pair<int, struct sigaction>> g_original_actions;

int64_t NowMs();
// A value's bytes, to write into a replica (Outcome::writes).
template <typename T>
std::vector<uint8_t> Bytes(const T& value) {
  std::vector<uint8_t> out(sizeof value);
  std::memcpy(out.data(), &value, sizeof value);
  return out;
}
// A replica's CPU time (the kernel's per-process CPU clock), or 0 once it is gone.
int64_t CpuNanoseconds(pid_t pid);
double CpuSeconds(const rusage& usage);
// Whether the process is stopped (SIGSTOP, a terminal stop): it can make no progress at all.
bool IsStopped(pid_t pid);
// Whether it is running or waiting for a CPU (state R).
bool IsRunnable(pid_t pid);
// "killed by SIGSEGV", "exited with 3".
std::string DescribeStatus(int status);

struct Replica {
  ReplicaProcess process;
  bool running = true;    // not yet reaped
  bool killed = false;    // we sent SIGKILL (its death is not a vote)
  uint32_t seen_seq = 0;  // last request sequence consumed
  bool has_call = false;  // `call` is its request awaiting a reply
  Call call;
  uint64_t votes = 0;
  std::map<long, uint64_t> votes_by_nr;
  int64_t cpu_ns_at_vote = 0;       // its CPU time when its latest vote was taken
  int64_t cpu_ns_at_prev_vote = 0;  // ... and when the one before was
  uint64_t checked_step = 0;        // the step of its last straggler check (hang detection)
  int64_t cpu_ns_at_check = -1;     // ... and its CPU time then
  int status = 0;
  double cpu_s = 0;  // of every process that held this slot
  rusage usage = {};  // ... and their resource usage (wait4's), added up
  bool stopped = false;  // stopped by a stop signal the program took (jobs.cc)
  // A clone that has not reported yet: its pid is unknown, its channel's memfd is still
  // open in nmr-run (channel_fd) until it has opened it.
  bool clone_pending = false;
  bool restart = false;  // a clone that refills a slot (not a forked child)
  int channel_fd = -1;
  int64_t clone_deadline_ms = 0;
  size_t recovery_index = 0;  // its entry in report_.recoveries
  int64_t detected_ms = 0;    // when the fault it replaces was detected
};

// A replica frozen for forensics (on_divergence: quarantine), until its bundle is written.
struct QuarantineCase {
  int slot = -1;
  pid_t pid = -1;
  bool alive = false;  // frozen with SIGSTOP (a crashed one has nothing left to dump)
  DivergenceRecord record;
  std::optional<Call> faulty_call;    // what it asked for, when it was outvoted
  std::optional<Call> majority_call;  // what the majority asked for
};

// A slot to refill with a clone at the next vote boundary.
struct PendingRestart {
  int slot = -1;
  std::string reason;
  int64_t detected_ms = 0;
  uint32_t view = 0;  // the view that dropped it
};

class Supervisor;

// fork, vfork, or clone without CLONE_THREAD: a new process, so a new group (tree.cc).
bool IsForkCall(const Call& call);

// One process of the program, run as N replicas.
class Group {
 public:
  Group(Supervisor& run, pid_t vpid);
  pid_t vpid() const { return vpid_; }

  // The part of the run's loop that is this group's: the executor's result, clones, requests,
  // deadlines, the boundary.
  void Step();
  bool AnyRunning() const;
  // Whether something is ready for Step() without waiting (a request, a clone's report).
  bool AnyEvent() const;
  // Adds what the run's futex_waitv waits on for this group (its requests, clones' reports).
  void AddWaiters(struct futex_waitv* waiters, int* n, int max);
  void ClearSleeping();
  std::optional<int64_t> NextDeadline() const;
  // A replica (or a retired one) of this group ended; false if `pid` is not this group's.
  bool OnReaped(pid_t pid, int status, const rusage& usage);
  // A signal for this group's program, delivered at its next agreed step, with the siginfo
  // its handler will see. `from_outside`: sent to nmr-run (AfterPerformed says when it goes).
  void PostSignal(int sig, const SignalInfo& info, bool from_outside = false);
  bool Interrupts(uint64_t signals) const;
  SignalInfo OwnSignalInfo() const;
  uint64_t HeldTimerSignals() const;
  // Every replica is being killed (the run stops).
  void KillAll();
  void KillLeftovers(const std::string& why);
  bool finished() const { return engine_.finished(); }
  void ForwardEarlyOutput();
  std::array<std::string, 2> TakeEarlyOutput();
  // Writes what TakeEarlyOutput took to fds 1 and 2 of the calling thread's table.
  static void WriteEarlyOutput(const std::array<std::string, 2>& out);
  void Release();
  void AddCpuTimes(std::vector<double>* cpu_s) const;
  ProcessRecord Record() const;
  const std::map<std::string, uint64_t>& refused() const;
  void ForgetExecutor();

  // start.cc
  Result<Ok> Start();
  Result<Ok> StartReplicas(const std::string& path, const std::vector<std::string>& argv,
                           const std::vector<std::string>& envp);
  // On the program thread, before the loop: the executor (sharing the program thread's table).
  void StartRootExecutor();

 private:
  friend class Supervisor;
  // start.cc
  void ReplaceProgram(const Call& call);
  void CloseOnExec();
  // The thread that owns this group's fd table (the program thread, or the group's executor).
  pid_t TableTid() const;
  // Runs `work` in this group's fd table.
  void InTable(const std::function<void()>& work);

  // group.cc
  void AfterPerformed();
  void CheckStragglers();
  void OnReaped(Replica& r, int status, const rusage& usage, bool current, int slot);
  void PollChannels();
  void TakeRequest(int r);
  void Apply(EngineActions actions);
  void Execute(const EngineAction& action);
  void Reply(int r);
  // fork_channel_fd >= 0: the reply of a boundary with a clone, the same for every member;
  // member `fork_donor` forks.
  void WriteReply(int r, int fork_channel_fd, int fork_donor);
  void Kill(const EngineAction& action);
  void Finish(const EngineAction& action);
  void RecordNoMajority(const EngineAction& action);
  void CheckEnd();
  void RecordView();

  // recovery.cc
  bool HoldingReplies() const;
  void QueueRestart(const EngineAction& action);
  void AtBoundary();
  void RecoverAtBoundary(std::map<int, int>* fork_fds);
  void EqualizeAtStart();
  bool StartClone(const PendingRestart& restart, int donor, int verified_with,
                  const RecoveryRecord& check, std::map<int, int>* fork_fds);
  void CheckClones();
  void AdoptClone(int slot, pid_t pid);
  void GoDegraded(const std::string& why);
  LiveReplica Live(int r) const;
  void LogDifferences(int a, int b);

  // tree.cc
  enum class TreeCall { kNotMine, kReady, kWaiting };
  // Calls the process tree answers: fork and its kin, wait4/waitid, ids, signals to others.
  TreeCall StartTreeCall(const Call& call);
  TreeCall SignalGroups(const Call& call, pid_t pid, int sig, const SignalInfo* queued = nullptr);
  TreeCall StartSigqueue(const Call& call);
  TreeCall TerminalGroupCall(const Call& call);
  TreeCall StartFork(const Call& call);
  Result<Ok> StartForked(Group& parent, uint64_t flags);
  bool PollTreeCall();
  bool Born() const;
  void GiveBackVforkWrites(int leader);
  void End();
  pid_t ParentVpid() const;

  // timers.cc
  struct Timer;
  TreeCall StartTimerCall(const Call& call);
  TreeCall StartPosixTimerCall(const Call& call, Outcome& outcome);
  std::pair<int64_t, int64_t> TimerLeft(const Timer& timer) const;
  static void ArmTimer(Timer& timer, int64_t first_ns, int64_t interval_ns);
  void DeletePosixTimers();
  void FireTimers();
  std::optional<int64_t> TimerDeadlineMs() const;

  // jobs.cc
  bool OnStopOrContinue(pid_t pid, int status);
  bool AnyStopped() const;
  void MaybeStopped();
  void Stopped(int sig);
  void Continue();
  void NotifyParent(int code, int status);

  // signalfd.cc
  uint64_t SignalfdSignals() const;
  uint64_t SignalfdMask() const;
  void UpdateSignalfds();
  void KeepSignalfdSignals(Outcome& outcome);
  TreeCall StartSignalfd(const Call& call);
  struct NewSignalfd {
    int table_fd;
    ino_t inode;
  };
  std::optional<NewSignalfd> MakeSignalfdPipe(int pipe_flags, uint64_t mask, int64_t* error_out);
  void InheritSignalfds(const Group& parent);
  std::optional<ino_t> SignalfdInode(int fd);
  TreeCall StartSignalfdRead(const Call& call);
  bool PollSignalfdRead();

  // usage.cc
  rusage SelfUsage() const;
  rusage TotalUsage() const;
  void KeepUsageBeforeExec(const std::vector<rusage>& ended);
  TreeCall StartUsageCall(const Call& call);

  // forensics.cc
  void Quarantine(Replica& r, const EngineAction& action, const DivergenceRecord& d);
  void WriteForensics(int healthy);

  // faults.cc
  bool IsRoot() const;
  bool FaultIsMine(const FaultSpec& fault) const;
  void InjectAtVote(int r);
  void InjectTimedFaults();
  std::optional<int64_t> NextFaultDeadline() const;
  void Inject(size_t fault_index, int r);

  Supervisor& run_;
  // The run's, used by every group (references keep the group's code short).
  const RunConfig& config_;
  const Policy& policy_;
  ProgramThread& program_thread_;
  Report& report_;
  const bool& stopping_;
  std::vector<bool>& fault_done_;  // which of policy_.faults have been injected

  pid_t vpid_;
  VoteEngine engine_;
  SpawnPlan plan_;  // how the current program's replicas were started (clones' channels too)
  // The root group's is created on the program thread (it shares its fd table); a forked
  // group's owns a copy of its parent's table.
  std::unique_ptr<Executor> executor_;
  bool executor_owns_table_ = false;  // a forked group's: calls are never executed inline
  std::unique_ptr<Performer> performer_;
  bool replace_pending_ = false;      // an agreed execve: replace the replicas at the loop's top
  uint64_t signals_for_program_ = 0;  // bit (sig - 1): sent to it, not yet delivered
  std::map<int, SignalInfo> signal_info_;  // ... and who sent them (the first of each)
  bool interrupting_ = false;         // the executor's call is being cut short for them
  int64_t signals_since_ms_ = 0;      // when the oldest of them arrived
  bool deliver_now_ = false;          // one came from within the tree: with the next reply
  uint32_t spin_iterations_ = 0;      // how long to poll before sleeping (see StartReplicas)
  std::vector<Replica> replicas_;     // by slot
  std::vector<Replica> retired_;      // replaced by a clone, not reaped yet
  std::unique_ptr<NotifyResponder> responder_;
  bool executing_ = false;
  Call executing_call_;  // the agreed call being performed (the leader may vote again first)
  uint64_t executing_mask_ = 0;  // the signals it blocks while it waits (Channel::call_mask)
  int leader_ = 0;       // the finishing decision's leader, for early output
  double cpu_s_before_exec_ = 0;  // CPU time of replicas an execve replaced
  rusage usage_before_exec_ = {};  // ... and the agreed usage of the programs it replaced
  rusage children_usage_ = {};     // of the children it collected (RUSAGE_CHILDREN)
  int64_t step_cpu_ns_ = 0;       // CPU the decided step's leader needed for it
  int64_t decided_at_ms_ = 0;     // when the current step was decided
  int64_t finished_at_ms_ = 0;    // when the engine found the program ended (0: not yet)
  int exit_status_ = 0;           // how it ended (a wait status), once finished()

  // Recovery (recovery.cc).
  bool hold_step_ = false;                // this step's replies wait for the boundary
  std::vector<int> held_;                 // members whose reply waits for the boundary
  std::vector<PendingRestart> restarts_;  // slots to refill
  bool degraded_ = false;                 // no more restarts
  bool equalized_ = false;                // the start-up repair (EqualizeState) is done
  int64_t last_scrub_ms_ = 0;
  std::vector<QuarantineCase> quarantine_;
  std::string protocol_note_;  // what was wrong in the last malformed request

  // The process tree (tree.cc).
  pid_t parent_vpid_ = 0;  // 0: the root (its parent is nmr-run's parent)
  pid_t pgid_ = 0;
  pid_t sid_ = 0;
  std::vector<std::string> argv_;
  int exit_signal_to_parent_ = SIGCHLD;  // clone's CSIGNAL (0: none)
  bool vfork_ = false;    // its parent's fork returns once it has exec'd or ended
  int execs_ = 0;
  uint64_t votes_ = 0;
  bool ended_ = false;    // its end was decided and every replica is gone: a zombie
  bool waited_ = false;   // its parent collected its status (or nobody will)
  bool tree_waiting_ = false;  // the agreed call waits for the tree (wait4, a fork's end)
  int64_t sigwait_deadline_ms_ = 0;  // the sigtimedwait being executed: its timeout (0: none)
  std::vector<int> fork_fds_;  // per slot, the forked child's channel fd (kFork replies)
  pid_t forked_vpid_ = 0;      // the child of the fork in progress
  std::map<std::string, uint64_t> refused_;  // the performer's, once it is gone

  // Its signalfds (signalfd.cc), by the inode of the pipe that stands for each: the signals
  // it covers, both ends of the pipe in nmr-run's own table, whether a byte is in it.
  struct Signalfd {
    uint64_t mask = 0;
    int read_end = -1;
    int write_end = -1;
    bool readable = false;
  };
  std::map<ino_t, Signalfd> signalfds_;
  ino_t signalfd_read_ = 0;  // the signalfd the executed read is of

  // Job control (jobs.cc).
  bool stop_expected_ = false;        // the last reply carried a stop signal
  bool stopped_ = false;              // every replica stopped: the process is stopped
  int stop_signal_ = 0;
  bool stop_unreported_ = false;      // wait4(WUNTRACED) has not reported this stop yet
  bool continue_unreported_ = false;  // ... nor WCONTINUED this continuation

  // Timers (timers.cc): alarm/setitimer's (kRealTimer) and the POSIX ones, by id.
  struct Timer {
    int64_t deadline_ns = 0;  // CLOCK_MONOTONIC; 0: disarmed
    int64_t interval_ns = 0;
    clockid_t clock = CLOCK_MONOTONIC;  // what an absolute time is measured on
    int signo = 0;                      // 0: SIGEV_NONE
    SignalInfo info = {};               // what its signal carries
    int last_overrun = 0;               // timer_getoverrun: of the last signal delivered
  };
  static constexpr int kRealTimer = -1;
  std::map<int, Timer> timers_;
  int next_timer_id_ = 0;
};

// The run: the program's tree of groups, signals sent to nmr-run, reaping, the report.
class Supervisor {
 public:
  Supervisor(const RunConfig& config, ProgramThread& program_thread);
  int Run();

  // Stops the run: every replica of every group is killed, no more votes are taken.
  void StopAll();
  // How nmr-run ends when it is not the program's own end (no majority, abort, error).
  void SetOutcome(const std::string& outcome, int exit_code);
  // A group's own vote decided its end (its exit_status_).
  void OnGroupEnded(Group& group);
  pid_t NewVpid();
  // Makes the loop go round again without waiting (a group changed another's state).
  static void Wake() { g_event_word.fetch_add(1, std::memory_order_release); }
  // A group by virtual pid, running or a zombie; nullptr once its status was collected.
  Group* FindGroup(pid_t vpid);

 private:
  friend class Group;
  // supervisor.cc
  void Loop();
  bool AnyRunning() const;
  void AddToReport(const Group& group);
  int Conclude();
  // events.cc
  void WaitForEvent(uint32_t event_seen);
  bool AnyEvent(uint32_t event_seen) const;
  void HandleSignals();
  void Reap();
  // jobs.cc
  void StopWithTheProgram();
  Group& root() { return *groups_.front(); }
  const Group& root() const { return *groups_.front(); }

  const RunConfig& config_;
  Policy policy_;
  ProgramThread& program_thread_;
  Report report_;
  // The processes that have not been collected yet (the others are in the report); the first
  // is the program nmr-run started.
  std::vector<std::unique_ptr<Group>> groups_;
  std::vector<bool> fault_done_;
  bool stopping_ = false;    // every replica is being killed; no more votes are taken
  bool reap_pending_ = true;  // SIGCHLD came: call wait4
  std::chrono::steady_clock::time_point started_;
  int64_t started_ms_ = 0;
  int exit_code_ = 0;
  int exit_signal_ = 0;
  int forks_ = 0;
  pid_t own_pgid_ = 0;         // nmr-run's real process group
  pid_t foreground_pgid_ = 0;  // the terminal's foreground group, as the program sees it
  bool stopped_with_program_ = false;  // nmr-run stopped itself (jobs.cc) and was not resumed
};

}  // namespace nmr
