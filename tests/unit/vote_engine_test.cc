// The vote engine (supervisor/core/vote_engine.h): hand-written scenarios first, then generated
// schedules checked against the engine's invariants.
#include "supervisor/core/vote_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace nmr {

// Readable failure messages (found by argument-dependent lookup, hence in nmr).
static const char* KindName(EngineAction::Kind kind) {
  switch (kind) {
    case EngineAction::Kind::kExecute:
      return "Execute";
    case EngineAction::Kind::kReply:
      return "Reply";
    case EngineAction::Kind::kKill:
      return "Kill";
    case EngineAction::Kind::kFinish:
      return "Finish";
    case EngineAction::Kind::kNoMajority:
      return "NoMajority";
  }
  return "?";
}

static std::string Describe(const EngineAction& a) {
  std::ostringstream out;
  out << KindName(a.kind) << "(replica " << a.replica << ", seq " << a.seq << ", view " << a.view;
  if (a.kind == EngineAction::Kind::kKill) {
    out << ", " << KillReasonName(a.reason);
  }
  out << ")";
  return out.str();
}

static void PrintTo(const EngineAction& a, std::ostream* os) { *os << Describe(a); }

namespace {

using Kind = EngineAction::Kind;

constexpr int64_t kTimeout = 1000;

// Vote values: what the healthy replicas ask for, a wrong value, deaths and exits.
constexpr VoteValue kV{1, 0};
constexpr VoteValue kV2{2, 0};
constexpr VoteValue kV3{3, 0};
constexpr VoteValue kW{0xbad, 1};
constexpr VoteValue kX{0xbad, 2};
constexpr VoteValue kSegv{0xdead, 11};    // "killed by SIGSEGV"
constexpr VoteValue kAbrt{0xdead, 6};     // "killed by SIGABRT"
constexpr VoteValue kExit0{0xe, 0};       // exit_group(0)
constexpr VoteValue kExit1{0xe, 1};       // exit_group(1)
constexpr VoteValue kExited0{0xdead, 0};  // the death of a replica that exited with 0

EngineAction Execute(int r, uint64_t seq, uint32_t view) { return {Kind::kExecute, r, seq, view}; }
EngineAction Reply(int r, uint64_t seq, uint32_t view) { return {Kind::kReply, r, seq, view}; }
EngineAction Finish(int r, uint64_t seq, uint32_t view) { return {Kind::kFinish, r, seq, view}; }
EngineAction NoMajority(uint64_t seq, uint32_t view) { return {Kind::kNoMajority, -1, seq, view}; }
EngineAction Kill(int r, KillReason why, uint64_t seq, uint32_t view) {
  return {Kind::kKill, r, seq, view, why};
}

void Append(EngineActions& to, const EngineActions& more) {
  to.insert(to.end(), more.begin(), more.end());
}

// Every replica in `order` votes `value` (non-terminal) at time `now`; the actions, in order.
EngineActions VoteAll(VoteEngine& e, const std::vector<int>& order, VoteValue value,
                      int64_t now = 0) {
  EngineActions out;
  for (int r : order) {
    Append(out, e.OnVote(r, value, /*terminal=*/false, now));
  }
  return out;
}

std::vector<int> Range(int n) {
  std::vector<int> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    v[static_cast<size_t>(i)] = i;
  }
  return v;
}

// ---- Basics ------------------------------------------------------------------------------

TEST(VoteEngineTest, QuorumIsAStrictMajority) {
  EXPECT_EQ(VoteEngine::Quorum(1), 1);
  EXPECT_EQ(VoteEngine::Quorum(2), 2);
  EXPECT_EQ(VoteEngine::Quorum(3), 2);
  EXPECT_EQ(VoteEngine::Quorum(4), 3);
  EXPECT_EQ(VoteEngine::Quorum(5), 3);
  EXPECT_EQ(VoteEngine::Quorum(6), 4);
  EXPECT_EQ(VoteEngine::Quorum(7), 4);
}

TEST(VoteEngineTest, StartsAtStepOneWithEveryReplicaAMember) {
  VoteEngine e(3, kTimeout);
  EXPECT_EQ(e.seq(), 1u);
  EXPECT_EQ(e.view(), 0u);
  EXPECT_EQ(e.Members(), (std::vector<int>{0, 1, 2}));
  EXPECT_FALSE(e.finished());
  EXPECT_EQ(e.NextDeadline(), std::nullopt);
}

TEST(VoteEngineTest, FirstViewContinuesTheNumbering) {
  VoteEngine e(3, kTimeout, /*first_view=*/7);
  EXPECT_EQ(e.view(), 7u);
  EXPECT_EQ(VoteAll(e, {0, 1}, kV), (EngineActions{Execute(0, 1, 7)}));
  EXPECT_EQ(e.OnVote(2, kW, false, 0), (EngineActions{Kill(2, KillReason::kDiverged, 1, 8)}));
  EXPECT_EQ(e.view(), 8u);
}

// ---- Agreement ---------------------------------------------------------------------------

class VoteEngineAgreementTest : public testing::TestWithParam<int> {};

TEST_P(VoteEngineAgreementTest, AllAgreeExecuteOnceThenReplyToEveryVoter) {
  const int n = GetParam();
  VoteEngine e(n, kTimeout);
  EngineActions got = VoteAll(e, Range(n), kV);
  // Decided at the quorum-th vote; the later votes wait for the execution.
  EXPECT_EQ(got, (EngineActions{Execute(0, 1, 0)}));
  EXPECT_EQ(e.seq(), 1u);

  EngineActions replies;
  for (int r = 0; r < n; ++r) {
    replies.push_back(Reply(r, 1, 0));
  }
  EXPECT_EQ(e.OnExecuted(5), replies);
  EXPECT_EQ(e.seq(), 2u) << "every member voted and was answered: the next step starts";
  EXPECT_EQ(e.NextDeadline(), std::nullopt);

  // The next step proceeds the same way.
  got = VoteAll(e, Range(n), kV2);
  EXPECT_EQ(got, (EngineActions{Execute(0, 2, 0)}));
  for (EngineAction& a : replies) {
    a.seq = 2;
  }
  EXPECT_EQ(e.OnExecuted(10), replies);
  EXPECT_EQ(e.seq(), 3u);
  EXPECT_EQ(e.view(), 0u);
  EXPECT_EQ(e.Members(), Range(n));
  EXPECT_FALSE(e.finished());
}

TEST_P(VoteEngineAgreementTest, LeaderIsTheLowestVoterAtDecisionTime) {
  const int n = GetParam();
  VoteEngine e(n, kTimeout);
  std::vector<int> descending = Range(n);
  std::reverse(descending.begin(), descending.end());
  EngineActions got;
  int quorum = VoteEngine::Quorum(n);
  for (int k = 0; k < n; ++k) {
    EngineActions step = e.OnVote(descending[static_cast<size_t>(k)], kV, false, 0);
    if (k + 1 < quorum) {
      EXPECT_TRUE(step.empty()) << "decided before a quorum, at vote " << k + 1;
    }
    Append(got, step);
  }
  // Voters at decision time were n-1 .. n-quorum: the lowest of them leads.
  EXPECT_EQ(got, (EngineActions{Execute(n - quorum, 1, 0)}));
}

INSTANTIATE_TEST_SUITE_P(N, VoteEngineAgreementTest, testing::Values(1, 3, 5),
                         [](const testing::TestParamInfo<int>& info) {
                           return "N" + std::to_string(info.param);
                         });

TEST(VoteEngineTest, VotesAfterTheExecutionAreRepliedAtOnce) {
  VoteEngine e(3, kTimeout);
  EXPECT_EQ(VoteAll(e, {0, 1}, kV), (EngineActions{Execute(0, 1, 0)}));
  EXPECT_EQ(e.OnExecuted(1), (EngineActions{Reply(0, 1, 0), Reply(1, 1, 0)}));
  EXPECT_EQ(e.seq(), 1u) << "replica 2 has not voted: the step is not over";
  EXPECT_EQ(e.OnVote(2, kV, false, 2), (EngineActions{Reply(2, 1, 0)}));
  EXPECT_EQ(e.seq(), 2u);
}

// ---- Divergence --------------------------------------------------------------------------

