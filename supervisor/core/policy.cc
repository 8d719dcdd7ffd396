#include "supervisor/core/policy.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <span>

#include "interface/syscall_table.h"

namespace nmr {
namespace {

// A name a person writes and the value it stands for; one table per "expected one of".
template <typename T>
struct Choice {
  std::string_view name;
  T value;
};

constexpr Choice<OnDivergence> kOnDivergenceChoices[] = {
    {"restart", OnDivergence::kRestart},
    {"kill", OnDivergence::kKill},
    {"quarantine", OnDivergence::kQuarantine},
    {"abort", OnDivergence::kAbort},
};

constexpr Choice<FaultRegion> kRegionChoices[] = {
    {"heap", FaultRegion::kHeap},
    {"stack", FaultRegion::kStack},
    {"data", FaultRegion::kData},
    {"any", FaultRegion::kAny},
};

// The names spdlog's level::from_str knows, minus its aliases ("warning", "err"), so that the
// file and --log-level spell levels one way.
constexpr Choice<std::string_view> kLogLevelChoices[] = {
    {"trace", "trace"}, {"debug", "debug"},       {"info", "info"}, {"warn", "warn"},
    {"error", "error"}, {"critical", "critical"}, {"off", "off"},
};

constexpr Choice<FaultSpec::Kind> kFaultKindChoices[] = {
    {"kill", FaultSpec::Kind::kKill},
    {"stop", FaultSpec::Kind::kStop},
    {"bitflip-register", FaultSpec::Kind::kBitflipRegister},
    {"bitflip-memory", FaultSpec::Kind::kBitflipMemory},
    {"corrupt-vote", FaultSpec::Kind::kCorruptVote},
};

// An integer's allowed range, and how to say it to a person when the value is not an integer
// or is below `min` (above `max` says "at most MAX").
struct IntRule {
  int64_t min;
  int64_t max;
  const char* expected;
};

constexpr IntRule kReplicasRule{1, 15, "an integer from 1 to 15"};
constexpr IntRule kTimeoutRule{1, 3'600'000, "a positive integer"};
constexpr IntRule kFaultReplicaRule{0, INT_MAX, "an integer >= 0"};
constexpr IntRule kAtVoteRule{1, INT64_MAX, "an integer >= 1"};
constexpr IntRule kAfterMsRule{0, INT64_MAX, "an integer >= 0"};
constexpr IntRule kSeedRule{0, INT64_MAX, "an integer >= 0"};
constexpr IntRule kBitRule{0, 63, "an integer from 0 to 63"};
constexpr IntRule kMaxRestartsRule{0, 1'000'000, "an integer >= 0"};
constexpr IntRule kScrubIntervalRule{1, 3'600'000, "a positive integer"};

// The keys each map accepts, and those DESIGN.md promises for later milestones (rejected with
// a message that says so rather than "unknown").
struct KeySet {
  std::span<const std::string_view> known;
  std::span<const std::string_view> later;
};

constexpr std::string_view kTopKeys[] = {"replicas", "vote",      "on_divergence", "max_restarts",
                                         "scrub",    "forensics", "log",           "report",
                                         "faults"};
constexpr std::string_view kTopLaterKeys[] = {"syscalls", "nondeterminism"};
constexpr std::string_view kScrubKeys[] = {"interval_ms"};
constexpr std::string_view kForensicsKeys[] = {"dir"};
constexpr std::string_view kVoteKeys[] = {"timeout_ms"};
constexpr std::string_view kVoteLaterKeys[] = {"compare"};
constexpr std::string_view kLogKeys[] = {"level", "file"};
constexpr std::string_view kFaultKeys[] = {"kind",     "replica", "at_vote", "after_ms", "syscall",
                                           "register", "bit",     "region",  "seed",     "program"};

constexpr KeySet kTopKeySet{kTopKeys, kTopLaterKeys};
constexpr KeySet kVoteKeySet{kVoteKeys, kVoteLaterKeys};
constexpr KeySet kLogKeySet{kLogKeys, {}};
constexpr KeySet kScrubKeySet{kScrubKeys, {}};
constexpr KeySet kForensicsKeySet{kForensicsKeys, {}};
constexpr KeySet kFaultKeySet{kFaultKeys, {}};

// What is wrong with a value, for a person; nullopt when nothing is. Callers add the where.
using Problem = std::optional<std::string>;

std::string Quote(std::string_view text) { return "'" + std::string(text) + "'"; }

bool Contains(std::span<const std::string_view> names, std::string_view name) {
  return std::ranges::find(names, name) != names.end();
}

std::string Join(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) {
      out += ", ";
    }
    out += n;
  }
  return out;
}

