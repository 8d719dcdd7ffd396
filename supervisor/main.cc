// nmr-run: runs N replicas of a program and makes them look like one run.
//   nmr-run [-n N] [-p POLICY.yaml] [--report FILE.json] [--inject SPEC]... [--log-level L]
//           [--] PROGRAM [ARGS...]
// Exit status: the program's own; 125 nmr-run's error, 126 cannot execute, 127 not found,
// 122 no majority left (see README).
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "supervisor/core/exit_codes.h"
#include "supervisor/os/forensics.h"
#include "supervisor/os/log_sink.h"
#include "supervisor/core/policy.h"
#include "supervisor/os/program_thread.h"
#include "supervisor/supervisor.h"

namespace {

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "nmr-run: " << message << "\n";
  std::exit(nmr::kExitOwnError);
}

// The shim lives next to the binary (build/bin/../lib) or under the install prefix.
std::string FindShim() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    std::filesystem::path beside = self.parent_path().parent_path() / "lib" / "libnmr_shim.so";
    if (std::filesystem::exists(beside)) {
      return beside.string();
    }
    std::filesystem::path in_lib =
        self.parent_path().parent_path() / "lib" / "nmr" / "libnmr_shim.so";
    if (std::filesystem::exists(in_lib)) {
      return in_lib.string();
    }
  }
  if (std::filesystem::exists(NMR_INSTALL_SHIM)) {
    return NMR_INSTALL_SHIM;
  }
  Fail("cannot find libnmr_shim.so next to " + self.string() + " or at " NMR_INSTALL_SHIM);
}

std::shared_ptr<nmr::MainThreadSink> SetUpLogging(const nmr::Policy& policy,
                                                  nmr::ProgramThread* program_thread) {
  int fd = 2;
  if (policy.log_file) {
    fd = open(policy.log_file->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      Fail("log.file: cannot open " + *policy.log_file + ": " + strerror(errno));
    }
  }
  auto sink = std::make_shared<nmr::MainThreadSink>(fd, program_thread);
  auto logger = std::make_shared<spdlog::logger>("nmr", sink);
  // Debugging wants timestamps (microseconds); warnings for a person do not.
  bool verbose = policy.log_level == "debug" || policy.log_level == "trace";
  logger->set_pattern(verbose ? "%H:%M:%S.%f nmr-run: %l: %v" : "nmr-run: %^%l%$: %v");
  logger->set_level(spdlog::level::from_str(policy.log_level));
  spdlog::set_default_logger(logger);
  program_thread->SetOnWake([sink] { sink->Drain(); });
  return sink;
}

}  // namespace