TEST(VoteEngineTest, OneDivergentReplicaOfThreeIsKilled) {
  VoteEngine e(3, kTimeout);
  EXPECT_EQ(e.OnVote(0, kV, false, 0), EngineActions{});
  EXPECT_EQ(e.OnVote(1, kW, false, 0), EngineActions{}) << "kV can still win";
  EXPECT_EQ(e.OnVote(2, kV, false, 0),
            (EngineActions{Execute(0, 1, 0), Kill(1, KillReason::kDiverged, 1, 1)}));
  EXPECT_EQ(e.view(), 1u);
  EXPECT_EQ(e.Members(), (std::vector<int>{0, 2}));
  EXPECT_FALSE(e.IsMember(1));

  EXPECT_EQ(e.OnExecuted(1), (EngineActions{Reply(0, 1, 1), Reply(2, 1, 1)}));
  EXPECT_EQ(e.seq(), 2u);

  // The view of two needs both.
  EXPECT_EQ(e.OnVote(1, kV2, false, 2), EngineActions{}) << "a killed replica's vote is ignored";
  EXPECT_EQ(e.OnVote(0, kV2, false, 2), EngineActions{});
  EXPECT_EQ(e.OnVote(2, kV2, false, 2), (EngineActions{Execute(0, 2, 1)}));
  EXPECT_EQ(e.OnExecuted(3), (EngineActions{Reply(0, 2, 1), Reply(2, 2, 1)}));
}

TEST(VoteEngineTest, TwoDivergentOfFiveWithDifferentWrongValues) {
  VoteEngine e(5, kTimeout);
  EXPECT_EQ(e.OnVote(1, kW, false, 0), EngineActions{});
  EXPECT_EQ(e.OnVote(3, kX, false, 0), EngineActions{});
  EXPECT_EQ(VoteAll(e, {0, 2}, kV), EngineActions{});
  EXPECT_EQ(e.OnVote(4, kV, false, 0),
            (EngineActions{Execute(0, 1, 0), Kill(1, KillReason::kDiverged, 1, 1),
                           Kill(3, KillReason::kDiverged, 1, 2)}));
  EXPECT_EQ(e.view(), 2u);
  EXPECT_EQ(e.Members(), (std::vector<int>{0, 2, 4}));
  EXPECT_EQ(e.OnExecuted(1), (EngineActions{Reply(0, 1, 2), Reply(2, 1, 2), Reply(4, 1, 2)}));
}

TEST(VoteEngineTest, TwoDivergentOfFiveWithTheSameWrongValueAreNotAMajority) {
  VoteEngine e(5, kTimeout);
  EXPECT_EQ(VoteAll(e, {3, 4}, kW), EngineActions{});
  EXPECT_EQ(VoteAll(e, {0, 1}, kV), EngineActions{});
  EXPECT_EQ(e.OnVote(2, kV, false, 0),
            (EngineActions{Execute(0, 1, 0), Kill(3, KillReason::kDiverged, 1, 1),
                           Kill(4, KillReason::kDiverged, 1, 2)}));
  EXPECT_EQ(e.Members(), (std::vector<int>{0, 1, 2}));
}

// ---- No majority -------------------------------------------------------------------------

TEST(VoteEngineTest, TwoReplicasThatDisagreeHaveNoMajority) {
  VoteEngine e(2, kTimeout);
  EXPECT_EQ(e.OnVote(0, kV, false, 0), EngineActions{});
  EXPECT_EQ(e.OnVote(1, kW, false, 0), (EngineActions{NoMajority(1, 0)}));
  EXPECT_TRUE(e.finished());
  // Nothing happens after the end.
  EXPECT_EQ(e.OnVote(0, kV2, false, 1), EngineActions{});
  EXPECT_EQ(e.OnDeath(1, kSegv, 1), EngineActions{});
  EXPECT_EQ(e.OnTick(1'000'000), EngineActions{});
}

TEST(VoteEngineTest, FourReplicasSplitTwoTwoHaveNoMajority) {
  VoteEngine e(4, kTimeout);
  EXPECT_EQ(e.OnVote(0, kV, false, 0), EngineActions{});
  EXPECT_EQ(e.OnVote(1, kW, false, 0), EngineActions{});
  EXPECT_EQ(e.OnVote(2, kV, false, 0), EngineActions{}) << "the last vote can still make 3";
  EXPECT_EQ(e.OnVote(3, kW, false, 0), (EngineActions{NoMajority(1, 0)}));
  EXPECT_TRUE(e.finished());
}

TEST(VoteEngineTest, FourReplicasThreeToOneDecide) {
  VoteEngine e(4, kTimeout);
  EXPECT_EQ(e.OnVote(0, kW, false, 0), EngineActions{});
  EXPECT_EQ(VoteAll(e, {1, 2}, kV), EngineActions{});
  EXPECT_EQ(e.OnVote(3, kV, false, 0),
            (EngineActions{Execute(1, 1, 0), Kill(0, KillReason::kDiverged, 1, 1)}));
}

TEST(VoteEngineTest, NoMajorityLeftAfterKills) {
  VoteEngine e(3, kTimeout);
  VoteAll(e, {0, 1}, kV);
  EXPECT_EQ(e.OnVote(2, kW, false, 0), (EngineActions{Kill(2, KillReason::kDiverged, 1, 1)}));
  EXPECT_EQ(e.OnExecuted(1), (EngineActions{Reply(0, 1, 1), Reply(1, 1, 1)}));
  // Two members left, and they disagree: neither value can reach 2.
  EXPECT_EQ(e.OnVote(0, kV2, false, 2), EngineActions{});
  EXPECT_EQ(e.OnVote(1, kV3, false, 2), (EngineActions{NoMajority(2, 1)}));
  EXPECT_TRUE(e.finished());
}

TEST(VoteEngineTest, NoMajorityLeftOfFiveAfterTwoKills) {
  VoteEngine e(5, kTimeout);
  VoteAll(e, {0, 1, 2}, kV);
  e.OnVote(3, kW, false, 0);
  e.OnVote(4, kX, false, 0);
  ASSERT_EQ(e.Members(), (std::vector<int>{0, 1, 2}));
  e.OnExecuted(1);
  ASSERT_EQ(e.seq(), 2u);
  EXPECT_EQ(e.OnVote(0, kV, false, 2), EngineActions{});
  EXPECT_EQ(e.OnVote(1, kV2, false, 2), EngineActions{});
  EXPECT_EQ(e.OnVote(2, kV3, false, 2), (EngineActions{NoMajority(2, 2)}));
}

// ---- Deaths ------------------------------------------------------------------------------

TEST(VoteEngineTest, ACrashIsAVoteAndLosesToTheMajority) {
  VoteEngine e(3, kTimeout);
  EXPECT_EQ(VoteAll(e, {0, 1}, kV), (EngineActions{Execute(0, 1, 0)}));
  EXPECT_EQ(e.OnDeath(2, kSegv, 1), (EngineActions{Kill(2, KillReason::kCrashed, 1, 1)}));
  EXPECT_EQ(e.Members(), (std::vector<int>{0, 1}));
  EXPECT_EQ(e.OnExecuted(2), (EngineActions{Reply(0, 1, 1), Reply(1, 1, 1)}));
  EXPECT_EQ(e.seq(), 2u);
}

TEST(VoteEngineTest, ACrashBeforeTheQuorumIsJudgedAtTheDecision) {
  VoteEngine e(3, kTimeout);
  EXPECT_EQ(e.OnDeath(2, kSegv, 0), EngineActions{});
  EXPECT_EQ(e.OnVote(0, kV, false, 0), EngineActions{});
  EXPECT_EQ(e.OnVote(1, kV, false, 0),
            (EngineActions{Execute(0, 1, 0), Kill(2, KillReason::kCrashed, 1, 1)}));
}

TEST(VoteEngineTest, AllDyingTheSameWayFinishesWithADeadLeader) {
  VoteEngine e(3, kTimeout);
  EXPECT_EQ(e.OnDeath(0, kSegv, 0), EngineActions{});
  EXPECT_EQ(e.OnDeath(1, kSegv, 0), (EngineActions{Finish(0, 1, 0)}));
  EXPECT_FALSE(e.IsMember(0));
  EXPECT_FALSE(e.IsMember(1));
  EXPECT_FALSE(e.finished()) << "replica 2 has not been judged";
  EXPECT_EQ(e.OnDeath(2, kSegv, 1), EngineActions{}) << "it died as the majority did";
  EXPECT_TRUE(e.finished());
}

TEST(VoteEngineTest, ASurvivorOfAMajorityDeathThatDoesSomethingElseIsKilled) {
  VoteEngine e(3, kTimeout);
  e.OnDeath(0, kSegv, 0);
  EXPECT_EQ(e.OnDeath(1, kSegv, 0), (EngineActions{Finish(0, 1, 0)}));
  EXPECT_EQ(e.OnVote(2, kV, false, 1), (EngineActions{Kill(2, KillReason::kDiverged, 1, 1)}));
  EXPECT_TRUE(e.finished());
}