template <typename T, size_t N>
std::string ChoiceNames(const Choice<T> (&choices)[N]) {
  std::string_view names[N];
  for (size_t i = 0; i < N; ++i) {
    names[i] = choices[i].name;
  }
  return Join(names);
}

template <typename T, size_t N>
std::string ExpectedOneOf(const Choice<T> (&choices)[N], std::string_view got) {
  return "expected one of " + ChoiceNames(choices) + "; got " + std::string(got);
}

template <typename T, size_t N>
Problem ParseChoice(std::string_view text, const Choice<T> (&choices)[N], T* out) {
  for (const Choice<T>& choice : choices) {
    if (choice.name == text) {
      *out = choice.value;
      return std::nullopt;
    }
  }
  return ExpectedOneOf(choices, Quote(text));
}

// Decimal only: yaml-cpp's as<int>() also takes "0x10" and stream quirks, which a policy
// should not depend on.
Problem ParseInt(std::string_view text, const IntRule& rule, int64_t* out) {
  if (text.empty()) {
    return "expected " + std::string(rule.expected) + ", got ''";
  }
  const char* end = text.data() + text.size();
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  const bool too_large = ec == std::errc::result_out_of_range && text.front() != '-';
  if (ptr != end || (ec != std::errc() && !too_large) || (!too_large && value < rule.min)) {
    return "expected " + std::string(rule.expected) + ", got " + Quote(text);
  }
  if (too_large || value > rule.max) {
    return "expected at most " + std::to_string(rule.max) + ", got " + Quote(text);
  }
  *out = value;
  return std::nullopt;
}

std::string UnknownKey(std::string_view name, const KeySet& keys) {
  const char* what = Contains(keys.later, name) ? "not supported yet" : "unknown key";
  return std::string(what) + " (known: " + Join(keys.known) + ")";
}

// Parses an integer field under `rule` into `*out` (any integer or optional integer type).
template <typename T>
Problem SetInt(std::string_view value, const IntRule& rule, T* out) {
  int64_t number = 0;
  if (Problem problem = ParseInt(value, rule, &number)) {
    return problem;
  }
  *out = static_cast<T>(number);
  return std::nullopt;
}
template <typename T>
Problem SetInt(std::string_view value, const IntRule& rule, std::optional<T>* out) {
  T number{};
  if (Problem problem = SetInt(value, rule, &number)) {
    return problem;
  }
  *out = number;
  return std::nullopt;
}

// One field of a fault, from YAML or --inject alike, so both accept exactly the same.
Problem SetFaultField(std::string_view key, std::string_view value, FaultSpec* fault) {
  if (key == "kind") {
    return ParseChoice(value, kFaultKindChoices, &fault->kind);
  }
  if (key == "replica") {
    return SetInt(value, kFaultReplicaRule, &fault->replica);
  }
  if (key == "at_vote") {
    return SetInt(value, kAtVoteRule, &fault->at_vote);
  }
  if (key == "after_ms") {
    return SetInt(value, kAfterMsRule, &fault->after_ms);
  }
  if (key == "seed") {
    return SetInt(value, kSeedRule, &fault->seed);
  }
  if (key == "bit") {
    return SetInt(value, kBitRule, &fault->bit);
  }
  if (key == "region") {
    return ParseChoice(value, kRegionChoices, &fault->region);
  }
  if (key == "register") {
    for (int i = 0; i < kFaultRegisterCount; ++i) {
      if (value == kFaultRegisters[i]) {
        fault->register_index = i;
        return std::nullopt;
      }
    }
    std::string_view names[kFaultRegisterCount];
    for (int i = 0; i < kFaultRegisterCount; ++i) {
      names[i] = kFaultRegisters[i];
    }
    return "expected one of " + Join(names) + "; got " + Quote(value);
  }
  if (key == "program") {
    if (value.empty() || value.find('/') != std::string_view::npos) {
      return "expected a program's name without a directory (sort, python3), got " + Quote(value);
    }
    fault->program = std::string(value);
    return std::nullopt;
  }
  if (key == "syscall") {
    long nr = SyscallNumber(std::string(value).c_str());
    if (nr < 0) {
      return "expected a syscall name (write, openat, ...), got " + Quote(value);
    }
    fault->syscall = nr;
    return std::nullopt;
  }
  return UnknownKey(key, kFaultKeySet);
}

