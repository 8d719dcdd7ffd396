// Starting replicas identical from execve (DESIGN.md "Start-up"): ASLR off, the same
// AT_RANDOM bytes, the same environment, PDEATHSIG, RLIMIT_CORE 0, their own process group,
// fds 0/1/2 on pipes to nmr-run, the channel at kChannelFd, the base seccomp filter whose
// listener nmr-run takes over.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "interface/channel.h"
#include "supervisor/core/filter.h"
#include "supervisor/core/result.h"

namespace nmr {

// Where PROGRAM is, as execvp would find it, or why it cannot run (with the exit code to use).
struct ResolvedProgram {
  std::string path;
};
struct ResolveError {
  int exit_code;  // kExitNotFound or kExitCannotExecute
  std::string message;
};
ResolvedProgram ResolveProgram(const std::string& name, const std::string& path_env,
                               ResolveError* error);
// The same checks for a path as given (an execve by the program): nullopt if runnable.
std::optional<ResolveError> CheckExecutable(const std::string& path);

struct SpawnPlan {
  std::string path;
  std::vector<std::string> argv;
  std::vector<std::string> envp;  // already holds LD_PRELOAD
  int cwd_fd = -1;                // the program's working directory (the executor's)
  int replicas = 3;
  pid_t virtual_pid = 0;
  pid_t executor_tid = 0;
  BpfProgram shim_filter;
  bool fast_path = true;         // the shim's libc wrappers vote without SIGSYS
  uint32_t spin_iterations = 0;  // how long the shim polls for a reply before sleeping
  std::array<uint8_t, 16> at_random{};
  sigset_t original_mask{};  // what nmr-run inherited, for the program
  std::vector<std::pair<int, struct sigaction>> original_actions;
};

struct ReplicaProcess {
  pid_t pid = -1;
  Channel* channel = nullptr;
  int listener = -1;     // seccomp USER_NOTIF listener of the base filter
  int stdout_pipe = -1;  // read ends: what the replica wrote before its shim was in
  int stderr_pipe = -1;
  uint64_t initial_stack_digest = 0;  // of its stack at the exec stop (after AT_RANDOM)
  uint64_t channel_inode = 0;         // of its channel's memfd (see core/memory_map.h)
};

// Spawns every replica; on failure, kills those already started. The replicas' initial
// stacks (argv, environment, auxv, with AT_RANDOM rewritten) must be byte-identical; a
// replica whose stack differs is an error (they could never agree).
Result<std::vector<ReplicaProcess>> SpawnReplicas(const SpawnPlan& plan);

// A channel for slot `replica`: a sealed memfd named kChannelMemfdName, mapped here, with
// its setup filled from `plan`. `*fd_out` is the memfd, in the calling thread's fd table
// (close-on-exec). Used by the spawner, and for a clone (which opens it through /proc).
Result<Channel*> CreateChannel(const SpawnPlan& plan, int replica, int* fd_out);
// The inode of a channel's memfd, or 0.
uint64_t ChannelInode(int channel_fd);

}  // namespace nmr
