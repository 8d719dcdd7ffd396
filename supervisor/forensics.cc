// on_divergence: quarantine (DESIGN.md "Policy"): the faulty replica is frozen (SIGSTOP)
// instead of killed; at the next vote boundary, where every healthy member waits at the same
// step, nmr-run writes a bundle into forensics.dir/step-S-replica-R/: a core file of the
// faulty replica and one of a healthy member (gdb's gcore; `gdb -batch -ex bt PROGRAM CORE`
// opens them), and divergence.json (the step and its viewstamp, each call decoded, the bytes
// around the first difference, registers). Then the faulty replica is killed and the group
// recovers as with restart. A crashed replica has no process left to dump: its bundle holds
// the healthy core and the JSON.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/user.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "supervisor/control.h"
#include "supervisor/os/forensics.h"

namespace nmr {
namespace {

nlohmann::json RegistersJson(const std::optional<user_regs_struct>& regs) {
  if (!regs) {
    return nullptr;
  }
  auto hex = [](unsigned long long v) { return fmt::format("{:#x}", v); };
  return {{"rip", hex(regs->rip)}, {"rsp", hex(regs->rsp)}, {"rbp", hex(regs->rbp)},
          {"rax", hex(regs->rax)}, {"rbx", hex(regs->rbx)}, {"rcx", hex(regs->rcx)},
          {"rdx", hex(regs->rdx)}, {"rsi", hex(regs->rsi)}, {"rdi", hex(regs->rdi)},
          {"r8", hex(regs->r8)},   {"r9", hex(regs->r9)},   {"r10", hex(regs->r10)},
          {"r11", hex(regs->r11)}, {"r12", hex(regs->r12)}, {"r13", hex(regs->r13)},
          {"r14", hex(regs->r14)}, {"r15", hex(regs->r15)}, {"eflags", hex(regs->eflags)},
          {"orig_rax", hex(regs->orig_rax)}};
}

std::string Hex(const std::vector<uint8_t>& bytes, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to && i < bytes.size(); ++i) {
    out += fmt::format("{:02x}", bytes[i]);
  }
  return out;
}

// The first input buffer in which the two calls differ, and 16 bytes either side of the
// first differing byte; or the arguments, when no buffer differs.
nlohmann::json FirstDifference(const Call& faulty, const Call& majority) {
  for (size_t k = 0; k < faulty.in.size(); ++k) {
    const std::vector<uint8_t>& a = faulty.in[k];
    const std::vector<uint8_t>& b = majority.in[k];
    size_t n = std::min(a.size(), b.size());
    size_t at = 0;
    while (at < n && a[at] == b[at]) {
      ++at;
    }
    if (at == n && a.size() == b.size()) {
      continue;
    }
    size_t from = at >= 16 ? at - 16 : 0;
    return {{"argument", k},
            {"byte", at},
            {"window_from", from},
            {"faulty", Hex(a, from, at + 16)},
            {"majority", Hex(b, from, at + 16)},
            {"faulty_length", a.size()},
            {"majority_length", b.size()}};
  }
  nlohmann::json args = nlohmann::json::array();
  for (int k = 0; k < 6; ++k) {
    if (faulty.args[k] != majority.args[k] || faulty.nr != majority.nr) {
      args.push_back({{"argument", k},
                      {"faulty", fmt::format("{:#x}", faulty.args[k])},
                      {"majority", fmt::format("{:#x}", majority.args[k])}});
    }
  }
  return {{"syscall_numbers", {faulty.nr, majority.nr}}, {"arguments", args}};
}

}  // namespace

void Group::Quarantine(Replica& r, const EngineAction& action, const DivergenceRecord& d) {
  QuarantineCase c;
  c.slot = action.replica;
  c.record = d;
  c.alive = r.running && r.process.pid > 0 && !r.clone_pending;
  c.pid = r.process.pid;
  if (action.reason == KillReason::kDiverged && r.has_call) {
    c.faulty_call = r.call;
    c.majority_call = executing_call_;
  }
  if (c.alive) {
    kill(c.pid, SIGSTOP);  // frozen where it is, for its core
  }
  quarantine_.push_back(std::move(c));
}

// Writes the bundles of every pending case; `healthy` is a member waiting at this step, or
// -1 (the program ended: no healthy member to dump). Then the faulty replicas die.
void Group::WriteForensics(int healthy) {
  std::optional<std::string> gcore = FindGcore();
  for (QuarantineCase& c : quarantine_) {
    namespace fs = std::filesystem;
    fs::path dir = fs::path(*policy_.forensics_dir) /
                   fmt::format("step-{}-replica-{}", c.record.seq, c.slot);
    std::error_code ec;
    fs::create_directories(dir, ec);
    nlohmann::json j;
    j["program"] = plan_.argv;
    j["program_path"] = plan_.path;
    j["step"] = c.record.seq;
    j["view"] = c.record.view;
    j["replica"] = c.slot;
    j["reason"] = c.record.reason;
    j["syscall"] = c.record.syscall;
    j["detail"] = c.record.detail;
    j["faulty_call"] = c.faulty_call ? nlohmann::json(DescribeCall(*c.faulty_call)) : nullptr;
    j["majority_call"] =
        c.majority_call ? nlohmann::json(DescribeCall(*c.majority_call)) : nullptr;
    j["difference"] = c.faulty_call ? FirstDifference(*c.faulty_call, *c.majority_call)
                                    : nlohmann::json(nullptr);
    j["healthy_replica"] = healthy;
    nlohmann::json cores = {{"faulty", nullptr}, {"healthy", nullptr}};
    nlohmann::json registers = {{"faulty", nullptr}, {"healthy", nullptr}};
    nlohmann::json problems = nlohmann::json::array();
    auto dump = [&](const char* role, pid_t pid) {
      std::string path = (dir / fmt::format("{}.core", role)).string();
      std::optional<user_regs_struct> regs;
      Result<Ok> written = MakeError("gcore (gdb) is not installed");
      program_thread_.RunOnMain([&] {
        regs = ReadRegisters(pid);
        if (gcore) {
          written = WriteCore(*gcore, pid, path);
        }
      });
      registers[role] = RegistersJson(regs);
      if (written) {
        cores[role] = path;
      } else {
        problems.push_back(std::string(role) + ": " + written.error().message);
      }
    };
    if (c.alive) {
      dump("faulty", c.pid);
    } else {
      problems.push_back("faulty: no process to dump (it " + c.record.detail + ")");
    }
    if (healthy >= 0) {
      dump("healthy", replicas_[healthy].process.pid);
    }
    j["cores"] = cores;
    j["registers"] = registers;
    j["problems"] = problems;
    j["open_with"] = "gdb -batch -ex bt " + plan_.path + " CORE";
    std::ofstream out(dir / "divergence.json");
    out << j.dump(2) << "\n";
    spdlog::warn("[v{} s{}] quarantine: replica {}'s evidence is in {}", engine_.view(),
                 engine_.seq(), c.slot, dir.string());
    report_.forensics.push_back(dir.string());
    if (c.alive) {
      kill(c.pid, SIGKILL);
    }
  }
  quarantine_.clear();
}

}  // namespace nmr