// What the keys of one fault say together; nullopt when they fit.
Problem CheckFault(const FaultSpec& fault) {
  using Kind = FaultSpec::Kind;
  if (fault.at_vote && fault.after_ms) {
    return "at_vote and after_ms exclude each other (a fault happens once)";
  }
  if (fault.syscall >= 0 && fault.after_ms) {
    return "syscall counts votes; it goes with at_vote, not after_ms";
  }
  if (fault.kind == Kind::kCorruptVote && fault.after_ms) {
    return "corrupt-vote changes a vote, so it takes at_vote, not after_ms";
  }
  if (fault.register_index >= 0 && fault.kind != Kind::kBitflipRegister) {
    return "register is for kind bitflip-register";
  }
  if (fault.region != FaultRegion::kAny && fault.kind != Kind::kBitflipMemory) {
    return "region is for kind bitflip-memory";
  }
  if (fault.bit >= 0 && fault.kind != Kind::kBitflipRegister &&
      fault.kind != Kind::kBitflipMemory) {
    return "bit is for kinds bitflip-register and bitflip-memory";
  }
  if (fault.bit > 7 && fault.kind == Kind::kBitflipMemory) {
    return "bit: a memory flip names a bit of a byte, 0 to 7";
  }
  return std::nullopt;
}

