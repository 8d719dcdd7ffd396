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

enum class OnDivergence { kKill, kAbort };

// One test-only fault. The same keys in `--inject kind=...,replica=R,at_vote=K` and in the
// YAML `faults:` list, so later kinds extend both at once.
struct FaultSpec {
  enum class Kind { kCorruptVote };
  Kind kind = Kind::kCorruptVote;
  int replica = 0;       // which replica (0-based slot)
  uint64_t at_vote = 1;  // that replica's K-th vote, counted from 1
  long syscall = -1;     // if set (syscall=write), at_vote counts only votes for this syscall
};

struct Policy {
  int replicas = 3;
  int vote_timeout_ms = 2000;
  OnDivergence on_divergence = OnDivergence::kKill;
  std::string log_level = "warn";  // trace|debug|info|warn|error|critical|off
  std::optional<std::string> log_file;
  std::optional<std::string> report;  // path of the JSON report
  std::vector<FaultSpec> faults;
};

// Parses YAML text; `source` names it in messages (the file's path).
Result<Policy> ParsePolicy(std::string_view yaml_text, const std::string& source);
// Reads and parses a file.
Result<Policy> LoadPolicyFile(const std::string& path);
// Parses one --inject spec: comma-separated key=value pairs.
Result<FaultSpec> ParseFaultSpec(std::string_view spec);
// "corrupt-vote" and back.
const char* FaultKindName(FaultSpec::Kind kind);
// Is this a log level spdlog knows?
bool IsValidLogLevel(std::string_view level);

}  // namespace nmr
