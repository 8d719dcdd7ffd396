// The vote engine: an event-driven state machine that decides, step by step, what the
// replicas agreed on (DESIGN.md "Supervisor"). Pure: no syscalls, no clock (time comes in
// with the events), no knowledge of what a vote means beyond its digest.
//
// Steps: every replica's k-th vote belongs to step k. A step is decided as soon as one value
// has a quorum (a strict majority of the current view); then it is executed once, the voters
// of that value get the result, replicas that voted otherwise are killed, and replicas that
// have not voted yet must do so within the timeout or be killed as hung. A replica's death
// is its vote (its value is the death's digest). The next step starts once every member has
// voted on this one (so a lagging replica is at most one step behind and only the last
// result needs keeping). The view number grows whenever a member leaves; each action is
// stamped (view, seq).
//
// Not thread-safe: one control loop owns it.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace nmr {

struct VoteValue {
  uint64_t low = 0;
  uint64_t high = 0;
  bool operator==(const VoteValue&) const = default;
};

enum class KillReason {
  kDiverged,  // voted for something else than the majority
  kCrashed,   // died (the death was its vote) while the majority did something else
  kHung,      // no vote within the timeout after a quorum voted
  kScrub,     // its memory differs from the majority's (a latent fault, found by scrubbing)
  kProtocol,  // nonsense in its channel (a record it could not have written, a fatal line)
  kFinished,  // the program ended by majority; the remaining replicas are stopped
};

// "diverged", "crashed", "hung", "scrub", "protocol", "finished": the report's and the
// log's words.
const char* KillReasonName(KillReason reason);

struct EngineAction {
  enum class Kind {
    kExecute,     // execute the decided request of `replica` (a voter of the majority) once
    kReply,       // give `replica` the result of step `seq`
    kKill,        // kill `replica` (`reason`); already removed from the view
    kFinish,      // the program ended: the decided terminal value (exit or death) of `replica`
    kNoMajority,  // no value can reach a quorum any more: stop the run
  };
  Kind kind;
  int replica = -1;
  uint64_t seq = 0;
  uint32_t view = 0;
  KillReason reason = KillReason::kDiverged;
  bool operator==(const EngineAction&) const = default;
};

using EngineActions = std::vector<EngineAction>;

class VoteEngine {
 public:
  // `first_view` continues the numbering when a new program replaces the replicas (execve).
  VoteEngine(int replicas, int64_t timeout_ms, uint32_t first_view = 0);

  // Replica `r`'s next vote. `terminal` marks votes that end the program (exit_group).
  EngineActions OnVote(int r, VoteValue value, bool terminal, int64_t now_ms);
  // Replica `r` died on its own (not by an earlier kKill). Deaths are terminal votes.
  EngineActions OnDeath(int r, VoteValue value, int64_t now_ms);
  // The kExecute of the current step has completed.
  EngineActions OnExecuted(int64_t now_ms);
  // Time passed: kills replicas whose deadline expired.
  EngineActions OnTick(int64_t now_ms);
  // The caller found straggler `r` hung (it burnt CPU without voting): kill it alone.
  EngineActions OnHung(int r, int64_t now_ms);
  // The caller found member `r` faulty outside a vote (scrubbing, protocol nonsense): it
  // leaves the view as if it had been outvoted.
  EngineActions OnFaulty(int r, KillReason reason, int64_t now_ms);
  // A clone of member `donor` takes the dead slot `r` and joins the view (recovery). The
  // donor must be between steps: replied, and not voted on its next step yet; the clone's
  // next vote belongs to the same step as the donor's.
  void OnJoin(int r, int donor);
  // Whether `r` is a member that has been replied and has not voted since (a possible donor).
  bool BetweenSteps(int r) const;

  std::optional<int64_t> NextDeadline() const { return deadline_; }
  // The caller judged the stragglers merely slow (see Supervisor::CheckStragglers).
  void PostponeDeadline(int64_t until_ms) {
    if (deadline_) {
      deadline_ = until_ms;
    }
  }
  // Members that have not voted on the current step yet.
  std::vector<int> Stragglers() const;
  uint32_t view() const { return view_; }
  uint64_t seq() const { return step_; }
  std::vector<int> Members() const;
  int MemberCount() const;
  bool IsMember(int r) const { return replicas_[r].alive; }
  int slots() const { return static_cast<int>(replicas_.size()); }
  bool finished() const { return finished_; }

  static int Quorum(int members) { return members / 2 + 1; }

 private:
  struct Replica {
    bool alive = true;
    uint64_t next_step = 1;         // the step its next vote belongs to
    std::optional<VoteValue> vote;  // for the current step
    bool terminal = false;
    std::optional<VoteValue> early;  // for the step after the current one
    bool early_terminal = false;
    bool early_is_death = false;
    bool vote_is_death = false;
  };

  void Record(int r, VoteValue value, bool terminal, bool death, EngineActions& out);
  void Evaluate(int64_t now_ms, EngineActions& out);
  void Decide(int leader, int64_t now_ms, EngineActions& out);
  void Remove(int r, KillReason reason, EngineActions& out);
  void Judge(int r, EngineActions& out);  // a vote after the decision: reply or kill
  void MaybeAdvance(int64_t now_ms, EngineActions& out);

  std::vector<Replica> replicas_;
  int64_t timeout_ms_;
  uint64_t step_ = 1;
  uint32_t view_ = 0;
  std::optional<VoteValue> decided_;
  bool decided_terminal_ = false;
  bool executing_ = false;
  bool executed_ = false;
  bool finished_ = false;
  std::optional<int64_t> deadline_;
};

}  // namespace nmr