std::string MissingFaultKind() {
  return "missing (required; one of " + ChoiceNames(kFaultKindChoices) + ")";
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return Quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

// 1-based. yaml-cpp gives an empty value (`report:`) the mark of the next token, often on the
// next line, so nulls take the line of their key (`fallback`).
int LineOf(const YAML::Node& node, int fallback) {
  if (node.IsNull() || node.Mark().is_null()) {
    return fallback;
  }
  return node.Mark().line + 1;
}

std::string Position(const std::string& source, int line) {
  return source + ":" + std::to_string(line) + ": ";
}

// A value in the document: its dotted path ("faults[1].replica"), its own name ("replica"),
// and the line to blame.
struct Field {
  std::string path;
  std::string name;
  YAML::Node node;
  int line;
};

// Walks one document into a Policy, stopping at the first mistake.
class PolicyReader {
 public:
  explicit PolicyReader(const std::string& source) : source_(source) {}

  std::optional<Error> Read(const YAML::Node& root, Policy* policy) {
    Field top{"", "", root, LineOf(root, 1)};
    if (!root.IsNull() && !root.IsMap()) {
      return At(top, "expected a map of policy keys at the top level, got " + Describe(root));
    }
    return ReadMap(top, kTopKeySet, [&](const Field& f) { return ReadTopKey(f, policy); });
  }

 private:
  Error At(const Field& field, std::string_view what) const {
    return At(field.path, field.line, what);
  }
  Error At(const std::string& path, int line, std::string_view what) const {
    std::string key = path.empty() ? "" : path + ": ";
    return MakeError(Position(source_, line) + key + std::string(what));
  }
  std::optional<Error> Check(const Field& field, Problem problem) const {
    if (problem) {
      return At(field, *problem);
    }
    return std::nullopt;
  }

  std::optional<Error> ReadTopKey(const Field& f, Policy* policy) {
    if (f.name == "replicas") {
      return ReadInt(f, kReplicasRule, &policy->replicas);
    }
    if (f.name == "vote") {
      return ReadMap(f, kVoteKeySet, [&](const Field& v) {
        return ReadInt(v, kTimeoutRule, &policy->vote_timeout_ms);
      });
    }
    if (f.name == "on_divergence") {
      OnDivergence action;
      if (auto err = ReadChoice(f, kOnDivergenceChoices, &action)) {
        return err;
      }
      policy->on_divergence = action;
      return std::nullopt;
    }
    if (f.name == "max_restarts") {
      return ReadInt(f, kMaxRestartsRule, &policy->max_restarts);
    }
    if (f.name == "scrub") {
      return ReadMap(f, kScrubKeySet, [&](const Field& v) {
        int interval = 0;
        if (auto err = ReadInt(v, kScrubIntervalRule, &interval)) {
          return err;
        }
        policy->scrub_interval_ms = interval;
        return std::optional<Error>();
      });
    }
    if (f.name == "forensics") {
      return ReadMap(f, kForensicsKeySet,
                     [&](const Field& v) { return ReadPath(v, &policy->forensics_dir); });
    }
    if (f.name == "log") {
      return ReadMap(f, kLogKeySet, [&](const Field& l) { return ReadLogKey(l, policy); });
    }
    if (f.name == "report") {
      return ReadPath(f, &policy->report);
    }
    return ReadFaults(f, &policy->faults);  // ReadMap let only known keys through
  }

  std::optional<Error> ReadLogKey(const Field& f, Policy* policy) {
    if (f.name == "file") {
      return ReadPath(f, &policy->log_file);
    }
    std::string_view level;
    if (auto err = ReadChoice(f, kLogLevelChoices, &level)) {
      return err;
    }
    policy->log_level = std::string(level);
    return std::nullopt;
  }

  std::optional<Error> ReadFaults(const Field& f, std::vector<FaultSpec>* faults) {
    if (f.node.IsNull()) {
      return std::nullopt;  // `faults:` with nothing under it: no faults
    }
    if (!f.node.IsSequence()) {
      return At(f, "expected a list of faults, got " + Describe(f.node));
    }
    for (size_t i = 0; i < f.node.size(); ++i) {
      const YAML::Node item = f.node[i];
      Field entry{f.path + "[" + std::to_string(i) + "]", "", item, LineOf(item, f.line)};
      if (!item.IsMap()) {
        return At(entry, "expected a map (" + Join(kFaultKeys) + "), got " + Describe(item));
      }
      FaultSpec fault;
      bool has_kind = false;
      auto on_key = [&](const Field& k) -> std::optional<Error> {
        std::string text;
        if (auto err = ReadScalar(k, "a scalar value", &text)) {
          return err;
        }
        has_kind = has_kind || k.name == "kind";
        return Check(k, SetFaultField(k.name, text, &fault));
      };
      if (auto err = ReadMap(entry, kFaultKeySet, on_key)) {
        return err;
      }
      if (!has_kind) {
        return At(entry.path + ".kind", entry.line, MissingFaultKind());
      }
      if (auto err = Check(entry, CheckFault(fault))) {
        return err;
      }
      faults->push_back(fault);
    }
    return std::nullopt;
  }

  // Checks every key of a map (a name, known, not repeated) and hands each value to `on_key`.
  // A null map (`vote:` with nothing under it) is an empty one.
  template <typename OnKey>
  std::optional<Error> ReadMap(const Field& field, const KeySet& keys, OnKey on_key) {
    if (field.node.IsNull()) {
      return std::nullopt;
    }
    if (!field.node.IsMap()) {
      return At(field, "expected a map, got " + Describe(field.node));
    }
    std::vector<std::string> seen;
    for (const auto& entry : field.node) {
      const int key_line = LineOf(entry.first, field.line);
      if (!entry.first.IsScalar()) {
        return At(field.path, key_line, "expected a key name, got " + Describe(entry.first));
      }
      const std::string& name = entry.first.Scalar();
      const std::string path = field.path.empty() ? name : field.path + "." + name;
      if (!Contains(keys.known, name)) {
        return At(path, key_line, UnknownKey(name, keys));
      }
      if (std::ranges::find(seen, name) != seen.end()) {
        return At(path, key_line, "duplicate key");
      }
      seen.push_back(name);
      if (auto err = on_key(Field{path, name, entry.second, LineOf(entry.second, key_line)})) {
        return err;
      }
    }
    return std::nullopt;
  }

  std::optional<Error> ReadScalar(const Field& f, std::string_view expected, std::string* out) {
    if (!f.node.IsScalar()) {
      return At(f, "expected " + std::string(expected) + ", got " + Describe(f.node));
    }
    *out = f.node.Scalar();
    return std::nullopt;
  }

  template <typename T, size_t N>
  std::optional<Error> ReadChoice(const Field& f, const Choice<T> (&choices)[N], T* out) {
    if (!f.node.IsScalar()) {
      return At(f, ExpectedOneOf(choices, Describe(f.node)));
    }
    return Check(f, ParseChoice(f.node.Scalar(), choices, out));
  }

  std::optional<Error> ReadInt(const Field& f, const IntRule& rule, int* out) {
    std::string text;
    if (auto err = ReadScalar(f, rule.expected, &text)) {
      return err;
    }
    int64_t value = 0;
    if (auto err = Check(f, ParseInt(text, rule, &value))) {
      return err;
    }
    *out = static_cast<int>(value);  // callers pass rules whose range fits an int
    return std::nullopt;
  }

  std::optional<Error> ReadPath(const Field& f, std::optional<std::string>* out) {
    if (f.node.IsNull()) {
      out->reset();
      return std::nullopt;
    }
    if (!f.node.IsScalar() || f.node.Scalar().empty()) {
      return At(f, "expected a path or null, got " + Describe(f.node));
    }
    *out = f.node.Scalar();
    return std::nullopt;
  }

  const std::string& source_;
};

std::string_view Trim(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) {
    return {};
  }
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

Error InjectError(std::string_view key, std::string_view what) {
  std::string where = key.empty() ? "" : std::string(key) + ": ";
  return MakeError("--inject: " + where + std::string(what));
}

template <typename T, size_t N>
const char* NameOf(const Choice<T> (&choices)[N], T value) {
  for (const Choice<T>& choice : choices) {
    if (choice.value == value) {
      return choice.name.data();  // the tables' literals are NUL-terminated
    }
  }
  return "unknown";
}

}  // namespace

