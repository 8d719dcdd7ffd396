#include "supervisor/core/policy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace nmr {
namespace {

// The error message for `yaml`, or a note that it parsed (so a wrong success shows up in the
// diff of the expected message).
std::string ErrorOf(const std::string& yaml) {
  Result<Policy> result = ParsePolicy(yaml, "p.yaml");
  return result.ok() ? "<parsed>" : result.error().message;
}

std::string InjectErrorOf(const std::string& spec) {
  Result<FaultSpec> result = ParseFaultSpec(spec);
  return result.ok() ? "<parsed>" : result.error().message;
}

Policy MustParse(const std::string& yaml) {
  Result<Policy> result = ParsePolicy(yaml, "p.yaml");
  EXPECT_TRUE(result.ok()) << result.error().message;
  return result.ok() ? result.value() : Policy{};
}

void ExpectDefaults(const Policy& p) {
  EXPECT_EQ(p.replicas, 3);
  EXPECT_EQ(p.vote_timeout_ms, 2000);
  EXPECT_FALSE(p.on_divergence.has_value());
  EXPECT_EQ(p.EffectiveOnDivergence(), OnDivergence::kRestart);  // 3 replicas: restart
  EXPECT_EQ(p.max_restarts, 10);
  EXPECT_FALSE(p.scrub_interval_ms.has_value());
  EXPECT_FALSE(p.forensics_dir.has_value());
  EXPECT_EQ(p.log_level, "warn");
  EXPECT_FALSE(p.log_file.has_value());
  EXPECT_FALSE(p.report.has_value());
  EXPECT_TRUE(p.faults.empty());
}

TEST(PolicyTest, EmptyInputsAreDefaults) {
  for (const char* yaml : {"", "\n", "# only a comment\n", "---\n", "---\n...\n", "~\n"}) {
    SCOPED_TRACE(yaml);
    ExpectDefaults(MustParse(yaml));
  }
}

TEST(PolicyTest, EmptyMapsAndListAreDefaults) {
  ExpectDefaults(MustParse("vote:\nlog: {}\nfaults: []\nreport: null\n"));
  ExpectDefaults(MustParse("faults:\nlog:\n  file: ~\n"));
}

TEST(PolicyTest, FullFile) {
  Policy p = MustParse(
      "# every key\n"
      "replicas: 5\n"
      "vote:\n"
      "  timeout_ms: 750\n"
      "on_divergence: abort\n"
      "log: {level: debug, file: /tmp/nmr.log}\n"
      "report: out/report.json\n"
      "faults:\n"
      "  - {kind: corrupt-vote, replica: 2, at_vote: 500}\n"
      "  - kind: corrupt-vote\n");
  EXPECT_EQ(p.replicas, 5);
  EXPECT_EQ(p.vote_timeout_ms, 750);
  EXPECT_EQ(p.on_divergence, OnDivergence::kAbort);
  EXPECT_EQ(p.log_level, "debug");
  EXPECT_EQ(p.log_file, "/tmp/nmr.log");
  EXPECT_EQ(p.report, "out/report.json");
  ASSERT_EQ(p.faults.size(), 2u);
  EXPECT_EQ(p.faults[0].kind, FaultSpec::Kind::kCorruptVote);
  EXPECT_EQ(p.faults[0].replica, 2);
  EXPECT_EQ(p.faults[0].at_vote, 500u);
  EXPECT_EQ(p.faults[1].replica, 0);  // defaults, as in --inject
  EXPECT_FALSE(p.faults[1].at_vote.has_value());  // at_vote 1 when nothing says when
}

TEST(PolicyTest, RangeEdgesAccepted) {
  EXPECT_EQ(MustParse("replicas: 1").replicas, 1);
  EXPECT_EQ(MustParse("replicas: 15").replicas, 15);
  EXPECT_EQ(MustParse("vote: {timeout_ms: 1}").vote_timeout_ms, 1);
  EXPECT_EQ(MustParse("vote: {timeout_ms: 3600000}").vote_timeout_ms, 3600000);
  EXPECT_EQ(MustParse("on_divergence: kill").on_divergence, OnDivergence::kKill);
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    EXPECT_EQ(MustParse(std::string("log: {level: ") + level + "}").log_level, level);
  }
}