TEST(VoteEngineTest, DeathsBySignalsThatDifferAreNoMajority) {
  VoteEngine e(3, kTimeout);
  e.OnDeath(0, kSegv, 0);
  e.OnDeath(1, kAbrt, 0);
  EXPECT_EQ(e.OnVote(2, kV, false, 0), (EngineActions{NoMajority(1, 0)}));
}

TEST(VoteEngineTest, ADeathWhileWaitingForTheExecutionRemovesTheReplica) {
  VoteEngine e(3, kTimeout);
  EXPECT_EQ(VoteAll(e, {0, 1, 2}, kV), (EngineActions{Execute(0, 1, 0)}));
  EXPECT_EQ(e.OnDeath(1, kSegv, 1), (EngineActions{Kill(1, KillReason::kCrashed, 1, 1)}));
  EXPECT_EQ(e.OnExecuted(2), (EngineActions{Reply(0, 1, 1), Reply(2, 1, 1)}));
  EXPECT_EQ(e.seq(), 2u);
}

TEST(VoteEngineTest, TheLeaderDyingDuringItsExecutionDoesNotStopTheOthers) {
  VoteEngine e(3, kTimeout);
  EXPECT_EQ(VoteAll(e, {0, 1, 2}, kV), (EngineActions{Execute(0, 1, 0)}));
  EXPECT_EQ(e.OnDeath(0, kSegv, 1), (EngineActions{Kill(0, KillReason::kCrashed, 1, 1)}));
  EXPECT_EQ(e.OnExecuted(2), (EngineActions{Reply(1, 1, 1), Reply(2, 1, 1)}));
}

TEST(VoteEngineTest, AVoteWithdrawnByDeathBeforeTheDecisionNoLongerCounts) {
  VoteEngine e(3, kTimeout);
  e.OnVote(0, kV, false, 0);
  e.OnVote(1, kW, false, 0);
  // Replica 0 dies while it waits: its kV is gone, and the view shrinks to {1, 2}.
  EXPECT_EQ(e.OnDeath(0, kSegv, 1), (EngineActions{Kill(0, KillReason::kCrashed, 1, 1)}));
  EXPECT_EQ(e.OnVote(2, kW, false, 2), (EngineActions{Execute(1, 1, 1)}));
}

// Regression (found as a bug): a replica that was answered, voted ahead for the next step (its vote is held), and
// then dies before the step completes (killed from outside, the OOM killer, a crash in the
// shim while it waits) reaches VoteEngine::Record with `early` already set and fails
// NMR_CHECK(... !rep.early.has_value()), aborting nmr-run. OnDeath only treats a death as
// "not a vote" when the replica waits for the *current* step (next_step == step_); the same
// must hold for a held early vote (remove it as kCrashed). The scenario runs in a child
// first so that the abort fails this test instead of the whole binary.
TEST(VoteEngineDeathTest, ADeathAfterAHeldEarlyVoteRemovesTheReplica) {
  auto scenario = [] {
    VoteEngine e(3, kTimeout);
    EngineActions all;
    Append(all, VoteAll(e, {0, 1}, kV));
    Append(all, e.OnExecuted(1));             // replies to 0 and 1; replica 2 lags
    Append(all, e.OnVote(0, kV2, false, 2));  // held for step 2
    Append(all, e.OnDeath(0, kSegv, 3));      // dies while waiting for step 2's result
    Append(all, e.OnVote(2, kV, false, 4));
    Append(all, VoteAll(e, {1, 2}, kV2, 5));
    return std::make_pair(all, e.Members());
  };
  ASSERT_EXIT(
      {
        scenario();
        std::exit(0);
      },
      testing::ExitedWithCode(0), "")
      << "the engine aborted";
  auto [all, members] = scenario();
  EXPECT_NE(std::find_if(all.begin(), all.end(),
                         [](const EngineAction& a) {
                           return a.kind == Kind::kKill && a.replica == 0 &&
                                  a.reason == KillReason::kCrashed;
                         }),
            all.end());
  EXPECT_NE(std::find(all.begin(), all.end(), Execute(1, 2, 1)), all.end());
  EXPECT_EQ(members, (std::vector<int>{1, 2}));
}

// ---- The program ends --------------------------------------------------------------------

TEST(VoteEngineTest, TheMajorityExitsThenAStragglerExitsTheSameWay) {
  VoteEngine e(3, kTimeout);
  EXPECT_EQ(e.OnVote(0, kExit0, true, 100), EngineActions{});
  EXPECT_EQ(e.OnVote(1, kExit0, true, 100),
            (EngineActions{Finish(0, 1, 0), Reply(0, 1, 0), Reply(1, 1, 0)}))
      << "nothing is executed for an exit; its voters are let go";
  EXPECT_FALSE(e.finished()) << "replica 2 is still to be judged";
  EXPECT_EQ(e.NextDeadline(), 100 + kTimeout);
  EXPECT_EQ(e.OnVote(2, kExit0, true, 200), (EngineActions{Reply(2, 1, 0)}));
  EXPECT_TRUE(e.finished());
  EXPECT_EQ(e.NextDeadline(), std::nullopt);
}

TEST(VoteEngineTest, AStragglerThatDoesNotExitLikeTheMajorityIsKilled) {
  VoteEngine e(3, kTimeout);
  e.OnVote(1, kExit0, true, 0);
  e.OnVote(2, kExit0, true, 0);
  EXPECT_EQ(e.OnVote(0, kV, false, 1), (EngineActions{Kill(0, KillReason::kDiverged, 1, 1)}));
  EXPECT_TRUE(e.finished());
}

TEST(VoteEngineTest, AStragglerThatExitsWithAnotherCodeIsKilled) {
  VoteEngine e(3, kTimeout);
  e.OnVote(0, kExit0, true, 0);
  e.OnVote(1, kExit0, true, 0);
  EXPECT_EQ(e.OnVote(2, kExit1, true, 1), (EngineActions{Kill(2, KillReason::kDiverged, 1, 1)}));
  EXPECT_TRUE(e.finished());
}

TEST(VoteEngineTest, AStragglerThatNeverExitsIsKilledAsHung) {
  VoteEngine e(3, kTimeout);
  e.OnVote(0, kExit0, true, 0);
  e.OnVote(1, kExit0, true, 0);
  // The voters carry out their exit; their deaths after the decision change nothing.
  EXPECT_EQ(e.OnDeath(0, kExited0, 5), EngineActions{});
  EXPECT_EQ(e.OnTick(kTimeout - 1), EngineActions{});
  EXPECT_EQ(e.OnTick(kTimeout), (EngineActions{Kill(2, KillReason::kHung, 1, 1)}));
  EXPECT_TRUE(e.finished());
}

TEST(VoteEngineTest, TheOnlyReplicaExits) {
  VoteEngine e(1, kTimeout);
  EXPECT_EQ(e.OnVote(0, kExit0, true, 0), (EngineActions{Finish(0, 1, 0), Reply(0, 1, 0)}));
  EXPECT_TRUE(e.finished());
}

// ---- Timeouts ----------------------------------------------------------------------------

TEST(VoteEngineTest, AStragglerIsHungOnlyAtTheDeadline) {
  VoteEngine e(3, kTimeout);
  EXPECT_EQ(e.OnVote(0, kV, false, 40), EngineActions{});
  EXPECT_EQ(e.NextDeadline(), std::nullopt) << "no quorum yet: nobody is late";
  EXPECT_EQ(e.OnTick(40 + 10 * kTimeout), EngineActions{});
  const int64_t quorum_at = 100 + 10 * kTimeout;
  EXPECT_EQ(e.OnVote(1, kV, false, quorum_at), (EngineActions{Execute(0, 1, 0)}));
  EXPECT_EQ(e.NextDeadline(), quorum_at + kTimeout) << "measured from the quorum";
  EXPECT_EQ(e.OnExecuted(quorum_at + 1), (EngineActions{Reply(0, 1, 0), Reply(1, 1, 0)}));

  EXPECT_EQ(e.OnTick(quorum_at + kTimeout - 1), EngineActions{});
  EXPECT_TRUE(e.IsMember(2));
  EXPECT_EQ(e.OnTick(quorum_at + kTimeout), (EngineActions{Kill(2, KillReason::kHung, 1, 1)}));
  EXPECT_EQ(e.seq(), 2u) << "the step is over without it";
  EXPECT_EQ(e.NextDeadline(), std::nullopt);
  EXPECT_EQ(e.OnVote(2, kV, false, quorum_at + kTimeout + 1), EngineActions{})
      << "a vote from a replica already killed is ignored";
}