int main(int argc, char** argv) {
  // First of all, before nmr-run opens anything: the executor's copy of the fd table is
  // exactly what the program would have inherited.
  auto program_thread = nmr::ProgramThread::Start();
  if (!program_thread) {
    Fail(program_thread.error().message);
  }
  nmr::InstallSupervisorSignals();

  CLI::App app{
      "nmr-run: run N replicas of a program and vote on every syscall with an "
      "external effect",
      "nmr-run"};
  app.set_version_flag("--version", "nmr-run 0.1");
  std::optional<int> replicas;
  std::string policy_path;
  std::optional<std::string> report_path;
  std::vector<std::string> injects;
  std::optional<std::string> log_level;
  std::optional<std::string> on_divergence;
  std::optional<std::string> forensics_dir;
  std::vector<std::string> command;
  app.add_option("-n,--replicas", replicas, "number of replicas (1-15; default 3)")
      ->check(CLI::Range(1, 15));
  app.add_option("-p,--policy", policy_path, "policy file (YAML)")->check(CLI::ExistingFile);
  app.add_option("--report", report_path, "write a JSON report of the run to FILE");
  // One value per --inject (repeatable); otherwise CLI11 lets a vector option swallow the
  // following `--` and the program's own options would be taken for ours.
  app.add_option("--inject", injects,
                 "test-only fault, e.g. kind=corrupt-vote,replica=1,at_vote=5 (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|critical|off");
  app.add_option("--on-divergence", on_divergence,
                 "restart|kill|quarantine|abort (default: restart with 3 or more replicas, else "
                 "kill)");
  app.add_option("--forensics", forensics_dir,
                 "directory for quarantine's forensic bundles (cores, divergence.json)");
  bool no_fast_path = false;
  app.add_flag("--no-fast-path", no_fast_path,
               "vote every syscall through the SIGSYS trap, none through the shim's libc "
               "wrappers (slower; shows that nothing bypasses the vote)");
  // Everything from the first positional on belongs to the program, as with env(1) and
  // timeout(1): `nmr-run -n 3 sort -r f` runs `sort -r f`.
  app.prefix_command(true);
  app.footer("PROGRAM [ARGS...] follow the options (after an optional --).");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      return app.exit(e);
    }
    std::cerr << "nmr-run: " << e.what() << "\nRun with --help for more information.\n";
    return nmr::kExitOwnError;
  }
  command = app.remaining();
  if (!command.empty() && command.front() == "--") {
    command.erase(command.begin());
  }
  // An unknown option before PROGRAM lands here too; it is ours unless `--` came first.
  bool after_separator = false;
  for (int i = 1; i < argc && !command.empty(); ++i) {
    if (std::string(argv[i]) == "--") {
      after_separator = true;
      break;
    }
    if (argv[i] == command.front()) {
      break;
    }
  }
  if (!command.empty() && !after_separator && command.front().size() > 1 &&
      command.front()[0] == '-') {
    std::cerr << "nmr-run: unknown option " << command.front()
              << "\nRun with --help for more information.\n";
    return nmr::kExitOwnError;
  }
  if (command.empty()) {
    std::cerr << "nmr-run: no PROGRAM given\nRun with --help for more information.\n";
    return nmr::kExitOwnError;
  }

  nmr::Policy policy;
  if (!policy_path.empty()) {
    auto loaded = nmr::LoadPolicyFile(policy_path);
    if (!loaded) {
      Fail(loaded.error().message);
    }
    policy = *loaded;
  }
  if (replicas) {
    policy.replicas = *replicas;
  }
  if (log_level) {
    if (!nmr::IsValidLogLevel(*log_level)) {
      Fail("--log-level: expected one of trace, debug, info, warn, error, critical, off; got '" +
           *log_level + "'");
    }
    policy.log_level = *log_level;
  }
  if (report_path) {
    policy.report = *report_path;
  }
  if (on_divergence) {
    auto action = nmr::ParseOnDivergence(*on_divergence);
    if (!action) {
      Fail("--on-divergence: " + action.error().message);
    }
    policy.on_divergence = *action;
  }
  if (forensics_dir) {
    policy.forensics_dir = *forensics_dir;
  }
  for (const std::string& spec : injects) {
    auto fault = nmr::ParseFaultSpec(spec);
    if (!fault) {
      Fail(fault.error().message);
    }
    policy.faults.push_back(*fault);
  }
  for (const nmr::FaultSpec& fault : policy.faults) {
    if (fault.replica >= policy.replicas) {
      Fail("fault replica=" + std::to_string(fault.replica) + ": there are only " +
           std::to_string(policy.replicas) + " replicas (numbered from 0)");
    }
  }
  // Paths the run will write must be writable before the program starts, not after.
  if (policy.report) {
    int fd = open(policy.report->c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      Fail("report: cannot write " + *policy.report + ": " + strerror(errno));
    }
    close(fd);
  }
  if (policy.on_divergence == nmr::OnDivergence::kQuarantine) {
    if (!policy.forensics_dir) {
      Fail("on_divergence: quarantine needs a directory for its bundles: forensics.dir in the "
           "policy, or --forensics DIR");
    }
    if (!nmr::FindGcore()) {
      Fail("on_divergence: quarantine writes core files with gdb's gcore, which is not on PATH "
           "(Debian: apt-get install gdb)");
    }
  }
  if (policy.forensics_dir) {
    std::error_code ec;
    std::filesystem::create_directories(*policy.forensics_dir, ec);
    if (ec || access(policy.forensics_dir->c_str(), W_OK) != 0) {
      Fail("forensics.dir: cannot write into " + *policy.forensics_dir +
           (ec ? ": " + ec.message() : std::string(": ") + strerror(errno)));
    }
  }
  std::shared_ptr<nmr::MainThreadSink> log_sink = SetUpLogging(policy, program_thread->get());

  nmr::RunConfig config{policy, command, FindShim(), !no_fast_path};
  int status = nmr::RunUnderNmr(config, **program_thread);
  log_sink->Drain();
  return status;
}