TEST(PolicyTest, Replicas) {
  EXPECT_EQ(ErrorOf("replicas: 0"),
            "p.yaml:1: replicas: expected an integer from 1 to 15, got '0'");
  EXPECT_EQ(ErrorOf("replicas: -2"),
            "p.yaml:1: replicas: expected an integer from 1 to 15, got '-2'");
  EXPECT_EQ(ErrorOf("\n\nreplicas: 16\n"), "p.yaml:3: replicas: expected at most 15, got '16'");
  EXPECT_EQ(ErrorOf("replicas: 99999999999999999999999"),
            "p.yaml:1: replicas: expected at most 15, got '99999999999999999999999'");
  EXPECT_EQ(ErrorOf("replicas: three"),
            "p.yaml:1: replicas: expected an integer from 1 to 15, got 'three'");
  EXPECT_EQ(ErrorOf("replicas: 3.0"),
            "p.yaml:1: replicas: expected an integer from 1 to 15, got '3.0'");
  EXPECT_EQ(ErrorOf("replicas: 0x3"),
            "p.yaml:1: replicas: expected an integer from 1 to 15, got '0x3'");
  EXPECT_EQ(ErrorOf("replicas: [3]"),
            "p.yaml:1: replicas: expected an integer from 1 to 15, got a list");
  EXPECT_EQ(ErrorOf("replicas:\n  n: 3\n"),
            "p.yaml:2: replicas: expected an integer from 1 to 15, got a map");
  // An empty value is null, blamed on its key's line (yaml-cpp marks the next token).
  EXPECT_EQ(ErrorOf("replicas:\nreport: r.json\n"),
            "p.yaml:1: replicas: expected an integer from 1 to 15, got null");
}

TEST(PolicyTest, VoteTimeout) {
  EXPECT_EQ(ErrorOf("replicas: 3\nvote:\n  timeout_ms: soon\n"),
            "p.yaml:3: vote.timeout_ms: expected a positive integer, got 'soon'");
  EXPECT_EQ(ErrorOf("vote: {timeout_ms: 0}"),
            "p.yaml:1: vote.timeout_ms: expected a positive integer, got '0'");
  EXPECT_EQ(ErrorOf("vote:\n\n  timeout_ms: 3600001\n"),
            "p.yaml:3: vote.timeout_ms: expected at most 3600000, got '3600001'");
  EXPECT_EQ(ErrorOf("vote:\n  timeout_ms: {a: 1}\n"),
            "p.yaml:2: vote.timeout_ms: expected a positive integer, got a map");
  EXPECT_EQ(ErrorOf("vote: 2000\n"), "p.yaml:1: vote: expected a map, got '2000'");
  EXPECT_EQ(ErrorOf("vote:\n  - 2000\n"), "p.yaml:2: vote: expected a map, got a list");
}

TEST(PolicyTest, OnDivergence) {
  const std::string expected = "expected one of restart, kill, quarantine, abort; got ";
  EXPECT_EQ(ErrorOf("replicas: 3\non_divergence: explode\n"),
            "p.yaml:2: on_divergence: " + expected + "'explode'");
  EXPECT_EQ(ErrorOf("on_divergence: [kill]"), "p.yaml:1: on_divergence: " + expected + "a list");
  EXPECT_EQ(ErrorOf("on_divergence: Kill"), "p.yaml:1: on_divergence: " + expected + "'Kill'");
  EXPECT_EQ(MustParse("on_divergence: restart").on_divergence, OnDivergence::kRestart);
  EXPECT_EQ(MustParse("on_divergence: quarantine").on_divergence, OnDivergence::kQuarantine);
}

TEST(PolicyTest, DefaultOnDivergenceDependsOnReplicas) {
  // A donor can be verified only against another member: restart needs 3 replicas.
  EXPECT_EQ(MustParse("replicas: 2").EffectiveOnDivergence(), OnDivergence::kKill);
  EXPECT_EQ(MustParse("replicas: 3").EffectiveOnDivergence(), OnDivergence::kRestart);
  EXPECT_EQ(MustParse("replicas: 2\non_divergence: abort").EffectiveOnDivergence(),
            OnDivergence::kAbort);
}