TEST(VoteEngineTest, AStragglerJustInTimeIsNotHung) {
  VoteEngine e(3, kTimeout);
  VoteAll(e, {0, 1}, kV, 0);
  e.OnExecuted(1);
  EXPECT_EQ(e.OnVote(2, kV, false, kTimeout - 1), (EngineActions{Reply(2, 1, 0)}));
  EXPECT_EQ(e.NextDeadline(), std::nullopt);
  EXPECT_EQ(e.OnTick(kTimeout * 5), EngineActions{});
  EXPECT_EQ(e.Members(), (std::vector<int>{0, 1, 2}));
}

TEST(VoteEngineTest, ALongExecutionDoesNotMakeTheVotersHung) {
  VoteEngine e(3, kTimeout);
  VoteAll(e, {0, 1, 2}, kV, 0);
  EXPECT_EQ(e.OnTick(kTimeout * 3), EngineActions{}) << "every member voted";
  EXPECT_EQ(e.OnExecuted(kTimeout * 3 + 1),
            (EngineActions{Reply(0, 1, 0), Reply(1, 1, 0), Reply(2, 1, 0)}));
}

TEST(VoteEngineTest, AHungStragglerDuringTheExecutionIsKilledAndTheOthersAnswered) {
  VoteEngine e(3, kTimeout);
  VoteAll(e, {0, 1}, kV, 0);
  EXPECT_EQ(e.OnTick(kTimeout), (EngineActions{Kill(2, KillReason::kHung, 1, 1)}));
  EXPECT_EQ(e.OnExecuted(kTimeout + 1), (EngineActions{Reply(0, 1, 1), Reply(1, 1, 1)}));
  EXPECT_EQ(e.seq(), 2u);
}

TEST(VoteEngineTest, StragglersAreTheMembersYetToVote) {
  VoteEngine e(3, kTimeout);
  EXPECT_EQ(e.Stragglers(), (std::vector<int>{0, 1, 2}));
  e.OnVote(1, kV, false, 0);
  EXPECT_EQ(e.Stragglers(), (std::vector<int>{0, 2}));
  e.OnVote(0, kV, false, 0);
  EXPECT_EQ(e.Stragglers(), (std::vector<int>{2}));
  e.OnExecuted(1);
  EXPECT_EQ(e.Stragglers(), (std::vector<int>{2})) << "answered voters are not stragglers";
  e.OnVote(0, kV2, false, 2);  // held for step 2
  EXPECT_EQ(e.Stragglers(), (std::vector<int>{2}));
  e.OnTick(kTimeout);
  EXPECT_EQ(e.Stragglers(), (std::vector<int>{1})) << "replica 2 is gone; step 2 waits for 1";
}

TEST(VoteEngineTest, APostponedDeadlineMovesTheHangVerdict) {
  VoteEngine e(3, kTimeout);
  e.PostponeDeadline(5);
  EXPECT_EQ(e.NextDeadline(), std::nullopt) << "nothing to postpone before a quorum";
  VoteAll(e, {0, 1}, kV, 0);
  e.OnExecuted(1);
  ASSERT_EQ(e.NextDeadline(), kTimeout);
  e.PostponeDeadline(3 * kTimeout);
  EXPECT_EQ(e.NextDeadline(), 3 * kTimeout);
  EXPECT_EQ(e.OnTick(kTimeout), EngineActions{});
  EXPECT_EQ(e.OnTick(3 * kTimeout - 1), EngineActions{});
  EXPECT_EQ(e.OnTick(3 * kTimeout), (EngineActions{Kill(2, KillReason::kHung, 1, 1)}));
}

// ---- Racing ahead ------------------------------------------------------------------------

TEST(VoteEngineTest, AVoteForTheNextStepIsHeldUntilThisStepCompletes) {
  VoteEngine e(3, kTimeout);
  VoteAll(e, {0, 1}, kV);
  EXPECT_EQ(e.OnExecuted(1), (EngineActions{Reply(0, 1, 0), Reply(1, 1, 0)}));
  // 0 and 1 race ahead: two of three agree on kV2, but step 1 still waits for replica 2.
  EXPECT_EQ(e.OnVote(0, kV2, false, 2), EngineActions{});
  EXPECT_EQ(e.OnVote(1, kV2, false, 2), EngineActions{});
  EXPECT_EQ(e.seq(), 1u);
  // Replica 2 completes step 1; the held votes decide step 2 at once.
  EXPECT_EQ(e.OnVote(2, kV, false, 3), (EngineActions{Reply(2, 1, 0), Execute(0, 2, 0)}));
  EXPECT_EQ(e.seq(), 2u);
  EXPECT_EQ(e.NextDeadline(), 3 + kTimeout);
  EXPECT_EQ(e.OnVote(2, kV2, false, 4), EngineActions{});
  EXPECT_EQ(e.OnExecuted(5), (EngineActions{Reply(0, 2, 0), Reply(1, 2, 0), Reply(2, 2, 0)}));
}

TEST(VoteEngineTest, AWrongVoteHeldForTheNextStepIsJudgedThere) {
  VoteEngine e(3, kTimeout);
  VoteAll(e, {0, 1}, kV);
  e.OnExecuted(1);
  EXPECT_EQ(e.OnVote(0, kW, false, 2), EngineActions{});
  EXPECT_EQ(e.OnVote(2, kV, false, 3), (EngineActions{Reply(2, 1, 0)}));
  EXPECT_EQ(e.OnVote(1, kV2, false, 4), EngineActions{});
  EXPECT_EQ(e.OnVote(2, kV2, false, 4),
            (EngineActions{Execute(1, 2, 0), Kill(0, KillReason::kDiverged, 2, 1)}));
}

// ---- Recovery: members found faulty, clones ----------------------------------------------
//
// Decisions that a later OnExecuted needs are ASSERTed, and OnJoin goes through Join: a
// regression then fails its test instead of aborting the binary in an NMR_CHECK.

testing::AssertionResult Join(VoteEngine& e, int r, int donor) {
  if (e.finished() || e.IsMember(r) || !e.BetweenSteps(donor)) {
    return testing::AssertionFailure() << "OnJoin(" << r << ", " << donor << ") would abort: "
                                       << "slot " << r << (e.IsMember(r) ? " is" : " is not")
                                       << " a member, donor " << donor << " is"
                                       << (e.BetweenSteps(donor) ? "" : " not")
                                       << " between steps";
  }
  e.OnJoin(r, donor);
  return testing::AssertionSuccess();
}

