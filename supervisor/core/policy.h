// The policy: what the YAML file and the command line say about a run. Pure: parsing and
// validation only; the loader reads the file and nothing else. Errors name the file, the
// line and the key ("policy.yaml:3: vote.timeout_ms: expected a positive integer, got 'x'").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor/core/result.h"

namespace nmr {

// What happens to a replica that diverges, crashes or hangs (docs/policy.md).
enum class OnDivergence { kRestart, kKill, kQuarantine, kAbort };

// The memory a bitflip-memory fault may land in.
enum class FaultRegion { kHeap, kStack, kData, kAny };

// One fault to inject (for testing nmr, and for campaigns). The same keys in
// `--inject kind=...,replica=R,at_vote=K` and in the YAML `faults:` list.
struct FaultSpec {
  enum class Kind { kCorruptVote, kKill, kStop, kBitflipRegister, kBitflipMemory };
  Kind kind = Kind::kCorruptVote;
  int replica = 0;  // which replica (0-based slot)
  // Which process: the first group running this program (its file's name, or argv[0]'s last
  // component) when the fault is due. Unset: the program nmr-run started.
  std::optional<std::string> program;
  // When: that replica's K-th vote (counted from 1), or T ms into the run, wherever the
  // replica then is. Neither given: at_vote 1.
  std::optional<uint64_t> at_vote;
  std::optional<uint64_t> after_ms;
  long syscall = -1;                     // at_vote counts only votes for this syscall
  int register_index = -1;               // bitflip-register: kFaultRegisters[i]; -1 random
  int bit = -1;                          // the bit to flip (register 0-63, byte 0-7); -1 random
  FaultRegion region = FaultRegion::kAny;  // bitflip-memory
  std::optional<uint64_t> seed;          // for whatever is left random; drawn if absent
};

// The registers bitflip-register may name, in the order the injector draws from.
inline constexpr const char* kFaultRegisters[] = {
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8",  "r9",
    "r10", "r11", "r12", "r13", "r14", "r15", "rip", "eflags"};
inline constexpr int kFaultRegisterCount = 18;

struct Policy {
  int replicas = 3;
  int vote_timeout_ms = 2000;
  // Unset: restart with 3 or more replicas (a donor can be verified), kill with fewer.
  std::optional<OnDivergence> on_divergence;
  int max_restarts = 10;                      // per run; then degraded while a majority exists
  std::optional<int> scrub_interval_ms;       // compare members' memory at most this often
  std::optional<std::string> forensics_dir;   // quarantine writes its bundles here
  std::string log_level = "warn";  // trace|debug|info|warn|error|critical|off
  std::optional<std::string> log_file;
  std::optional<std::string> report;  // path of the JSON report
  std::vector<FaultSpec> faults;

  OnDivergence EffectiveOnDivergence() const {
    return on_divergence.value_or(replicas >= 3 ? OnDivergence::kRestart : OnDivergence::kKill);
  }
};

// Parses YAML text; `source` names it in messages (the file's path).
Result<Policy> ParsePolicy(std::string_view yaml_text, const std::string& source);
// Reads and parses a file.
Result<Policy> LoadPolicyFile(const std::string& path);
// Parses one --inject spec: comma-separated key=value pairs.
Result<FaultSpec> ParseFaultSpec(std::string_view spec);
// "corrupt-vote", "bitflip-memory", ...; "restart", "kill", ...; "heap", "stack", ...
const char* FaultKindName(FaultSpec::Kind kind);
const char* OnDivergenceName(OnDivergence action);
const char* FaultRegionName(FaultRegion region);
// "restart", "kill", "quarantine", "abort" (the --on-divergence flag).
Result<OnDivergence> ParseOnDivergence(std::string_view text);
// Is this a log level spdlog knows?
bool IsValidLogLevel(std::string_view level);

}  // namespace nmr