Result<Policy> ParsePolicy(std::string_view yaml_text, const std::string& source) {
  try {
    const std::vector<YAML::Node> documents = YAML::LoadAll(std::string(yaml_text));
    Policy policy;
    if (documents.empty()) {
      return policy;
    }
    if (documents.size() > 1) {
      return MakeError(Position(source, LineOf(documents[1], 1)) +
                       "invalid YAML: a policy is one document; found another");
    }
    if (std::optional<Error> err = PolicyReader(source).Read(documents[0], &policy)) {
      return *err;
    }
    return policy;
  } catch (const YAML::Exception& e) {
    // e.what() repeats the position in yaml-cpp's own words; ours is FILE:LINE.
    std::string where = e.mark.is_null() ? source + ": " : Position(source, e.mark.line + 1);
    return MakeError(where + "invalid YAML: " + e.msg);
  } catch (const std::exception& e) {
    return MakeError(source + ": cannot parse: " + e.what());
  }
}

Result<Policy> LoadPolicyFile(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "re"), &std::fclose);
  if (!file) {
    const int saved = errno;
    return MakeError(path + ": cannot read: " + std::strerror(saved), saved);
  }
  std::string text;
  char buffer[8192];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
    text.append(buffer, n);
  }
  if (std::ferror(file.get()) != 0) {  // e.g. EISDIR: fopen opens a directory, fread fails
    const int saved = errno;
    return MakeError(path + ": cannot read: " + std::strerror(saved), saved);
  }
  return ParsePolicy(text, path);
}

Result<FaultSpec> ParseFaultSpec(std::string_view spec) {
  FaultSpec fault;
  std::vector<std::string_view> seen;
  std::string_view rest = spec;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view item = Trim(rest.substr(0, comma));
    const size_t eq = item.find('=');
    const std::string_view key = Trim(item.substr(0, eq));
    if (key.empty()) {
      return InjectError("", "expected KEY=VALUE[,KEY=VALUE...], got " + Quote(spec));
    }
    if (!Contains(kFaultKeys, key)) {
      return InjectError(key, UnknownKey(key, kFaultKeySet));
    }
    if (eq == std::string_view::npos) {
      return InjectError(key, "expected " + std::string(key) + "=VALUE");
    }
    if (Contains(seen, key)) {
      return InjectError(key, "duplicate key");
    }
    seen.push_back(key);
    if (Problem problem = SetFaultField(key, Trim(item.substr(eq + 1)), &fault)) {
      return InjectError(key, *problem);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    rest = rest.substr(comma + 1);
  }
  if (!Contains(seen, "kind")) {
    return InjectError("kind", MissingFaultKind());
  }
  if (Problem problem = CheckFault(fault)) {
    return InjectError("", *problem);
  }
  return fault;
}


const char* FaultKindName(FaultSpec::Kind kind) { return NameOf(kFaultKindChoices, kind); }
const char* OnDivergenceName(OnDivergence action) {
  return NameOf(kOnDivergenceChoices, action);
}
const char* FaultRegionName(FaultRegion region) { return NameOf(kRegionChoices, region); }

Result<OnDivergence> ParseOnDivergence(std::string_view text) {
  OnDivergence action;
  if (Problem problem = ParseChoice(text, kOnDivergenceChoices, &action)) {
    return MakeError(*problem);
  }
  return action;
}

bool IsValidLogLevel(std::string_view level) {
  std::string_view ignored;
  return !ParseChoice(level, kLogLevelChoices, &ignored).has_value();
}

}  // namespace nmr