TEST(VoteEngineRecoveryTest, ACloneJoinsBetweenStepsAndItsVoteCountsForThatStep) {
  VoteEngine e(3, kTimeout);
  ASSERT_EQ(VoteAll(e, {0, 1}, kV), (EngineActions{Execute(0, 1, 0)}));
  EXPECT_EQ(e.OnVote(2, kW, false, 0), (EngineActions{Kill(2, KillReason::kDiverged, 1, 1)}));
  EXPECT_EQ(e.OnExecuted(1), (EngineActions{Reply(0, 1, 1), Reply(1, 1, 1)}));
  ASSERT_EQ(e.seq(), 2u);
  EXPECT_TRUE(e.BetweenSteps(0));
  EXPECT_FALSE(e.BetweenSteps(2)) << "a dead slot is nobody's donor";

  ASSERT_TRUE(Join(e, 2, /*donor=*/0));
  EXPECT_EQ(e.view(), 2u) << "a join is a new view";
  EXPECT_EQ(e.Members(), (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(e.BetweenSteps(2)) << "the clone has not voted on step 2 either";
  // Three members again, so two votes decide: the clone's and replica 0's, before replica 1's.
  EXPECT_EQ(e.OnVote(2, kV2, false, 2), EngineActions{});
  ASSERT_EQ(e.OnVote(0, kV2, false, 2), (EngineActions{Execute(0, 2, 2)}));
  EXPECT_EQ(e.OnVote(1, kV2, false, 3), EngineActions{});
  EXPECT_EQ(e.OnExecuted(4), (EngineActions{Reply(0, 2, 2), Reply(1, 2, 2), Reply(2, 2, 2)}));
  EXPECT_EQ(e.seq(), 3u);
}

TEST(VoteEngineRecoveryTest, OnFaultyRemovesAWaitingVoterAndItsVote) {
  VoteEngine e(3, kTimeout);
  EXPECT_EQ(e.OnVote(0, kV, false, 0), EngineActions{});
  EXPECT_FALSE(e.BetweenSteps(0)) << "it voted: it waits for the result";
  EXPECT_EQ(e.OnFaulty(0, KillReason::kScrub, 1),
            (EngineActions{Kill(0, KillReason::kScrub, 1, 1)}));
  EXPECT_EQ(e.Members(), (std::vector<int>{1, 2}));
  EXPECT_EQ(e.OnFaulty(0, KillReason::kProtocol, 1), EngineActions{}) << "no longer a member";
  // Its kV went with it: the view of two needs both of the others.
  EXPECT_EQ(e.OnVote(1, kV, false, 2), EngineActions{});
  EXPECT_EQ(e.OnVote(2, kV, false, 2), (EngineActions{Execute(1, 1, 1)}));
}

TEST(VoteEngineRecoveryTest, OnFaultyOfAStragglerCanDecideTheStep) {
  VoteEngine e(4, kTimeout);
  VoteAll(e, {0, 1}, kV);
  EXPECT_EQ(e.OnVote(2, kW, false, 0), EngineActions{}) << "kV can still make 3 of 4";
  // Replica 3 leaves before it votes: 2 of 3 is a quorum now, and replica 2 is outvoted.
  ASSERT_EQ(e.OnFaulty(3, KillReason::kProtocol, 1),
            (EngineActions{Kill(3, KillReason::kProtocol, 1, 1), Execute(0, 1, 1),
                           Kill(2, KillReason::kDiverged, 1, 2)}));
  EXPECT_EQ(e.OnExecuted(2), (EngineActions{Reply(0, 1, 2), Reply(1, 1, 2)}));
}

// The supervisor clones at a fresh step (every member answered), as in the first test; the
// engine also takes a donor answered for a step that still waits for a straggler. The clone
// then owes no vote on that step: the straggler's deadline is not the clone's.
TEST(VoteEngineRecoveryTest, AJoinBeforeTheEngineAdvancedVotesOnTheNextStep) {
  VoteEngine e(4, kTimeout);
  EXPECT_EQ(e.OnFaulty(3, KillReason::kScrub, 0),
            (EngineActions{Kill(3, KillReason::kScrub, 1, 1)}));
  ASSERT_EQ(VoteAll(e, {0, 1}, kV), (EngineActions{Execute(0, 1, 1)}));
  EXPECT_EQ(e.OnExecuted(1), (EngineActions{Reply(0, 1, 1), Reply(1, 1, 1)}));
  ASSERT_EQ(e.seq(), 1u) << "replica 2 has not voted on step 1";
  EXPECT_TRUE(e.BetweenSteps(0)) << "answered for step 1, no vote on step 2 yet";
  EXPECT_TRUE(e.BetweenSteps(2)) << "a straggler: nothing voted since the start";

  ASSERT_TRUE(Join(e, 3, /*donor=*/0));
  EXPECT_EQ(e.view(), 2u);
  EXPECT_EQ(e.Stragglers(), (std::vector<int>{2})) << "the clone is past step 1, as its donor";
  EXPECT_EQ(e.OnVote(3, kV2, false, 2), EngineActions{}) << "held for step 2";
  EXPECT_FALSE(e.BetweenSteps(3));
  EXPECT_EQ(e.OnTick(kTimeout), (EngineActions{Kill(2, KillReason::kHung, 1, 3)}))
      << "only the straggler is hung";
  EXPECT_EQ(e.seq(), 2u);
  // The clone's held vote and replica 0's are 2 of 3.
  ASSERT_EQ(e.OnVote(0, kV2, false, kTimeout + 1), (EngineActions{Execute(0, 2, 3)}));
  EXPECT_EQ(e.OnExecuted(kTimeout + 2), (EngineActions{Reply(0, 2, 3), Reply(3, 2, 3)}));
  EXPECT_EQ(e.OnVote(1, kV2, false, kTimeout + 3), (EngineActions{Reply(1, 2, 3)}));
  EXPECT_EQ(e.seq(), 3u);
}

TEST(VoteEngineRecoveryTest, ACloneThatVotesWrongIsKilledLikeAnyOther) {
  VoteEngine e(3, kTimeout);
  ASSERT_EQ(VoteAll(e, {0, 1}, kV), (EngineActions{Execute(0, 1, 0)}));
  EXPECT_EQ(e.OnDeath(2, kSegv, 0), (EngineActions{Kill(2, KillReason::kCrashed, 1, 1)}));
  e.OnExecuted(1);
  ASSERT_TRUE(Join(e, 2, /*donor=*/1));
  EXPECT_EQ(e.OnVote(2, kW, false, 2), EngineActions{});
  EXPECT_EQ(e.OnVote(0, kV2, false, 2), EngineActions{});
  ASSERT_EQ(e.OnVote(1, kV2, false, 2),
            (EngineActions{Execute(0, 2, 2), Kill(2, KillReason::kDiverged, 2, 3)}));
  // The slot is refilled again at the next step.
  EXPECT_EQ(e.OnExecuted(3), (EngineActions{Reply(0, 2, 3), Reply(1, 2, 3)}));
  ASSERT_TRUE(Join(e, 2, /*donor=*/0));
  EXPECT_EQ(e.view(), 4u);
  EXPECT_EQ(e.Members(), (std::vector<int>{0, 1, 2}));
}

TEST(VoteEngineRecoveryDeathTest, OnJoinRefusesADonorThatHasVotedSinceItsReply) {
  VoteEngine e(3, kTimeout);
  VoteAll(e, {0, 1}, kV);
  e.OnVote(2, kW, false, 0);
  e.OnExecuted(1);
  e.OnVote(0, kV2, false, 2);
  // A clone of replica 0 would wait for a result the engine does not know it asked for.
  EXPECT_FALSE(e.BetweenSteps(0));
  EXPECT_DEATH(e.OnJoin(2, /*donor=*/0), "check failed");
}

// ---- Generated schedules -----------------------------------------------------------------
//
// A simulation of N replicas running the same program of `steps_` votes (the last one is
// exit_group). At most f = (N-1)/2 of them are faulty: at one step each votes a wrong value,
// dies, dies while it waits for a result, or hangs. Events (votes, deaths, completed
// executions) are interleaved at random; time only jumps to a deadline when nothing else
// can happen, so healthy replicas are never late. Every action is checked as it comes, and
// the engine's queries (view, members, stragglers, BetweenSteps) after every event.
//
// With recovery on, the supervisor's part is interleaved too: members found faulty outside a
// vote (OnFaulty, scrub or protocol, between steps or while waiting), stragglers judged hung
// one by one at the deadline (OnHung, then PostponeDeadline, as Supervisor::CheckStragglers
// does), and clones (OnJoin) of a random member between steps into a random dead slot. A
// clone is a new replica that knows what its donor knows (every result up to the donor's) and
// votes as a healthy replica from the donor's next step on, unless it gets a fault of its
// own. Faults are only added while the members without one stay a strict majority of the
// view, so the healthy value must win every step and kNoMajority is always an engine bug.

enum class Fault {
  kNone,
  // Shows when the replica reaches fault_step:
  kWrongValue,
  kCrash,
  kCrashWhileWaiting,
  kHang,
  // Found by the supervisor outside a vote (OnFaulty):
  kScrub,
  kProtocol,
};
constexpr uint32_t kVoteFaults = 4;  // kWrongValue .. kHang: the faults a plan can hold

enum class Recovery { kOff, kOn };

struct SimReplica {
  Fault fault = Fault::kNone;
  uint64_t fault_step = 0;  // the step at which the fault shows
  VoteValue wrong_value;    // kWrongValue: what it votes instead
  bool wrong_terminal = false;
  int clone_of = -1;  // a clone: its donor's slot

  uint64_t votes = 0;                   // cast so far; vote k belongs to step k
  std::map<uint64_t, VoteValue> voted;  // step -> value
  uint64_t replied = 0;                 // the last step it got a result for
  bool waiting = false;                 // voted, no result yet
  bool exiting = false;                 // got the result of its exit: will die next
  bool dead = false;                    // its death was reported (a crash or its exit)
  bool faulted = false;                 // its fault has shown
  bool gone = false;                    // dead, hung or killed: never acts again
  std::optional<KillReason> killed;
};

struct SimStats {
  int runs = 0;
  int finishes = 0;
  std::map<KillReason, int> kills;
  int early_votes = 0;  // votes cast while the engine was still on the previous step
  int joins = 0;
  int joins_before_advance = 0;  // the donor was answered for the step the engine is still on
  int joins_from_straggler = 0;  // the donor has yet to vote on a decided step
  int clone_replies = 0;
  int clones_killed = 0;
  int judged_hung = 0;  // stragglers killed by OnHung rather than OnTick
};

class Simulation {
 public:
  Simulation(uint32_t seed, int n, Recovery recovery, SimStats& stats)
      : rng_(seed),
        recovery_(recovery == Recovery::kOn),
        first_view_(recovery_ ? seed % 3 : 0),
        engine_(n, kTimeout, first_view_),
        stats_(stats) {
    // Without recovery the random draws are those of the schedules before recovery existed.
    steps_ = 1 + rng_() % (recovery_ ? 12 : 8);
    replicas_.resize(static_cast<size_t>(n));
    for (int r = 0; r < n; ++r) {
      members_.insert(r);
    }
    int faulty = static_cast<int>(rng_() % static_cast<uint32_t>((n - 1) / 2 + 1));
    std::vector<int> order = Range(n);
    std::shuffle(order.begin(), order.end(), rng_);
    for (int k = 0; k < faulty; ++k) {
      PlanFault(Rep(order[static_cast<size_t>(k)]), 1);
    }
    if (recovery_) {
      found_faulty_left_ = static_cast<int>(rng_() % 4);
    }
    std::ostringstream head;
    head << "seed " << seed << ", N=" << n << ", " << steps_ << " steps";
    if (recovery_) {
      head << ", recovery (first view " << first_view_ << ", up to " << found_faulty_left_
           << " found faulty)";
    }
    head << ";";
    for (int r = 0; r < n; ++r) {
      head << " r" << r << ":" << FaultText(Rep(r));
    }
    Log(head.str());
  }

  // Runs to the end. Returns "" when every invariant held, else what broke and the trace.
  std::string Run() {
    stats_.runs++;
    for (int i = 0; i < 10'000 && failure_.empty() && !engine_.finished(); ++i) {
      std::vector<Event> events = Enabled();
      if (events.empty()) {
        TimeRunsOut();
        continue;
      }
      now_ += static_cast<int64_t>(rng_() % 3);
      Perform(events[rng_() % events.size()]);
    }
    if (failure_.empty()) {
      CheckTheEnd();
    }
    if (failure_.empty()) {
      return "";
    }
    std::string out = failure_ + "\ntrace:\n";
    for (const std::string& line : trace_) {
      out += "  " + line + "\n";
    }
    return out;
  }

 private:
  struct Event {
    enum Type { kVote, kCrashWhileWaiting, kExitDeath, kExecuted, kIdleTick, kFoundFaulty, kJoin };
    Type type;
    int replica = -1;
  };

  static constexpr VoteValue kExitValue{0xe, 0};
  static constexpr VoteValue kExitDeath{0xdead, 0};  // exited with code 0
  static constexpr VoteValue kCrashValue{0xdead, 11};

  static const char* FaultName(Fault f) {
    switch (f) {
      case Fault::kNone:
        return "healthy";
      case Fault::kWrongValue:
        return "wrong";
      case Fault::kCrash:
        return "crash";
      case Fault::kCrashWhileWaiting:
        return "crash-waiting";
      case Fault::kHang:
        return "hang";
      case Fault::kScrub:
        return "scrub";
      case Fault::kProtocol:
        return "protocol";
    }
    return "?";
  }

  static std::string FaultText(const SimReplica& rep) {
    std::string text = FaultName(rep.fault);
    if (rep.fault != Fault::kNone) {
      text += "@" + std::to_string(rep.fault_step);
    }
    return text;
  }

  static std::string Name(int r) { return "r" + std::to_string(r); }

  SimReplica& Rep(int r) { return replicas_[static_cast<size_t>(r)]; }
  const SimReplica& Rep(int r) const { return replicas_[static_cast<size_t>(r)]; }

  // A vote fault that shows at a random step from `first` on.
  void PlanFault(SimReplica& rep, uint64_t first) {
    rep.fault = static_cast<Fault>(1 + rng_() % kVoteFaults);
    rep.fault_step = first + rng_() % (steps_ - first + 1);
    // Two wrong values per step, so faulty replicas sometimes agree with each other.
    rep.wrong_value = VoteValue{rep.fault_step, 1 + rng_() % 2};
    rep.wrong_terminal = rng_() % 2 == 0;
  }

  VoteValue Healthy(uint64_t step) const {
    return step == steps_ ? kExitValue : VoteValue{step, 0};
  }

  void Log(const std::string& line) { trace_.push_back("t=" + std::to_string(now_) + " " + line); }

  void Check(bool ok, const std::string& what) {
    if (!ok && failure_.empty()) {
      failure_ = what;
    }
  }

  // ---- The model's view of the engine's membership ----

  // Members without a fault, and members with one (planned, or shown and not yet removed).
  // The healthy value wins every step as long as the first outnumber the second.
  std::pair<int, int> Census() const {
    int healthy = 0;
    int faulty = 0;
    for (int m : members_) {
      (Rep(m).fault == Fault::kNone ? healthy : faulty)++;
    }
    return {healthy, faulty};
  }

  // Answered for its last vote (or never voted) and not voted since: what BetweenSteps says.
  // A hung member is between steps too; it just never leaves that state.
  bool ModelBetweenSteps(int r) const {
    const SimReplica& rep = Rep(r);
    return members_.count(r) == 1 && !rep.dead && rep.votes == rep.replied;
  }

  // Members that have not voted on the step the engine is on.
  std::vector<int> ModelStragglers() const {
    std::vector<int> out;
    for (int m : members_) {
      if (Rep(m).votes < engine_.seq()) {
        out.push_back(m);
      }
    }
    return out;
  }

  // Who the supervisor may find faulty: a member still running (between steps or waiting)
  // whose own fault has not shown, if the healthy members stay a majority without it.
  std::vector<int> FaultyTargets() const {
    auto [healthy, faulty] = Census();
    std::vector<int> out;
    for (int m : members_) {
      const SimReplica& rep = Rep(m);
      if (!rep.gone && !rep.faulted && (rep.fault != Fault::kNone || healthy - 1 > faulty)) {
        out.push_back(m);
      }
    }
    return out;
  }

  // Possible donors: members between steps that can fork (not hung).
  std::vector<int> Donors() const {
    std::vector<int> out;
    for (int m : members_) {
      if (ModelBetweenSteps(m) && !Rep(m).gone) {
        out.push_back(m);
      }
    }
    return out;
  }

  std::vector<int> DeadSlots() const {
    std::vector<int> out;
    for (int r = 0; r < static_cast<int>(replicas_.size()); ++r) {
      if (members_.count(r) == 0) {
        out.push_back(r);
      }
    }
    return out;
  }

  // ---- Events ----

  std::vector<Event> Enabled() const {
    std::vector<Event> events;
    if (executing_) {
      events.push_back({Event::kExecuted});
    }
    for (int r = 0; r < static_cast<int>(replicas_.size()); ++r) {
      const SimReplica& rep = Rep(r);
      if (rep.gone) {
        continue;
      }
      if (rep.exiting) {
        events.push_back({Event::kExitDeath, r});
      } else if (!rep.waiting && rep.votes < steps_) {
        events.push_back({Event::kVote, r});
      } else if (rep.waiting && rep.fault == Fault::kCrashWhileWaiting && !rep.faulted &&
                 rep.votes >= rep.fault_step) {
        // While it waits for the current step, or with its vote held for the next one.
        events.push_back({Event::kCrashWhileWaiting, r});
      }
    }
    if (recovery_) {
      // One event each, whoever it ends up hitting: recovery is as likely as one vote.
      if (found_faulty_left_ > 0 && !FaultyTargets().empty()) {
        events.push_back({Event::kFoundFaulty});
      }
      if (!DeadSlots().empty() && !Donors().empty()) {
        events.push_back({Event::kJoin});
      }
    }
    if (!events.empty() && rng_() % 8 == 0) {
      events.push_back({Event::kIdleTick});
    }
    return events;
  }

  void Perform(const Event& event) {
    const int r = event.replica;
    switch (event.type) {
      case Event::kExecuted:
        Log("executed");
        executing_ = false;
        completed_.insert(last_decided_);
        Apply(engine_.OnExecuted(now_));
        break;
      case Event::kIdleTick: {
        EngineActions actions = engine_.OnTick(now_);
        Check(actions.empty(), "a tick before any deadline acted");
        break;
      }
      case Event::kExitDeath:
        Log(Name(r) + " exits");
        Rep(r).gone = Rep(r).dead = true;
        Apply(engine_.OnDeath(r, kExitDeath, now_));
        break;
      case Event::kCrashWhileWaiting:
        Log(Name(r) + " dies while waiting");
        Rep(r).gone = Rep(r).dead = Rep(r).faulted = true;
        removed_by_event_ = r;
        Apply(engine_.OnDeath(r, kCrashValue, now_));
        removed_by_event_ = -1;
        break;
      case Event::kVote:
        CastVote(r, Rep(r));
        break;
      case Event::kFoundFaulty:
        FindFaulty();
        break;
      case Event::kJoin:
        Join();
        break;
    }
  }

  void CastVote(int r, SimReplica& rep) {
    const uint64_t step = rep.votes + 1;
    const std::string who = Name(r);
    if (step > engine_.seq()) {
      stats_.early_votes++;
    }
    if (rep.fault == Fault::kHang && step >= rep.fault_step) {
      Log(who + " hangs before step " + std::to_string(step));
      rep.gone = rep.faulted = true;
      return;
    }
    if (rep.fault == Fault::kCrash && step == rep.fault_step) {
      Log(who + " crashes as its vote for step " + std::to_string(step));
      rep.gone = rep.dead = rep.faulted = true;
      rep.votes = step;
      rep.voted[step] = kCrashValue;
      Apply(engine_.OnDeath(r, kCrashValue, now_));
      return;
    }
    VoteValue value = Healthy(step);
    bool terminal = step == steps_;
    if (rep.fault == Fault::kWrongValue && step == rep.fault_step) {
      value = rep.wrong_value;
      terminal = rep.wrong_terminal;
      rep.faulted = true;
    }
    Log(who + " votes {" + std::to_string(value.low) + "," + std::to_string(value.high) + "}" +
        (terminal ? " terminal" : "") + " for step " + std::to_string(step));
    rep.votes = step;
    rep.voted[step] = value;
    rep.waiting = true;
    Apply(engine_.OnVote(r, value, terminal, now_));
  }

  // Scrubbing or a protocol check finds a member faulty, whatever it was doing.
  void FindFaulty() {
    const std::vector<int> targets = FaultyTargets();
    const int r = targets[rng_() % targets.size()];
    SimReplica& rep = Rep(r);
    rep.fault = rng_() % 2 == 0 ? Fault::kScrub : Fault::kProtocol;
    rep.faulted = true;
    --found_faulty_left_;
    const KillReason reason = ExpectedReason(rep.fault);
    Log(Name(r) + " found faulty (OnFaulty, " + KillReasonName(reason) + ") while " +
        (rep.waiting ? "waiting" : "between steps"));
    removed_by_event_ = r;
    Apply(engine_.OnFaulty(r, reason, now_));
    removed_by_event_ = -1;
    Check(rep.killed == reason, "OnFaulty did not remove " + Name(r));
  }

  // A clone of a random member between steps takes a random dead slot.
  void Join() {
    const std::vector<int> slots = DeadSlots();
    const std::vector<int> donors = Donors();
    const int r = slots[rng_() % slots.size()];
    const int donor = donors[rng_() % donors.size()];
    const SimReplica& d = Rep(donor);
    // CheckState compared BetweenSteps after the last event; this keeps a disagreement from
    // aborting the whole binary in OnJoin's NMR_CHECK.
    if (!engine_.BetweenSteps(donor)) {
      Check(false, "the engine says donor " + Name(donor) + " is not between steps");
      return;
    }
    stats_.joins++;
    if (d.replied == engine_.seq()) {
      stats_.joins_before_advance++;
    } else if (last_decided_ == engine_.seq()) {
      stats_.joins_from_straggler++;
    }
    SimReplica clone;
    clone.clone_of = donor;
    clone.votes = d.votes;
    clone.replied = d.replied;
    clone.exiting = d.exiting;
    auto [healthy, faulty] = Census();
    if (clone.votes < steps_ && rng_() % 3 == 0 && healthy > faulty + 1) {
      PlanFault(clone, clone.votes + 1);
    }
    Log(Name(r) + " joins as a clone of " + Name(donor) + " (OnJoin; answered up to step " +
        std::to_string(clone.replied) + ", " + FaultText(clone) + ")");
    engine_.OnJoin(r, donor);
    Rep(r) = clone;
    members_.insert(r);
    ++view_changes_;
    CheckState();
  }

  // Nothing else can happen: only hung replicas are left to act, so time runs out for them.
  void TimeRunsOut() {
    std::optional<int64_t> deadline = engine_.NextDeadline();
    Check(deadline.has_value(), "stuck: nothing can happen and no deadline is set");
    if (!deadline) {
      return;
    }
    Check(*deadline > now_, "a deadline already in the past was not acted on");
    Check(engine_.OnTick(*deadline - 1).empty(), "a tick before the deadline acted");
    for (int r : engine_.Stragglers()) {
      Check(Rep(r).gone, "at the deadline, straggler " + Name(r) + " could still vote");
    }
    now_ = std::max(now_, *deadline);
    if (recovery_ && rng_() % 2 == 0) {
      JudgeStragglers();
      return;
    }
    Log("tick at the deadline");
    Apply(engine_.OnTick(now_));
  }

  // The supervisor's way (Supervisor::CheckStragglers): a straggler found hung is killed
  // alone (OnHung); the others, judged merely slow, get another timeout.
  void JudgeStragglers() {
    Log("at the deadline, the supervisor judges the stragglers");
    for (int r : engine_.Stragglers()) {
      if (rng_() % 2 == 0) {
        Log(Name(r) + " looks merely slow");
        continue;
      }
      Log(Name(r) + " is hung (OnHung)");
      Apply(engine_.OnHung(r, now_));
      Check(Rep(r).killed == KillReason::kHung, "OnHung did not remove " + Name(r));
      stats_.judged_hung++;
    }
    engine_.PostponeDeadline(now_ + kTimeout);
  }

  // ---- Checks ----

  void Apply(const EngineActions& actions) {
    for (const EngineAction& a : actions) {
      const std::string what = Describe(a);
      Log("  -> " + what);
      Observe(a, what);
      Check(a.view >= last_view_, "an action's view went back: " + what);
      last_view_ = a.view;
    }
    CheckState();
  }

  // The engine's state, as its queries tell it, against the model.
  void CheckState() {
    Check(engine_.view() >= last_view_, "the engine's view went back");
    last_view_ = engine_.view();
    Check(engine_.view() == first_view_ + view_changes_,
          "the view did not grow by one per member removed or joined");
    std::vector<int> members(members_.begin(), members_.end());
    Check(engine_.Members() == members, "Members() differs from the view the actions describe");
    if (engine_.finished()) {
      return;
    }
    for (int r = 0; r < static_cast<int>(replicas_.size()); ++r) {
      const bool between = engine_.BetweenSteps(r);
      if (between != ModelBetweenSteps(r)) {  // (the message only on failure: this runs a lot)
        Check(false, "BetweenSteps(" + std::to_string(r) + ") is " + (between ? "true" : "false") +
                         ", the model says otherwise");
      }
    }
    Check(engine_.Stragglers() == ModelStragglers(), "Stragglers() differs from the model");
  }

  void Observe(const EngineAction& a, const std::string& what) {
    if (a.kind != Kind::kNoMajority &&
        (a.replica < 0 || a.replica >= static_cast<int>(replicas_.size()))) {
      Check(false, "an action names no replica: " + what);
      return;
    }
    Check(a.view == first_view_ + view_changes_ + (a.kind == Kind::kKill ? 1u : 0u),
          "wrong view stamp: " + what);
    switch (a.kind) {
      case Kind::kExecute:
        Check(!executing_, "a second execution before the first completed: " + what);
        Check(members_.count(a.replica) == 1, "the leader is not a member: " + what);
        Check(++executions_[a.seq] == 1, "a step executed twice: " + what);
        Decided(a, what);
        executing_ = true;
        break;
      case Kind::kFinish:
        Check(a.seq == steps_, "finished before the program's last step: " + what);
        Decided(a, what);
        completed_.insert(a.seq);
        stats_.finishes++;
        finished_ = true;
        break;
      case Kind::kReply:
        ObserveReply(a, what);
        break;
      case Kind::kKill:
        ObserveKill(a, what);
        break;
      case Kind::kNoMajority:
        Check(false, "no majority although the healthy replicas are one: " + what);
        break;
    }
  }

  // Each replica, a clone included, gets the results of consecutive steps from the one after
  // what it knew at its start: none skipped, none twice.
  void ObserveReply(const EngineAction& a, const std::string& what) {
    Check(members_.count(a.replica) == 1, "a reply to a replica not in the view: " + what);
    Check(completed_.count(a.seq) == 1, "a reply before the step was carried out: " + what);
    SimReplica& rep = Rep(a.replica);
    Check(rep.waiting && rep.votes == a.seq, "a reply to a replica not waiting for it: " + what);
    Check(rep.voted.count(a.seq) == 1 && rep.voted[a.seq] == decided_[a.seq],
          "a reply to a replica that did not vote the decided value: " + what);
    Check(rep.replied + 1 == a.seq, "replies out of order: " + what);
    rep.replied = a.seq;
    rep.waiting = false;
    rep.exiting = a.seq == steps_;
    stats_.clone_replies += rep.clone_of >= 0 ? 1 : 0;
  }

  void ObserveKill(const EngineAction& a, const std::string& what) {
    Check(members_.erase(a.replica) == 1, "killed a replica not in the view: " + what);
    ++view_changes_;
    SimReplica& rep = Rep(a.replica);
    // The engine never removes a voter of the decided value, unless the event itself removes
    // it (its death while it waits, OnFaulty).
    auto vote = rep.voted.find(a.seq);
    auto decided = decided_.find(a.seq);
    Check(a.replica == removed_by_event_ || vote == rep.voted.end() || decided == decided_.end() ||
              vote->second != decided->second,
          "killed a member of the agreeing majority: " + what);
    Check(rep.faulted, "killed a healthy replica: " + what);
    Check(a.reason == ExpectedReason(rep.fault), "killed for the wrong reason: " + what);
    rep.killed = a.reason;
    rep.gone = true;
    rep.waiting = false;
    stats_.kills[a.reason]++;
    stats_.clones_killed += rep.clone_of >= 0 ? 1 : 0;
  }

  // The decision of step a.seq, led by a.replica: a strict majority of the view voted it,
  // and it is what the healthy replicas asked for.
  void Decided(const EngineAction& a, const std::string& what) {
    Check(a.seq == last_decided_ + 1, "steps decided out of order: " + what);
    last_decided_ = a.seq;
    const SimReplica& leader = Rep(a.replica);
    Check(leader.voted.count(a.seq) == 1, "the leader has not voted on this step: " + what);
    if (leader.voted.count(a.seq) == 0) {
      return;
    }
    const VoteValue value = leader.voted.at(a.seq);
    size_t count = 0;
    for (int m : members_) {
      const SimReplica& rep = Rep(m);
      auto it = rep.voted.find(a.seq);
      count += it != rep.voted.end() && it->second == value ? 1 : 0;
    }
    Check(2 * count > members_.size(), "decided without a strict majority of the view: " + what);
    Check(value == Healthy(a.seq), "decided a value the healthy replicas did not vote: " + what);
    decided_[a.seq] = value;
  }

  static KillReason ExpectedReason(Fault f) {
    switch (f) {
      case Fault::kWrongValue:
        return KillReason::kDiverged;
      case Fault::kCrash:
      case Fault::kCrashWhileWaiting:
        return KillReason::kCrashed;
      case Fault::kHang:
        return KillReason::kHung;
      case Fault::kScrub:
        return KillReason::kScrub;
      case Fault::kProtocol:
        return KillReason::kProtocol;
      case Fault::kNone:
        break;
    }
    return KillReason::kFinished;  // never expected
  }

  void CheckTheEnd() {
    Check(engine_.finished(), "the run did not end");
    Check(finished_, "the run ended without kFinish");
    Check(!executing_, "the run ended during an execution");
    for (uint64_t step = 1; step < steps_; ++step) {
      Check(executions_[step] == 1, "step " + std::to_string(step) + " was executed " +
                                        std::to_string(executions_[step]) + " times");
    }
    for (int r = 0; r < static_cast<int>(replicas_.size()); ++r) {
      const SimReplica& rep = Rep(r);
      if (rep.faulted) {
        Check(rep.killed.has_value(), Name(r) + "'s fault went unnoticed");
      } else {
        Check(rep.replied == steps_, Name(r) + " (healthy) did not get every result");
      }
    }
  }

  mutable std::mt19937 rng_;
  const bool recovery_;
  const uint32_t first_view_;
  VoteEngine engine_;
  SimStats& stats_;
  uint64_t steps_ = 0;
  std::vector<SimReplica> replicas_;  // by slot; a clone replaces the dead replica
  int64_t now_ = 0;
  int found_faulty_left_ = 0;  // OnFaulty calls this run may still make
  int removed_by_event_ = -1;  // the member the current event removes (OnFaulty, death)

  // The engine as its actions (and our joins) describe it.
  std::set<int> members_;
  uint32_t view_changes_ = 0;  // kills and joins
  uint32_t last_view_ = 0;
  uint64_t last_decided_ = 0;
  std::map<uint64_t, VoteValue> decided_;
  std::map<uint64_t, int> executions_;  // step -> kExecute count
  std::set<uint64_t> completed_;        // steps executed (or finished): replies may go out
  bool executing_ = false;
  bool finished_ = false;

  std::vector<std::string> trace_;
  std::string failure_;
};

// NMR_ENGINE_SCHEDULE=<seed> runs only the schedule of that seed (the one a failure prints).
const char* ReplayedSeed() { return std::getenv("NMR_ENGINE_SCHEDULE"); }

// Runs `seeds` schedules for each N from 1 to 7 (or only the replayed one). Returns the first
// failure, with its trace and how to replay it.
std::string RunSchedules(Recovery recovery, uint32_t seeds, SimStats& stats) {
  for (int n = 1; n <= 7; ++n) {
    for (uint32_t s = 1; s <= seeds; ++s) {
      const uint32_t seed = s * 1000 + static_cast<uint32_t>(n);
      if (ReplayedSeed() != nullptr && std::to_string(seed) != ReplayedSeed()) {
        continue;
      }
      std::string failure = Simulation(seed, n, recovery, stats).Run();
      if (!failure.empty()) {
        const testing::TestInfo* test = testing::UnitTest::GetInstance()->current_test_info();
        return failure + "replay: NMR_ENGINE_SCHEDULE=" + std::to_string(seed) +
               " nmr_unit_tests --gtest_filter=" + test->test_suite_name() + "." + test->name();
      }
    }
  }
  return "";
}

TEST(VoteEngineScheduleTest, GeneratedSchedulesKeepTheInvariants) {
  SimStats stats;
  std::string failure = RunSchedules(Recovery::kOff, 400, stats);
  ASSERT_TRUE(failure.empty()) << failure;
  if (ReplayedSeed() != nullptr) {
    return;
  }
  // The generator must reach what it claims to test.
  EXPECT_EQ(stats.finishes, stats.runs);
  EXPECT_GT(stats.kills[KillReason::kDiverged], 100);
  EXPECT_GT(stats.kills[KillReason::kCrashed], 100);
  EXPECT_GT(stats.kills[KillReason::kHung], 100);
  EXPECT_GT(stats.early_votes, 100);
}

// 7 x 1500 schedules of up to 12 steps: about 1.4 s here (RelWithDebInfo, 2 busy cores).
constexpr uint32_t kRecoverySeeds = 1500;

TEST(VoteEngineScheduleTest, GeneratedSchedulesWithRecoveryKeepTheInvariants) {
  SimStats stats;
  std::string failure = RunSchedules(Recovery::kOn, kRecoverySeeds, stats);
  ASSERT_TRUE(failure.empty()) << failure;
  if (ReplayedSeed() != nullptr) {
    return;
  }
  EXPECT_EQ(stats.finishes, stats.runs);
  for (KillReason reason : {KillReason::kDiverged, KillReason::kCrashed, KillReason::kHung,
                            KillReason::kScrub, KillReason::kProtocol}) {
    EXPECT_GT(stats.kills[reason], 500) << KillReasonName(reason);
  }
  EXPECT_GT(stats.early_votes, 1000);
  EXPECT_GT(stats.joins, 5000);
  EXPECT_GT(stats.joins_before_advance, 500);
  EXPECT_GT(stats.joins_from_straggler, 500);
  EXPECT_GT(stats.clone_replies, 10000);
  EXPECT_GT(stats.clones_killed, 500);
  EXPECT_GT(stats.judged_hung, 200);
}

}  // namespace
}  // namespace nmr

namespace nmr {
namespace {

// The supervisor judges each straggler by its CPU use: OnHung kills that one alone, and the
// others keep waiting for their votes.
TEST(VoteEngineHungTest, OnHungKillsOnlyThatStraggler) {
  VoteEngine e(5, 1000);
  VoteValue v{7, 7};
  for (int r : {0, 1, 2}) {
    e.OnVote(r, v, false, 0);
  }
  e.OnExecuted(1);
  EXPECT_EQ(e.Stragglers(), (std::vector<int>{3, 4}));
  EngineActions hung = e.OnHung(3, 2000);
  ASSERT_EQ(hung.size(), 1u);
  EXPECT_EQ(hung[0].kind, EngineAction::Kind::kKill);
  EXPECT_EQ(hung[0].replica, 3);
  EXPECT_EQ(hung[0].reason, KillReason::kHung);
  EXPECT_TRUE(e.IsMember(4));
  EXPECT_TRUE(e.OnHung(0, 2000).empty()) << "replica 0 voted: it is not a straggler";
  EngineActions late = e.OnVote(4, v, false, 2500);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].kind, EngineAction::Kind::kReply);
  EXPECT_EQ(late[0].replica, 4);
}

}  // namespace
}  // namespace nmr