TEST(PolicyTest, RecoveryKeys) {
  Policy p = MustParse("max_restarts: 0\nscrub: {interval_ms: 250}\nforensics: {dir: out}\n");
  EXPECT_EQ(p.max_restarts, 0);
  EXPECT_EQ(p.scrub_interval_ms, 250);
  EXPECT_EQ(p.forensics_dir, "out");
  EXPECT_EQ(ErrorOf("max_restarts: -1"), "p.yaml:1: max_restarts: expected an integer >= 0, got '-1'");
  EXPECT_EQ(ErrorOf("scrub: {interval_ms: 0}"),
            "p.yaml:1: scrub.interval_ms: expected a positive integer, got '0'");
  EXPECT_EQ(ErrorOf("scrub: {every: 5}"), "p.yaml:1: scrub.every: unknown key (known: interval_ms)");
  EXPECT_EQ(ErrorOf("forensics: {dir: ''}"),
            "p.yaml:1: forensics.dir: expected a path or null, got ''");
}

TEST(PolicyTest, FaultKindsAndTheirKeys) {
  Policy p = MustParse(
      "faults:\n"
      "  - {kind: bitflip-register, replica: 1, after_ms: 150, register: rip, bit: 3, seed: 9}\n"
      "  - {kind: bitflip-memory, region: heap, at_vote: 7}\n"
      "  - {kind: stop, replica: 2, after_ms: 0}\n"
      "  - {kind: kill, at_vote: 4, syscall: write, program: sort}\n");
  ASSERT_EQ(p.faults.size(), 4u);
  EXPECT_EQ(p.faults[3].program, "sort");
  EXPECT_FALSE(p.faults[0].program.has_value());
  EXPECT_EQ(ErrorOf("faults:\n  - {kind: kill, program: /usr/bin/sort}\n"),
            "p.yaml:2: faults[0].program: expected a program's name without a directory (sort, "
            "python3), got '/usr/bin/sort'");
  EXPECT_EQ(p.faults[0].kind, FaultSpec::Kind::kBitflipRegister);
  EXPECT_EQ(p.faults[0].after_ms, 150u);
  EXPECT_EQ(std::string(kFaultRegisters[p.faults[0].register_index]), "rip");
  EXPECT_EQ(p.faults[0].bit, 3);
  EXPECT_EQ(p.faults[0].seed, 9u);
  EXPECT_EQ(p.faults[1].region, FaultRegion::kHeap);
  EXPECT_EQ(p.faults[2].kind, FaultSpec::Kind::kStop);
  EXPECT_EQ(p.faults[2].after_ms, 0u);
  EXPECT_EQ(p.faults[3].syscall, 1);  // write
}

TEST(PolicyTest, FaultKeysThatDoNotFitTogether) {
  EXPECT_EQ(InjectErrorOf("kind=kill,at_vote=3,after_ms=5"),
            "--inject: at_vote and after_ms exclude each other (a fault happens once)");
  EXPECT_EQ(InjectErrorOf("kind=kill,after_ms=5,syscall=write"),
            "--inject: syscall counts votes; it goes with at_vote, not after_ms");
  EXPECT_EQ(InjectErrorOf("kind=corrupt-vote,after_ms=5"),
            "--inject: corrupt-vote changes a vote, so it takes at_vote, not after_ms");
  EXPECT_EQ(InjectErrorOf("kind=kill,register=rax"), "--inject: register is for kind bitflip-register");
  EXPECT_EQ(InjectErrorOf("kind=bitflip-register,region=heap"),
            "--inject: region is for kind bitflip-memory");
  EXPECT_EQ(InjectErrorOf("kind=bitflip-memory,bit=9"),
            "--inject: bit: a memory flip names a bit of a byte, 0 to 7");
  EXPECT_EQ(InjectErrorOf("kind=bitflip-register,register=xmm0"),
            "--inject: register: expected one of rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp, r8, r9, "
            "r10, r11, r12, r13, r14, r15, rip, eflags; got 'xmm0'");
  EXPECT_EQ(InjectErrorOf("kind=bitflip-register,bit=64"),
            "--inject: bit: expected at most 63, got '64'");
  EXPECT_EQ(InjectErrorOf("kind=bitflip-memory,region=bss"),
            "--inject: region: expected one of heap, stack, data, any; got 'bss'");
  EXPECT_EQ(ErrorOf("faults:\n  - {kind: kill, at_vote: 2, after_ms: 1}\n"),
            "p.yaml:2: faults[0]: at_vote and after_ms exclude each other (a fault happens once)");
}

