// Starting the program's replicas, and replacing them when the program calls execve.
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "supervisor/control.h"
#include "supervisor/core/usage.h"
#include "supervisor/core/exit_codes.h"
#include "supervisor/core/filter.h"

namespace nmr {

Result<Ok> Group::Start() {
  ResolveError resolve_error;
  const char* path_env = getenv("PATH");
  ResolvedProgram program =
      ResolveProgram(config_.argv[0], path_env ? path_env : "", &resolve_error);
  if (program.path.empty()) {
    run_.exit_code_ = resolve_error.exit_code;
    return MakeError(resolve_error.message);
  }
  std::vector<std::string> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    envp.emplace_back(*e);
  }
  return StartReplicas(program.path, config_.argv, envp);
}

Result<Ok> Group::StartReplicas(const std::string& path, const std::vector<std::string>& argv,
                                     const std::vector<std::string>& envp) {
  SpawnPlan plan;
  plan.path = path;
  plan.argv = argv;
  // LD_PRELOAD=<shim>[:<the program's own>]; the shim takes itself out again at start-up.
  std::string preload = config_.shim_path;
  for (const std::string& e : envp) {
    if (e.rfind("LD_PRELOAD=", 0) == 0) {
      if (e.size() > 11) {
        preload += ":" + e.substr(11);
      }
      continue;
    }
    plan.envp.push_back(e);
  }
  plan.envp.push_back("LD_PRELOAD=" + preload);
  plan.replicas = policy_.replicas;
  plan.virtual_pid = vpid_;
  plan.executor_tid = TableTid();
  plan.shim_filter = BuildShimFilter();
  plan.fast_path = config_.fast_path;
  // Polling pays when every replica and the control loop have a core of their own; with
  // fewer cores it only steals CPU from the replicas (DESIGN.md: 2-3x slower on 2 cores).
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  spin_iterations_ = policy_.replicas + 1 <= cpus ? 4000 : 0;
  plan.spin_iterations = spin_iterations_;
  if (getrandom(plan.at_random.data(), plan.at_random.size(), 0) != 16) {
    return MakeError("getrandom: " + std::string(strerror(errno)));
  }
  plan.original_mask = g_original_mask;
  plan.original_actions = g_original_actions;
  // The program's working directory is the executor's (a chdir before an execve moved it).
  std::string cwd = "/proc/self/task/" + std::to_string(TableTid()) + "/cwd";
  plan.cwd_fd = open(cwd.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  Result<std::vector<ReplicaProcess>> spawned = SpawnReplicas(plan);
  if (plan.cwd_fd >= 0) {
    close(plan.cwd_fd);
  }
  if (!spawned) {
    run_.exit_code_ = kExitOwnError;
    return spawned.error();
  }
  plan_ = plan;
  plan_.cwd_fd = -1;
  replicas_.clear();
  std::vector<int> listeners;
  for (ReplicaProcess& p : *spawned) {
    Replica r;
    r.process = p;
    listeners.push_back(p.listener);
    replicas_.push_back(std::move(r));
  }
  uint64_t seed;
  std::memcpy(&seed, plan.at_random.data(), sizeof seed);
  responder_ = std::make_unique<NotifyResponder>(std::move(listeners), seed);
  RecordView();
  return Ok{};
}

// An agreed execve that passed the kernel's checks: the replicas are replaced by new ones
// running the new program. What execve keeps lives in the supervisor already: the virtual
// pid, the fd table and cwd (the executor's; close-on-exec fds are closed here).
void Group::ReplaceProgram(const Call& call) {
  auto split = [](const std::vector<uint8_t>& joined) {
    std::vector<std::string> out;
    std::string current;
    for (uint8_t c : joined) {
      if (c == 0) {
        out.push_back(current);
        current.clear();
      } else {
        current.push_back(static_cast<char>(c));
      }
    }
    return out;
  };
  std::string path(call.in[0].begin(), call.in[0].end());
  std::vector<std::string> argv = split(call.in[1]);
  std::vector<std::string> envp = split(call.in[2]);
  std::string shown = path;
  if (!path.empty() && path[0] != '/') {
    path = "/proc/self/task/" + std::to_string(TableTid()) + "/cwd/" + path;
  }
  std::optional<ResolveError> problem;
  // Reading the file opens an fd: on the main thread, never in the program's table.
  program_thread_.RunOnMain([&] { problem = CheckExecutable(path); });
  if (problem) {
    // The kernel would have let it run (a static program): nmr cannot follow it there.
    spdlog::error("execve {}: {}", shown, problem->message);
    run_.SetOutcome("error", problem->exit_code);
    run_.StopAll();
    return;
  }
  spdlog::debug("[v{} s{}] execve {}: replacing the replicas", engine_.view(), engine_.seq(),
                shown);
  std::vector<rusage> replaced;
  for (std::vector<Replica>* list : {&replicas_, &retired_}) {
    for (Replica& r : *list) {
      if (r.running && r.process.pid > 0) {
        kill(r.process.pid, SIGKILL);
        int status;
        rusage usage;
        wait4(r.process.pid, &status, __WALL, &usage);
        cpu_s_before_exec_ += CpuSeconds(usage);
        AddUsage(r.usage, usage);
      }
      r.running = false;
      if (list == &replicas_) {
        replaced.push_back(r.usage);
      }
    }
  }
  KeepUsageBeforeExec(replaced);
  // The new program starts at full strength: nothing is left to recover.
  held_.clear();
  restarts_.clear();
  equalized_ = false;
  CloseOnExec();
  DeletePosixTimers();
  report_.execs++;
  execs_++;
  Supervisor::Wake();  // a vfork's parent waits for this
  argv_ = argv;
  engine_ = VoteEngine(policy_.replicas, policy_.vote_timeout_ms, engine_.view() + 1);
  // nmr-run's own fds (pipes, listeners) and forking belong to the main thread.
  Result<Ok> started = Ok{};
  program_thread_.RunOnMain([&] {
    for (std::vector<Replica>* list : {&replicas_, &retired_}) {
      for (Replica& r : *list) {
        munmap(r.process.channel, kChannelSize);
        for (int fd : {r.process.stdout_pipe, r.process.stderr_pipe, r.channel_fd}) {
          if (fd >= 0) {
            close(fd);
          }
        }
      }
    }
    retired_.clear();
    responder_.reset();
    started = StartReplicas(path, argv, envp);
  });
  if (!started) {
    spdlog::error("execve {}: {}", shown, started.error().message);
    run_.SetOutcome("error", kExitOwnError);
    replicas_.clear();
    run_.StopAll();  // nmr's own failure: the rest of the tree cannot go on without it
  }
}

// execve closes the fds marked close-on-exec. The program's table is this thread's; the
// listing is read on the main thread, so its own directory fd is not in the program's table.
void Group::CloseOnExec() {
  std::vector<int> to_close;
  program_thread_.RunOnMain([&] {
    std::string dir = "/proc/self/task/" + std::to_string(TableTid()) + "/fdinfo/";
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      std::ifstream info(entry.path());
      std::string key;
      std::string value;
      while (info >> key >> value) {
        if (key == "flags:" && (std::stoul(value, nullptr, 8) & O_CLOEXEC) != 0) {
          to_close.push_back(std::stoi(entry.path().filename().string()));
        }
      }
    }
  });
  InTable([&] {
    for (int fd : to_close) {
      close(fd);
    }
  });
}

pid_t Group::TableTid() const {
  return executor_owns_table_ ? executor_->tid() : program_thread_.tid();
}

void Group::InTable(const std::function<void()>& work) {
  if (!executor_owns_table_) {
    work();  // the control loop runs on the program thread, which owns the root's table
    return;
  }
  executor_->RunFunction([&work] {
    work();
    return int64_t{0};
  });
}

void Group::StartRootExecutor() {
  executor_ = Executor::Start(&g_event_word);
  performer_ = std::make_unique<Performer>(*executor_, vpid_, /*inline_ok=*/true);
}

}  // namespace nmr
