#include "supervisor/core/vote_engine.h"

#include "supervisor/core/result.h"

namespace nmr {

const char* KillReasonName(KillReason reason) {
  switch (reason) {
    case KillReason::kDiverged:
      return "diverged";
    case KillReason::kCrashed:
      return "crashed";
    case KillReason::kHung:
      return "hung";
    case KillReason::kScrub:
      return "scrub";
    case KillReason::kProtocol:
      return "protocol";
    case KillReason::kFinished:
      return "finished";
  }
  return "?";
}

VoteEngine::VoteEngine(int replicas, int64_t timeout_ms, uint32_t first_view)
    : replicas_(static_cast<size_t>(replicas)), timeout_ms_(timeout_ms), view_(first_view) {
  NMR_CHECK(replicas >= 1);
}

std::vector<int> VoteEngine::Members() const {
  std::vector<int> members;
  for (size_t r = 0; r < replicas_.size(); ++r) {
    if (replicas_[r].alive) {
      members.push_back(static_cast<int>(r));
    }
  }
  return members;
}

std::vector<int> VoteEngine::Stragglers() const {
  std::vector<int> out;
  for (size_t r = 0; r < replicas_.size(); ++r) {
    if (replicas_[r].alive && replicas_[r].next_step == step_ && !replicas_[r].vote) {
      out.push_back(static_cast<int>(r));
    }
  }
  return out;
}

int VoteEngine::MemberCount() const {
  int n = 0;
  for (const Replica& rep : replicas_) {
    n += rep.alive ? 1 : 0;
  }
  return n;
}

EngineActions VoteEngine::OnVote(int r, VoteValue value, bool terminal, int64_t now_ms) {
  EngineActions out;
  if (finished_ || !replicas_[r].alive) {
    return out;
  }
  Record(r, value, terminal, /*death=*/false, out);
  Evaluate(now_ms, out);
  return out;
}

EngineActions VoteEngine::OnDeath(int r, VoteValue value, int64_t now_ms) {
  EngineActions out;
  Replica& rep = replicas_[r];
  if (finished_ || !rep.alive) {
    return out;
  }
  bool waiting = (rep.next_step == step_ && rep.vote.has_value()) ||
                 (rep.next_step == step_ + 1 && rep.early.has_value());
  if (waiting) {
    // It died while waiting for the result of a vote it already cast: not a vote any more.
    Remove(r, KillReason::kCrashed, out);
  } else {
    Record(r, value, /*terminal=*/true, /*death=*/true, out);
  }
  Evaluate(now_ms, out);
  return out;
}

EngineActions VoteEngine::OnExecuted(int64_t now_ms) {
  EngineActions out;
  NMR_CHECK(executing_);
  executing_ = false;
  executed_ = true;
  Evaluate(now_ms, out);
  return out;
}

EngineActions VoteEngine::OnTick(int64_t now_ms) {
  EngineActions out;
  if (finished_ || !deadline_ || now_ms < *deadline_) {
    return out;
  }
  deadline_.reset();
  // Only stragglers of this step: a clone that joined from a donor already answered for it
  // owes no vote here (it has none recorded, and is not late).
  for (int r : Stragglers()) {
    Remove(r, KillReason::kHung, out);
  }
  Evaluate(now_ms, out);
  return out;
}

EngineActions VoteEngine::OnHung(int r, int64_t now_ms) {
  EngineActions out;
  const Replica& rep = replicas_[r];
  if (finished_ || !rep.alive || rep.vote.has_value() || rep.next_step != step_) {
    return out;  // not a straggler of this step
  }
  Remove(r, KillReason::kHung, out);
  Evaluate(now_ms, out);
  return out;
}

EngineActions VoteEngine::OnFaulty(int r, KillReason reason, int64_t now_ms) {
  EngineActions out;
  if (finished_ || !replicas_[r].alive) {
    return out;
  }
  Remove(r, reason, out);
  Evaluate(now_ms, out);
  return out;
}

bool VoteEngine::BetweenSteps(int r) const {
  const Replica& rep = replicas_[r];
  if (!rep.alive) {
    return false;
  }
  // Its vote on the current step stays recorded after its reply, until the step advances:
  // whether it has voted since its reply is told by the vote of the step it is at.
  return rep.next_step == step_ ? !rep.vote : !rep.early;
}

void VoteEngine::OnJoin(int r, int donor) {
  NMR_CHECK(!finished_ && !replicas_[r].alive && BetweenSteps(donor));
  Replica clone;
  clone.next_step = replicas_[donor].next_step;
  replicas_[r] = clone;
  ++view_;
}

void VoteEngine::Record(int r, VoteValue value, bool terminal, bool death, EngineActions&) {
  Replica& rep = replicas_[r];
  if (rep.next_step == step_) {
    NMR_CHECK(!rep.vote.has_value());
    rep.vote = value;
    rep.terminal = terminal;
    rep.vote_is_death = death;
  } else {
    // Replied for this step already and racing ahead: it belongs to the next step.
    NMR_CHECK(rep.next_step == step_ + 1 && !rep.early.has_value());
    rep.early = value;
    rep.early_terminal = terminal;
    rep.early_is_death = death;
  }
}

void VoteEngine::Evaluate(int64_t now_ms, EngineActions& out) {
  if (finished_) {
    return;
  }
  if (!decided_) {
    int members = MemberCount();
    int best_count = 0;
    int leader = -1;
    int unvoted = 0;
    for (size_t r = 0; r < replicas_.size(); ++r) {
      const Replica& rep = replicas_[r];
      if (!rep.alive) {
        continue;
      }
      if (!rep.vote) {
        ++unvoted;
        continue;
      }
      int count = 0;
      for (const Replica& other : replicas_) {
        count += (other.alive && other.vote == rep.vote) ? 1 : 0;
      }
      if (count > best_count) {
        best_count = count;
        leader = static_cast<int>(r);
      }
    }
    if (members > 0 && best_count >= Quorum(members)) {
      Decide(leader, now_ms, out);
    } else if (members == 0 || best_count + unvoted < Quorum(members)) {
      finished_ = true;
      deadline_.reset();
      out.push_back({EngineAction::Kind::kNoMajority, -1, step_, view_});
      return;
    } else {
      return;
    }
  }
  if (finished_) {
    return;
  }
  // The outvoted first, then the majority: a caller that recovers (recovery.cc) learns of
  // the fault before any reply of this step goes out, so it can hold them all.
  for (bool outvoted : {true, false}) {
    for (size_t r = 0; r < replicas_.size(); ++r) {
      Replica& rep = replicas_[r];
      if (rep.alive && rep.vote && rep.next_step == step_ && (rep.vote != decided_) == outvoted) {
        Judge(static_cast<int>(r), out);
      }
    }
  }
  MaybeAdvance(now_ms, out);
}

void VoteEngine::Decide(int leader, int64_t now_ms, EngineActions& out) {
  const Replica& lead = replicas_[leader];
  decided_ = lead.vote;
  decided_terminal_ = lead.terminal;
  deadline_ = now_ms + timeout_ms_;
  if (!decided_terminal_) {
    executing_ = true;
    out.push_back({EngineAction::Kind::kExecute, leader, step_, view_});
    return;
  }
  // The program ended (exit_group agreed, or a majority died the same way). Nothing is
  // executed; voters of the exit are let go and stragglers are still judged, so a replica
  // that would have ended differently is reported.
  executed_ = true;
  out.push_back({EngineAction::Kind::kFinish, leader, step_, view_});
}

void VoteEngine::Judge(int r, EngineActions& out) {
  Replica& rep = replicas_[r];
  if (rep.vote != decided_) {
    Remove(r, rep.vote_is_death ? KillReason::kCrashed : KillReason::kDiverged, out);
    return;
  }
  if (rep.vote_is_death) {
    rep.alive = false;  // died as the majority did: nothing to kill, nothing diverged
    return;
  }
  if (executed_) {
    rep.next_step = step_ + 1;
    out.push_back({EngineAction::Kind::kReply, r, step_, view_});
  }
}

void VoteEngine::MaybeAdvance(int64_t now_ms, EngineActions& out) {
  if (!decided_ || !executed_) {
    return;
  }
  for (const Replica& rep : replicas_) {
    if (rep.alive && rep.next_step == step_) {
      return;  // someone has yet to vote, or to be judged
    }
  }
  if (decided_terminal_) {
    finished_ = true;  // every member has ended the way the majority did
    deadline_.reset();
    return;
  }
  ++step_;
  decided_.reset();
  executed_ = false;
  deadline_.reset();
  for (Replica& rep : replicas_) {
    rep.vote = rep.early;
    rep.terminal = rep.early_terminal;
    rep.vote_is_death = rep.early_is_death;
    rep.early.reset();
    rep.early_terminal = false;
    rep.early_is_death = false;
  }
  Evaluate(now_ms, out);
}

void VoteEngine::Remove(int r, KillReason reason, EngineActions& out) {
  replicas_[r].alive = false;
  ++view_;
  out.push_back({EngineAction::Kind::kKill, r, step_, view_, reason});
}

}  // namespace nmr