TEST(PolicyTest, Log) {
  EXPECT_EQ(ErrorOf("log:\n  file: x.log\n  level: loud\n"),
            "p.yaml:3: log.level: expected one of trace, debug, info, warn, error, critical, off; "
            "got 'loud'");
  EXPECT_EQ(ErrorOf("log: {level: warning}"),
            "p.yaml:1: log.level: expected one of trace, debug, info, warn, error, critical, off; "
            "got 'warning'");
  EXPECT_EQ(ErrorOf("log:\n  level: [warn]\n"),
            "p.yaml:2: log.level: expected one of trace, debug, info, warn, error, critical, off; "
            "got a list");
  EXPECT_EQ(ErrorOf("log:\n  file: {path: x}\n"),
            "p.yaml:2: log.file: expected a path or null, got a map");
  EXPECT_EQ(ErrorOf("log:\n  file: ''\n"), "p.yaml:2: log.file: expected a path or null, got ''");
  EXPECT_EQ(ErrorOf("log: warn"), "p.yaml:1: log: expected a map, got 'warn'");
}

TEST(PolicyTest, Report) {
  EXPECT_EQ(ErrorOf("replicas: 3\nreport: [a, b]\n"),
            "p.yaml:2: report: expected a path or null, got a list");
  EXPECT_EQ(ErrorOf("report: \"\"\n"), "p.yaml:1: report: expected a path or null, got ''");
  EXPECT_EQ(MustParse("report: ~").report, std::nullopt);
  EXPECT_EQ(MustParse("report: 'null'").report, "null");  // quoted: a file named null
}

TEST(PolicyTest, UnknownKeys) {
  EXPECT_EQ(ErrorOf("replicas: 3\nvote:\n  timeout_ms: 5\n\ncolour: red\n"),
            "p.yaml:5: colour: unknown key (known: replicas, vote, on_divergence, max_restarts, scrub, forensics, log, report, faults)");
  EXPECT_EQ(ErrorOf("vote:\n  timeout_ms: 5\n  timeout: 5\n"),
            "p.yaml:3: vote.timeout: unknown key (known: timeout_ms)");
  EXPECT_EQ(ErrorOf("log:\n  level: warn\n  format: json\n"),
            "p.yaml:3: log.format: unknown key (known: level, file)");
  EXPECT_EQ(ErrorOf("faults:\n  - kind: corrupt-vote\n  - kind: corrupt-vote\n    when: 3\n"),
            "p.yaml:4: faults[1].when: unknown key (known: kind, replica, at_vote, after_ms, "
            "syscall, register, bit, region, seed, program)");
  EXPECT_EQ(ErrorOf("Replicas: 3"),
            "p.yaml:1: Replicas: unknown key (known: replicas, vote, on_divergence, max_restarts, scrub, forensics, log, report, faults)");
}

TEST(PolicyTest, KeysOfLaterMilestonesSaySo) {
  EXPECT_EQ(ErrorOf("replicas: 3\nsyscalls:\n  deny: [ptrace]\n"),
            "p.yaml:2: syscalls: not supported yet (known: replicas, vote, on_divergence, max_restarts, scrub, forensics, log, report, faults)");
  EXPECT_EQ(ErrorOf("nondeterminism: {rdtsc: trap}"),
            "p.yaml:1: nondeterminism: not supported yet (known: replicas, vote, on_divergence, max_restarts, scrub, forensics, log, report, faults)");
  EXPECT_EQ(ErrorOf("vote:\n  compare: digest\n"),
            "p.yaml:2: vote.compare: not supported yet (known: timeout_ms)");
}

TEST(PolicyTest, DuplicateAndNonScalarKeys) {
  EXPECT_EQ(ErrorOf("replicas: 3\nvote: {}\nreplicas: 5\n"), "p.yaml:3: replicas: duplicate key");
  EXPECT_EQ(ErrorOf("vote:\n  timeout_ms: 5\n  timeout_ms: 6\n"),
            "p.yaml:3: vote.timeout_ms: duplicate key");
  EXPECT_EQ(ErrorOf("? [a, b]\n: 1\n"), "p.yaml:1: expected a key name, got a list");
}

TEST(PolicyTest, TopLevelMustBeAMap) {
  EXPECT_EQ(ErrorOf("- replicas: 3\n"),
            "p.yaml:1: expected a map of policy keys at the top level, got a list");
  EXPECT_EQ(ErrorOf("\nreplicas\n"),
            "p.yaml:2: expected a map of policy keys at the top level, got 'replicas'");
}

TEST(PolicyTest, FaultsList) {
  EXPECT_EQ(ErrorOf("faults: corrupt-vote"),
            "p.yaml:1: faults: expected a list of faults, got 'corrupt-vote'");
  EXPECT_EQ(ErrorOf("faults:\n  - corrupt-vote\n"),
            "p.yaml:2: faults[0]: expected a map (kind, replica, at_vote, after_ms, syscall, register, "
            "bit, region, seed, program), got 'corrupt-vote'");
  EXPECT_EQ(ErrorOf("faults:\n  - {kind: corrupt-vote}\n  - {replica: 1}\n"),
            "p.yaml:3: faults[1].kind: missing (required; one of kill, stop, bitflip-register, "
            "bitflip-memory, corrupt-vote)");
  EXPECT_EQ(ErrorOf("faults:\n  - kind: corrupt-vote\n    replica: -1\n"),
            "p.yaml:3: faults[0].replica: expected an integer >= 0, got '-1'");
  EXPECT_EQ(ErrorOf("faults:\n  - kind: corrupt-vote\n\n    at_vote: 0\n"),
            "p.yaml:4: faults[0].at_vote: expected an integer >= 1, got '0'");
  EXPECT_EQ(ErrorOf("faults:\n  - kind: bitflip\n"),
            "p.yaml:2: faults[0].kind: expected one of kill, stop, bitflip-register, bitflip-memory, "
            "corrupt-vote; got 'bitflip'");
  EXPECT_EQ(ErrorOf("faults:\n  - kind: corrupt-vote\n    at_vote: [1]\n"),
            "p.yaml:3: faults[0].at_vote: expected a scalar value, got a list");
  EXPECT_EQ(ErrorOf("faults:\n  - {kind: corrupt-vote, kind: corrupt-vote}\n"),
            "p.yaml:2: faults[0].kind: duplicate key");
}

TEST(PolicyTest, SyntaxErrorHasALine) {
  EXPECT_EQ(ErrorOf("replicas: 3\nvote: [1\nlog: {}\n"),
            "p.yaml:3: invalid YAML: end of sequence flow not found");
  EXPECT_EQ(ErrorOf("vote:\n  timeout_ms: 5\n    x: 1\n"),
            "p.yaml:3: invalid YAML: illegal map value");
  EXPECT_EQ(ErrorOf("replicas: *n\n"),
            "p.yaml:1: invalid YAML: the referenced anchor is not defined");
}

TEST(PolicyTest, OneDocumentOnly) {
  EXPECT_EQ(ErrorOf("replicas: 3\n---\nreplicas: 5\n"),
            "p.yaml:3: invalid YAML: a policy is one document; found another");
}

TEST(PolicyTest, MissingFile) {
  Result<Policy> result = LoadPolicyFile("/nonexistent/nmr/p.yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().errno_value, ENOENT);
  EXPECT_EQ(result.error().message,
            "/nonexistent/nmr/p.yaml: cannot read: No such file or directory");
}

TEST(PolicyTest, DirectoryIsNotAFile) {
  Result<Policy> result = LoadPolicyFile("/");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().errno_value, EISDIR);
  EXPECT_EQ(result.error().message, "/: cannot read: Is a directory");
}

TEST(PolicyTest, LoadsAFileAndNamesItInErrors) {
  char path[] = "/tmp/nmr_policy_test_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  FILE* file = fdopen(fd, "w");
  ASSERT_NE(file, nullptr);
  std::fputs("replicas: 7\nvote:\n  timeout_ms: 10\n", file);
  std::fclose(file);
  Result<Policy> good = LoadPolicyFile(path);
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->replicas, 7);
  EXPECT_EQ(good->vote_timeout_ms, 10);

  file = std::fopen(path, "w");
  ASSERT_NE(file, nullptr);
  std::fputs("replicas: 7\nvote:\n  timeout_ms: never\n", file);
  std::fclose(file);
  Result<Policy> bad = LoadPolicyFile(path);
  unlink(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().errno_value, 0);
  EXPECT_EQ(bad.error().message,
            std::string(path) + ":3: vote.timeout_ms: expected a positive integer, got 'never'");
}

TEST(FaultSpecTest, Good) {
  Result<FaultSpec> full = ParseFaultSpec("kind=corrupt-vote,replica=1,at_vote=5");
  ASSERT_TRUE(full.ok()) << full.error().message;
  EXPECT_EQ(full->kind, FaultSpec::Kind::kCorruptVote);
  EXPECT_EQ(full->replica, 1);
  EXPECT_EQ(full->at_vote, 5u);

  Result<FaultSpec> defaults = ParseFaultSpec("kind=corrupt-vote");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->replica, 0);
  EXPECT_EQ(defaults->at_vote.value_or(1), 1u);

  // Any order; spaces around items are a slip, not a different meaning.
  Result<FaultSpec> reordered = ParseFaultSpec("at_vote=18446744, replica=14 ,kind=corrupt-vote");
  ASSERT_TRUE(reordered.ok()) << reordered.error().message;
  EXPECT_EQ(reordered->replica, 14);
  EXPECT_EQ(reordered->at_vote, 18446744u);
}

TEST(FaultSpecTest, Bad) {
  EXPECT_EQ(InjectErrorOf("kind=corrupt-vote,at_vote=x"),
            "--inject: at_vote: expected an integer >= 1, got 'x'");
  EXPECT_EQ(InjectErrorOf("kind=corrupt-vote,at_vote=0"),
            "--inject: at_vote: expected an integer >= 1, got '0'");
  EXPECT_EQ(InjectErrorOf("kind=corrupt-vote,replica=-1"),
            "--inject: replica: expected an integer >= 0, got '-1'");
  EXPECT_EQ(InjectErrorOf("kind=corrupt-vote,replica="),
            "--inject: replica: expected an integer >= 0, got ''");
  EXPECT_EQ(InjectErrorOf("kind=corrupt-vote,replica=1.5"),
            "--inject: replica: expected an integer >= 0, got '1.5'");
  EXPECT_EQ(InjectErrorOf("kind=corrupt-vote,replica=99999999999"),
            "--inject: replica: expected at most 2147483647, got '99999999999'");
  EXPECT_EQ(InjectErrorOf("replica=1,at_vote=5"),
            "--inject: kind: missing (required; one of kill, stop, bitflip-register, bitflip-memory, "
            "corrupt-vote)");
  EXPECT_EQ(InjectErrorOf("kind=bitflip"),
            "--inject: kind: expected one of kill, stop, bitflip-register, bitflip-memory, "
            "corrupt-vote; got 'bitflip'");
  EXPECT_EQ(InjectErrorOf("kind=corrupt-vote,when=5"),
            "--inject: when: unknown key (known: kind, replica, at_vote, after_ms, syscall, "
            "register, bit, region, seed, program)");
  EXPECT_EQ(InjectErrorOf("kind=corrupt-vote,replica"),
            "--inject: replica: expected replica=VALUE");
  EXPECT_EQ(InjectErrorOf("corrupt-vote"),
            "--inject: corrupt-vote: unknown key (known: kind, replica, at_vote, after_ms, syscall, "
            "register, bit, region, seed, program)");
  EXPECT_EQ(InjectErrorOf("kind=corrupt-vote,replica=1,replica=2"),
            "--inject: replica: duplicate key");
  EXPECT_EQ(InjectErrorOf(""), "--inject: expected KEY=VALUE[,KEY=VALUE...], got ''");
  EXPECT_EQ(InjectErrorOf("kind=corrupt-vote,"),
            "--inject: expected KEY=VALUE[,KEY=VALUE...], got 'kind=corrupt-vote,'");
  EXPECT_EQ(InjectErrorOf("=1"), "--inject: expected KEY=VALUE[,KEY=VALUE...], got '=1'");
}

TEST(PolicyTest, NamesAndLevels) {
  EXPECT_STREQ(FaultKindName(FaultSpec::Kind::kCorruptVote), "corrupt-vote");
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    EXPECT_TRUE(IsValidLogLevel(level)) << level;
  }
  for (const char* level : {"", "WARN", "warning", "err", "verbose", "warn "}) {
    EXPECT_FALSE(IsValidLogLevel(level)) << level;
  }
}

}  // namespace
}  // namespace nmr

TEST(FaultSpecTest, SyscallFilter) {
  auto fault = nmr::ParseFaultSpec("kind=corrupt-vote,replica=2,at_vote=3,syscall=write");
  ASSERT_TRUE(fault.ok()) << fault.error().message;
  EXPECT_EQ(fault->syscall, 1);  // write
  EXPECT_EQ(fault->at_vote, 3u);
  auto bad = nmr::ParseFaultSpec("kind=corrupt-vote,syscall=nosuchcall");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "--inject: syscall: expected a syscall name (write, openat, ...), got 'nosuchcall'");
}
